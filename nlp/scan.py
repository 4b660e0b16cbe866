"""Fast matching of many regular expressions: dispatch on the first two characters.

Python's ``re`` tries every branch of a large alternation at every position
of the text. Rule expressions can only start with a few character pairs
("bu" for "bulge", "pr" for "protrusion"), so we compute, for each expression,
the pairs it can start with, and at each word start (or punctuation mark) try
only the expressions that can start with the pair found there. Matching keeps
``re.finditer``'s semantics (leftmost, first listed alternative wins,
non-overlapping), except that a match must start at a word start or at a
non-space punctuation character, which is what rules for words intend.

Texts whose characters the prefix analysis reads exactly (:func:`text_info`:
no character that case-folds onto ASCII, no non-ASCII digit or space, no
character that lowers to two) are dispatched on the first ``FINE`` characters
instead: a pattern whose ``FINE``-character starts cannot begin there cannot
match there either, so the result is the same, with fewer expressions tried.
"""

import re
from bisect import bisect_left
from itertools import compress
from operator import itemgetter
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P  # type: ignore[attr-defined]
from typing import Iterator, Optional

import numpy

from . import base

_CACHE_KEYS = base.CACHE_KEYS  # (text, word starts, word starts and punctuation marks)

K = 2  # characters of look-ahead used for dispatch
FINE = 5  # characters of look-ahead used for dispatch in texts read exactly (see text_info)
WILD = "\x00"  # "any character" inside a computed prefix
MAX_PREFIXES = 4000
MAX_FINE_KEYS = 50_000  # finer dispatch keys remembered per scanner (then forgotten and recomputed)
_SCAN = re.compile(r"\b\w|[^\w\s]")
_WORDS = re.compile(r"\b\w")


class _TooMany(Exception):
    pass


def _extend(items, prefixes: set[str], k: int = K) -> set[str]:
    """Prefixes (up to ``k`` characters) after matching the parsed sequence ``items``."""
    for op, av in items:
        growing = {s for s in prefixes if len(s) < k}
        if not growing:
            break
        done = prefixes - growing
        prefixes = done | _item(op, av, growing, k)
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


def _item(op, av, prefixes: set[str], k: int = K) -> set[str]:
    if op is C.IN and len(av) == 1 and av[0][0] is C.CATEGORY and av[0][1] is C.CATEGORY_SPACE:
        return {s + c for s in prefixes for c in " \t\n\r\f\v"}
    if op in (C.LITERAL, C.IN, C.ANY, C.NOT_LITERAL, C.CATEGORY):
        chars = _chars(op, av)
        return {s + c for s in prefixes for c in chars}
    if op in (C.AT, C.ASSERT, C.ASSERT_NOT):
        return prefixes  # zero-width
    if op is C.SUBPATTERN:
        return _extend(av[-1], prefixes, k)
    if op is getattr(C, "ATOMIC_GROUP", None):
        return _extend(av, prefixes, k)
    if op is C.BRANCH:
        out: set[str] = set()
        for branch in av[1]:
            out |= _extend(branch, prefixes, k)
        return out
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
        lo, hi, sub = av
        out, cur = set(), set(prefixes)
        for i in range(k + 2):
            if i >= lo:
                out |= cur
            if i >= hi or all(len(s) >= k for s in cur):
                break
            nxt = _extend(sub, cur, k)
            if nxt == cur:
                break
            cur = nxt
        else:
            out |= cur
        return out | {s for s in cur if len(s) >= k}
    return {s + WILD for s in prefixes}  # anything else: unknown character


def prefixes(pattern: str, flags: int = re.IGNORECASE, k: int = K, parsed=None) -> Optional[frozenset[str]]:
    """The ``k``-character starts a match of ``pattern`` can have (WILD = any), or None if unknown."""
    try:
        out = _extend(P.parse(pattern, flags) if parsed is None else parsed, {""}, k)
    except _TooMany:
        return None
    return frozenset(s + WILD * (k - len(s)) for s in out)


