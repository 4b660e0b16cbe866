"""spinecontext batch: every input and output type, bad reports, repeated ids, resume after kill -9."""

import base64
import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from typer.testing import CliRunner

from spinecontext.batch import DUPLICATE, Progress, open_source, run_batch, safe_name, sink_for
from spinecontext.batch.encode import COLUMNS
from spinecontext.cli import app
from spinecontext.render import to_json

from conftest import OWN, ROOT

runner = CliRunner()
BIG = "x " * 500_001  # over the 1,000,000-character limit


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def own_rows(n=None):
    rows = [json.loads(line) for line in OWN.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{"id": r["id"], "text": r["text"], **({"age": r["age"]} if "age" in r else {})} for r in rows[:n]]


def write_jsonl(path: Path, rows) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write((r if isinstance(r, str) else json.dumps(r)) + "\n")
    return path


def read_jsonl(path: Path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def counts_of(output: str) -> dict:
    line = [ln for ln in output.splitlines() if ln.startswith("read ")][-1]
    return {k: int(v.replace(",", "")) for v, k in (p.split(" ")[::-1] for p in line.split(" (")[0].split(", "))}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """20 of our reports, one with mention offsets over a line break, as a .jsonl archive."""
    return write_jsonl(tmp_path_factory.mktemp("in") / "small.jsonl", own_rows(20))


@pytest.fixture(scope="module")
def expected(nlp):
    """id -> ReportResult as `annotate` gives it."""
    import spinecontext

    return {r["id"]: spinecontext.annotate(nlp, r["text"], report_id=r["id"], age=r.get("age")) for r in own_rows(20)}


# --- inputs ----------------------------------------------------------------------

def test_jsonl_to_jsonl_is_the_json_contract(small, expected, tmp_path):
    out = tmp_path / "out.jsonl"
    res = invoke("batch", small, "-o", out)
    assert res.exit_code == 0, res.output
    assert counts_of(res.stdout) == {"read": 20, "annotated": 20, "failed": 0, "skipped": 0}
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines == [to_json(r, indent=None) for r in expected.values()]
    assert (tmp_path / "out.jsonl.errors.jsonl").read_text() == ""


def test_folder_recursive_with_bad_files(tmp_path):
    root = tmp_path / "reports"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.txt").write_text("L4-L5: mild disc bulge.", encoding="utf-8")
    (root / "sub" / "b.txt").write_text("No spondylolisthesis. 61 yo F", encoding="utf-8")
    (root / "sub" / "deeper" / "c.TXT").write_text("L5-S1: severe canal stenosis.", encoding="utf-8")
    (root / "sub" / "latin1.txt").write_bytes("Sévère".encode("latin-1"))
    (root / "sub" / "binary.txt").write_bytes(b"\x00\x01secret")
    (root / "empty.txt").write_text("  \n", encoding="utf-8")
    (root / "huge.txt").write_text(BIG, encoding="utf-8")
    (root / "notes.md").write_text("not a report", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    res = invoke("batch", root, "-o", out)
    assert res.exit_code == 0, res.output
    assert counts_of(res.stdout) == {"read": 7, "annotated": 3, "failed": 4, "skipped": 0}
    assert [r["id"] for r in read_jsonl(out)] == ["a.txt", "sub/b.txt", "sub/deeper/c.TXT"]
    assert read_jsonl(out)[1]["age"] == 61
    errors = {e["id"]: e["reason"] for e in read_jsonl(tmp_path / "out.jsonl.errors.jsonl")}
    assert set(errors) == {"empty.txt", "huge.txt", "sub/binary.txt", "sub/latin1.txt"}
    assert "empty" in errors["empty.txt"] and "limit" in errors["huge.txt"]
    assert "UTF-8" in errors["sub/latin1.txt"] and "binary" in errors["sub/binary.txt"]
    assert "secret" not in (tmp_path / "out.jsonl.errors.jsonl").read_text()


def test_csv_input_with_chosen_columns(tmp_path):
    src = tmp_path / "in.csv"
    with src.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["rid", "body", "patient_age", "other"])
        w.writerow(["r1", "FINDINGS:\nL4-L5: mild disc bulge.\nL5-S1: no stenosis.", "52", "x"])
        w.writerow(["r2", "L3-L4: moderate facet arthropathy.", "", "y"])
        w.writerow(["r3", "L3-L4: disc bulge.", "old", "z"])
        w.writerow(["", "", "", "w"])
    out = tmp_path / "out.jsonl"
    res = invoke("batch", src, "-o", out, "--id-col", "rid", "--text-col", "body", "--age-col", "patient_age")
    assert res.exit_code == 0, res.output
    got = {r["id"]: r for r in read_jsonl(out)}
    assert set(got) == {"r1", "r2"}
    assert got["r1"]["age"] == 52 and got["r1"]["age_source"] == "given"
    assert {f["finding"] for f in got["r1"]["findings"]} >= {"disc_bulge"}
    errors = {e["id"]: e["reason"] for e in read_jsonl(tmp_path / "out.jsonl.errors.jsonl")}
    assert "age" in errors["r3"] and "empty" in errors["in.csv:5"]
    bad = invoke("batch", src, "-o", tmp_path / "o2.jsonl")
    assert bad.exit_code == 2 and "no column 'id'" in bad.output and "Traceback" not in bad.output


def test_jsonl_bad_lines(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [
        {"id": "ok", "text": "L4-L5: disc bulge.", "age": 40},
        "{not json",
        "[1, 2]",
        {"id": "no-text"},
        {"id": "bad-age", "text": "L4-L5: disc bulge.", "age": 300},
        {"id": "big", "text": BIG},
        {"id": "empty", "text": ""},
        {"text": "L5-S1: mild disc bulge."},
    ])
    with src.open("ab") as fh:
        fh.write(b'{"id": "latin", "text": "s\xe9v\xe8re"}\n')
    out = tmp_path / "out.csv"
    res = invoke("batch", src, "-o", out)
    assert res.exit_code == 0, res.output
    assert counts_of(res.stdout) == {"read": 9, "annotated": 2, "failed": 7, "skipped": 0}
    errors = {e["id"]: e["reason"] for e in read_jsonl(tmp_path / "out.csv.errors.jsonl")}
    assert set(errors) == {"in.jsonl:2", "in.jsonl:3", "no-text", "bad-age", "big", "empty", "in.jsonl:9"}
    assert {r["report_id"] for r in csv.DictReader(out.open(encoding="utf-8"))} == {"ok", "in.jsonl:8"}


def test_sqlite_source_and_sink(small, expected, tmp_path):
    db = tmp_path / "src.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE notes (note_id INTEGER PRIMARY KEY, body TEXT, age INTEGER)")
    rows = own_rows(20)
    con.executemany("INSERT INTO notes VALUES (?, ?, ?)", [(i, r["text"], r.get("age")) for i, r in enumerate(rows)])
    con.execute("INSERT INTO notes VALUES (100, NULL, NULL)")
    con.execute("INSERT INTO notes VALUES (101, ?, NULL)", (b"\xff\xfe bytes",))
    con.commit()
    con.close()
    url = f"sqlite:///{tmp_path / 'out.db'}"
    res = invoke("batch", "--db", f"sqlite:///{db}", "--query", "SELECT note_id, body, age FROM notes ORDER BY note_id",
                 "--id-col", "note_id", "--text-col", "body", "-o", url, "--table", "spine")
    assert res.exit_code == 0, res.output
    assert counts_of(res.stdout) == {"read": 22, "annotated": 20, "failed": 2, "skipped": 0}
    con = sqlite3.connect(tmp_path / "out.db")
    reports = {r[0]: r[1:] for r in con.execute("SELECT report_id, status, reason, n_findings FROM spine_reports")}
    assert len(reports) == 22 and reports["100"][0] == "failed" and reports["101"][0] == "failed"
    n_rows = sum(max(len(f.levels), 1) for r in expected.values() for f in r.findings)
    assert con.execute("SELECT count(*) FROM spine").fetchone()[0] == n_rows
    by_id = {str(i): r["id"] for i, r in enumerate(rows)}
    for rid, (status, reason, n) in reports.items():
        if status == "annotated":
            assert n == len(expected[by_id[rid]].findings)
    # resume: nothing is written twice; without --resume the tables are refused
    again = invoke("batch", "--db", f"sqlite:///{db}", "--query", "SELECT note_id AS id, body AS text FROM notes",
                   "-o", url, "--table", "spine", "--resume")
    assert again.exit_code == 0, again.output
    assert counts_of(again.stdout)["skipped"] == 22
    assert con.execute("SELECT count(*) FROM spine").fetchone()[0] == n_rows
    refused = invoke("batch", small, "-o", url, "--table", "spine")
    assert refused.exit_code == 2 and "exists" in refused.output
    bad = invoke("batch", "--db", f"sqlite:///{db}", "--query", "SELECT nope FROM notes", "-o", tmp_path / "x.jsonl")
    assert bad.exit_code == 2 and bad.output.startswith("error: database query failed")


