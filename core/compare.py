"""Two reports of the same patient: what is new, gone, unchanged, worse or better.

Works on the result model (:class:`~spinecontext.result.ReportResult`), never on
raw text. For every (finding, level) pair that is present or possible in either
report (a finding stated with a level drops its unlevelled pair, per report,
as in the gold convention) it combines what each report says with the change
the current report states itself (its mentions' ``change``):

* in the prior report and not in the current one (absent, resolved, only
  historical, or not mentioned): ``gone``;
* only in the current report: ``new``; for a finding that is not a red flag,
  a current cue of ``unchanged``, ``worse`` or ``better`` is trusted instead (the
  radiologist compared the images; the earlier report did not name it);
  a red flag only in the current report is always ``new``;
* in both: graded in both with different grades (mild < moderate < severe):
  ``worse`` or ``better`` by the grades, whatever the cue says; otherwise the
  current cue ``worse`` or ``better``; otherwise ``unchanged`` (a current "new"
  for a finding the prior report already had is ``unchanged``);
* red flags (fracture, malignancy, infection, cauda equina compression) are
  never reported ``unchanged`` or ``better`` when the current report calls them
  new or worse: such a pair is ``worse``.

"possible" counts as there. ``after_surgery`` marks gone and better pairs at a
level where the current report names a procedure (patterns/change.yaml).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

from .result import ReportResult, levelled_wins

PairChange = Literal["new", "gone", "unchanged", "worse", "better"]
ORDER: tuple[str, ...] = ("new", "worse", "gone", "better", "unchanged")
SEVERITY_RANK = {"mild": 1, "moderate": 2, "severe": 3}
RED_FLAGS = frozenset({"fracture", "malignancy", "infection", "cauda_equina_compression"})
THERE = ("present", "possible")


class PairState(BaseModel):
    """What one report says about a (finding, level)."""

    model_config = ConfigDict(extra="forbid")
    assertion: Literal["present", "absent", "possible", "historical"]
    severity: Optional[Literal["mild", "moderate", "severe"]] = None
    change: Optional[Literal["new", "worse", "better", "unchanged", "resolved"]] = Field(
        default=None, description="The change this report states itself (its mentions' `change`).")


class ChangeEntry(BaseModel):
    """One (finding, level) compared between the two reports."""

    model_config = ConfigDict(extra="forbid")
    finding: str = Field(description="Taxonomy id.")
    label: str
    group: Literal["common", "incidental", "red_flag"]
    level: Optional[str] = Field(description="The level, or null when the finding has no level in either report.")
    change: PairChange = Field(description="new, gone, unchanged, worse or better (see the module's rules).")
    prior: Optional[PairState] = Field(description="The prior report's statement; null when it does not mention the pair.")
    current: Optional[PairState] = Field(description="The current report's statement; null when it does not mention the pair.")
    attention: bool = Field(description="A red flag or a never-reassured finding: its note is never softened.")
    after_surgery: bool = Field(default=False, description="Gone or better at a level where the current report names a procedure.")
    reason: str = Field(description="Why, in a few words: the grades, the current report's own cue, or which report names it.")
    note: str = Field(description="Plain-language line for patients (patterns/change_notes.yaml).")


class CompareResult(BaseModel):
    """The JSON of `spinecontext compare` and `POST /v1/compare`."""

    model_config = ConfigDict(extra="forbid")
    prior: ReportResult
    current: ReportResult
    changes: list[ChangeEntry] = Field(description="One entry per (finding, level) present or possible in either report: new, worse, gone, better, then unchanged.")
    counts: dict[str, int] = Field(description="Entries per change value (new, worse, gone, better, unchanged).")


def _states(result: ReportResult) -> tuple[dict, dict, dict, set]:
    """Assertions, strongest severity (of present/possible mentions), stated change, and
    the pairs that are there (present or possible; levelled wins), of one report."""
    assertions = result.assertions()
    severity: dict[tuple[str, str], Optional[str]] = {}
    for f in result.findings:
        if f.assertion in THERE and f.severity:
            for lv in f.levels or [""]:
                old = severity.get((f.finding, lv))
                if old is None or SEVERITY_RANK[f.severity] > SEVERITY_RANK[old]:
                    severity[(f.finding, lv)] = f.severity
    there = levelled_wins({k for k, a in assertions.items() if a in THERE})
    return assertions, severity, result.changes(), there


def _touches(level: str, procedure_levels: list[str]) -> bool:
    """Is ``level`` one a procedure names (a vertebra also when a named disc level holds it)?"""
    if not level:
        return False
    if level in procedure_levels:
        return True
    return "-" not in level and any(level in lv.split("-") for lv in procedure_levels)


def decide(finding: str, prior_there: bool, current_there: bool, prior_sev: Optional[str],
           current_sev: Optional[str], cue: Optional[str]) -> tuple[str, str]:
    """(change, reason) for one pair; see the module docstring."""
    red = finding in RED_FLAGS
    if prior_there and not current_there:
        return "gone", "in the prior report, not there in the current one"
    if current_there and not prior_there:
        if not red and cue in ("unchanged", "worse", "better"):
            return cue, f"not in the prior report; the current report says {cue}"
        return "new", "only in the current report"
    if prior_sev and current_sev and prior_sev != current_sev:
        change = "worse" if SEVERITY_RANK[current_sev] > SEVERITY_RANK[prior_sev] else "better"
        reason = f"{prior_sev} -> {current_sev}"
    elif cue in ("worse", "better"):
        change, reason = cue, f"the current report says {cue}"
    else:
        change = "unchanged"
        reason = "in both reports" + (f"; the current report says {cue}" if cue else "")
    if red and cue in ("new", "worse") and change in ("unchanged", "better"):
        change, reason = "worse", f"red flag the current report calls {cue} ({reason})"
    return change, reason


def compare(prior: ReportResult, current: ReportResult,
            patterns_dir: Optional[Union[str, Path]] = None) -> CompareResult:
    """Compare two results of the same patient, prior first."""
    from .nlp.rules import load_change_notes, resolve_dir

    lines = load_change_notes(resolve_dir(patterns_dir))
    pa, psev, pchange, pthere = _states(prior)
    ca, csev, cchange, cthere = _states(current)
    info: dict[str, tuple[str, str, bool]] = {}
    for r in (prior, current):
        for f in r.findings:
            old = info.get(f.finding)
            info[f.finding] = (f.label, f.group, f.attention or (old[2] if old else False))
    procedures = [p.levels for p in (current.change.procedures if current.change else [])]
    entries = []
    for key in sorted(pthere | cthere, key=lambda k: (k[1] == "", k[1], k[0])):
        finding, level = key
        change, reason = decide(finding, key in pthere, key in cthere, psev.get(key), csev.get(key),
                                cchange.get(key) if key in cthere else None)
        label, group, attention = info[finding]
        attention = attention or group == "red_flag"
        note = lines.compare[change]
        if attention and change in ("new", "worse"):
            note += " " + lines.attention_new_or_worse
        elif attention and change in ("unchanged", "better"):
            note += " " + lines.attention_unchanged
        entries.append(ChangeEntry(
            finding=finding, label=label, group=group, level=level or None, change=change,
            prior=PairState(assertion=pa[key], severity=psev.get(key), change=pchange.get(key)) if key in pa else None,
            current=PairState(assertion=ca[key], severity=csev.get(key), change=cchange.get(key)) if key in ca else None,
            attention=attention,
            after_surgery=change in ("gone", "better") and any(_touches(level, lv) for lv in procedures),
            reason=reason, note=note))
    entries.sort(key=lambda e: ORDER.index(e.change))
    counts = {c: sum(1 for e in entries if e.change == c) for c in ORDER}
    return CompareResult(prior=prior, current=current, changes=entries, counts=counts)


__all__ = ["compare", "decide", "CompareResult", "ChangeEntry", "PairState", "ORDER", "RED_FLAGS"]


def read_inputs(args: list[Path]) -> tuple[list, list[str]]:
    """The two reports for ``spinecontext compare``: PRIOR CURRENT (files: .txt, or .jsonl
    holding one report) or FILE.jsonl PRIOR_ID CURRENT_ID. Returns ([prior, current]
    as :class:`~spinecontext.io.Report`, or [] when a problem stops it) and every
    problem found, one line each ("WHERE: reason"), never report text."""
    from .io import JSONL_SUFFIXES, iter_reports, read_jsonl

    problems: list[str] = []
    reports = []
    if len(args) == 3:
        path, ids = Path(args[0]), [str(args[1]), str(args[2])]
        if not path.is_file():
            return [], [f"{path}: no such file"]
        if path.suffix.lower() not in JSONL_SUFFIXES:
            return [], [f"{path}: with two ids the first argument must be a .jsonl file"]
        found = {}
        for rep in read_jsonl(path):
            if rep.id in ids and rep.id not in found:
                found[rep.id] = rep
            elif rep.error and rep.id not in found and rep.id not in ids:
                continue  # a bad line that is not one of ours is not our problem
        if ids[0] == ids[1]:
            problems.append(f"{path}: the two ids are the same ({ids[0]})")
        for rid in ids:
            if rid not in found:
                problems.append(f"{path}: id {rid} not found")
            else:
                reports.append(found[rid])
    elif len(args) == 2:
        for arg in args:
            path = Path(arg)
            if path.is_dir():
                problems.append(f"{path}: is a folder; give a report file")
                continue
            got = list(iter_reports([path]))
            if len(got) != 1:
                problems.append(f"{path}: holds {len(got)} reports; give one report a file, "
                                "or FILE.jsonl PRIOR_ID CURRENT_ID")
                continue
            reports.append(got[0])
    else:
        return [], ["give PRIOR CURRENT (two report files) or FILE.jsonl PRIOR_ID CURRENT_ID"]
    for rep in reports:
        if rep.error:
            problems.append(f"{rep.id}: {rep.error}")
        elif not rep.text.strip():
            problems.append(f"{rep.id}: the report is empty")
    return (reports if not problems and len(reports) == 2 else []), problems