#: Parsed operators the prefix analysis reads exactly on texts of :func:`text_info`
#: (anything else, e.g. a back-reference, is read as one unknown character).
_EXACT_OPS = {C.LITERAL, C.NOT_LITERAL, C.IN, C.ANY, C.AT, C.ASSERT, C.ASSERT_NOT, C.SUBPATTERN, C.BRANCH,
              C.MAX_REPEAT, C.MIN_REPEAT} | {getattr(C, n) for n in ("ATOMIC_GROUP", "POSSESSIVE_REPEAT") if hasattr(C, n)}


def _exact_items(items) -> bool:
    """Do the parsed ``items`` use only operators and ASCII characters the analysis reads exactly?"""
    for op, av in items:
        if op not in _EXACT_OPS:
            return False
        if op in (C.LITERAL, C.NOT_LITERAL):
            if av > 127:
                return False
        elif op is C.IN:
            for o, a in av:
                if o is C.LITERAL and a > 127 or o is C.RANGE and a[1] > 127:
                    return False
        elif op in (C.ASSERT, C.ASSERT_NOT):
            if not _exact_items(av[1]):
                return False
        elif op is C.SUBPATTERN:
            if not _exact_items(av[-1]):
                return False
        elif op is C.BRANCH:
            if not all(_exact_items(b) for b in av[1]):
                return False
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT) or op is getattr(C, "POSSESSIVE_REPEAT", None):
            if not _exact_items(av[2]):
                return False
        elif op is getattr(C, "ATOMIC_GROUP", None):
            if not _exact_items(av):
                return False
    return True


def fine_prefixes(pattern: str, flags: int = re.IGNORECASE, parsed=None) -> Optional[frozenset[str]]:
    """The ``FINE``-character starts of ``pattern`` for texts of :func:`text_info`, or None
    when the pattern holds something the analysis may not read exactly (then only the
    ``K``-character dispatch applies to it)."""
    if parsed is None:
        parsed = P.parse(pattern, flags)
    if not _exact_items(parsed):
        return None
    return prefixes(pattern, flags, FINE, parsed)


class _Fit:
    """Which ``FINE``-character keys fit one of a pattern's starts (WILD fits any character)."""

    def __init__(self, starts: frozenset[str]) -> None:
        by_mask: dict[tuple[int, ...], set[str]] = {}
        for s in starts:
            known = tuple(j for j, c in enumerate(s) if c != WILD)
            by_mask.setdefault(known, set()).add("".join(s[j] for j in known))
        self.masks = [(itemgetter(*known) if len(known) > 1 else None, known, frozenset(v))
                      for known, v in by_mask.items()]

    def __call__(self, key: str) -> bool:
        for get, known, allowed in self.masks:
            if not known:
                return True
            sub = "".join(get(key)) if get is not None else key[known[0]]
            if sub in allowed:
                return True
        return False


_SPACES = frozenset(" \t\n\r\f\v")
_ASCII_I = re.compile(r"[\x00-\x7f]", re.IGNORECASE)
_DIGIT = re.compile(r"\d")
_SPACE = re.compile(r"\s")
_ODD_ASCII = re.compile(r"[\x1c-\x1f]")  # spaces to ``\s`` that the analysis does not list
_char_exact: dict[str, bool] = {}
_last_info: tuple = (None, False, None)


def _exact_char(c: str) -> bool:
    """Is character ``c`` read exactly by the prefix analysis (on ASCII patterns), and
    lowered alike alone and in the text (the keys slice the lowered text)?"""
    ok = _char_exact.get(c)
    if ok is None:
        ascii_ = c <= "\x7f"
        ok = (len(c.lower()) == 1
              and c != "\u03a3"                               # capital sigma lowers by context (final ς)
              and (ascii_ or _ASCII_I.match(c) is None)        # folds onto no ASCII letter (K, ſ, ı)
              and (ascii_ or _DIGIT.match(c) is None)          # \d lists only 0-9
              and (_SPACE.match(c) is None or c in _SPACES))   # \s lists only these
        if len(_char_exact) < 100_000:
            _char_exact[c] = ok
    return ok


