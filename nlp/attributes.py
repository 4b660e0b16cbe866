"""Attributes of each finding: severity, laterality, position, grade, Modic type.

Words are read in a window around the mention inside its sentence; the window
stops at the neighbouring finding so "mild bulge, severe stenosis" gives each
its own severity. Words before the mention are read first.
"""


import re
from pathlib import Path
from typing import Optional

from spacy.language import Language
from spacy.tokens import Doc

from . import rules
from .base import RuleComponent

SEVERITY_RANK = {"mild": 1, "moderate": 2, "severe": 3}
ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4"}


class AttributeReader(RuleComponent):
    kind = "attributes"

    def _load(self, directory: Path) -> None:
        data = rules.load_attributes(directory)
        c = lambda rx: re.compile(rx, rules.FLAGS)  # noqa: E731
        self.before, self.after = data.window_before, data.window_after
        self.severity = [(name, c(getattr(data.severity, name))) for name in ("severe", "moderate", "mild")]
        self.not_severity = re.compile(r"(?:" + data.severity.not_severity + r")", rules.FLAGS)
        self.sides = {name: c(getattr(data.laterality, name)) for name in ("left", "right", "bilateral", "central")}
        self.position = {k: c(v) for k, v in data.position.items()}
        self.grade = c(data.grade)
        self.modic = c(data.modic_type)
        self.direction = {k: c(v) for k, v in data.listhesis_direction.items()}

    def read_severity(self, text: str, a: int, b: int) -> Optional[str]:
        best, rank = None, 0
        for name, rx in self.severity:
            for m in rx.finditer(text, a, b):
                if self.not_severity.search(text[max(0, m.start() - 12):m.start()]):
                    continue
                if SEVERITY_RANK[name] > rank:
                    best, rank = name, SEVERITY_RANK[name]
        return best

    def read_side(self, text: str, a: int, b: int) -> Optional[str]:
        seen = {name for name, rx in self.sides.items() if rx.search(text, a, b)}
        if "bilateral" in seen or {"left", "right"} <= seen:
            return "bilateral"
        for side in ("left", "right", "central"):
            if side in seen:
                return side
        return None

    def __call__(self, doc: Doc) -> Doc:
        findings = doc._.spine_findings or []
        text = doc.text
        sents = doc._.spine_sentences or [[0, len(text)]]
        for i, f in enumerate(findings):
            s0, s1 = sents[f["sentence"]]
            prev_end = max((g["end"] for g in findings[:i] if g["sentence"] == f["sentence"] and g["end"] <= f["start"]), default=s0)
            next_start = min((g["start"] for g in findings[i + 1:] if g["sentence"] == f["sentence"] and g["start"] >= f["end"]), default=s1)
            b0 = max(s0, prev_end, f["start"] - self.before)
            a1 = min(s1, next_start, f["end"] + self.after)
            severity = self.read_severity(text, b0, f["end"]) or self.read_severity(text, f["end"], a1)
            side = self.read_side(text, b0, f["end"]) or self.read_side(text, f["end"], a1)
            attrs: dict = {}
            pos = [k for k, rx in self.position.items() if rx.search(text, b0, a1)]
            if pos:
                attrs["position"] = pos
            if f["finding"] == "spondylolisthesis":
                m = self.grade.search(text, b0, a1)
                if m:
                    g = m.group("grade").lower()
                    attrs["grade"] = int(ROMAN.get(g, g))
                for name, rx in self.direction.items():
                    if rx.search(f["text"]):
                        attrs["direction"] = name
                        break
            if f["finding"] == "modic_change":
                m = self.modic.search(text, b0, a1)
                if m:
                    t = m.group("type").lower()
                    attrs["modic_type"] = int(ROMAN.get(t, t))
            f["severity"] = severity
            f["laterality"] = side
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
