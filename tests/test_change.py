"""Change over time: the spinecontext_change component, compare, the notes, the bars on the change corpora."""

import json
import re
import shutil
from pathlib import Path

import pytest
import textstat
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import spinecontext
from spinecontext.api.app import create_app
from spinecontext.api.settings import Settings
from spinecontext.cli import app
from spinecontext.compare import RED_FLAGS, compare, decide
from spinecontext.evaluate import evaluate, evaluate_pairs, read_gold, read_pairs
from spinecontext.fhir import CHANGE_SYSTEM, report_to_fhir
from spinecontext.nlp import rules
from spinecontext.render import compare_html, compare_markdown, compare_table
from spinecontext.rows import FINDING_COLUMNS, finding_rows
from spinecontext.summarize import tally_lines

from conftest import DEV, REALSTYLE, ROOT, require_shared

PAIRS = ROOT / "corpora" / "change_pairs.jsonl"
SINGLE = ROOT / "corpora" / "change_single.jsonl"
runner = CliRunner()


def changes_of(annotate, text):
    r = annotate(text)
    changes = r.changes()
    return {key: (a, changes.get(key)) for key, a in r.assertions().items()}, r


# --- the component -----------------------------------------------------------------

def test_cues_one_report(annotate):
    got, r = changes_of(annotate, (
        "COMPARISON: MRI 2019.\nFINDINGS:\n"
        "L3-L4: Mild disc bulge, stable, with a new small left foraminal protrusion causing mild left foraminal stenosis.\n"
        "L4-L5: The previously described synovial cyst is no longer seen. Central canal stenosis has progressed.\n"
        "L5-S1: Small protrusion, smaller than before.\n"))
    assert got[("disc_bulge", "L3-L4")] == ("present", "unchanged")
    assert got[("disc_protrusion", "L3-L4")] == ("present", "new")
    # an effect clause is not covered by the cue of its cause
    assert got[("foraminal_stenosis", "L3-L4")] == ("present", None)
    assert got[("synovial_cyst", "L4-L5")] == ("absent", "resolved")
    assert got[("central_canal_stenosis", "L4-L5")] == ("present", "worse")
    assert got[("disc_protrusion", "L5-S1")] == ("present", "better")
    assert r.change is not None and r.change.compared


def test_no_new_fracture_is_absent_with_no_change(annotate):
    got, _ = changes_of(annotate, "Stable L1 compression fracture. No new fracture.\n")
    assert got[("fracture", "L1")] == ("present", "unchanged")
    assert [f.change for f in annotate("No new fracture.").findings] == [None]
    assert [f.assertion for f in annotate("No new fracture.").findings] == ["absent"]


def test_a_cue_over_a_list(annotate):
    """A cue at the head of a list covers the findings joined by and/with; a trailing cue its clause."""
    got, _ = changes_of(annotate, "Stable disc bulges at L3-4 and L4-5 with mild foraminal narrowing.")
    assert got[("disc_bulge", "L3-L4")][1] == got[("disc_bulge", "L4-L5")][1] == "unchanged"
    assert got[("foraminal_stenosis", "L3-L4")][1] == "unchanged"
    got, _ = changes_of(annotate, "L4-L5: Disc bulge and mild facet arthropathy with mild central canal stenosis, similar to prior.")
    assert {got[(f, "L4-L5")][1] for f in ("disc_bulge", "facet_arthropathy", "central_canal_stenosis")} == {"unchanged"}


def test_global_statement(annotate):
    text = ("FINDINGS:\nL4-L5: New left paracentral protrusion abutting the left L5 nerve root.\n"
            "L5-S1: Disc desiccation.\nIMPRESSION: New L4-L5 protrusion. Otherwise stable.\n")
    got, r = changes_of(annotate, text)
    assert got[("disc_protrusion", "L4-L5")][1] == "new"
    assert got[("disc_desiccation", "L5-S1")][1] == "unchanged"      # no cue of its own: the global line
    assert got[("nerve_root_compression", "L4-L5")][1] is None        # tied to the new finding
    assert r.change.global_unchanged
    got, _ = changes_of(annotate, "L5-S1: Disc desiccation.\nIMPRESSION: New L4-L5 protrusion.\n")
    assert got[("disc_desiccation", "L5-S1")][1] is None


def test_history_words_are_not_cues(annotate):
    got, r = changes_of(annotate, "HISTORY: Back pain, unchanged. New leg pain.\nFINDINGS:\nL4-L5: Mild disc bulge.\n")
    assert got[("disc_bulge", "L4-L5")] == ("present", None)