def text_info(text: str) -> tuple[bool, Optional[str]]:
    """(exact, lowered): whether every character of ``text`` is read exactly by the
    prefix analysis, and ``text.lower()`` when it has the same length (else None).

    The last text's answer is kept (by identity), as each component asks again.
    """
    global _last_info
    last = _last_info
    if last[0] is text:
        return last[1], last[2]
    low: Optional[str] = text.lower()
    if len(low) != len(text):
        low = None
    if text.isascii():
        exact = _ODD_ASCII.search(text) is None
    else:
        exact = low is not None and all(_exact_char(c) for c in set(text))
    _last_info = (text, exact, low)
    return exact, low


class Keys(dict):
    """Dispatch keys and what they give, computed on first sight by ``make`` and
    forgotten all at once past ``MAX_FINE_KEYS`` (keys are words' first letters:
    a long stream of reports keeps meeting new ones)."""

    def __init__(self, make) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, key: str):
        value = self.make(key)
        if len(self) >= MAX_FINE_KEYS:
            self.clear()
        self[key] = value
        return value


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
        parsed = [P.parse(p, flags) for p in patterns]
        self.starts = [prefixes(p, flags, K, t) for p, t in zip(patterns, parsed)]
        self._by_key: dict[str, Optional[re.Pattern]] = {}
        self._idx: dict[str, tuple[int, ...]] = {}
        self._subsets: dict[tuple[int, ...], re.Pattern] = {}
        #: finer dispatch, for texts read exactly (see :func:`text_info`)
        fine = [fine_prefixes(p, flags, t) for p, t in zip(patterns, parsed)]
        self._fit = [None if f is None else _Fit(f) for f in fine]
        self._by_fine = Keys(self._compile_fine)
        #: True when every expression starts with a letter or digit, so only
        #: word starts need to be tried (see :func:`word_starts`).
        self.words_only = all(
            s is not None and all(x[0] != WILD and x[0].isalnum() for x in s) for s in self.starts
        )

    def _alternation(self, idx: tuple[int, ...]) -> Optional[re.Pattern]:
        if not idx:
            return None
        rx = self._subsets.get(idx)
        if rx is None:
            rx = self._subsets[idx] = re.compile(
                "|".join(f"(?P<{self.prefix}{i}>{self.patterns[i]})" for i in idx), self.flags)
        return rx

    def _compile(self, key: str) -> Optional[re.Pattern]:
        idx = self._idx[key] = tuple(i for i, s in enumerate(self.starts) if _fits(s, key))
        rx = self._alternation(idx)
        self._by_key[key] = rx
        return rx

    def compiled_fine(self, key: str) -> Optional[re.Pattern]:
        """The alternation to try where a text read exactly (:func:`text_info`) starts
        with ``key``, its next ``FINE`` characters lowered (fewer at the end of the text)."""
        return self._by_fine[key]

    def _compile_fine(self, key: str) -> Optional[re.Pattern]:
        if len(key) < FINE:
            return self.compiled_for(key[:K])
        k2 = key[:K]
        if k2 not in self._idx:
            self._compile(k2)
        fit = self._fit
        return self._alternation(tuple(i for i in self._idx[k2] if fit[i] is None or fit[i](key)))

    def compiled_for(self, key: str) -> Optional[re.Pattern]:
        """The alternation to try where the text starts with ``key`` (lower case), or None."""
        if len(key) != K:
            # shorter at the end of the text; longer where a character lowers to two ("İ")
            key = key.ljust(K)[:K]
        try:
            return self._by_key[key]
        except KeyError:
            return self._compile(key)

    def finditer(self, text: str, pos: int = 0, endpos: Optional[int] = None,
                 starts: Optional[list[int]] = None) -> Iterator[re.Match]:
        """Matches in ``text[pos:endpos]``; ``starts`` may pass precomputed :func:`word_starts`."""
        end = len(text) if endpos is None else endpos
        if starts is None:
            starts = word_starts(text, punctuation=not self.words_only)
        exact, low = text_info(text)
        if exact:
            yield from self._finditer_fine(text, low, pos, end, starts)
            return
        by_key = self._by_key
        nxt = pos
        for i in range(bisect_left(starts, pos), len(starts)):
            p = starts[i]
            if p < nxt:
                continue
            if p >= end:
                return
            key = text[p:p + K].lower()
            if len(key) != K:
                key = key.ljust(K)[:K]  # end of text, or a character that lowers to two ("İ")
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


    def _finditer_fine(self, text: str, low: str, pos: int, end: int, starts: list[int]) -> Iterator[re.Match]:
        if pos == 0 and end == len(text):
            # the whole text: look every key up at C speed, then walk only the
            # starts where some expression may begin
            rxs = list(map(self._by_fine.__getitem__, fine_keys(low, starts)))
            nxt = 0
            for i in compress(range(len(rxs)), rxs):
                p = starts[i]
                if p < nxt:
                    continue
                hit = rxs[i].match(text, p, end)
                if hit is not None:
                    yield hit
                    nxt = hit.end() if hit.end() > p else p + 1
            return
        get = self._by_fine.__getitem__
        nxt = pos
        for i in range(bisect_left(starts, pos), len(starts)):
            p = starts[i]
            if p < nxt:
                continue
            if p >= end:
                return
            rx = get(low[p:p + FINE])
            if rx is None:
                continue
            hit = rx.match(text, p, end)
            if hit is not None:
                yield hit
                nxt = hit.end() if hit.end() > p else p + 1


