"""spinecontext.spark in PySpark local mode: same results as spinecontext.annotate, bad rows get errors.

Skips when PySpark or Java is missing, except with SPINECONTEXT_REQUIRE_SPARK=1 (CI), where it fails.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import spinecontext
from spinecontext.rows import FINDING_COLUMNS, finding_rows

from conftest import OWN


def _require_spark():
    missing = []
    try:
        import pyspark  # noqa: F401
        import pandas  # noqa: F401
    except ImportError:
        missing.append("pyspark/pandas")
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        missing.append("java")
    if missing:
        if os.environ.get("SPINECONTEXT_REQUIRE_SPARK") == "1":
            pytest.fail(f"{', '.join(missing)} missing, and SPINECONTEXT_REQUIRE_SPARK=1")
        pytest.skip(f"{', '.join(missing)} missing")


@pytest.fixture(scope="module")
def spark():
    _require_spark()
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]").appName("spinecontext-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "16")
        .config("spark.python.worker.reuse", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _reports(n=40):
    rows = [json.loads(line) for line in OWN.read_text(encoding="utf-8").splitlines() if line.strip()][:n]
    ages = [None if i % 3 == 0 else 25 + i for i in range(len(rows))]
    return [(r["id"], r["text"], a) for r, a in zip(rows, ages)]


BAD = [
    ("no-text", None, 40),
    ("too-long", "x" * 1_000_001, 40),
    ("bad-age", "L4-L5 disc bulge.", 400),
    ("empty", "", None),
    (None, "L5-S1: mild disc bulge.", 50),
]


@pytest.fixture(scope="module")
def frame(spark):
    return spark.createDataFrame(_reports() + BAD, "id string, text string, age int").repartition(3)


@pytest.fixture(scope="module")
def expected(nlp):
    return {rid: spinecontext.annotate(nlp, text, report_id=rid, age=age) for rid, text, age in _reports()}


def _key(row: dict):
    return tuple("" if row[c] is None else str(row[c]) for c in FINDING_COLUMNS)


def test_findings_equal_annotate(frame, expected, nlp):
    from spinecontext.spark import annotate_dataframe

    out = annotate_dataframe(frame).collect()
    assert out and set(out[0].asDict()) == set(FINDING_COLUMNS) | {"error"}
    good = [r.asDict() for r in out if r["error"] is None]
    want = [row for rid, res in expected.items() for row in finding_rows(res)]
    want += finding_rows(spinecontext.annotate(nlp, "L5-S1: mild disc bulge.", report_id="", age=50))
    assert sorted(map(_key, good)) == sorted(map(_key, want))
    assert [r["report_id"] for r in good].count(None) == 1  # a null id stays null
    assert any(r["prevalence_percent"] is not None for r in good)


def test_bad_rows_get_errors(frame):
    from spinecontext.spark import annotate_dataframe

    errors = {r["report_id"]: r["error"] for r in annotate_dataframe(frame).collect() if r["error"] is not None}
    assert set(errors) == {"no-text", "too-long", "bad-age"}
    assert errors["no-text"] == "no text"
    assert "limit" in errors["too-long"] and "outside" in errors["bad-age"]
    assert all("x" * 20 not in e for e in errors.values())


def test_reports_dataframe(frame, expected):
    from spinecontext.result import ReportResult
    from spinecontext.spark import annotate_reports_dataframe

    out = {r["report_id"]: r for r in annotate_reports_dataframe(frame).collect()}
    assert len(out) == len(expected) + len(BAD)
    for rid, res in expected.items():
        assert out[rid]["error"] is None
        assert ReportResult.model_validate_json(out[rid]["result_json"]) == res
        assert out[rid]["n_findings"] == len(res.findings) and out[rid]["age"] == res.age
    assert out["empty"]["n_findings"] == 0 and out["empty"]["error"] is None
    assert out["no-text"]["result_json"] is None and out["no-text"]["error"] == "no text"
    assert out[None]["n_findings"] >= 1


def test_no_age_column_and_other_names(spark, expected):
    from spinecontext.spark import annotate_reports_dataframe

    df = spark.createDataFrame([(7, "L4-L5: mild disc bulge. Age: 47.")], "rid long, body string")
    (row,) = annotate_reports_dataframe(df, id_col="rid", text_col="body", age_col=None).collect()
    assert row["report_id"] == "7" and row["age"] == 47 and row["error"] is None


def test_import_without_pyspark_says_how_to_install(tmp_path):
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(textwrap.dedent("""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "pyspark" or name.startswith("pyspark."):
                    raise ImportError("blocked for the test")
        sys.meta_path.insert(0, Block())
    """), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", "import spinecontext.spark"], capture_output=True, text=True, env=env)
    assert out.returncode != 0
    assert 'pip install "spinecontext[spark]"' in out.stderr


def test_batches_survive_a_failing_report(monkeypatch):
    """Without Spark: the mapInPandas functions on pandas frames, with a component that fails on one report."""
    try:
        import pandas as pd
        from spacy.language import Language

        import spinecontext.spark as sp
    except ImportError:
        _require_spark()
        raise

    @Language.component("test_fail_on_boom")
    def fail_on_boom(doc):
        if "BOOM" in doc.text:
            raise ValueError(f"cannot handle {doc.text}")
        return doc

    nlp = spinecontext.load()
    nlp.add_pipe("test_fail_on_boom")
    monkeypatch.setitem(sp._PIPELINES, None, nlp)
    pdf = pd.DataFrame({"id": ["a", "b", "c"], "text": ["L4-L5 disc bulge.", "secret BOOM text", "No fracture."],
                        "age": [50.0, float("nan"), 61.0]})
    (reports,) = list(sp.reports_batches(iter([pdf])))
    assert list(reports["report_id"]) == ["a", "b", "c"]
    assert reports["error"].isna().tolist() == [True, False, True]
    assert "BOOM" not in reports["error"][1] and "secret" not in reports["error"][1]
    assert reports["age"].tolist()[0] == 50 and reports["age"].isna().tolist()[1]
    (findings,) = list(sp.findings_batches(iter([pdf])))
    assert findings.loc[findings["report_id"] == "b", "error"].notna().all()
    assert set(findings.loc[findings["error"].isna(), "finding"]) == {"disc_bulge", "fracture"}
