"""The command line, including bad input: clear one-line errors, the rest still comes out."""

import json
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from spinecontext.cli import app

from conftest import OWN, SAMPLES, require_shared

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_console_script_is_installed():
    exe = shutil.which("spinecontext")
    assert exe, "the spinecontext console script is not on PATH"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("spinecontext ")


def test_annotate_table_on_samples():
    res = invoke("annotate", SAMPLES)
    assert res.exit_code == 0, res.output
    assert "sample_us_style.txt" in res.output and "disc_bulge" in res.output


def test_annotate_json_one_report(tmp_path):
    f = tmp_path / "r.txt"
    f.write_text("L4-L5: mild disc bulge.", encoding="utf-8")
    res = invoke("annotate", f, "--format", "json", "--age", 52)
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["id"] == "r.txt" and data["age"] == 52 and data["age_source"] == "given"
    assert data["findings"][0]["finding"] == "disc_bulge"


def test_annotate_jsonl_keeps_ids_and_order():
    res = invoke("annotate", OWN, "--format", "jsonl")
    assert res.exit_code == 0
    ids = [json.loads(line)["id"] for line in res.stdout.splitlines()]
    expected = [json.loads(line)["id"] for line in OWN.read_text(encoding="utf-8").splitlines()]
    assert ids == expected


def test_workers_give_same_output():
    one = invoke("annotate", OWN, "--format", "jsonl")
    two = invoke("annotate", OWN, "--format", "jsonl", "--workers", 2)
    assert two.exit_code == 0 and two.stdout == one.stdout


def test_output_file(tmp_path):
    out = tmp_path / "out.jsonl"
    res = invoke("annotate", SAMPLES, "-f", "jsonl", "-o", out)
    assert res.exit_code == 0 and res.stdout == ""
    assert len(out.read_text(encoding="utf-8").splitlines()) == 5


@pytest.fixture
def bad_inputs(tmp_path):
    (tmp_path / "good.txt").write_text("Disc bulge at L4-5.", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "blank.txt").write_text("  \n\t \n", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "latin1.txt").write_bytes("Disc bulge at L4-5, Patient: M\xfcller".encode("latin-1"))
    (tmp_path / "huge.txt").write_text("Disc bulge at L4-5. " * 105_000, encoding="utf-8")  # about 2 MB
    (tmp_path / "reports.jsonl").write_text(
        '{"id": "a", "text": "Mild disc bulge at L4-5."}\n'
        '{"id": "b"}\n'
        'this is not json\n'
        '{"id": "c", "text": "No fracture.", "age": "old"}\n'
        '[1, 2]\n'
        '{"id": "d", "text": "Facet arthropathy at L5-S1.", "age": 70}\n',
        encoding="utf-8",
    )
    return tmp_path


def test_bad_input_gives_one_line_errors_and_keeps_going(bad_inputs):
    res = invoke("annotate", bad_inputs, "--format", "jsonl")
    assert res.exit_code == 1
    out_ids = [json.loads(line)["id"] for line in res.stdout.splitlines()]
    assert out_ids == ["blank.txt", "empty.txt", "good.txt", "a", "d"]  # files in name order
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 7, res.stderr
    text = "\n".join(errors)
    assert "binary.txt: binary data" in text
    assert "latin1.txt: not UTF-8 text" in text
    assert "huge.txt: report is 2,100,000 characters" in text
    assert "b: line 2 has no 'text'" in text
    assert "reports.jsonl:3: line 3 is not valid JSON" in text
    assert "c: age must be a whole number" in text
    assert "reports.jsonl:5: line 5 is not a JSON object" in text
    assert "Traceback" not in res.output
    assert "Müller" not in res.stderr and "Disc bulge" not in res.stderr  # no report text in errors


def test_empty_report_is_an_empty_result(bad_inputs):
    res = invoke("annotate", bad_inputs / "empty.txt", "--format", "json")
    assert res.exit_code == 0
    assert json.loads(res.stdout)["findings"] == []


def test_missing_path():
    res = invoke("annotate", "/nonexistent/report.txt")
    assert res.exit_code == 1
    assert "error: /nonexistent/report.txt: no such file or folder" in res.stderr


def test_bad_age_option(tmp_path):
    f = tmp_path / "r.txt"
    f.write_text("Disc bulge.", encoding="utf-8")
    res = invoke("annotate", f, "--age", 500)
    assert res.exit_code == 2
    assert "Traceback" not in res.output


def test_evaluate_command_json():
    require_shared()
    from conftest import DEV

    res = invoke("evaluate", DEV, "--json")
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["pair"]["f1"] >= 0.95 and "per_finding" in data


def test_evaluate_text_and_errors():
    res = invoke("evaluate", OWN, "--errors")
    assert res.exit_code == 0
    assert "pair (finding, level), present:" in res.stdout
    assert "negation errors" in res.stdout


def test_evaluate_bad_gold(tmp_path):
    f = tmp_path / "gold.jsonl"
    f.write_text("not json\n", encoding="utf-8")
    res = invoke("evaluate", f)
    assert res.exit_code == 2
    assert res.stderr.startswith("error:") and "line 1" in res.stderr