def _needed(items) -> list[frozenset[str]]:
    """Sets of lowered ASCII strings such that every match of the parsed sequence
    ``items`` contains one string of each set."""
    out: list[frozenset[str]] = []
    run: list[str] = []
    for op, av in items:
        if op is C.LITERAL and av < 128:
            run.append(chr(av).lower())
            continue
        if op in (C.AT, C.ASSERT, C.ASSERT_NOT):
            continue  # zero-width: the literal run goes on
        if run:
            out.append(frozenset(["".join(run)]))
            run = []
        if op is C.SUBPATTERN:
            out += _needed(av[-1])
        elif op is getattr(C, "ATOMIC_GROUP", None):
            out += _needed(av)
        elif op is C.BRANCH:
            alts = [_best(_needed(b)) for b in av[1]]
            if all(a is not None for a in alts):
                out.append(frozenset().union(*alts))
        elif (op in (C.MAX_REPEAT, C.MIN_REPEAT) or op is getattr(C, "POSSESSIVE_REPEAT", None)) and av[0] >= 1:
            out += _needed(av[2])
    if run:
        out.append(frozenset(["".join(run)]))
    return out


def _rank(needles: frozenset[str]) -> tuple[int, int]:
    return (min(map(len, needles)), -len(needles))


def _best(sets: list[frozenset[str]]) -> Optional[frozenset[str]]:
    return max(sets, key=_rank) if sets else None


class Needles(tuple):
    """Sets of strings (a tuple of tuples) a text must hold one of each; for windows
    (:func:`may_match_in`) a set of more than three strings is also compiled into one
    expression, searched at once."""

    def __new__(cls, sets):
        self = super().__new__(cls, sets)
        self.checks = tuple(alts if len(alts) <= 3 else re.compile("|".join(map(re.escape, alts))) for alts in self)
        return self


