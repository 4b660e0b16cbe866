"""Turning one annotated report into what a sink writes.

These functions run in the worker processes, so the main process only moves
ready bytes or rows: JSON lines, CSV text, row tuples, FHIR bundles, brat pairs.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Callable

from ..result import ReportResult
from ..rows import FINDING_COLUMNS, finding_tuples

#: The finding x level columns (one definition for every tabular output: spinecontext.rows).
COLUMNS = FINDING_COLUMNS


def rows(result: ReportResult) -> list[tuple]:
    """The finding x level rows of one report (values in COLUMNS order)."""
    return finding_tuples(result)


def encode_jsonl(result: ReportResult, text: str) -> bytes:
    from ..render import to_json

    return (to_json(result, indent=None) + "\n").encode("utf-8")


def encode_csv(result: ReportResult, text: str) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for row in rows(result):
        w.writerow(["" if v is None else v for v in row])
    return buf.getvalue().encode("utf-8")


def encode_rows_json(result: ReportResult, text: str) -> bytes:
    """Rows as JSON lines (the crash-safe journal a Parquet file is built from)."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows(result)).encode("utf-8")


def encode_fhir(result: ReportResult, text: str) -> bytes:
    from ..fhir import report_to_fhir

    bundle = report_to_fhir(result, text)
    return (json.dumps(bundle, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def encode_brat(result: ReportResult, text: str) -> tuple[str, str]:
    from ..brat import report_to_brat

    return report_to_brat(result, text)


def encode_db(result: ReportResult, text: str) -> tuple[tuple, list[tuple]]:
    """(report row, finding rows) for the database sink."""
    return (result.id, result.age, result.age_source, len(result.findings)), rows(result)


ENCODERS: dict[str, Callable[[ReportResult, str], Any]] = {
    "jsonl": encode_jsonl,
    "csv": encode_csv,
    "rows-json": encode_rows_json,
    "fhir": encode_fhir,
    "brat": encode_brat,
    "db": encode_db,
}


def csv_header() -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(COLUMNS)
    return buf.getvalue().encode("utf-8")


def error_line(report_id: str, reason: str) -> bytes:
    """A line of the errors file: the id and the reason, never the text."""
    return (json.dumps({"id": report_id, "reason": reason}, ensure_ascii=False) + "\n").encode("utf-8")


def parquet_schema():
    import pyarrow as pa

    return pa.schema([
        ("report_id", pa.string()), ("mention", pa.int32()), ("finding", pa.string()),
        ("label", pa.string()), ("group", pa.string()), ("level", pa.string()),
        ("assertion", pa.string()), ("change", pa.string()), ("severity", pa.string()), ("laterality", pa.string()),
        ("start", pa.int64()), ("end", pa.int64()), ("text", pa.string()), ("section", pa.string()),
        ("attention", pa.bool_()), ("prevalence_percent", pa.int32()), ("prevalence_age", pa.int32()),
        ("prevalence_kind", pa.string()), ("prevalence_source", pa.string()), ("age", pa.int32()),
        ("age_source", pa.string()), ("attributes", pa.string()), ("note", pa.string()),
    ])
