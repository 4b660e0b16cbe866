"""Assertion: is each finding present, absent, possible, or only history?

A ConText-style algorithm with our own rules (``patterns/context.yaml``),
evaluated on character offsets inside each sentence:

* modifiers are found in one pass; PSEUDO rules ("no change in") come first
  in the rule file and hide the words they cover;
* a forward modifier reaches findings after it, a backward one findings
  before it, up to ``max_scope`` words and never past a TERMINATE word or the
  end of the sentence;
* uncertainty is read before negation: hedged + negated is ``possible``;
  a historical modifier or a history/comparison section gives ``historical``
  unless the mention is negated;
* wording with a fixed assertion ("adequate spinal canal") keeps it.

It also applies ``yields_to``: a mention of a less specific finding in the same
sentence, at the same levels and with the same assertion as a more specific
one, is dropped ("herniation in the form of a protrusion"); negated mentions
are all kept ("no disc herniation or protrusion" denies both).
"""


import re
from pathlib import Path
from typing import Optional

from spacy.language import Language
from spacy.tokens import Doc

from . import rules
from .base import RuleComponent, doc_text, set_finding_spans
from .scan import Scanner

WORD = re.compile(r"\w+")
CATEGORY = {
    "NEGATED_EXISTENCE": "absent",
    "POSSIBLE_EXISTENCE": "possible",
    "HISTORICAL": "historical",
}
HISTORY_SECTIONS = {"history", "comparison"}


class AssertionClassifier(RuleComponent):
    kind = "assertion"

    def _load(self, directory: Path) -> None:
        data = rules.load_context(directory)
        self.rules = data.rules
        parts = [rules.expand(r.regex, directory, f"context.yaml rule {i}") for i, r in enumerate(data.rules)]
        self.rx = Scanner(parts, rules.FLAGS, "r")
        self.yields = {r.id: set(r.yields_to) for r in rules.load_findings(directory) if r.yields_to} \
            if (directory / "findings").is_dir() else {}

    def modifiers(self, text: str) -> list[tuple[int, int, rules.ContextRule]]:
        out = []
        for m in self.rx.finditer(text):
            rule = self.rules[int(m.lastgroup[1:])]
            if rule.category != "PSEUDO":
                out.append((m.start(), m.end(), rule))
        return out

    def assert_one(self, f: dict, sent: list[int], mods: list, text: str) -> str:
        if f.get("fixed_assertion"):
            return f["fixed_assertion"]
        s0, s1 = sent
        fs, fe = f["start"], f["end"]
        local = [m for m in mods if s0 <= m[0] < s1]
        terms = [m[0] for m in local if m[2].category == "TERMINATE"]
        cats = set()
        for a, b, rule in local:
            if rule.category == "TERMINATE":
                continue
            reach = None
            if b <= fs and rule.direction in ("forward", "bidirectional"):
                reach = (b, fs)
            elif a >= fe and rule.direction in ("backward", "bidirectional"):
                reach = (fe, a)
            if reach is None:
                continue
            lo, hi = reach
            if any(lo <= t < hi for t in terms):
                continue
            if len(WORD.findall(text, lo, hi)) > rule.max_scope:
                continue
            cats.add(CATEGORY[rule.category])
        negated = "absent" in cats
        if ("historical" in cats or f.get("section_kind") in HISTORY_SECTIONS) and not negated:
            return "historical"
        if "possible" in cats:
            return "possible"
        if negated:
            return "absent"
        return "present"

    def __call__(self, doc: Doc) -> Doc:
        findings = doc._.spine_findings or []
        if not findings:
            return doc
        text = doc_text(doc)
        sents = doc._.spine_sentences or [[0, len(text)]]
        mods = self.modifiers(text)
        for f in findings:
            f["assertion"] = self.assert_one(f, sents[f["sentence"]], mods, text)
        if self.yields:
            kept = [f for f in findings if not self._yields(f, findings)]
            if len(kept) != len(findings):
                doc._.spine_findings = kept
                set_finding_spans(doc, kept)
        return doc

    def _yields(self, f: dict, findings: list[dict]) -> bool:
        better = self.yields.get(f["finding"])
        if not better:
            return False
        for g in findings:
            if (g["finding"] in better and g["sentence"] == f["sentence"]
                    and g["assertion"] == f["assertion"] != "absent"
                    and (set(g["levels"]) & set(f["levels"]) or not g["levels"] and not f["levels"])):
                return True
        return False


@Language.factory(
    "spinecontext_assertion",
    default_config={"patterns_dir": None},
    requires=["doc._.spine_findings", "doc._.spine_sentences"],
    assigns=["doc._.spine_findings"],
)
def make_assertion(nlp: Language, name: str, patterns_dir: Optional[str]) -> AssertionClassifier:
    """Decide for each finding: present, absent, possible or historical.

    patterns_dir: folder of rule files to use instead of the packaged ones.
    """
    return AssertionClassifier(nlp, name, patterns_dir=patterns_dir)
