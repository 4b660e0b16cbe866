"""Prevalence: how common each present finding is in people without back pain.

Figures come only from ``patterns/prevalence.yaml`` (itself taken from
``shared/evidence/PREVALENCE.md``). By-age figures use the Brinjikji 2015
table: the value at the patient's age, interpolated linearly between the two
neighbouring decades and rounded to a whole number. Outside the table's ages
(20-80) no number is given; with no age, the figures at 20 and at 80 are given.
Red flags and the never-reassured findings (``never_reassure``) get no figure.
"""

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Optional

from spacy.language import Language
from spacy.tokens import Doc

from . import extensions as ext
from . import rules
from .base import RuleComponent


def whole(value: float) -> int:
    """Round half up to a whole number (what readers see)."""
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class Prevalence(RuleComponent):
    kind = "prevalence"

    def _load(self, directory: Path) -> None:
        self.data = rules.load_prevalence(directory)
        self.groups = {r.id: r.group for r in rules.load_findings(directory)}
        self._memo: dict[tuple, Optional[dict]] = {}
        never = self.data.never_reassure
        #: findings never called common: red flags and never_reassure.findings
        self._never = frozenset(fid for fid, group in self.groups.items() if group == "red_flag") | set(never.findings)
        self._when: dict[str, list] = {}
        for w in never.when:
            self._when.setdefault(w.finding, []).append(w)

    def value_at(self, row: str, age: float) -> float:
        """The by-age table value at ``age`` (linear between decades)."""
        by = self.data.by_age
        ages, values = by.ages, by.rows[row]
        for i in range(len(ages) - 1):
            a0, a1 = ages[i], ages[i + 1]
            if a0 <= age <= a1:
                return values[i] + (values[i + 1] - values[i]) * (age - a0) / (a1 - a0)
        raise ValueError(f"age {age} is outside {ages[0]}-{ages[-1]}")

    def figure(self, finding: str, age: Optional[int]) -> Optional[dict]:
        """The figure shown for ``finding`` at ``age`` (None: no figure). Do not modify the result."""
        key = (finding, age)
        if key not in self._memo:
            if len(self._memo) > 10_000:
                self._memo.clear()
            self._memo[key] = self._figure(finding, age)
        return self._memo[key]

    def _figure(self, finding: str, age: Optional[int]) -> Optional[dict]:
        fig = self.data.findings.get(finding)
        if fig is None:
            return None
        if fig.fixed is not None:
            fx = self.data.fixed[fig.fixed]
            src = self.data.sources[fx.source]
            return {"kind": "fixed", "percent": whole(fx.percent), "age": None, "who": fx.who,
                    "source": src.short, "citation": src.citation, "caveat": fig.caveat}
        by = self.data.by_age
        src = self.data.sources[by.source]
        out = {"source": src.short, "citation": src.citation, "caveat": fig.caveat}
        if age is None:
            row = by.rows[fig.row]
            return {**out, "kind": "range", "percent": None, "age": None,
                    "range": {"age_from": by.ages[0], "percent_from": whole(row[0]),
                              "age_to": by.ages[-1], "percent_to": whole(row[-1])}}
        if not by.ages[0] <= age <= by.ages[-1]:
            return {**out, "kind": "outside", "percent": None, "age": age}
        return {**out, "kind": "at_age", "percent": whole(self.value_at(fig.row, age)), "age": age}

    def reassurable(self, f: dict) -> bool:
        """May this mention be called common? Never for red flags and PREVALENCE.md section 4."""
        fid = f["finding"]
        if fid in self._never:
            return False
        when = self._when.get(fid)
        if not when:
            return True
        attrs = f.get("attributes") or {}
        for w in when:  # the never_reassure.when rules of this finding, in file order
            if w.severity is not None and f.get("severity") == w.severity:
                return False
            if w.grade_at_least is not None and (attrs.get("grade") or 0) >= w.grade_at_least:
                return False
            if w.modic_type is not None and attrs.get("modic_type") == w.modic_type:
                return False
        return True

    def __call__(self, doc: Doc) -> Doc:
        age = (ext.get(doc, "spine_age") or {}).get("age")
        for f in ext.get(doc, "spine_findings") or []:
            f["attention"] = not self.reassurable(f)
            f["prevalence"] = (self.figure(f["finding"], age)
                               if f.get("assertion") == "present" and not f["attention"] else None)
        return doc


@Language.factory(
    "spinecontext_prevalence",
    default_config={"patterns_dir": None},
    requires=["doc._.spine_findings", "doc._.spine_age"],
    assigns=["doc._.spine_findings"],
)
def make_prevalence(nlp: Language, name: str, patterns_dir: Optional[str]) -> Prevalence:
    """Attach the age-matched prevalence in people without back pain.

    patterns_dir: folder of rule files to use instead of the packaged ones.
    """
    return Prevalence(nlp, name, patterns_dir=patterns_dir)
