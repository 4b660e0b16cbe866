"""spinecontext summarize: streaming counts, the HTML page, the PNG plots, the command."""

import json
import re

import pytest
from typer.testing import CliRunner

from spinecontext.cli import app
from spinecontext.nlp import rules
from spinecontext.result import FindingResult, ReportResult
from spinecontext.summarize import (CONTEXT_NOTE, Tally, load_evidence, make_plots, plot_by_decade, render_html,
                                    summarize, tally_file, tally_lines)

PNG = b"\x89PNG\r\n\x1a\n"
runner = CliRunner()


def mention(finding, assertion="present", group="common", levels=("L4-L5",)):
    return FindingResult(finding=finding, text=finding, start=0, end=1, section="findings", levels=list(levels),
                         assertion=assertion, group=group, label=finding.replace("_", " "))


def result(rid, age, *mentions):
    return ReportResult(id=rid, age=age, age_source="given" if age is not None else "none",
                        findings=list(mentions)).model_dump_json()


LINES = [
    result("a", 52, mention("disc_bulge"), mention("disc_bulge", levels=["L5-S1"]), mention("fracture", "absent", "red_flag")),
    result("b", 55, mention("disc_bulge", "absent"), mention("facet_arthropathy"), mention("malignancy", "possible", "red_flag")),
    result("c", 58, mention("fracture", "possible", "red_flag"), mention("fracture", "present", "red_flag")),
    result("d", 31, mention("disc_protrusion", "possible"), mention("hemangioma", group="incidental")),
    result("e", None, mention("disc_bulge"), mention("cauda_equina_compression", "present", "red_flag")),
    result("<script>alert(1)</script>", 79, mention("disc_bulge"), mention("spondylolisthesis", "historical")),
    "",                                    # blank: skipped, not counted
    "{not json",                           # line 8
    "[1, 2]",                              # line 9
    json.dumps({"id": "x", "error": "the pipeline failed on this report"}),   # an error record
    json.dumps({"id": "y", "findings": [{"finding": "disc_bulge", "assertion": "maybe", "group": "common"}]}),  # line 11
    json.dumps({"id": "z", "age": "old", "findings": []}),                                                    # line 12
]


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "results.jsonl"
    data = "\n".join(LINES).encode("utf-8") + b"\n\xff\xfe bad bytes\n"  # line 13: not UTF-8
    path.write_bytes(data)
    return path


def test_counts(archive):
    t = tally_file(archive)
    assert (t.reports, t.failed, t.malformed) == (6, 1, 5)
    assert t.malformed_lines == [8, 9, 11, 12, 13]
    assert t.without_age == 1
    assert dict(t.per_decade) == {50: 3, 30: 1, 70: 1}
    assert t.present[("disc_bulge", 50)] == 1          # two mentions in one report count once
    assert t.present[("disc_bulge", 70)] == 1 and t.present[("disc_bulge", None)] == 1
    assert t.present[("facet_arthropathy", 50)] == 1
    assert ("disc_protrusion", 30) not in t.present      # possible is not present
    assert ("spondylolisthesis", 70) not in t.present    # historical is not present
    assert t.red_flags == {("fracture", "present"): 1, ("malignancy", "possible"): 1,
                           ("cauda_equina_compression", "present"): 1}
    assert dict(t.any_common) == {50: 2, None: 1, 70: 1}
    assert t.decades() == [30, 40, 50, 60, 70]


def test_streaming_counts_stay_bounded():
    def lines():
        for i in range(3000):
            yield result(f"r{i}", 20 + i % 70, mention("disc_bulge"), mention("fracture", "possible", "red_flag")).encode()

    t = tally_lines(lines())
    assert t.reports == 3000 and sum(t.per_decade.values()) == 3000
    assert len(t.present) == 7 and t.red_flags == {("fracture", "possible"): 3000}
    for d in range(20, 90, 10):
        assert t.present[("disc_bulge", d)] == t.per_decade[d]


def test_plotted_evidence_equals_the_table():
    data = rules.load_prevalence(rules.default_patterns_dir())
    ev = load_evidence()
    assert {c.finding for c in ev.curves} == {f for f, fig in data.findings.items() if fig.row}
    fig = plot_by_decade(Tally(), ev)
    lines = {ln.get_gid(): ln for ax in fig.axes for ln in ax.get_lines()}
    for c in ev.curves:
        line = lines[f"evidence:{c.finding}"]
        assert list(line.get_xdata()) == data.by_age.ages
        assert list(line.get_ydata()) == data.by_age.rows[data.findings[c.finding].row]


def test_plotted_evidence_equals_prevalence_md():
    from test_prevalence import evidence_table  # skips when ../shared is absent

    table = evidence_table()
    ev = load_evidence()
    fig = plot_by_decade(Tally(), ev)
    lines = {ln.get_gid(): ln for ax in fig.axes for ln in ax.get_lines()}
    for c in ev.curves:
        ydata = list(lines[f"evidence:{c.finding}"].get_ydata())
        assert ydata == [table[c.row][a] for a in ev.ages], c.finding


