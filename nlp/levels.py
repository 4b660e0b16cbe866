"""Vertebral levels: every spelling, lists, ranges and level headers.

A level *mention* is one spelling ("L4/5", "D12/L1", "L45", "lumbosacral
junction"); mentions joined by "and", "&" or commas form a *group* ("L3-L4,
L4-L5 and L5-S1 levels"); "through"/"to" makes a range. A group at the start of
a line followed by a colon (or alone on its line) is a *header*: findings below
it take its levels up to the next header, a blank line or a new section.
"""


import re
from bisect import bisect_right
from pathlib import Path
from typing import Optional

from spacy.language import Language
from spacy.tokens import Doc

from . import extensions as ext
from . import rules
from .base import RuleComponent, doc_text, doc_word_starts
from .scan import may_match, needed_literals, text_info, word_scanner, word_starts

#: One spelling of a level: a vertebra, optionally followed by a second one
#: ("L4-5", "L4/L5", "L4 on L5", "L5S1", "L45" is split in code). It must not
#: sit inside a word, unless glued to "at" ("atL4/L5").
_MENTION_REST = (
    r"(?:\s?-|\s)?(?P<an>\d{1,2})"
    r"(?:\s*(?:-|–|—|/|\\|=|\s(?:on|over|upon)\s)\s*(?P<b>[CTDLS])?(?:\s?-|\s)?(?P<bn>\d{1,2}|(?<=[Ss])I\b)"
    r"|(?P<b2>[LS])(?P<bn2>\d)"
    # "L4 5:": the next number after a space (kept only when it is the next vertebra)
    r"|[ \t](?P<bn3>\d)(?!\d|[.,]\d|\s*(?:mm|cm|%|x\b|-|/)))?"
    r"(?![0-9])"
)
#: The expression as written: the letter after a lookbehind.
MENTION_AS_WRITTEN = re.compile(
    r"(?:(?<![A-Za-z0-9])|(?<=\bat)|(?<=to))(?P<a>[CTDLS])" + _MENTION_REST, re.IGNORECASE)
#: The same matches about three times faster: the search first looks for one of a
#: set of characters (the letters in both cases and every non-ASCII character, a
#: superset of what [CTDLS] matches case-insensitively), then checks that a digit,
#: space or dash follows (as the rest requires), that the letter is [CTDLS], and
#: what stands before it, one character further back.
MENTION = re.compile(
    r"(?-i:[CTDLSctdls\x80-\U0010ffff])(?=[-\s\d])(?<=(?P<a>[CTDLS]))"
    r"(?:(?<![A-Za-z0-9].)|(?<=\bat.)|(?<=to.))" + _MENTION_REST, re.IGNORECASE)
MAX_NUMBER = {"C": 7, "T": 12, "L": 6, "S": 5}


