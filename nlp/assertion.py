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
from bisect import bisect_left, bisect_right
from pathlib import Path
from typing import Optional

from spacy.language import Language
from spacy.tokens import Doc

from . import extensions as ext
from . import rules
from .base import RuleComponent, doc_text, set_finding_spans
from .scan import Scanner, doc_word_starts

#: No rule reaches further than this many words (ContextRule.max_scope <= 60).
MAX_REACH = 60
CATEGORY = {
    "NEGATED_EXISTENCE": "absent",
    "POSSIBLE_EXISTENCE": "possible",
    "HISTORICAL": "historical",
    "EXAM_FINDING": "exam",
}
HISTORY_SECTIONS = {"history", "comparison"}


class AssertionClassifier(RuleComponent):
    kind = "assertion"

    def _load(self, directory: Path) -> None:
        data = rules.load_context(directory)
        self.rules = data.rules
        parts = [rules.expand(r.regex, directory, f"context.yaml rule {i}") for i, r in enumerate(data.rules)]
        self.rx = Scanner(parts, rules.FLAGS, "r")
        self.stops = {id(r): re.compile(r.stop, rules.FLAGS) if r.stop else None for r in data.rules}
        self.yields = {r.id: set(r.yields_to) for r in rules.load_findings(directory) if r.yields_to} \
            if (directory / "findings").is_dir() else {}

    def modifiers(self, text: str, starts: Optional[list[int]] = None) -> list[tuple[int, int, rules.ContextRule]]:
        out = []
        for m in self.rx.finditer(text, starts=starts):
            rule = self.rules[int(m.lastgroup[1:])]
            if rule.category != "PSEUDO":
                out.append((m.start(), m.end(), rule))
        return out

    def assert_one(self, f: dict, sent: list[int], mods: list, starts: list[int],
                   words: list[int], terms: list[int], text: str) -> str:
        """The assertion of one mention; the modifiers that reach it go to ``f["context"]``
        as ``[start, end, category, direction]`` (what medspaCy's ``Span._.modifiers`` shows).

        mods: modifiers sorted by start; starts: their start offsets; words: word
        start offsets of the report; terms: TERMINATE offsets, sorted.
        """
        if f.get("fixed_assertion"):
            return f["fixed_assertion"]
        s0, s1 = sent
        fs, fe = f["start"], f["end"]
        # only modifiers within reach can apply: MAX_REACH words either side, same sentence
        w0 = bisect_left(words, fs)
        k = w0 - MAX_REACH - 2
        lo_pos = max(s0, words[k]) if k >= 0 else s0
        k = w0 + MAX_REACH + 2
        hi_pos = min(s1, words[k]) if k < len(words) else s1
        cats = set()
        applied = None
        for a, b, rule in mods[bisect_left(starts, lo_pos):bisect_right(starts, hi_pos)]:
            if not s0 <= a < s1:
                continue
            if b <= fs and rule.direction in ("forward", "bidirectional"):
                lo, hi = b, fs
            elif a >= fe and rule.direction in ("backward", "bidirectional"):
                lo, hi = fe, a
            else:
                continue
            t = bisect_left(terms, lo)
            if t < len(terms) and terms[t] < hi:
                continue  # a TERMINATE word lies between
            if bisect_left(words, hi) - bisect_left(words, lo) > rule.max_scope:
                continue
            stop = self.stops[id(rule)]
            if stop is not None and stop.search(text, lo, hi):
                continue
            cats.add(CATEGORY[rule.category])
            if applied is None:
                applied = f["context"] = []
            applied.append([a, b, rule.category, rule.direction])
        negated = "absent" in cats
        in_history = f.get("section_kind") in HISTORY_SECTIONS and "exam" not in cats
        if ("historical" in cats or in_history) and not negated:
            return "historical"
        if "possible" in cats:
            return "possible"
        if negated:
            return "absent"
        return "present"

    def __call__(self, doc: Doc) -> Doc:
        findings = ext.get(doc, "spine_findings") or []
        if not findings:
            return doc
        text = doc_text(doc)
        sents = ext.get(doc, "spine_sentences") or [[0, len(text)]]
        words = doc_word_starts(doc, False)
        found = self.modifiers(text, doc_word_starts(doc, True))
        terms = [a for a, _, rule in found if rule.category == "TERMINATE"]
        mods = [m for m in found if m[2].category != "TERMINATE"]
        starts = [m[0] for m in mods]
        for f in findings:
            f["assertion"] = self.assert_one(f, sents[f["sentence"]], mods, starts, words, terms, text)
        if self.yields:
            by_sentence: dict[int, list[dict]] = {}
            for f in findings:
                by_sentence.setdefault(f["sentence"], []).append(f)
            kept = [f for f in findings if not self._yields(f, by_sentence[f["sentence"]])]
            if len(kept) != len(findings):
                ext.put(doc, "spine_findings", kept)
                set_finding_spans(doc, kept)
        return doc

    def _yields(self, f: dict, same_sentence: list[dict]) -> bool:
        better = self.yields.get(f["finding"])
        if not better or f["assertion"] == "absent":
            return False
        for g in same_sentence:
            if (g["finding"] in better and g["assertion"] == f["assertion"]
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
