"""The result model: the JSON contract of ../shared/TAXONOMY.md.

Every interface (CLI tables, JSON/JSONL, the evaluation, later the API and the
web page) renders this one model.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field
from spacy.tokens import Doc

Assertion = Literal["present", "absent", "possible", "historical"]
#: What the report says about a finding compared with an earlier study (null: nothing).
Change = Literal["new", "worse", "better", "unchanged", "resolved"]
#: When the mentions of one (finding, level) state different changes, the
#: report-level change is the first of these (the one that most needs attention).
#: "worse" before "new": a finding one mention calls worse was there before
#: ("enlarging L2 metastasis" with "new epidural tumour" at L2).
CHANGE_PRECEDENCE: tuple[str, ...] = ("worse", "new", "resolved", "better", "unchanged")
CHANGE_DESCRIPTION = (
    "What the report says about this finding compared with an earlier study: new, worse (increased, "
    "enlarged, progressed), better (decreased, smaller, improving), unchanged (stable, unchanged, again "
    "seen, similar to prior), resolved (previously noted and now gone; the assertion is then absent), "
    "or null when the report states no comparison for it. An absent finding is null unless resolved "
    "('no new fracture' is absent and null); a historical one is always null.")
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
    change: Optional[Change] = Field(default=None, description=CHANGE_DESCRIPTION)
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
    change: Optional[Change] = Field(default=None, description="Report-level change of the mentions with that assertion: worse > new > resolved > better > unchanged; null when none states one.")
    levels: list[str]
    severity: Optional[Literal["mild", "moderate", "severe"]] = None
    attention: bool
    prevalence: Optional[Prevalence] = None
    note: str
    mentions: list[list[int]] = Field(description="[start, end] offsets of every mention in the report.")


class Procedure(BaseModel):
    """A procedure the report names ("status post L4-L5 laminectomy", "postoperative changes")."""

    model_config = ConfigDict(extra="forbid")
    procedure: str = Field(description="fusion, laminectomy, discectomy, decompression, vertebral_augmentation or surgery (patterns/change.yaml).")
    levels: list[str] = Field(description="Levels named with it (same sentence or level header); may be empty.")
    section: str


class ReportChange(BaseModel):
    """What the report says about an earlier study, report level."""

    model_config = ConfigDict(extra="forbid")
    compared: bool = Field(description="The report compares with an earlier study: a comparison section that is not 'none', comparison wording ('compared with', 'cf'), or a change cue.")
    global_unchanged: bool = Field(description="A whole-report statement ('no other interval change', 'otherwise stable') gave unchanged to findings with no cue of their own.")
    procedures: list[Procedure] = Field(default_factory=list)


class ReportResult(BaseModel):
    """All findings of one report."""

    model_config = ConfigDict(extra="forbid")
    id: str
    age: Optional[int] = None
    age_source: Literal["given", "report", "none"] = "none"
    findings: list[FindingResult] = Field(default_factory=list)
    summary: list[FindingSummary] = Field(default_factory=list, description="One entry per finding, in order of first mention.")
    appendix: Optional[str] = Field(default=None, description="Context paragraph for the radiologist to append; null when the report has no common finding with a figure.")
    change: Optional[ReportChange] = Field(default=None, description="Null when the report states no comparison with an earlier study and names no procedure.")

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

    def changes(self) -> dict[tuple[str, str], Optional[str]]:
        """Report-level change of each (finding, level) pair ('' = no level): the change of
        the mentions that carry the pair's report-level assertion (CHANGE_PRECEDENCE when
        they differ). A mention with ``attributes.change_levels`` states its change only
        at those levels."""
        assertions = self.assertions()
        out: dict[tuple[str, str], Optional[str]] = {}
        for f in self.findings:
            only = f.attributes.get("change_levels") if f.change else None
            for lv in f.levels or [""]:
                key = (f.finding, lv)
                if f.assertion != assertions[key]:
                    continue
                change = f.change if not only or lv in only else None
                old = out.get(key)
                if change is not None and (old is None or CHANGE_PRECEDENCE.index(change) < CHANGE_PRECEDENCE.index(old)):
                    out[key] = change
                else:
                    out.setdefault(key, old)
        return out


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
            severity=f.get("severity"), assertion=f.get("assertion", "present"), change=f.get("change"), group=f["group"],
            prevalence=_plain(f["prevalence"]) if f.get("prevalence") else None, note=f.get("note"),
            attention=bool(f.get("attention")), label=f["label"], attributes=_plain(f.get("attributes", {})),
        )
        for f in (doc._.spine_findings or [])
    ]
    summary = [FindingSummary(**_plain(s)) for s in (doc._.spine_summary or [])]
    change = doc._.spine_change
    return ReportResult(id=report_id, age=age.get("age"), age_source=age.get("source", "none"),
                        findings=findings, summary=summary, appendix=doc._.spine_appendix,
                        change=_report_change(change) if change else None)


def _report_change(change: dict) -> ReportChange:
    """The report-level change of ``doc._.spine_change`` (its procedures say ``section_name``)."""
    plain = _plain(change)
    plain["procedures"] = [{"procedure": p["procedure"], "levels": p["levels"], "section": p["section_name"]}
                           for p in plain.get("procedures", [])]
    return ReportChange.model_validate(plain)