# --- outputs ---------------------------------------------------------------------

def finding_level_rows(expected):
    return [(rid, m, f.finding, lv) for rid, r in expected.items() for m, f in enumerate(r.findings)
            for lv in (f.levels or [None])]


def test_csv_and_parquet_rows(small, expected, tmp_path):
    import pyarrow.parquet as pq

    for name in ("out.csv", "out.parquet"):
        res = invoke("batch", small, "-o", tmp_path / name, "--chunk-size", "7")
        assert res.exit_code == 0, res.output
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(COLUMNS)
    want = finding_level_rows(expected)
    assert [(r["report_id"], int(r["mention"]), r["finding"], r["level"] or None) for r in rows] == want
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.column_names == list(COLUMNS)
    prows = table.to_pylist()
    assert [(r["report_id"], r["mention"], r["finding"], r["level"]) for r in prows] == want
    for c, p in zip(rows, prows):
        f = expected[p["report_id"]].findings[p["mention"]]
        assert (p["start"], p["end"], p["assertion"], p["severity"], p["laterality"]) == \
            (f.start, f.end, f.assertion, f.severity, f.laterality)
        assert p["prevalence_percent"] == (f.prevalence.percent if f.prevalence else None)
        assert c["text"] == p["text"] == f.text and int(c["start"]) == p["start"]
    assert not (tmp_path / "out.parquet.tmp").exists()