def test_archive_points_are_the_shares(archive):
    t = tally_file(archive)
    fig = plot_by_decade(t, load_evidence())
    lines = {ln.get_gid(): ln for ax in fig.axes for ln in ax.get_lines()}
    few = lines["archive-few:disc_bulge"]  # every decade here has fewer than 10 reports
    assert list(few.get_xdata()) == [35, 55, 75]
    assert list(few.get_ydata()) == pytest.approx([0.0, 100 / 3, 100.0])


def test_html_page(archive, tmp_path):
    html_path = tmp_path / "out" / "s.html"
    t = summarize(archive, html_path, tmp_path / "png")
    page = html_path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("<html") == 1 and page.count("</body>") == 1
    assert "<script" not in page.lower() and "alert(1)" not in page   # report ids are never shown
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)  # nothing fetched
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == 3
    assert "Brinjikji" in page and "doi:10.3174/ajnr.A4173" in page
    assert "html.escape" not in page and CONTEXT_NOTE.split(",")[0] in page
    assert "Skipped lines: 8, 9, 11, 12, 13." in page
    assert re.search(r"<td>reports summarised</td><td>6</td>", page)
    # figures next to the archive shares are the table's, at decade starts
    assert "no back pain, age 50: 60%" in page and "no back pain, age 70: 77%" in page
    # never say common means harmless or not the cause
    low = page.lower()
    for phrase in ("not the cause", "harmless", "nothing to worry", "normal for your age"):
        assert phrase not in low
    for name in ("by_decade", "red_flags", "any_common"):
        assert (tmp_path / "png" / f"{name}.png").read_bytes().startswith(PNG)
    assert t.reports == 6


def test_html_escapes_everything(tmp_path):
    ev = load_evidence()
    ev.curves[0].label = "<b>bold</b> & co"
    ev.labels["fracture"] = '"><img src=x onerror=alert(1)>'
    page = render_html(tally_file_from(tmp_path), ev, make_plots(Tally(), ev), "<i>name</i>.jsonl")
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt; &amp; co" in page
    assert "<i>name</i>" not in page and "&lt;i&gt;name&lt;/i&gt;.jsonl" in page
    assert "onerror=alert(1)>" not in page


def tally_file_from(tmp_path):
    p = tmp_path / "one.jsonl"
    p.write_text(result("a", 40, mention("disc_bulge"), mention("fracture", group="red_flag")) + "\n", encoding="utf-8")
    return tally_file(p)


def test_batch_errors_file_counts_as_failed(archive, tmp_path):
    (tmp_path / "results.jsonl.errors.jsonl").write_text(
        '{"id": "q", "reason": "not UTF-8 text"}\n\n{"id": "r", "reason": "binary data"}\n', encoding="utf-8")
    t = summarize(archive, tmp_path / "s.html")
    assert t.failed == 3 and t.reports == 6
    assert "<td>reports that could not be annotated (error records)</td><td>3</td>" in (tmp_path / "s.html").read_text(encoding="utf-8")


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    t = summarize(empty, tmp_path / "e.html")
    assert (t.reports, t.malformed) == (0, 0)
    page = (tmp_path / "e.html").read_text(encoding="utf-8")
    assert "no readable results" in page
    assert all((tmp_path / "e_plots" / f"{n}.png").read_bytes().startswith(PNG)
               for n in ("by_decade", "red_flags", "any_common"))


def test_command(archive, tmp_path):
    out = tmp_path / "page.html"
    res = runner.invoke(app, ["summarize", str(archive), "-o", str(out), "--png-dir", str(tmp_path / "p")])
    assert res.exit_code == 1  # some lines were not result objects
    assert "5 line(s) are not result objects (line 8, 9, 11, 12, 13)" in res.output
    assert "alert" not in res.output
    assert out.is_file() and (tmp_path / "p" / "by_decade.png").is_file()


def test_command_on_annotate_output(tmp_path):
    reports = tmp_path / "in.jsonl"
    reports.write_text("\n".join(json.dumps({"id": f"r{i}", "text": t, "age": a}) for i, (t, a) in enumerate([
        ("L4-L5: mild disc bulge. No fracture.", 52), ("Facet arthropathy L4-L5 and L5-S1.", 67),
        ("Normal lumbar spine.", 24), ("Possible discitis at L2-L3.", None)])) + "\n", encoding="utf-8")
    jsonl = tmp_path / "out.jsonl"
    assert runner.invoke(app, ["annotate", str(reports), "--format", "jsonl", "-o", str(jsonl)]).exit_code == 0
    res = runner.invoke(app, ["summarize", str(jsonl), "-o", str(tmp_path / "s.html")])
    assert res.exit_code == 0, res.output
    assert "4 reports (3 with an age)" in res.output
    t = tally_file(jsonl)
    assert t.present[("disc_bulge", 50)] == 1 and t.present[("facet_arthropathy", 60)] == 1
    assert t.red_flags == {("infection", "possible"): 1}


def test_command_missing_file(tmp_path):
    res = runner.invoke(app, ["summarize", str(tmp_path / "nope.jsonl")])
    assert res.exit_code == 2 and "no such file" in res.output