def test_change_at_some_levels(annotate):
    r = annotate("l3-4 and l4-5 moderate foraminal stenosis on the right, increased at l4-5")
    assert r.changes()[("foraminal_stenosis", "L4-L5")] == "worse"
    assert r.changes()[("foraminal_stenosis", "L3-L4")] is None
    rows = {row["level"]: row["change"] for row in finding_rows(r) if row["finding"] == "foraminal_stenosis"}
    assert rows == {"L3-L4": None, "L4-L5": "worse"}


def test_surgery_is_recorded_not_a_finding(annotate):
    r = annotate("HISTORY: Status post L4-L5 laminectomy.\nFINDINGS:\nL4-L5: Postoperative changes. "
                 "The previously described extrusion has been removed.\n")
    assert {p.procedure for p in r.change.procedures} >= {"laminectomy", "surgery"}
    assert any("L4-L5" in p.levels for p in r.change.procedures)
    assert [(f.finding, f.assertion, f.change) for f in r.findings] == [("disc_extrusion", "absent", "resolved")]


def test_reports_without_change_words_are_untouched(nlp, annotate):
    text = "L4-L5: mild disc bulge. L5-S1: protrusion abutting the S1 root. No fracture."
    assert not nlp.get_pipe("spinecontext_change").may_have_cues(text)
    assert nlp.get_pipe("spinecontext_change").may_have_cues(text + " Stable.")
    r = annotate(text)
    assert r.change is None and all(f.change is None for f in r.findings)
    assert all(s.change is None for s in r.summary)


def test_extension_values_are_plain_json(nlp):
    doc = nlp("COMPARISON: MRI 2020.\nStatus post L5-S1 fusion. Stable L4-5 bulge.")
    json.dumps(doc._.spine_change)
    json.dumps(doc._.spine_findings)


def test_rule_file_is_validated(tmp_path):
    d = tmp_path / "patterns"
    shutil.copytree(rules.default_patterns_dir(), d)
    text = (d / "change.yaml").read_text()
    (d / "change.yaml").write_text(text.replace("category: PRIOR", "category: EARLIER", 1))
    with pytest.raises(rules.RuleFileError, match="change.yaml"):
        rules.load_change(d)
    (d / "change.yaml").write_text(text.replace("max_scope: 24", "max_scope: 99", 1))
    with pytest.raises(rules.RuleFileError, match="max_scope"):
        rules.load_change(d)


# --- comparing two results -------------------------------------------------------------

def test_decide_rules():
    assert decide("disc_bulge", True, False, None, None, None)[0] == "gone"
    assert decide("disc_bulge", False, True, None, None, None)[0] == "new"
    assert decide("disc_bulge", False, True, None, None, "unchanged")[0] == "unchanged"
    assert decide("fracture", False, True, None, None, "unchanged")[0] == "new"       # red flag: conservative
    assert decide("disc_bulge", True, True, "mild", "moderate", "unchanged")[0] == "worse"  # grades win
    assert decide("disc_bulge", True, True, "moderate", "mild", None)[0] == "better"
    assert decide("disc_bulge", True, True, None, "mild", "better")[0] == "better"
    assert decide("disc_bulge", True, True, None, None, "new")[0] == "unchanged"
    for flag in RED_FLAGS:
        for cue in ("new", "worse"):
            for sevs in ((None, None), ("severe", "mild"), ("mild", "mild")):
                assert decide(flag, True, True, *sevs, cue)[0] == "worse", (flag, cue, sevs)


def test_compare_two_reports(annotate):
    prior = annotate("L4-L5: mild disc bulge. L5-S1: small protrusion. L3 hemangioma.")
    current = annotate("COMPARISON: prior MRI.\nL4-L5: moderate disc bulge. L5-S1: The protrusion has resolved. "
                       "L3 hemangioma, stable. New L2 compression fracture.")
    cr = compare(prior, current)
    got = {(e.finding, e.level): e.change for e in cr.changes}
    assert got == {("disc_bulge", "L4-L5"): "worse", ("disc_protrusion", "L5-S1"): "gone",
                   ("hemangioma", "L3"): "unchanged", ("fracture", "L2"): "new"}
    assert cr.counts["new"] == 1 and cr.changes[0].change == "new"
    frac = next(e for e in cr.changes if e.finding == "fracture")
    assert frac.attention and "clinician" in frac.note
    table, md, page = compare_table(cr), compare_markdown(cr), compare_html(cr, "a <b>", "c")
    assert "worse" in table and "## New since the last scan" in md
    for change in ("new", "gone", "unchanged", "worse"):
        assert f'id="change-{change}"' in page
    assert "a &lt;b&gt;" in page and "<script" not in page


# --- notes ------------------------------------------------------------------------------

SOFT = re.compile(r"\b(?:only|just|nothing to worry|no need|harmless|normal|reassur\w*|fine|small|mild|minor)\b", re.I)


