"""Attributes of each finding: severity, laterality, position, grade, Modic type.

Words are read in a window around the mention inside its sentence; the window
stops at the neighbouring finding so "mild bulge, severe stenosis" gives each
its own severity. Words before the mention are read first.
"""


import re
from bisect import bisect_left
from pathlib import Path
from typing import Optional

from spacy.language import Language
from spacy.tokens import Doc

from . import extensions as ext
from . import rules
from .base import RuleComponent, doc_text
from .scan import Scanner, doc_word_starts, may_match_in, needed_literals, word_scanner

SEVERITY_RANK = {"mild": 1, "moderate": 2, "severe": 3}
SIDES = ("left", "right", "bilateral", "central")
ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4"}


def _side(sides: set[str]) -> Optional[str]:
    """One side for the side words read: both sides named is bilateral."""
    if "bilateral" in sides or {"left", "right"} <= sides:
        return "bilateral"
    for name in ("left", "right", "central"):
        if name in sides:
            return name
    return None


class AttributeReader(RuleComponent):
    kind = "attributes"

    def _load(self, directory: Path) -> None:
        data = rules.load_attributes(directory)
        c = lambda rx: re.compile(rx, rules.FLAGS)  # noqa: E731
        self.before, self.after = data.window_before, data.window_after
        # All word classes in one expression, one named group each, so a
        # window is read in one pass: sev_mild, side_left, pos_foraminal, ...
        groups = [(f"sev_{n}", getattr(data.severity, n)) for n in SEVERITY_RANK]
        groups += [(f"side_{n}", getattr(data.laterality, n)) for n in SIDES]
        groups += [(f"pos_{n}", rx) for n, rx in data.position.items()]
        self.word_names = [g.partition("_")[::2] for g, _ in groups]
        self.words = Scanner([rx for _, rx in groups], rules.FLAGS, "w")
        self.not_severity = re.compile(r"(?:" + data.severity.not_severity + r")", rules.FLAGS)
        sev = data.severity
        self.after_ok = c(sev.after_finding) if sev.after_finding else None
        cb = sev.clause_breaks
        self.break_marks = tuple(cb.marks) if cb else ()
        self.before_comma = re.compile(rf"(?:{cb.before_comma})\s*,", rules.FLAGS) if cb and cb.before_comma else None
        words = sorted(cb.words, key=len, reverse=True) if cb else []
        alt = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in words)
        self.break_words = (word_scanner(rf"\b(?:{alt})\b", rules.FLAGS, "b") or Scanner([rf"\b(?:{alt})\b"], rules.FLAGS, "b")) if words else None
        self.for_all = c(sev.for_all) if sev.for_all else None
        self.for_all_needs = needed_literals(sev.for_all, rules.FLAGS) if sev.for_all else None
        self.sev_names = {"mild": "mild", "minimal": "mild", "moderate": "moderate", "severe": "severe"}
        self.grade = c(data.grade)
        self.modic = c(data.modic_type)
        self.modic_edema = c(data.modic_edema)
        self.direction = {k: c(v) for k, v in data.listhesis_direction.items()}

    def words_in(self, text: str, starts: list[int]) -> list[tuple[int, int, str, str]]:
        """All attribute words of the report, in order: (start, end, kind, name)."""
        out = []
        for m in self.words.finditer(text, starts=starts):
            kind, name = self.word_names[int(m.lastgroup[1:])]
            if kind == "sev" and self.not_severity.search(text, max(0, m.start() - 12), m.start()):
                continue  # "no significant"
            out.append((m.start(), m.end(), kind, name))
        return out

    def clause_breaks(self, doc: Doc, text: str) -> list[tuple[int, int]]:
        """(start, end) of every clause break of the report (attributes.yaml
        ``clause_breaks``), in order; computed once a report."""
        out: list[tuple[int, int]] = []
        for mark in self.break_marks:
            i = text.find(mark)
            while i != -1:
                out.append((i, i + 1))
                i = text.find(mark, i + 1)
        if self.before_comma is not None:
            i = text.find(",")
            while i != -1:
                # the word ending and spaces before this comma: searched in a short
                # window that ends at the comma, so each comma is looked at once
                lo = max(0, i - 24)
                for m in self.before_comma.finditer(text, lo, i + 1):
                    if m.end() == i + 1:
                        out.append((m.start(), m.end()))
                i = text.find(",", i + 1)
        if self.break_words is not None:
            starts = doc_word_starts(doc, not self.break_words.words_only)
            out += [(m.start(), m.end()) for m in self.break_words.finditer(text, starts=starts)]
        out.sort()
        return out

    def read(self, hits: list, hit_starts: list[int], a: int, b: int) -> tuple[Optional[str], Optional[str], list[str]]:
        """(severity, side, positions) from the attribute words inside text[a:b]."""
        severity, rank = None, 0
        sides: set[str] = set()
        positions: list[str] = []
        for i in range(bisect_left(hit_starts, a), len(hits)):
            start, end, kind, name = hits[i]
            if start >= b:
                break
            if end > b:
                continue
            if kind == "sev":
                if SEVERITY_RANK[name] > rank:
                    severity, rank = name, SEVERITY_RANK[name]
            elif kind == "side":
                sides.add(name)
            elif name not in positions:
                positions.append(name)
        return severity, _side(sides), positions

    def read_around(self, hits: list, hit_starts: list[int], b0: int, fe: int, a1: int) -> tuple:
        """``read(hits, hit_starts, b0, fe) + read(hits, hit_starts, fe, a1)`` in one walk."""
        n = len(hits)
        i = bisect_left(hit_starts, b0)
        out: list = []
        for stop in (fe, a1):
            severity, rank = None, 0
            sides: set[str] = set()
            positions: list[str] = []
            while i < n:
                start, end, kind, name = hits[i]
                if start >= stop:
                    break
                i += 1
                if end > stop:
                    continue
                if kind == "sev":
                    if SEVERITY_RANK[name] > rank:
                        severity, rank = name, SEVERITY_RANK[name]
                elif kind == "side":
                    sides.add(name)
                elif name not in positions:
                    positions.append(name)
            out += (severity, _side(sides) if sides else None, positions)
            if b0 > fe:  # (not met: b0 <= fs) the words after start at the mention's end
                i = bisect_left(hit_starts, fe)
        return tuple(out)

    def read_after(self, text: str, hits: list, hit_starts: list[int], fe: int, a1: int) -> Optional[str]:
        """The strongest grading word after a mention that grades it: only a
        predicate may stand between ("is moderate to severe")."""
        severity, rank = None, 0
        for i in range(bisect_left(hit_starts, fe), len(hits)):
            start, end, kind, name = hits[i]
            if start >= a1 or end > a1:
                break
            if kind != "sev":
                continue
            between = text[fe:start]
            if rank == 0 and self.after_ok.match(between) is None:
                break  # the first grading word after the mention grades something else
            if rank and not between.rstrip().lower().endswith(("to", "-")):
                break  # a second grading word only as the top of a range ("moderate to severe")
            if SEVERITY_RANK[name] > rank:
                severity, rank = name, SEVERITY_RANK[name]
        return severity

    def __call__(self, doc: Doc) -> Doc:
        findings = ext.get(doc, "spine_findings") or []
        text = doc_text(doc)
        sents = ext.get(doc, "spine_sentences") or [[0, len(text)]]
        hits = self.words_in(text, doc_word_starts(doc, not self.words.words_only)) if findings else []
        hit_starts = [h[0] for h in hits]
        breaks = self.clause_breaks(doc, text) if findings else []
        break_starts = [a for a, _ in breaks]
        by_sentence: dict[int, list[int]] = {}
        for_all: dict[int, Optional[re.Match]] = {}
        for i, f in enumerate(findings):  # findings are in start order
            by_sentence.setdefault(f["sentence"], []).append(i)
        for i, f in enumerate(findings):
            si, fs, fe = f["sentence"], f["start"], f["end"]
            s0, s1 = sents[si]
            prev_end, next_start = s0, s1
            near = by_sentence[si]
            k = near.index(i) if len(near) < 64 else bisect_left(near, i)
            for j in near[max(0, k - 8):k]:  # neighbours before: the latest end at or before fs
                if prev_end < findings[j]["end"] <= fs:
                    prev_end = findings[j]["end"]
            for j in near[k + 1:k + 9]:  # neighbours after: the first start at or after fe
                if fe <= findings[j]["start"] < next_start:
                    next_start = findings[j]["start"]
            b0 = max(prev_end, fs - self.before)
            a1 = min(next_start, fe + self.after)
            if breaks:
                # words across a clause break describe something else: before the
                # mention, read after the last break inside the window; after it,
                # up to the first
                k = bisect_left(break_starts, fs) - 1
                lo = bisect_left(break_starts, b0)
                while k >= lo:
                    if breaks[k][1] <= fs:
                        b0 = breaks[k][1]
                        break
                    k -= 1
                k = bisect_left(break_starts, fe)
                if k < len(breaks) and breaks[k][1] <= a1:
                    a1 = breaks[k][0]
            # words before the mention (and in it) first, then words after it
            sev_b, side_b, pos_b, sev_a, side_a, pos_a = self.read_around(hits, hit_starts, b0, fe, a1)
            if sev_a is not None and self.after_ok is not None:
                sev_a = self.read_after(text, hits, hit_starts, fe, a1)
            attrs: dict = {}
            positions = pos_b + [p for p in pos_a if p not in pos_b]
            if positions:
                attrs["position"] = positions
            if f["finding"] == "spondylolisthesis":
                m = self.grade.search(text, b0, a1)
                if m:
                    g = m.group("grade").lower()
                    attrs["grade"] = int(ROMAN.get(g, g))
                for name, rx in self.direction.items():
                    if rx.search(f["text"]):
                        attrs["direction"] = name
                        break
            elif f["finding"] == "modic_change":
                m = self.modic.search(text, b0, a1)
                if m:
                    t = m.group("type").lower()
                    attrs["modic_type"] = int(ROMAN.get(t, t))
                elif self.modic_edema.search(f["text"]):
                    attrs["modic_type"] = 1  # endplate edema
            f["severity"] = sev_b or sev_a
            if f["severity"] is None and self.for_all is not None:
                # "..., all mild in degree": searched once a sentence, if its words are there
                if si not in for_all:
                    for_all[si] = self.for_all.search(text, s0, s1) if may_match_in(
                        self.for_all_needs, text, s0, s1) else None
                m = for_all[si]
                if m is not None:
                    f["severity"] = self.sev_names[m.group("sev").lower()]
            f["laterality"] = side_b or side_a
            f["attributes"] = attrs
        return doc


@Language.factory(
    "spinecontext_attributes",
    default_config={"patterns_dir": None},
    requires=["doc._.spine_findings"],
    assigns=["doc._.spine_findings"],
)
def make_attributes(nlp: Language, name: str, patterns_dir: Optional[str]) -> AttributeReader:
    """Read severity, laterality, position, listhesis grade and Modic type.

    patterns_dir: folder of rule files to use instead of the packaged ones.
    """
    return AttributeReader(nlp, name, patterns_dir=patterns_dir)
