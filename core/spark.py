"""Annotate a Spark DataFrame of reports (needs ``pip install "spinecontext[spark]"``).

Two functions, both built on ``DataFrame.mapInPandas``:

- :func:`annotate_dataframe`: the findings, one row per finding mention and
  level (the columns of :data:`spinecontext.rows.FINDING_COLUMNS`, plus
  ``error``). A report with no findings gives no row. A report that cannot be
  annotated (no text, not a string, too long, a bad age, the pipeline failed)
  gives one row with only ``report_id`` and ``error`` set, so no report is
  lost silently: filter ``error IS NULL`` for findings.
- :func:`annotate_reports_dataframe`: one row per report (``report_id``,
  ``age``, ``age_source``, ``n_findings``, ``result_json`` = the JSON
  contract, ``error``); every input row gives exactly one output row.

Each executor's Python worker loads the pipeline once (a module-level cache,
kept while Spark reuses the worker) and annotates its rows in batches
(``nlp.pipe``). One bad report never fails the task: its row carries the
reason in ``error``, which never quotes report text.

Only the id, text and age columns are sent to Python; join the output back
on ``report_id`` for other columns (ids are cast to string). Executors need
spinecontext installed (see the README's Spark section); ``patterns_dir`` must
exist on every executor.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Iterator, Optional, Union

try:
    import pandas as pd
    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        'spinecontext.spark needs PySpark and pandas: pip install "spinecontext[spark]"'
    ) from exc

from .rows import BOOL_COLUMNS, FINDING_COLUMNS, INT_COLUMNS, finding_rows


#: Schema of :func:`annotate_dataframe`.
FINDINGS_SCHEMA = T.StructType(
    [T.StructField(c, T.IntegerType() if c in INT_COLUMNS else T.BooleanType() if c in BOOL_COLUMNS else T.StringType())
     for c in FINDING_COLUMNS] + [T.StructField("error", T.StringType())]
)

#: Schema of :func:`annotate_reports_dataframe`.
REPORTS_SCHEMA = T.StructType([
    T.StructField("report_id", T.StringType()),
    T.StructField("age", T.IntegerType()),
    T.StructField("age_source", T.StringType()),
    T.StructField("n_findings", T.IntegerType()),
    T.StructField("result_json", T.StringType()),
    T.StructField("error", T.StringType()),
])

#: Pipelines of this Python process, by patterns folder (None = packaged rules).
_PIPELINES: dict[Optional[str], Any] = {}


def _pipeline(patterns_dir: Optional[str]):
    """The pipeline for ``patterns_dir``, loaded once per Python worker."""
    nlp = _PIPELINES.get(patterns_dir)
    if nlp is None:
        from . import load

        nlp = _PIPELINES[patterns_dir] = load(patterns_dir)
    return nlp


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _report(rid: Optional[str], text: Any, age: Any):
    """A :class:`spinecontext.io.Report` for one row, or one with the reason it cannot be annotated."""
    from .io import Report, check_age, check_text

    key = "" if rid is None else rid
    if _missing(text):
        return Report(key, error="no text")
    if not isinstance(text, str):
        return Report(key, error=f"text is not a string ({type(text).__name__})")
    if _missing(age):
        age = None
    elif hasattr(age, "item"):  # numpy scalars
        age = age.item()
    age, err = check_age(age)
    err = err or check_text(text)
    return Report(key, error=err) if err else Report(key, text=text, age=age)


def _outcomes(pdf: "pd.DataFrame", patterns_dir: Optional[str], batch_size: int):
    """(report id or None, result or None, error or None) for each row of ``pdf``, in order."""
    from .runner import run

    ids = [None if _missing(v) else str(v) for v in pdf["id"]]
    ages = pdf["age"] if "age" in pdf else [None] * len(pdf)
    reports = [_report(rid, text, age) for rid, text, age in zip(ids, pdf["text"], ages)]
    nlp = _pipeline(patterns_dir)
    try:
        outcomes = list(run(nlp, reports, batch_size=batch_size))
    except Exception:  # noqa: BLE001 - fall back to one report at a time
        outcomes = [_one(nlp, rep) for rep in reports]
    return [(rid, o.result, o.error) for rid, o in zip(ids, outcomes)]


def _one(nlp, rep):
    from .runner import Outcome, run

    if rep.error:
        return Outcome(rep, error=rep.error)
    try:
        return next(iter(run(nlp, [rep])))
    except Exception as exc:  # noqa: BLE001 - the message may quote report text: keep only its type
        return Outcome(rep, error=f"the pipeline failed on this report ({type(exc).__name__})")


def _frame(rows: list[dict], schema: "T.StructType") -> "pd.DataFrame":
    """A pandas frame with nullable dtypes matching ``schema`` (ints stay ints next to nulls)."""
    data = {}
    for field in schema.fields:
        values = [r.get(field.name) for r in rows]
        if isinstance(field.dataType, T.IntegerType):
            data[field.name] = pd.array(values, dtype="Int32")
        elif isinstance(field.dataType, T.BooleanType):
            data[field.name] = pd.array(values, dtype="boolean")
        else:
            data[field.name] = pd.Series(values, dtype=object)
    return pd.DataFrame(data)


def findings_batches(batches: Iterator["pd.DataFrame"], *, patterns_dir: Optional[str] = None,
                     batch_size: int = 64) -> Iterator["pd.DataFrame"]:
    """mapInPandas function of :func:`annotate_dataframe` (columns id, text, age)."""
    for pdf in batches:
        rows: list[dict] = []
        for rid, result, error in _outcomes(pdf, patterns_dir, batch_size):
            if error is not None:
                rows.append({"report_id": rid, "error": error})
            else:
                rows.extend({**row, "report_id": rid} for row in finding_rows(result))
        yield _frame(rows, FINDINGS_SCHEMA)


def reports_batches(batches: Iterator["pd.DataFrame"], *, patterns_dir: Optional[str] = None,
                    batch_size: int = 64) -> Iterator["pd.DataFrame"]:
    """mapInPandas function of :func:`annotate_reports_dataframe` (columns id, text, age)."""
    for pdf in batches:
        rows = []
        for rid, result, error in _outcomes(pdf, patterns_dir, batch_size):
            if error is not None:
                rows.append({"report_id": rid, "error": error})
            else:
                data = result.model_copy(update={"id": rid or ""})
                rows.append({"report_id": rid, "age": result.age, "age_source": result.age_source,
                             "n_findings": len(result.findings), "result_json": data.model_dump_json()})
        yield _frame(rows, REPORTS_SCHEMA)


def _inputs(df: DataFrame, id_col: str, text_col: str, age_col: Optional[str]) -> DataFrame:
    cols = [F.col(id_col).cast("string").alias("id"), F.col(text_col).alias("text")]
    if age_col is not None:
        cols.append(F.col(age_col).alias("age"))
    return df.select(*cols)


def _dir(patterns_dir: Optional[Union[str, "object"]]) -> Optional[str]:
    return None if patterns_dir is None else str(patterns_dir)


def annotate_dataframe(df: DataFrame, id_col: str = "id", text_col: str = "text", age_col: Optional[str] = "age",
                       patterns_dir=None, *, batch_size: int = 64) -> DataFrame:
    """The findings of every report in ``df``: one row per finding mention and level.

    id_col: report id column (cast to string). text_col: report text column.
    age_col: patient age column (whole years; it wins over an age in the report), or None.
    patterns_dir: rule folder to use instead of the packaged rules (must exist on executors).
    batch_size: reports per ``nlp.pipe`` batch inside each worker.
    Rows of reports that cannot be annotated have only ``report_id`` and ``error``.
    """
    fn = functools.partial(findings_batches, patterns_dir=_dir(patterns_dir), batch_size=batch_size)
    return _inputs(df, id_col, text_col, age_col).mapInPandas(fn, schema=FINDINGS_SCHEMA)


def annotate_reports_dataframe(df: DataFrame, id_col: str = "id", text_col: str = "text",
                               age_col: Optional[str] = "age", patterns_dir=None, *,
                               batch_size: int = 64) -> DataFrame:
    """One row per report of ``df``: the JSON contract (``result_json``) or the ``error``.

    Same arguments as :func:`annotate_dataframe`.
    """
    fn = functools.partial(reports_batches, patterns_dir=_dir(patterns_dir), batch_size=batch_size)
    return _inputs(df, id_col, text_col, age_col).mapInPandas(fn, schema=REPORTS_SCHEMA)


__all__ = ["annotate_dataframe", "annotate_reports_dataframe", "FINDINGS_SCHEMA", "REPORTS_SCHEMA",
           "findings_batches", "reports_batches"]