def test_change_lines_reading_level_and_wording():
    lines = rules.load_change_notes(rules.default_patterns_dir())
    texts = list(lines.mention.values()) + list(lines.compare.values()) + [
        lines.attention_new_or_worse, lines.attention_unchanged]
    for t in texts:
        assert textstat.flesch_kincaid_grade(t) <= 8, t
        assert not re.search(r"\d", t), t
        assert not re.search(r"nothing to worry|harmless|no need|reassur", t, re.I), t


def test_new_or_worse_red_flags_are_never_softened(annotate):
    for text in ("New L2 compression fracture.", "The L3 metastasis has increased in size.",
                 "New L4-5 extrusion with severe compression of the cauda equina."):
        r = annotate(text)
        for f in r.findings:
            if f.finding in RED_FLAGS and f.assertion == "present":
                assert f.change in ("new", "worse"), (text, f)
                assert "clinician needs to look at this" in f.note
                assert not SOFT.search(f.note.replace("small", "")), f.note
    prior = annotate("No fracture.")
    cr = compare(prior, annotate("New L2 compression fracture. New L4-5 extrusion compressing the left L5 nerve root."))
    for e in cr.changes:
        assert e.change == "new"
        if e.attention:
            assert "clinician" in e.note and not SOFT.search(e.note), e.note


def test_unchanged_is_never_reassurance(annotate):
    r = annotate("Stable L1 compression fracture. Stable L4-5 disc bulge.")
    for f in r.findings:
        assert f.change == "unchanged"
        assert "same as on your last scan" in f.note
        assert not re.search(r"nothing to worry|harmless|no need to", f.note, re.I)
    assert "clinician needs to look at this" in next(f.note for f in r.findings if f.finding == "fracture")


# --- batch outputs -----------------------------------------------------------------------

def test_fhir_change_component_only_when_stated(annotate):
    def changes(result):
        out = []
        for entry in report_to_fhir(result)["entry"][1:]:
            for c in entry["resource"].get("component", []):
                if c["code"]["coding"][0]["code"] == "change":
                    out.append(c["valueCodeableConcept"]["coding"][0])
        return out
    assert changes(annotate("L4-5 mild bulge.")) == []
    got = changes(annotate("L4-5 bulge, unchanged."))
    assert got == [{"system": CHANGE_SYSTEM, "code": "unchanged", "display": "unchanged"}]


def test_rows_have_a_change_column(annotate):
    assert "change" in FINDING_COLUMNS
    assert [row["change"] for row in finding_rows(annotate("New L4-5 protrusion."))] == ["new"]


def test_summarize_counts_change_among_compared_reports(annotate):
    lines = [annotate(t).model_dump_json().encode() for t in (
        "COMPARISON: MRI 2020.\nNew L4-5 protrusion.", "L4-5 protrusion, stable.", "L4-5 protrusion.")]
    tally = tally_lines(lines)
    assert tally.reports == 3 and tally.compared == 2
    assert tally.changes[("disc_protrusion", "new")] == 1
    assert tally.changes[("disc_protrusion", "unchanged")] == 1
    assert tally.compared_present["disc_protrusion"] == 2


# --- the command line and the API ----------------------------------------------------------

def test_cli_compare(tmp_path):
    (tmp_path / "a.txt").write_text("L4-L5: mild disc bulge.")
    (tmp_path / "b.txt").write_text("L4-L5: moderate disc bulge. New L2 fracture.")
    r = runner.invoke(app, ["compare", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), "--format", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert {(e["finding"], e["change"]) for e in data["changes"]} == {("disc_bulge", "worse"), ("fracture", "new")}
    flat = tmp_path / "reports.jsonl"
    flat.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in
                            (("r1", "L4-5 mild bulge."), ("r2", "L4-5 bulge, stable."), ("r3", "x"))))
    r = runner.invoke(app, ["compare", str(flat), "r1", "r2"])
    assert r.exit_code == 0 and "r1 -> r2" in r.stdout and "unchanged" in r.stdout
    for fmt in ("md", "html", "table"):
        out = tmp_path / f"out.{fmt}"
        r = runner.invoke(app, ["compare", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), "-f", fmt, "-o", str(out)])
        assert r.exit_code == 0 and out.read_text()