def test_fhir_bundles_validate(small, expected, tmp_path):
    from fhir.resources.R4B.bundle import Bundle

    out = tmp_path / "out.fhir.jsonl"
    res = invoke("batch", small, "-o", out)
    assert res.exit_code == 0, res.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 20
    for line, (rid, r) in zip(lines, expected.items()):
        bundle = Bundle.model_validate_json(line)
        kinds = [e.resource.__resource_type__ for e in bundle.entry]
        assert bundle.type == "collection"
        assert kinds.count("DiagnosticReport") == 1 and kinds.count("Observation") == len(r.findings)
        report = next(e.resource for e in bundle.entry if e.resource.__resource_type__ == "DiagnosticReport")
        assert rid in json.dumps(report.model_dump(mode="json"))


def test_brat_pairs_and_safe_names(tmp_path):
    rows = own_rows(6)
    rows[1]["id"] = "../escape/me"
    rows[2]["id"] = "CRLF report"
    rows[2]["text"] = rows[2]["text"].replace("\n", "\r\n")
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "brat"
    res = invoke("batch", src, "-o", out, "--format", "brat")
    assert res.exit_code == 0, res.output
    assert (out / "annotation.conf").read_text().startswith("#")
    assert not (tmp_path / "escape").exists()
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 1 + 2 * len(rows)
    n_t = 0
    for r in rows:
        stem = safe_name(r["id"])
        text = (out / f"{stem}.txt").read_bytes().decode("utf-8")
        assert text == r["text"]
        for line in (out / f"{stem}.ann").read_text(encoding="utf-8").splitlines():
            if line.startswith("T"):
                _, typ_offsets, words = line.split("\t")
                frags = [tuple(map(int, f.split())) for f in typ_offsets.split(" ", 1)[1].split(";")]
                assert " ".join(text[s:e] for s, e in frags) == words
                n_t += 1
    assert n_t > 20


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=30), st.text(min_size=0, max_size=30))
def test_safe_name_is_injective_and_safe(a, b):
    na, nb = safe_name(a), safe_name(b)
    assert (na == nb) == (a == b)
    assert "/" not in na and "\x00" not in na and not na.startswith(".") and na


def test_workers_2_same_output_as_1(small, tmp_path):
    rows = own_rows() * 3
    for i, r in enumerate(rows):
        r["id"] = f"r{i}"
    rows.insert(50, {"id": "bad", "text": ""})
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    for w in (1, 2):
        res = invoke("batch", src, "-o", tmp_path / f"w{w}.csv", "--workers", w, "--chunk-size", 16)
        assert res.exit_code == 0, res.output
    assert (tmp_path / "w1.csv").read_bytes() == (tmp_path / "w2.csv").read_bytes()
    assert (tmp_path / "w1.csv.errors.jsonl").read_bytes() == (tmp_path / "w2.csv.errors.jsonl").read_bytes()


# --- exactly once ------------------------------------------------------------------

