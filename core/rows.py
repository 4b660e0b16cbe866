"""Flat rows of one result: one row per finding mention and level (a CSV / table row).

The one definition of the tabular shape, shared by CSV, Parquet and database
outputs of ``spinecontext batch`` and by :mod:`spinecontext.spark`. A mention at
two levels gives two rows (same ``mention`` number); a mention with no level
gives one row with ``level`` null. A report with no findings gives no rows.
``change`` is the mention's change over time (new, worse, better, unchanged,
resolved, or null), per level when the mention states it only at some levels.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from .result import ReportResult

#: Column names, in order.
FINDING_COLUMNS: tuple[str, ...] = (
    "report_id", "mention", "finding", "label", "group", "level", "assertion", "change", "severity",
    "laterality", "start", "end", "text", "section", "attention", "prevalence_percent",
    "prevalence_age", "prevalence_kind", "prevalence_source", "age", "age_source", "attributes",
    "note",
)
#: Integer and boolean columns (the others are strings; ``attributes`` is a JSON object as text).
INT_COLUMNS = frozenset({"mention", "start", "end", "prevalence_percent", "prevalence_age", "age"})
BOOL_COLUMNS = frozenset({"attention"})


def finding_tuples(result: ReportResult, report_id: Optional[str] = None) -> list[tuple]:
    """The rows of ``result`` as tuples in :data:`FINDING_COLUMNS` order."""
    rid = result.id if report_id is None else report_id
    out = []
    for m, f in enumerate(result.findings):
        p = f.prevalence
        attrs = json.dumps(f.attributes, ensure_ascii=False, sort_keys=True) if f.attributes else None
        only = f.attributes.get("change_levels") if f.change else None
        for level in f.levels or [None]:
            # a change stated only at some of the mention's levels ("increased at L4-5")
            change = f.change if not only or level in only else None
            out.append((
                rid, m, f.finding, f.label, f.group, level, f.assertion, change, f.severity,
                f.laterality, f.start, f.end, f.text, f.section, f.attention,
                p.percent if p else None, p.age if p else None, p.kind if p else None,
                p.source if p else None, result.age, result.age_source, attrs, f.note,
            ))
    return out


def finding_rows(result: ReportResult, report_id: Optional[str] = None) -> list[dict[str, Any]]:
    """The rows of ``result`` as dicts keyed by :data:`FINDING_COLUMNS`."""
    return [dict(zip(FINDING_COLUMNS, row)) for row in finding_tuples(result, report_id)]


__all__ = ["FINDING_COLUMNS", "INT_COLUMNS", "BOOL_COLUMNS", "finding_rows", "finding_tuples"]
