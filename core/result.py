"""The result model: the JSON contract of ../shared/TAXONOMY.md.

Every interface (CLI tables, JSON/JSONL, the evaluation, later the API and the
web page) renders this one model.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field
from spacy.tokens import Doc

Assertion = Literal["present", "absent", "possible", "historical"]
#: When one (finding, level) has mentions with different assertions, the
#: report-level assertion is the first of these (ANNOTATION.md: present wins,
#: possible beats absent).
PRECEDENCE: tuple[Assertion, ...] = ("present", "possible", "absent", "historical")


class AgeRange(BaseModel):
    age_from: int
    percent_from: int
    age_to: int
    percent_to: int


class Prevalence(BaseModel):
    """How common a finding is in people without back pain (from patterns/prevalence.yaml)."""

    percent: Optional[int] = Field(description="Estimated share of people without back pain with the finding, in percent; null when the age is unknown or outside the table.")
    age: Optional[int] = Field(description="The age the figure is for (null for figures that do not depend on age).")
    source: str = Field(description="Short citation, e.g. 'Brinjikji 2015'.")
    kind: Literal["at_age", "range", "outside", "fixed"] = Field(description="at_age: figure for `age`; range: age unknown, figures at 20 and 80 in `range`; outside: the age is outside the table's 20-80; fixed: a figure that does not depend on age.")
    citation: str
    who: Optional[str] = Field(default=None, description="For fixed figures: the group the figure describes.")
    caveat: Optional[str] = None
    range: Optional[AgeRange] = None


class FindingResult(BaseModel):
    """One mention of a finding in the report."""

    model_config = ConfigDict(extra="forbid")
    finding: str = Field(description="Taxonomy id, e.g. 'disc_bulge'.")
    text: str = Field(description="The words of the report that state the finding.")
    start: int = Field(description="Character offset of `text` in the original report.")
    end: int = Field(description="Character offset just after `text`.")
    section: str = Field(description="Report section: findings, impression, history, ...")
    levels: list[str] = Field(description="Lumbar levels the mention covers, e.g. ['L4-L5']; empty if none stated.")
    laterality: Optional[Literal["bilateral", "left", "right", "central"]] = None
    severity: Optional[Literal["mild", "moderate", "severe"]] = None
    assertion: Assertion
    group: Literal["common", "incidental", "red_flag"]
    prevalence: Optional[Prevalence] = None
    note: Optional[str] = Field(default=None, description="Plain-language note for patients.")
    attention: bool = Field(default=False, description="A red flag or a finding that is never reassured: its note says the clinician needs to look at it.")
    label: str = Field(description="Plain name of the finding.")
    attributes: dict[str, Any] = Field(default_factory=dict, description="grade, direction, modic_type, position; spelling (the misspelt words read as rule words, where the mention's sentence held any).")


class FindingSummary(BaseModel):
    """One finding for the whole report (what a card on the patient page shows)."""

    model_config = ConfigDict(extra="forbid")
    finding: str
    label: str
    group: Literal["common", "incidental", "red_flag"]
    assertion: Assertion = Field(description="Report-level: present > possible > absent > historical.")
    levels: list[str]
    severity: Optional[Literal["mild", "moderate", "severe"]] = None
    attention: bool
    prevalence: Optional[Prevalence] = None
    note: str
    mentions: list[list[int]] = Field(description="[start, end] offsets of every mention in the report.")


class ReportResult(BaseModel):
    """All findings of one report."""

    model_config = ConfigDict(extra="forbid")
    id: str
    age: Optional[int] = None
    age_source: Literal["given", "report", "none"] = "none"
    findings: list[FindingResult] = Field(default_factory=list)
    summary: list[FindingSummary] = Field(default_factory=list, description="One entry per finding, in order of first mention.")
    appendix: Optional[str] = Field(default=None, description="Context paragraph for the radiologist to append; null when the report has no common finding with a figure.")

    def assertions(self) -> dict[tuple[str, str], str]:
        """Report-level assertion of each (finding, level) pair ('' = no level)."""
        out: dict[tuple[str, str], str] = {}
        for f in self.findings:
            for lv in f.levels or [""]:
                key = (f.finding, lv)
                old = out.get(key)
                if old is None or PRECEDENCE.index(f.assertion) < PRECEDENCE.index(old):
                    out[key] = f.assertion
        return out

    def present_pairs(self) -> set[tuple[str, str]]:
        """Present (finding, level) pairs; a finding stated with a level drops its unlevelled pair."""
        return levelled_wins({k for k, a in self.assertions().items() if a == "present"})


def levelled_wins(pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    with_level = {f for f, lv in pairs if lv}
    return {(f, lv) for f, lv in pairs if lv or f not in with_level}


def _plain(value):
    """Lists stay lists after a msgpack round trip (DocBin, n_process give tuples)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def from_doc(doc: Doc, *, report_id: str) -> ReportResult:
    """Build the result of one processed report (give an age with :func:`spinecontext.make_doc`)."""
    age = doc._.spine_age or {}
    findings = [
        FindingResult(
            finding=f["finding"], text=f["text"], start=f["start"], end=f["end"],
            section=f["section_name"], levels=list(f["levels"]), laterality=f.get("laterality"),
            severity=f.get("severity"), assertion=f.get("assertion", "present"), group=f["group"],
            prevalence=_plain(f["prevalence"]) if f.get("prevalence") else None, note=f.get("note"),
            attention=bool(f.get("attention")), label=f["label"], attributes=_plain(f.get("attributes", {})),
        )
        for f in (doc._.spine_findings or [])
    ]
    summary = [FindingSummary(**_plain(s)) for s in (doc._.spine_summary or [])]
    return ReportResult(id=report_id, age=age.get("age"), age_source=age.get("source", "none"),
                        findings=findings, summary=summary, appendix=doc._.spine_appendix)