def needed_literals(pattern: str, flags: int = re.IGNORECASE, most: int = 3) -> Optional[Needles]:
    """Up to ``most`` sets of lowered strings such that, wherever ``pattern`` matches,
    the lowered text holds a string of each set (for texts read exactly, see
    :func:`text_info`); None if the pattern needs no literal text."""
    # a string holding another string of its set says nothing more: keep the shorter
    sets = {frozenset(n for n in alts if not any(m != n and m in n for m in alts))
            for alts in _needed(P.parse(pattern, flags))}
    sets = sorted(sets, key=_rank, reverse=True)[:most]
    return Needles(tuple(sorted(n, key=len, reverse=True)) for n in sets) if sets else None


def may_match(needles: Optional[Needles], text: str) -> bool:
    """False only when ``text`` (read exactly) lacks every string of one of the
    ``needles`` sets, so an expression needing them cannot match in it."""
    if needles is None:
        return True
    exact, low = text_info(text)
    if not exact:
        return True
    for alternatives in needles:
        for n in alternatives:
            if n in low:
                break
        else:
            return False
    return True


def may_match_in(needles: Optional[Needles], text: str, pos: int, endpos: int) -> bool:
    """:func:`may_match` for a match inside ``text[pos:endpos]``."""
    if needles is None:
        return True
    exact, low = text_info(text)
    if not exact:
        return True
    for check in needles.checks:
        if type(check) is tuple:
            for n in check:
                if low.find(n, pos, endpos) != -1:
                    break
            else:
                return False
        elif check.search(low, pos, endpos) is None:
            return False
    return True


def first_char_search(scanner: "Scanner") -> Optional[re.Pattern]:
    """For a :class:`Scanner` of one expression whose matches start with an ASCII
    letter or digit: an expression whose ``search(text, pos, endpos)`` finds a
    match exactly when ``scanner.finditer(text, pos, endpos)`` yields one, in texts
    read exactly (:func:`text_info`). The search first looks for one of the
    expression's first characters (case-sensitively, in both cases: a fast scan),
    then checks for a word start there and the expression from there. None if the
    scanner is not of that kind."""
    if len(scanner.patterns) != 1 or not scanner.words_only or scanner.starts[0] is None:
        return None
    firsts = {s[0] for s in scanner.starts[0]}
    if not all(c.isascii() and c.isalnum() for c in firsts):
        return None
    chars = "".join(sorted(firsts | {c.upper() for c in firsts}))
    try:
        return re.compile(f"(?-i:[{chars}])(?<=\\b(?=(?:{scanner.patterns[0]})).)", scanner.flags)
    except re.error:  # e.g. a lookbehind inside that Python cannot nest
        return None


def _starts_at_boundary(items) -> bool:
    """Does every match of the parsed ``items`` begin with ``\\b``?"""
    if not items:
        return False
    op, av = items[0]
    if op is C.AT:
        return av is C.AT_BOUNDARY
    if op is C.SUBPATTERN:
        return _starts_at_boundary(av[-1])
    if op is C.BRANCH:
        return all(_starts_at_boundary(b) for b in av[1])
    return False


def word_scanner(patterns, flags: int = re.IGNORECASE, prefix: str = "g") -> Optional["Scanner"]:
    """A :class:`Scanner` of ``patterns`` (one expression or a list) whose matches in a
    text read exactly (:func:`text_info`) are those of ``re.finditer`` over their
    alternation ``(?P<g0>p0)|(?P<g1>p1)|...``: when every match starts with ``\\b``
    and a letter or digit (so at a word start) and none is empty. None otherwise."""
    if isinstance(patterns, str):
        patterns = [patterns]
    for pattern in patterns:
        parsed = P.parse(pattern, flags)
        if not _starts_at_boundary(parsed) or parsed.getwidth()[0] == 0:
            return None
    scanner = Scanner(list(patterns), flags, prefix) if patterns else None
    return scanner if scanner is not None and scanner.words_only else None


_ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
#: For each ASCII code: is it a word character (``\\w``), a mark (neither ``\\w`` nor ``\\s``)?
_IS_WORD = numpy.array([_WORDS.match(chr(c)) is not None for c in range(128)], dtype=bool)
_IS_MARK = numpy.array([re.match(r"[^\w\s]", chr(c)) is not None for c in range(128)], dtype=bool)
#: (text, its word starts and marks, its word starts, which of the first are word starts)
_last_starts: tuple = (None, None, None, None)


def _ascii_starts(text: str) -> tuple[list[int], list[int], list[bool]]:
    """(word starts and marks, word starts, which of the first are word starts) of an
    ASCII text, by table look-ups over its bytes."""
    if not text:
        return [], [], []
    codes = numpy.frombuffer(text.encode("ascii"), dtype=numpy.uint8)
    word = _IS_WORD[codes]
    first = numpy.empty(len(codes), dtype=bool)
    first[0] = word[0]
    numpy.greater(word[1:], word[:-1], out=first[1:])  # a word character after a non-word one
    both = numpy.flatnonzero(first | _IS_MARK[codes])
    return both.tolist(), numpy.flatnonzero(first).tolist(), first[both].tolist()


def word_starts(text: str, punctuation: bool = True) -> list[int]:
    """Positions where a rule match may start: word starts (and punctuation marks),
    the starts of the matches of ``\\b\\w|[^\\w\\s]`` (or ``\\b\\w``).

    ASCII texts are read by table look-ups over their bytes (both lists at once;
    the last text's lists are kept, by identity). Otherwise the word starts alone
    are taken from the last text's list with punctuation when there is one (a
    start there is a word start exactly when its character is a word character:
    ``\\w`` is ``str.isalnum()`` or "_").
    """
    global _last_starts
    last_text, both, words, _ = _last_starts
    if last_text is text and (punctuation or words is not None):
        return both if punctuation else words
    if text.isascii():
        both, words, is_word = _ascii_starts(text)
        _last_starts = (text, both, words, is_word)
        return both if punctuation else words
    if punctuation:
        out = [m.start() for m in _SCAN.finditer(text)]
        _last_starts = (text, out, None, None)
        return out
    if last_text is text:
        word = _ASCII_WORD
        return [p for p in both if text[p] in word or text[p] > "\x7f" and text[p].isalnum()]
    return [m.start() for m in _WORDS.finditer(text)]


def doc_word_starts(doc, punctuation: bool) -> list[int]:
    """``base.doc_word_starts`` (the report's word starts, computed once a report), with
    its cached answer read here: the function imports this module on each call."""
    starts = doc.user_data.get(_CACHE_KEYS[2 if punctuation else 1])
    return starts if starts is not None else base.doc_word_starts(doc, punctuation)


_last_keys: list = [(None, None, None), (None, None, None)]  # (lowered text, starts, keys), two lists a text


def fine_keys(low: str, starts: list[int]) -> list[str]:
    """``low[p:p + FINE]`` for each start ``p``; the answers for the last two lists of
    starts are kept (by identity), as several components walk the same ones."""
    keys = _kept_keys(low, starts)
    if keys is not None:
        return keys
    _, both, words, is_word = _last_starts
    if starts is words and is_word is not None:
        # the word starts are some of the starts with punctuation: pick their keys from
        # those, computing them first (the other components walk them too)
        all_keys = _kept_keys(low, both)
        if all_keys is None:
            all_keys = [low[p:p + FINE] for p in both]
            _keep_keys(low, both, all_keys)
        keys = list(compress(all_keys, is_word))
    else:
        keys = [low[p:p + FINE] for p in starts]
    _keep_keys(low, starts, keys)
    return keys


def _kept_keys(low: str, starts: list[int]) -> Optional[list[str]]:
    for entry in _last_keys:
        if entry[1] is starts and entry[0] is low:
            return entry[2]
    return None


def _keep_keys(low: str, starts: list[int], keys: list[str]) -> None:
    _last_keys[1] = _last_keys[0]
    _last_keys[0] = (low, starts, keys)
