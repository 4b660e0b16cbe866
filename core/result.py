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


class Prevalence(BaseModel):
    """How common a finding is in people of this age without back pain."""

    percent: int = Field(description="Estimated share of people without back pain with the finding, in percent.")
    age: int = Field(description="The age the figure is for.")
    source: str = Field(description="Short citation, e.g. 'Brinjikji 2015'.")


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
    note: Optional[str] = None
    label: str = Field(description="Plain name of the finding.")
    attributes: dict[str, Any] = Field(default_factory=dict, description="grade, direction, modic_type, position.")


class ReportResult(BaseModel):
    """All findings of one report."""

    model_config = ConfigDict(extra="forbid")
    id: str
    age: Optional[int] = None
    age_source: Literal["given", "report", "none"] = "none"
    findings: list[FindingResult] = Field(default_factory=list)

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


def from_doc(doc: Doc, *, report_id: str, age: Optional[int] = None) -> ReportResult:
    """Build the result of one processed report. ``age`` (the caller's) wins over the report's."""
    stated = doc._.spine_age
    if age is not None:
        age_value, source = age, "given"
    elif stated:
        age_value, source = stated["age"], "report"
    else:
        age_value, source = None, "none"
    findings = [
        FindingResult(
            finding=f["finding"], text=f["text"], start=f["start"], end=f["end"],
            section=f["section"], levels=list(f["levels"]), laterality=f.get("laterality"),
            severity=f.get("severity"), assertion=f.get("assertion", "present"), group=f["group"],
            label=f["label"], attributes=_plain(f.get("attributes", {})),
        )
        for f in (doc._.spine_findings or [])
    ]
    return ReportResult(id=report_id, age=age_value, age_source=source, findings=findings)