def test_rules_command():
    res = invoke("rules")
    assert res.exit_code == 0 and "OK" in res.stdout


def test_rules_command_reports_a_broken_file(tmp_path):
    from spinecontext.nlp import rules

    shutil.copytree(rules.default_patterns_dir(), tmp_path / "p", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (tmp_path / "p" / "context.yaml").write_text("version: 1\nrules: [{category: NOPE, literal: x}]\n", encoding="utf-8")
    res = invoke("rules", "--patterns", tmp_path / "p")
    assert res.exit_code == 1
    assert "context.yaml" in res.stderr and "Traceback" not in res.output


def test_bench_prints_figures_and_ratios():
    res = invoke("bench", SAMPLES, "--repeat", 1, "--min-seconds", 0, "--no-medspacy", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data["stages"]) == {"tokenizer", "extraction", "spinecontext"}
    assert data["stages"]["spinecontext"]["reports_per_s"] > 0
    assert data["ratios"]["spinecontext_time_vs_tokenizer"] > 1
    assert data["load_seconds"] > 0


def test_bench_several_corpora_in_one_run(tmp_path):
    one = tmp_path / "one.jsonl"
    one.write_text('{"id": "a", "text": "L4-L5: mild disc bulge."}\n', encoding="utf-8")
    res = invoke("bench", SAMPLES, one, "--repeat", 1, "--min-seconds", 0, "--no-medspacy", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [d["corpus"] for d in data] == [str(SAMPLES), str(one)]
    assert data[1]["reports"] == 1
    for d in data:
        assert set(d["stages"]) == {"tokenizer", "extraction", "spinecontext"}
        assert d["ratios"]["spinecontext_time_vs_tokenizer"] > 1
        assert d["ratios"]["extraction_time_vs_tokenizer"] > 0
    res = invoke("bench", SAMPLES, one, "--repeat", 1, "--min-seconds", 0, "--no-medspacy")
    assert res.exit_code == 0, res.output
    assert res.stdout.count("spinecontext time / tokenizer time:") == 2
    assert f"corpus: {one}: 1 reports" in res.stdout and "summary" in res.stdout
    res = invoke("bench", SAMPLES, tmp_path / "missing.jsonl", "--repeat", 1, "--no-medspacy")
    assert res.exit_code != 0


def test_table_shows_notes(tmp_path):
    f = tmp_path / "r.txt"
    f.write_text("L4-L5: mild disc bulge. L5-S1: disc extrusion.", encoding="utf-8")
    res = invoke("annotate", f, "--age", 52)
    assert res.exit_code == 0
    assert "What the findings mean:" in res.stdout and "about 62 in every hundred" in res.stdout


def test_appendix_only(tmp_path):
    f = tmp_path / "r.txt"
    f.write_text("L4-L5: mild disc bulge and facet arthropathy.", encoding="utf-8")
    res = invoke("annotate", f, "--age", 50, "--appendix")
    assert res.exit_code == 0
    assert res.stdout.startswith("Context for this report\n")
    assert "disc bulge (about 60 in 100)" in res.stdout and "Source: Brinjikji" in res.stdout


@pytest.mark.parametrize("fmt,marker", [("text", "CONTEXT FOR THIS REPORT"), ("md", "## What the findings mean"),
                                        ("html", "<!doctype html>")])
def test_rendered_formats_keep_the_report(tmp_path, fmt, marker):
    text = "L4-L5: mild disc bulge <b>bold</b> & facet arthropathy.\n"
    f = tmp_path / "r.txt"
    f.write_text(text, encoding="utf-8")
    out = tmp_path / f"r.{fmt}"
    res = invoke("annotate", f, "-f", fmt, "-o", out, "--age", 50)
    assert res.exit_code == 0
    page = out.read_text(encoding="utf-8")
    assert marker in page
    if fmt == "html":
        from spinecontext.render import report_text_from_html

        assert report_text_from_html(page) == text and "<b>" not in page
    else:
        assert text in page


def test_html_of_several_reports_needs_a_folder(tmp_path):
    res = invoke("annotate", SAMPLES, "-f", "html")
    assert res.exit_code == 2 and "needs -o FOLDER" in res.stderr
    res = invoke("annotate", SAMPLES, "-f", "html", "-o", str(tmp_path / "pages") + "/")
    assert res.exit_code == 0
    assert len(list((tmp_path / "pages").glob("*.html"))) == 5


def test_table_notes_do_not_repeat_labels(tmp_path):
    f = tmp_path / "r.txt"
    f.write_text("L4-L5: mild disc bulge. No spondylolisthesis. No fracture.\n"
                 "HISTORY: prior L1 fracture.", encoding="utf-8")
    res = invoke("annotate", f, "--age", 52)
    assert res.exit_code == 0
    notes = res.stdout.split("What the findings mean:")[1]
    assert "Disc bulge (L4-L5): A disc bulge means" in notes
    assert "The report says these are not there: " in notes and "spondylolisthesis" in notes
    for line in filter(None, (ln.strip() for ln in notes.splitlines())):
        title, _, note = line.strip().removeprefix("- ").partition(": ")
        assert not note.lower().startswith(title.lower().split(" (")[0]), line