def test_cli_compare_bad_input(tmp_path):
    flat = tmp_path / "reports.jsonl"
    flat.write_text(json.dumps({"id": "r1", "text": "L4-5 bulge."}) + "\n" + json.dumps({"id": "r2", "text": ""}) + "\n")
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "big.txt").write_text("x" * 1_000_001)
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01")
    cases = [
        ([str(tmp_path / "missing.txt"), str(tmp_path / "empty.txt")], 1,
         ["missing.txt: no such file", "empty.txt: the report is empty"]),
        ([str(tmp_path / "big.txt"), str(tmp_path / "bin.txt")], 1, ["big.txt: report is", "bin.txt: binary data"]),
        ([str(flat), "r1", "nope"], 1, ["id nope not found"]),
        ([str(flat), "r1", "r2"], 1, ["r2: the report is empty"]),
        ([str(flat), str(tmp_path / "empty.txt")], 1, ["holds 2 reports", "empty.txt: the report is empty"]),
        ([str(tmp_path / "empty.txt")], 2, ["give PRIOR CURRENT"]),
    ]
    for args, code, wanted in cases:
        r = runner.invoke(app, ["compare", *args])
        assert r.exit_code == code, (args, r.output)
        assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
        errors = [line for line in r.stderr.splitlines() if line]
        assert len(errors) == len(wanted) and all(e.startswith("error: ") for e in errors), errors
        for w, e in zip(wanted, errors):
            assert w in e, (w, e)
        assert "Traceback" not in r.output


@pytest.fixture(scope="module")
def client(nlp):
    with TestClient(create_app(Settings(max_text_bytes=5_000), nlp=nlp)) as c:
        yield c


def test_api_compare(client):
    body = {"prior": {"text": "L4-L5: mild disc bulge.", "id": "p"},
            "current": {"text": "L4-L5: moderate disc bulge. <script>x</script> New L2 fracture.", "age": 60}}
    r = client.post("/v1/compare", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["prior"]["id"] == "p" and data["current"]["id"] == "current"
    assert {(e["finding"], e["change"]) for e in data["changes"]} == {("disc_bulge", "worse"), ("fracture", "new")}
    r = client.post("/v1/compare", json={**body, "format": "html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "<script>x" not in r.text and "&lt;script&gt;x" in r.text
    r = client.post("/v1/compare", json={**body, "format": "md"})
    assert r.status_code == 200 and "# Comparison" in r.text


def test_api_compare_errors(client):
    r = client.post("/v1/compare", json={"prior": {"text": "x" * 6000}, "current": {"text": "y" * 7000}})
    assert r.status_code == 413
    err = r.json()["error"]
    assert err["code"] == "text_too_large" and [d["loc"] for d in err["details"]] == [
        ["body", "prior", "text"], ["body", "current", "text"]]
    assert "xxxx" not in r.text
    r = client.post("/v1/compare", json={"prior": {"text": " "}, "current": {"text": ""}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    assert len(r.json()["error"]["details"]) == 2
    r = client.post("/v1/compare", json={"prior": {"text": "a"}})
    assert r.status_code == 422 and "current" in r.json()["error"]["message"]
    r = client.post("/v1/compare", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_json"


def test_openapi_documents_compare(client):
    schema = client.get("/openapi.json").json()
    op = schema["paths"]["/v1/compare"]["post"]
    assert op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/CompareResult")
    entry = schema["components"]["schemas"]["ChangeEntry"]["properties"]["change"]
    assert set(entry["enum"]) == {"new", "gone", "unchanged", "worse", "better"}
    finding = schema["components"]["schemas"]["FindingResult"]["properties"]["change"]
    assert "resolved" in json.dumps(finding)


# --- the bars on the change corpora -------------------------------------------------------

def test_pairs_corpus_bars(nlp):
    """Change accuracy over the gold (finding, level) entries >= 0.95; no gold new or worse
    red flag reported as unchanged or better; pair F1 of the 88 reports >= 0.95."""
    ev = evaluate_pairs(nlp, read_pairs(PAIRS))
    s = ev.summary()
    assert s["pairs"] == 44 and s["change"]["scored"] == 322
    assert s["change"]["accuracy"] >= 0.95, s["change"]
    assert s["red_flags"]["gold_new_or_worse"] >= 15
    assert s["red_flags"]["reported_unchanged_or_better"] == [], s["red_flags"]
    assert s["reports"]["pair"]["f1"] >= 0.95, s["reports"]["pair"]


def test_single_corpus_bars(nlp):
    s = evaluate(nlp, read_gold(SINGLE)).summary()
    assert s["reports"] == 30 and s["change"]["scored"] >= 150
    assert s["change"]["accuracy"] >= 0.95, s["change"]
    assert s["pair"]["f1"] >= 0.95, s["pair"]


def test_no_change_wording_keeps_the_output(nlp):
    """On the real notes, findings with no change cue keep the assertion the
    assertion component gives (the change component only touches cued mentions)."""
    require_shared()
    change = nlp.get_pipe("spinecontext_change")
    for path in (DEV, REALSTYLE):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            r = spinecontext.annotate(nlp, row["text"], report_id=row["id"])
            if not change.may_have_cues(row["text"]) and not re.search(r"(?im)^\s*comparisons?\s*:", row["text"]):
                assert r.change is None and all(f.change is None for f in r.findings), row["id"]