def test_duplicate_ids_and_resume(tmp_path):
    rows = own_rows(5)
    rows.append(dict(rows[1]))          # the same id again
    rows.append({"id": rows[1]["id"], "text": "different text"})
    rows.append({"id": rows[3]["id"], "text": ""})
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    res = invoke("batch", src, "-o", out, "--chunk-size", 2)
    assert res.exit_code == 0, res.output
    assert counts_of(res.stdout) == {"read": 8, "annotated": 5, "failed": 3, "skipped": 0}
    assert [r["id"] for r in read_jsonl(out)] == [r["id"] for r in rows[:5]]
    errors = read_jsonl(tmp_path / "out.jsonl.errors.jsonl")
    assert [(e["id"], e["reason"]) for e in errors] == [(rows[1]["id"], DUPLICATE)] * 2 + [(rows[3]["id"], DUPLICATE)]
    before = out.read_bytes(), (tmp_path / "out.jsonl.errors.jsonl").read_bytes()
    again = invoke("batch", src, "-o", out, "--resume")
    assert counts_of(again.stdout) == {"read": 8, "annotated": 0, "failed": 0, "skipped": 8}
    assert (out.read_bytes(), (tmp_path / "out.jsonl.errors.jsonl").read_bytes()) == before


def test_refuses_existing_output(small, tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text("precious\n")
    res = invoke("batch", small, "-o", out)
    assert res.exit_code == 2 and "--resume" in res.output and "--overwrite" in res.output
    res = invoke("batch", small, "-o", out, "--resume")
    assert res.exit_code == 2 and "cannot be resumed" in res.output
    assert out.read_text() == "precious\n"
    res = invoke("batch", small, "-o", out, "--overwrite")
    assert res.exit_code == 0 and len(read_jsonl(out)) == 20


def test_resume_cuts_uncommitted_tail(small, tmp_path):
    """Bytes written after the last commit (a torn chunk) are dropped by --resume."""
    ref, out = tmp_path / "ref.jsonl", tmp_path / "out.jsonl"
    assert invoke("batch", small, "-o", ref).exit_code == 0
    head = write_jsonl(tmp_path / "head.jsonl", own_rows(8))
    assert invoke("batch", head, "-o", out, "--chunk-size", 3).exit_code == 0
    with out.open("ab") as fh:
        fh.write(b'{"id": "sc_009", "half a li')
    with (tmp_path / "out.jsonl.errors.jsonl").open("ab") as fh:
        fh.write(b'{"id": "torn"}\n')
    res = invoke("batch", small, "-o", out, "--resume")
    assert counts_of(res.stdout) == {"read": 20, "annotated": 12, "failed": 0, "skipped": 8}
    assert out.read_bytes() == ref.read_bytes()
    assert (tmp_path / "out.jsonl.errors.jsonl").read_bytes() == b""


def test_resume_refuses_another_format(small, tmp_path):
    out = tmp_path / "out.jsonl"
    assert invoke("batch", small, "-o", out).exit_code == 0
    res = invoke("batch", small, "-o", out, "--format", "fhir", "--resume")
    assert res.exit_code == 2 and "started as 'jsonl'" in res.output


def _archive(path: Path, n: int) -> Path:
    base = own_rows()
    rows = []
    for i in range(n):
        r = dict(base[i % len(base)])
        r["id"] = f"k{i:05d}"
        rows.append(r)
    rows[17] = {"id": "k00017", "text": ""}          # fails
    rows[40] = {"id": "k00003", "text": "L4-L5: bulge."}  # repeated id
    rows[300] = "{broken json"
    return write_jsonl(path, rows)


def _cmd(*args):
    return [sys.executable, "-m", "spinecontext.cli", "batch", *map(str, args)]


@pytest.mark.parametrize("fmt,workers", [("jsonl", 2), ("csv", 1)])
def test_kill_9_and_resume_exactly_once(tmp_path, fmt, workers):
    """kill -9 a running batch several times; after --resume every id is there once, as in a clean run."""
    src = _archive(tmp_path / "in.jsonl", 500)
    ref, out = tmp_path / f"ref.{fmt}", tmp_path / f"out.{fmt}"
    clean = subprocess.run(_cmd(src, "-o", ref, "--chunk-size", 8, "-q"), capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    kills = 0
    args = _cmd(src, "-o", out, "--chunk-size", 8, "--workers", workers, "-q")
    for attempt in range(3):
        proc = subprocess.Popen(args + (["--resume"] if attempt else []), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        start, size0 = time.monotonic(), out.stat().st_size if out.exists() else 0
        # wait until this run writes, then kill it at a varying moment
        while proc.poll() is None and time.monotonic() - start < 60:
            if out.exists() and out.stat().st_size > size0 + 1000:
                time.sleep(0.05 + 0.15 * attempt)
                break
            time.sleep(0.01)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate()
    assert kills >= 2
    time.sleep(0.8)  # orphaned workers notice within 0.5 s
    final = subprocess.run(args + ["--resume"], capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    assert counts_of(final.stdout)["skipped"] > 0
    assert out.read_bytes() == ref.read_bytes()
    errs = read_jsonl(Path(f"{out}.errors.jsonl"))
    assert errs == read_jsonl(Path(f"{ref}.errors.jsonl"))
    assert [e["id"] for e in errs] == ["k00017", "k00003", "in.jsonl:301"]
    if fmt == "jsonl":
        ids = [r["id"] for r in read_jsonl(out)] + [e["id"] for e in errs]
        want = {f"k{i:05d}" for i in range(500)} - {"k00040", "k00300"} | {"in.jsonl:301"}
        assert sorted(ids) == sorted([*want, "k00003"])  # k00003: once annotated, once a repeat


# --- command line and progress --------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (["--db", "sqlite://"], "--db and --query go together"),
    (["missing.jsonl"], "no such file"),
    (["x.jsonl", "--db", "sqlite://", "--query", "select 1"], "not both"),
    (["{src}", "-o", "out.xlsx"], "unknown output type"),
    (["{src}", "-o", "out", ], "cannot tell the format"),
    (["{src}", "-o", "notaurl://x"], "bad database URL"),
    (["{src}", "--table", "t"], "--table is for a database"),
    (["{src}", "-o", "sqlite:///x.db", "--table", "bad name"], "--table"),
    (["{src}", "--resume", "--overwrite"], "do not go together"),
])
def test_bad_arguments_one_line(small, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    args = [a.replace("{src}", str(small)) for a in args]
    if "-o" not in args:
        args += ["-o", "out.jsonl"]
    res = invoke("batch", *args)
    assert res.exit_code == 2, res.output
    assert message in res.output and res.output.startswith("error: ") and "Traceback" not in res.output


def test_progress_lines():
    import io

    buf = io.StringIO()
    p = Progress(200, stream=buf, tty=False, every=0)
    p.update(50, 50)
    p.update(200, 200)
    p.close()
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("50/200 reports  25%") and "reports/s" in lines[0] and "ETA" in lines[0]
    tty = io.StringIO()
    p = Progress(None, stream=tty, tty=True)
    p.update(10, 10, force=True)
    p.close()
    assert tty.getvalue().startswith("\r10 reports") and tty.getvalue().endswith("\n")


def test_console_progress_without_terminal(small, tmp_path):
    res = subprocess.run(_cmd(small, "-o", tmp_path / "o.jsonl", "--progress-every", "0.1"),
                         capture_output=True, text=True, check=True)
    assert "20/20 reports  100%" in res.stderr and "reports/s" in res.stderr
    assert res.stdout.startswith("read 20, annotated 20, failed 0, skipped 0")
    text = own_rows(1)[0]["text"]
    assert text[:40] not in res.stderr + res.stdout


def test_python_api(small, tmp_path):
    counts = run_batch(open_source(small), sink_for(str(tmp_path / "o.parquet")), chunk_size=5)
    assert counts.as_dict() == {"read": 20, "annotated": 20, "failed": 0, "skipped": 0}


def test_bench_batch_small(tmp_path):
    """The benchmark command end to end on a tiny archive (the real figures are in the README)."""
    res = subprocess.run([sys.executable, "-m", "spinecontext.cli", "bench-batch", "--reports", "120", "--small", "100",
                          "--kill-after", "1", "--corpus", str(OWN), "--json"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-2000:]
    data = json.loads(res.stdout)
    assert data["resume"]["exactly_once"] and data["resume"]["identical"]
    assert set(data["runs"]) == {"100/w1", "100/w2", "120/w1", "120/w2"}
    assert all(r["peak_mib"] > 0 for r in data["runs"].values())


def test_report_text_in_fhir_is_the_input(small, tmp_path):
    out = tmp_path / "o.fhir.ndjson"
    assert invoke("batch", small, "-o", out).exit_code == 0
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    forms = [e["resource"].get("presentedForm") for e in first["entry"] if e["resource"]["resourceType"] == "DiagnosticReport"]
    data = forms[0][0]["data"]
    assert base64.b64decode(data).decode("utf-8") == own_rows(1)[0]["text"]
    assert os.path.getsize(out) > 0
