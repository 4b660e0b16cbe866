"""Fast matching of many regular expressions: dispatch on the first two characters.

Python's ``re`` tries every branch of a large alternation at every position
of the text. Rule expressions can only start with a few character pairs
("bu" for "bulge", "pr" for "protrusion"), so we compute, for each expression,
the pairs it can start with, and at each word start (or punctuation mark) try
only the expressions that can start with the pair found there. Matching keeps
``re.finditer``'s semantics (leftmost, first listed alternative wins,
non-overlapping), except that a match must start at a word start or at a
non-space punctuation character, which is what rules for words intend.
"""

import re
from bisect import bisect_left
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P  # type: ignore[attr-defined]
from typing import Iterator, Optional

K = 2  # characters of look-ahead used for dispatch
WILD = "\x00"  # "any character" inside a computed prefix
MAX_PREFIXES = 4000
_SCAN = re.compile(r"\b\w|[^\w\s]")
_WORDS = re.compile(r"\b\w")


class _TooMany(Exception):
    pass


def _extend(items, prefixes: set[str]) -> set[str]:
    """Prefixes (up to K characters) after matching the parsed sequence ``items``."""
    for op, av in items:
        growing = {s for s in prefixes if len(s) < K}
        if not growing:
            break
        done = prefixes - growing
        prefixes = done | _item(op, av, growing)
        if len(prefixes) > MAX_PREFIXES:
            raise _TooMany
    return prefixes


def _chars(op, av) -> set[str]:
    if op is C.LITERAL:
        return {chr(av).lower()}
    if op is C.IN:
        out: set[str] = set()
        for o, a in av:
            if o is C.LITERAL:
                out.add(chr(a).lower())
            elif o is C.RANGE and a[1] - a[0] <= 200:
                out |= {chr(c).lower() for c in range(a[0], a[1] + 1)}
            elif o is C.CATEGORY and a is C.CATEGORY_DIGIT:
                out |= set("0123456789")
            elif o is C.CATEGORY and a is C.CATEGORY_SPACE:
                out |= set(" \t\n\r\f\v")
            else:
                return {WILD}
        return out
    return {WILD}


def _item(op, av, prefixes: set[str]) -> set[str]:
    if op is C.IN and len(av) == 1 and av[0][0] is C.CATEGORY and av[0][1] is C.CATEGORY_SPACE:
        return {s + c for s in prefixes for c in " \t\n\r\f\v"}
    if op in (C.LITERAL, C.IN, C.ANY, C.NOT_LITERAL, C.CATEGORY):
        chars = _chars(op, av)
        return {s + c for s in prefixes for c in chars}
    if op in (C.AT, C.ASSERT, C.ASSERT_NOT):
        return prefixes  # zero-width
    if op is C.SUBPATTERN:
        return _extend(av[-1], prefixes)
    if op is getattr(C, "ATOMIC_GROUP", None):
        return _extend(av, prefixes)
    if op is C.BRANCH:
        out: set[str] = set()
        for branch in av[1]:
            out |= _extend(branch, prefixes)
        return out
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
        lo, hi, sub = av
        out, cur = set(), set(prefixes)
        for i in range(K + 2):
            if i >= lo:
                out |= cur
            if i >= hi or all(len(s) >= K for s in cur):
                break
            nxt = _extend(sub, cur)
            if nxt == cur:
                break
            cur = nxt
        else:
            out |= cur
        return out | {s for s in cur if len(s) >= K}
    return {s + WILD for s in prefixes}  # anything else: unknown character


def prefixes(pattern: str, flags: int = re.IGNORECASE) -> Optional[frozenset[str]]:
    """The K-character starts a match of ``pattern`` can have (WILD = any), or None if unknown."""
    try:
        out = _extend(P.parse(pattern, flags), {""})
    except _TooMany:
        return None
    return frozenset(s + WILD * (K - len(s)) for s in out)


def _fits(starts: Optional[frozenset[str]], key: str) -> bool:
    if starts is None:
        return True
    a, b = key
    return any((s[0] == a or s[0] == WILD) and (s[1] == b or s[1] == WILD) for s in starts)


class Scanner:
    """``finditer`` over the alternation ``(?P<g0>p0)|(?P<g1>p1)|...``.

    ``lastgroup`` of each match is ``<prefix><i>``, the index of the pattern.
    The alternation for each starting pair of characters is compiled the first
    time that pair is met.
    """

    def __init__(self, patterns: list[str], flags: int = re.IGNORECASE, prefix: str = "g") -> None:
        self.patterns = patterns
        self.flags = flags
        self.prefix = prefix
        # parsing each expression here also rejects invalid ones at load time
        self.starts = [prefixes(p, flags) for p in patterns]
        self._by_key: dict[str, Optional[re.Pattern]] = {}
        #: True when every expression starts with a letter or digit, so only
        #: word starts need to be tried (see :func:`word_starts`).
        self.words_only = all(
            s is not None and all(x[0] != WILD and x[0].isalnum() for x in s) for s in self.starts
        )

    def _compile(self, key: str) -> Optional[re.Pattern]:
        idx = [i for i, s in enumerate(self.starts) if _fits(s, key)]
        rx = re.compile("|".join(f"(?P<{self.prefix}{i}>{self.patterns[i]})" for i in idx), self.flags) if idx else None
        self._by_key[key] = rx
        return rx

    def compiled_for(self, key: str) -> Optional[re.Pattern]:
        """The alternation to try where the text starts with ``key`` (lower case), or None."""
        if len(key) < K:
            key = key.ljust(K)
        try:
            return self._by_key[key]
        except KeyError:
            return self._compile(key)

    def finditer(self, text: str, pos: int = 0, endpos: Optional[int] = None,
                 starts: Optional[list[int]] = None) -> Iterator[re.Match]:
        """Matches in ``text[pos:endpos]``; ``starts`` may pass precomputed :func:`word_starts`."""
        end = len(text) if endpos is None else endpos
        by_key = self._by_key
        if starts is None:
            starts = word_starts(text, punctuation=not self.words_only)
        nxt = pos
        for i in range(bisect_left(starts, pos), len(starts)):
            p = starts[i]
            if p < nxt:
                continue
            if p >= end:
                return
            key = text[p:p + K].lower()
            if len(key) < K:
                key = key.ljust(K)
            try:
                rx = by_key[key]
            except KeyError:
                rx = self._compile(key)
            if rx is None:
                continue
            hit = rx.match(text, p, end)
            if hit is not None:
                yield hit
                nxt = hit.end() if hit.end() > p else p + 1


def word_starts(text: str, punctuation: bool = True) -> list[int]:
    """Positions where a rule match may start: word starts (and punctuation marks)."""
    return [m.start() for m in (_SCAN if punctuation else _WORDS).finditer(text)]