class Spine:
    """Level names and arithmetic (next vertebra, disc ranges)."""

    def __init__(self, data: rules.LevelsFile) -> None:
        self.order = list(data.order)
        self.index = {v: i for i, v in enumerate(self.order)}
        self.aliases = {k.upper(): v.upper() for k, v in data.letter_aliases.items()}
        self.lumbar = frozenset(data.lumbar)
        # answers of vertebra() and pair(), which depend only on the level data
        self._vertebrae: dict[tuple[str, str], Optional[str]] = {}
        self._pairs: dict[tuple[str, str], tuple[str, ...]] = {}

    def vertebra(self, letter: str, number: str) -> Optional[str]:
        key = (letter, number)
        try:
            return self._vertebrae[key]
        except KeyError:
            pass
        up = self.aliases.get(letter.upper(), letter.upper())
        name = f"{up}{int(number)}"
        found = name if name in self.index else None
        if len(self._vertebrae) < 4096:
            self._vertebrae[key] = found
        return found

    def below(self, v: str) -> Optional[str]:
        """The vertebra below ``v``; L5 is followed by S1 (L6 only when written)."""
        if v == "L5":
            return "S1"
        if v not in self.index:
            return None  # a bone named as a whole ("sacrum") has no vertebra below
        i = self.index[v] + 1
        return self.order[i] if i < len(self.order) else None

    def discs_between(self, upper: str, lower: str) -> list[str]:
        """Disc levels from vertebra ``upper`` down to vertebra ``lower``."""
        out = []
        v = upper
        guard = 0
        while v is not None and v != lower and guard < 40:
            nxt = self.below(v)
            if nxt is None:
                break
            if v == "L5" and lower == "L6":
                nxt = "L6"
            out.append(f"{v}-{nxt}")
            v = nxt
            guard += 1
        return out if v == lower else []

    def pair(self, upper: str, lower: str) -> list[str]:
        """Levels of a mention written from vertebra ``upper`` to ``lower`` ("L4-5", "L1-L3")."""
        key = (upper, lower)
        levels = self._pairs.get(key)
        if levels is None:
            levels = self._pairs[key] = tuple(self._pair(upper, lower))
        return list(levels)

    def _pair(self, upper: str, lower: str) -> list[str]:
        if self.index[lower] < self.index[upper]:
            upper, lower = lower, upper
        if upper == lower:
            return [upper]
        if lower == "L6" and upper == "L5" or upper == "L6" and lower == "S1":
            return [f"{upper}-{lower}"]
        discs = self.discs_between(upper, lower)
        if len(discs) > 1:
            # "L1-L3" spans vertebrae: the bodies, then the discs between them
            # (a disc finding takes the discs, a vertebral one the bodies)
            return self.expand_range([upper], [lower])
        return discs or [f"{upper}-{lower}"]

    def expand_range(self, first: list[str], last: list[str]) -> list[str]:
        """Levels of "<first> through <last>" (either order: "from L4/5 up to L2/3"), discs or vertebrae."""
        a, b = first[0], last[-1]
        if self.is_disc(a) and self.is_disc(b):
            (u1, l1), (u2, l2) = a.split("-"), b.split("-")
            if all(v in self.index for v in (u1, l1, u2, l2)):
                upper = min(u1, u2, key=self.index.__getitem__)
                lower = max(l1, l2, key=self.index.__getitem__)
                if self.index[upper] < self.index[lower]:
                    return self.discs_between(upper, lower) or first + last
            return first + last
        if self.is_disc(a) or self.is_disc(b) or a not in self.index or b not in self.index:
            return first + last
        if self.index[b] < self.index[a]:
            a, b = b, a
        if a == b:
            return first + last
        # "T11 to L2": the vertebrae, then the discs between them (a disc
        # finding over the range takes the discs, a vertebral one the bodies)
        bodies = [v for v in self.order[self.index[a]: self.index[b] + 1] if v != "L6" or "L6" in (a, b)]
        return bodies + self.discs_between(a, b)

    @staticmethod
    def is_disc(level: str) -> bool:
        return "-" in level


