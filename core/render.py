"""Text renderings of the result model (the JSON contract is ``model_dump``)."""

from __future__ import annotations

import json

from .result import ReportResult

COLUMNS = ("finding", "levels", "assertion", "severity", "side", "section", "text")


def to_json(result: ReportResult, *, indent: int | None = 2) -> str:
    return json.dumps(result.model_dump(mode="json"), indent=indent, ensure_ascii=False)


def table(result: ReportResult) -> str:
    """A readable plain-text table of one report's findings."""
    if result.age is None:
        age = "age unknown"
    else:
        age = f"age {result.age} ({'given' if result.age_source == 'given' else 'from report'})"
    head = f"{result.id}  [{age}, {len(result.findings)} finding mention(s)]"
    if not result.findings:
        return head + "\n  (no findings)"
    rows = [COLUMNS]
    for f in result.findings:
        rows.append((
            f.finding, ",".join(f.levels) or "-", f.assertion, f.severity or "-",
            f.laterality or "-", f.section, " ".join(f.text.split()),
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS) - 1)]
    lines = [head]
    for r in rows:
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])
    return "\n".join(lines)
