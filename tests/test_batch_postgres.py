"""spinecontext batch with PostgreSQL as source and sink (a real server: .ci/postgres starts one in CI).

SPINECONTEXT_TEST_PG_URL names the database; without it the tests skip,
except when SPINECONTEXT_REQUIRE_POSTGRES=1 (CI), where they fail.
"""

import json
import os
import uuid

import pytest
from typer.testing import CliRunner

from spinecontext.cli import app

from conftest import OWN

runner = CliRunner()


@pytest.fixture(scope="module")
def pg():
    url = os.environ.get("SPINECONTEXT_TEST_PG_URL")
    if not url:
        if os.environ.get("SPINECONTEXT_REQUIRE_POSTGRES") == "1":
            pytest.fail("SPINECONTEXT_TEST_PG_URL is not set: CI must start PostgreSQL (.ci/postgres)")
        pytest.skip("SPINECONTEXT_TEST_PG_URL is not set (no PostgreSQL server to test against)")
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"cannot reach PostgreSQL at SPINECONTEXT_TEST_PG_URL: {exc.orig}")
    yield url, engine
    engine.dispose()


@pytest.fixture
def names(pg):
    """Unique table names for one test, dropped afterwards."""
    import sqlalchemy as sa

    tag = uuid.uuid4().hex[:8]
    made = {"src": f"notes_{tag}", "out": f"findings_{tag}"}
    yield made
    with pg[1].begin() as conn:
        for t in (made["src"], made["out"], f"{made['out']}_reports"):
            conn.execute(sa.text(f'DROP TABLE IF EXISTS "{t}"'))


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_postgres_source_and_sink_resume(pg, names, tmp_path):
    import sqlalchemy as sa

    url, engine = pg
    rows = [json.loads(line) for line in OWN.read_text(encoding="utf-8").splitlines()][:30]
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE TABLE "{names["src"]}" (note_id BIGINT PRIMARY KEY, body TEXT, age INTEGER)'))
        conn.execute(sa.text(f'INSERT INTO "{names["src"]}" VALUES (:i, :t, :a)'),
                     [{"i": i, "t": r["text"], "a": r.get("age")} for i, r in enumerate(rows)]
                     + [{"i": 1000, "t": "", "a": None}, {"i": 1001, "t": "L4-L5: bulge.", "a": 500}])
    query = f'SELECT note_id, body AS text, age FROM "{names["src"]}" ORDER BY note_id'
    common = ["--db", url, "--query", query, "--id-col", "note_id", "-o", url, "--table", names["out"],
              "--chunk-size", "7"]

    # a first run on part of the archive stands for an interrupted one
    part = ["--db", url, "--query", query + " LIMIT 12", "--id-col", "note_id", "-o", url, "--table", names["out"]]
    res = invoke("batch", *part)
    assert res.exit_code == 0, res.output
    res = invoke("batch", *common)
    assert res.exit_code == 2 and "exists" in res.output
    res = invoke("batch", *common, "--resume", "--workers", "2")
    assert res.exit_code == 0, res.output
    assert "read 32, annotated 18, failed 2, skipped 12" in res.stdout

    # the same archive into a JSONL file, to compare
    ref = tmp_path / "ref.csv"
    assert invoke("batch", "--db", url, "--query", query, "--id-col", "note_id", "-o", ref).exit_code == 0
    with engine.connect() as conn:
        reports = conn.execute(sa.text(f'SELECT report_id, status, reason FROM "{names["out"]}_reports"')).all()
        findings = conn.execute(sa.text(
            f'SELECT report_id, mention, finding, level, assertion, start, "end" FROM "{names["out"]}" '
            'ORDER BY report_id::bigint, mention, level NULLS FIRST')).all()
    assert len(reports) == 32 and len({r[0] for r in reports}) == 32
    assert {r[0]: r[1] for r in reports if r[1] == "failed"} == {"1000": "failed", "1001": "failed"}
    import csv

    with ref.open(encoding="utf-8") as fh:
        want = sorted(((r["report_id"], int(r["mention"]), r["finding"], r["level"] or None, r["assertion"],
                        int(r["start"]), int(r["end"])) for r in csv.DictReader(fh)),
                      key=lambda t: (int(t[0]), t[1], t[3] or ""))
    assert [tuple(f) for f in findings] == want
