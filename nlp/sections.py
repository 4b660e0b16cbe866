"""Report sections (history, technique, findings, impression...) and exam regions.

Radiology reports have headers ("CLINICAL HISTORY:", "IMPRESSION:") and, in
whole-spine or multi-exam reports, region titles ("C.SPINE MRI :", "LSS MRI").
Findings under a history header are the reason for the exam, not findings of
it; findings under a cervical or knee title are not lumbar findings.
"""


import re
from pathlib import Path
from typing import Optional

from spacy.language import Language
from spacy.tokens import Doc

from . import extensions as ext
from . import rules
from .base import RuleComponent, doc_text
from .scan import may_match_in, needed_literals

LINE = re.compile(r"[^\n]*")
#: Section kinds that end after their first line of text.
SHORT_KINDS = {"history", "technique", "comparison", "exam"}


class SectionSplitter(RuleComponent):
    kind = "sections"

    def _load(self, directory: Path) -> None:
        data = rules.load_sections(directory)
        self.headers = [
            (h.name, h.kind, re.compile(h.pattern, rules.FLAGS)) for h in data.headers
        ]
        reg = data.regions
        self.max_words = reg.max_words
        self.inline_max_words = reg.inline_max_words
        self.title_words = re.compile(reg.title_words, rules.FLAGS)
        self.not_title = re.compile(reg.not_title, rules.FLAGS)
        self.regions = [(r.region, re.compile(r.pattern, rules.FLAGS)) for r in reg.patterns]
        self.any_region = re.compile("|".join(f"(?:{r.pattern})" for r in reg.patterns), rules.FLAGS)
        self.region_needs = needed_literals(self.any_region.pattern, rules.FLAGS)
        # quick test: can this line be a header or title at all?
        self.any_header = re.compile(
            "|".join(f"(?:{h.pattern})" for h in data.headers), rules.FLAGS
        )

    def region_of(self, line: str, text: Optional[str] = None, start: int = 0) -> Optional[str]:
        """The region a title line names ("LSS MRI :", "LUMBAR: ..."), or None.

        ``text``, ``start``: the report the line is in and where, to look for the
        words the region patterns need in it first (scan.may_match_in).
        """
        if len(line) > 12 * self.max_words:
            # too long to be a title, so only a short label before a colon could name one
            # (checked first: most lines of a long-form report end here)
            head, colon, _ = line.partition(":")
            if not colon or not 0 < len(head.split()) <= self.inline_max_words:
                return None
        if text is not None and not may_match_in(self.region_needs, text, start, start + len(line)):
            return None  # none of the words a region pattern needs
        if not self.any_region.search(line):
            return None  # names no region: the usual case, decided in one search
        head, colon, _ = line.partition(":")
        if colon and 0 < len(head.split()) <= self.inline_max_words and not self.not_title.search(head):
            for region, rx in self.regions:  # "LUMBAR: Grade 1 anterolisthesis..."
                if rx.search(head):
                    return region
        if len(line) > 12 * self.max_words:
            return None  # far too long to be a title
        words = line.split()
        if not words or len(words) > self.max_words:
            return None
        if not self.title_words.search(line) or self.not_title.search(line):
            return None
        for region, rx in self.regions:  # in file order: lumbar first ("C SPINE AND LSS MRI")
            if rx.search(line):
                return region
        return None

    def __call__(self, doc: Doc) -> Doc:
        text = doc_text(doc)
        sections: list[dict] = []
        current = {"name": "findings", "kind": "findings", "region": None,
                   "start": 0, "end": len(text), "header_end": 0}
        region: Optional[str] = None
        short_left = -1  # content lines left in a short (history-like) section
        revert_to: Optional[tuple] = None  # (region,) to restore after an inline region's paragraph
        for m in LINE.finditer(text):
            line = m.group()
            if not line.strip():
                if revert_to is not None and m.start() > 0 and text[m.start() - 1] == "\n":
                    # "Hips: ..." or "Sacroiliac joint: ..." labels one paragraph:
                    # the blank line after it returns to the region before it
                    region = revert_to[0]
                    revert_to = None
                    current["end"] = m.start()
                    sections.append(current)
                    current = {"name": current["name"], "kind": current["kind"], "region": region,
                               "start": m.start(), "header_end": m.start(), "end": len(text)}
                continue
            start = m.start()
            new = None
            if short_left == 0:
                # history/technique/comparison/exam sections end after one line
                new = {"name": "findings", "kind": "findings", "region": region,
                       "start": start, "header_end": start}
            short_left -= 1
            if self.any_header.match(line):
                for name, kind, rx in self.headers:
                    hm = rx.match(line)
                    if hm:
                        if name == "impression":
                            region = None  # an impression speaks of the whole exam
                        new = {"name": name, "kind": kind, "region": region,
                               "start": start, "header_end": start + hm.end()}
                        break
            if new is not None and new["header_end"] > start:
                rest = line[new["header_end"] - start:].strip(" \t:-")
                short_left = (0 if rest else 1) if new["kind"] in SHORT_KINDS else -1
            if new is None or new["kind"] == "findings" and new["header_end"] == start:
                # a line without any word a region pattern needs names no region
                r = self.region_of(line, text, start)
                if r is not None:
                    inline = ":" in line and line.partition(":")[2].strip(" \t-")
                    revert_to = (region,) if inline and r != "lumbar" else None
                    region = r
                    new = {"name": "findings", "kind": "findings", "region": region,
                           "start": start, "header_end": start + len(line.partition(":")[0]) + 1
                           if ":" in line else m.end()}
                    short_left = -1
            if new is not None:
                current["end"] = start
                if current["end"] > current["start"] or current["header_end"] > current["start"]:
                    sections.append(current)
                current = {**new, "end": len(text)}
        sections.append(current)
        ext.put(doc, "spine_sections", sections)
        return doc


@Language.factory(
    "spinecontext_sections",
    default_config={"patterns_dir": None},
    requires=[],
    assigns=["doc._.spine_sections"],
)
def make_sections(nlp: Language, name: str, patterns_dir: Optional[str]) -> SectionSplitter:
    """Split a report into sections and exam regions.

    patterns_dir: folder of rule files to use instead of the packaged ones.
    """
    return SectionSplitter(nlp, name, patterns_dir=patterns_dir)