class LevelFinder(RuleComponent):
    kind = "levels"

    def _load(self, directory: Path) -> None:
        data = rules.load_levels(directory)
        self.spine = Spine(data)
        self.named = re.compile("|".join(f"(?P<n{i}>{n.pattern})" for i, n in enumerate(data.named)) or "(?!)", rules.FLAGS)
        self.named_levels = [n.level for n in data.named]
        self.ordinals = {k.lower(): v for k, v in data.ordinals.items()}
        self.regions = {k.lower(): v for k, v in data.regions.items()}
        self.ordinal = None
        self.bare_numbers = re.compile(data.bare_number_list, rules.FLAGS) if data.bare_number_list else None
        if self.ordinals and self.regions and data.ordinal_nouns:
            alt = lambda words: "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))  # noqa: E731
            self.ordinal = re.compile(
                rf"\b(?P<ord>{alt(self.ordinals)})\s+(?P<region>{alt(self.regions)})\s+{data.ordinal_nouns}", rules.FLAGS
            )
        # words the expressions cannot match without: most reports have none of them
        self.named_needs = needed_literals(self.named.pattern, rules.FLAGS)
        self.ordinal_needs = needed_literals(self.ordinal.pattern, rules.FLAGS) if self.ordinal is not None else None
        # and walked over the word starts in texts read exactly, when they match only
        # at word starts (the same matches as finditer, see scan.word_scanner)
        self.named_words = word_scanner([n.pattern for n in data.named], rules.FLAGS, "n")
        self.ordinal_words = word_scanner(self.ordinal.pattern, rules.FLAGS) if self.ordinal is not None else None
        self.list_joiner = re.compile(data.list_joiner, rules.FLAGS)
        self.range_joiner = re.compile(data.range_joiner, rules.FLAGS)
        self.range_prefix = re.compile(data.range_prefix, rules.FLAGS)
        self.not_after = re.compile(data.not_a_level_after, rules.FLAGS)
        self.not_before = re.compile(data.not_a_level_before, rules.FLAGS)
        self.header_after = re.compile(data.header_after, rules.FLAGS)
        self.line_start_before = re.compile(data.sentence_header_before, rules.FLAGS)

    # -- mentions -----------------------------------------------------------
    def mentions(self, text: str, words: Optional[list[int]] = None) -> list[tuple[int, int, list[str]]]:
        """Level mentions (start, end, levels); ``words``: the word starts of ``text``, if known."""
        spine = self.spine
        out: list[tuple[int, int, list[str]]] = []
        for m in MENTION.finditer(text):
            a, an = m.group("a"), m.group("an")
            b = m.group("b") or m.group("b2")
            bn = m.group("bn") or m.group("bn2")
            end = m.end()
            if m.group("bn3") is not None:
                if int(m.group("bn3")) == int(an) + 1:
                    bn = m.group("bn3")  # "L4 5" is L4-L5
                else:
                    end = m.start("bn3") - 1  # "L3 2 cm ...": the vertebra alone
            letter = a.upper()
            if bn is None and len(an) == 2 and int(an) > MAX_NUMBER.get(spine.aliases.get(letter, letter), 12):
                an, bn, b = an[0], an[1], None  # "L45" -> L4, 5
            upper = spine.vertebra(a, an)
            if upper is None:
                continue
            if bn is None:
                # a lone vertebra: a nerve root ("S1 nerve root") or an MRI
                # sequence ("T2 signal") is not a level
                if self.not_after.match(text, end) or self.not_before.search(
                    text, max(0, m.start() - 12), m.start()
                ):
                    continue
                out.append((m.start(), end, [upper]))
                if self.bare_numbers is not None:  # "T12, L1, 2, 5": the numbers go on with L
                    pos = end
                    while (c := self.bare_numbers.match(text, pos)) is not None:
                        v = spine.vertebra(a, c.group(1))
                        if v is None:
                            break
                        out.append((c.start(1), c.end(1), [v]))
                        pos = c.end()
                continue
            if bn.upper() == "I":  # "L5-SI": a capital I typed for the 1 of S1
                bn = "1"
            lower = spine.vertebra(b or a, bn)
            if lower is None:
                continue
            out.append((m.start(), m.end(), spine.pair(upper, lower)))
        exact = text_info(text)[0]
        if may_match(self.named_needs, text):
            if exact and self.named_words is not None:
                found = self.named_words.finditer(text, starts=words if words is not None else word_starts(text, False))
            else:
                found = self.named.finditer(text)
            for m in found:
                out.append((m.start(), m.end(), [self.named_levels[int(m.lastgroup[1:])]]))
        if self.ordinal is not None and may_match(self.ordinal_needs, text):
            if exact and self.ordinal_words is not None:
                found = self.ordinal_words.finditer(text, starts=words if words is not None else word_starts(text, False))
            else:
                found = self.ordinal.finditer(text)
            for m in found:
                v = spine.vertebra(self.regions[m.group("region").lower()], str(self.ordinals[m.group("ord").lower()]))
                if v is not None:
                    out.append((m.start(), m.end(), [v]))
        out.sort()
        return out

    # -- groups and headers ---------------------------------------------------
    def paired(self, text: str, mentions: list[tuple[int, int, list[str]]]) -> list[tuple[int, int, list[str]]]:
        """"L4 L5", "L5 S1": neighbouring vertebrae written side by side name their disc."""
        out: list[tuple[int, int, list[str]]] = []
        for start, end, levels in mentions:
            if out:
                a, b, prev = out[-1]
                between = text[b:start]
                if (between and not between.strip(" \t") and len(prev) == 1 and len(levels) == 1
                        and not Spine.is_disc(prev[0]) and not Spine.is_disc(levels[0])
                        and levels[0] in self.spine.index and prev[0] in self.spine.index
                        and self.spine.below(prev[0]) == levels[0]):
                    out[-1] = (a, end, [f"{prev[0]}-{levels[0]}"])
                    continue
            out.append((start, end, levels))
        return out

    def groups(self, text: str, words: Optional[list[int]] = None) -> list[dict]:
        groups: list[dict] = []
        lasts: list[list[str]] = []
        spine = self.spine
        for start, end, levels in self.paired(text, self.mentions(text, words)):
            if groups:
                g = groups[-1]
                between = text[g["end"]:start]
                if len(between) <= 30 and "\n" not in between.strip(" \t,"):
                    last = lasts[-1]  # the levels of the group's last mention
                    if self.range_joiner.match(between):
                        kept = [lv for lv in g["levels"] if lv not in last]
                        g["levels"] = unique(kept + spine.expand_range(last[-1:], levels))
                        g["end"] = end
                        lasts[-1] = levels
                        continue
                    if self.list_joiner.match(between):
                        g["levels"] = unique(g["levels"] + levels)
                        g["end"] = end
                        lasts[-1] = levels
                        continue
            groups.append({"levels": list(levels), "start": start, "end": end,
                           "header": None, "scope_end": None})
            lasts.append(levels)
        return groups

    def mark_headers(self, text: str, groups: list[dict], boundaries: list[int],
                     sentence_starts: Optional[list[int]] = None) -> None:
        """Find level headers and the end of the text each one governs.

        Every search is bounded (the prefix window, the next header), so the
        work stays linear in the length of the report.
        """
        n = len(text)
        headers = []
        for g in groups:
            start = g["start"]
            lo = max(0, start - 42)  # a header's prefix is at most 40 characters
            starts = [0] if lo == 0 else []
            nl, sl = text.rfind("\n", lo, start), text.rfind("//", lo, start)
            if nl != -1:
                starts.append(nl + 1)
            if sl != -1:
                starts.append(sl + 2)
            in_line = False
            if sentence_starts:
                # a level that opens a sentence inside a line ("... bilaterally. L3-L4 The disc ...")
                k = bisect_right(sentence_starts, start) - 1
                if k >= 0 and sentence_starts[k] >= lo and (not starts or sentence_starts[k] > max(starts)):
                    starts.append(sentence_starts[k])
                    in_line = True
            if not starts:
                continue  # the line began too far back for a header
            prefix = text[max(starts):start]
            if len(prefix) > 40 or not self.line_start_before.match(prefix):
                continue
            if self.header_after.match(text, g["end"]) and not _BULLET.match(prefix):
                g["header"] = "block"
            elif (in_line or prefix.strip()) and not _BULLET.match(prefix):
                # "At L4-5, there is ..." and a level opening a sentence: the
                # paragraph's next sentences keep the level (ANNOTATION.md)
                g["header"] = "paragraph"
            else:
                g["header"] = "line"
            headers.append(g)
        boundaries = sorted(boundaries)
        for i, g in enumerate(headers):
            end = headers[i + 1]["start"] if i + 1 < len(headers) else n
            # a block or paragraph header governs up to a blank line (a block
            # header alone on its line also over the blank lines right after
            # it: "L4-5:" then the paragraph below), a line header its own line
            if g["header"] in ("block", "paragraph"):
                body = g["end"]
                if g["header"] == "block":
                    after = _HEADER_REST.match(text, g["end"])
                    if after and "\n" in after.group():
                        body = after.end()
                blank = _BLANK.search(text, body, end)
                if blank:
                    end = blank.start()
            else:
                nl = text.find("\n", g["end"], end)
                if nl != -1:
                    end = nl
            j = bisect_right(boundaries, g["end"])
            if j < len(boundaries) and boundaries[j] < end:
                end = boundaries[j]
            g["scope_end"] = end

    def __call__(self, doc: Doc) -> Doc:
        text = doc_text(doc)
        groups = self.groups(text, doc_word_starts(doc, False))
        boundaries = [s["start"] for s in (ext.get(doc, "spine_sections") or [])]
        sents = ext.get(doc, "spine_sentences") or []
        self.mark_headers(text, groups, boundaries, [s[0] for s in sents])
        ext.put(doc, "spine_levels", groups)
        return doc


_BLANK = re.compile(r"\n[ \t]*\n")
#: The rest of a header line with nothing after the colon, and the blank lines below it.
_HEADER_REST = re.compile(r"[^\S\n]*(?:\w+[^\S\n]*)?[:.\-]*[^\S\n]*(?:\n[ \t]*)+")
#: A header inside a bulleted or numbered item governs that item only.
_BULLET = re.compile(r"\s*(?:[-*•·]|\d{1,2}[.)])")


def unique(items: list[str]) -> list[str]:
    """The items in order, each once."""
    seen = set()
    return [x for x in items if not (x in seen or seen.add(x))]


@Language.factory(
    "spinecontext_levels",
    default_config={"patterns_dir": None},
    requires=["doc._.spine_sections"],
    assigns=["doc._.spine_levels"],
)
def make_levels(nlp: Language, name: str, patterns_dir: Optional[str]) -> LevelFinder:
    """Find vertebral levels, level lists, ranges and level headers.

    patterns_dir: folder of rule files to use instead of the packaged ones.
    """
    return LevelFinder(nlp, name, patterns_dir=patterns_dir)
