"""The patient page's "compare with my last report" view (/compare), without a browser:
the form, bad input, escaping, links that land on the page, wording, logs.
The browser test is in test_web_browser.py."""

from __future__ import annotations

import logging
import re

import pytest
import textstat
from fastapi.testclient import TestClient

from spinecontext.api import create_app
from spinecontext.api.settings import Settings
from spinecontext.compare import compare
from spinecontext.nlp import rules
from spinecontext.render import compare_html, compare_html_body

MARK = "QZX-COMPARE-SECRET-4417"
PRIOR = (f"CLINICAL HISTORY: Back pain. {MARK}\nFINDINGS:\nL4-L5: mild disc bulge. Small left paracentral protrusion.\n"
         "L5-S1: mild facet arthropathy.\nL3 hemangioma.\nNo fracture.")
CURRENT = ("COMPARISON: MRI 2021.\nFINDINGS:\nL4-L5: moderate disc bulge. The protrusion has resolved.\n"
           "L5-S1: mild facet arthropathy, unchanged. <script>document.title='pwned'</script>\n"
           "L3 hemangioma, stable. New L2 compression fracture <img src=x onerror=\"alert(1)\">.\n"
           "IMPRESSION: Disc bulge.")


@pytest.fixture(scope="module")
def client(nlp):
    with TestClient(create_app(Settings(max_text_bytes=5_000, max_file_bytes=100_000), nlp=nlp)) as c:
        yield c


def post(client, prior="", current="", files=None):
    files = files or {}
    # multipart even without files (as the browser sends the form)
    return client.post("/compare", data={"prior_text": prior, "current_text": current},
                       files=files or {"unused": ("", b"")})


def alerts(page: str) -> list[str]:
    block = re.search(r'id="form-error">(.*?)</div>', page, re.S)
    return re.findall(r"<li>(.*?)</li>", block.group(1)) if block else []


def dead_links(page: str) -> list[str]:
    ids = set(re.findall(r'\sid="([^"]+)"', page))
    return [h for h in re.findall(r'href="#([^"]*)"', page) if h not in ids]


def test_patient_page_offers_the_compare_form(client):
    r = client.get("/")
    assert 'href="/compare"' in r.text and "Compare with my last report" in r.text
    r = client.get("/compare")
    assert r.status_code == 200
    for name in ("prior_text", "current_text", "prior_file", "current_file"):
        assert f'name="{name}"' in r.text
    assert 'enctype="multipart/form-data"' in r.text and 'action="/compare"' in r.text


def test_compare_result_groups_and_escaping(client):
    r = post(client, PRIOR, CURRENT)
    assert r.status_code == 200, alerts(r.text)
    page = r.text
    got = {(m[0], m[1]): m[2] for m in re.findall(
        r'<article class="card change-\w+[^"]*" id="[^"]+" data-finding="(\w+)" data-level="([^"]*)" data-change="(\w+)"', page)}
    assert got == {("disc_bulge", "L4-L5"): "worse", ("disc_protrusion", "L4-L5"): "gone",
                   ("facet_arthropathy", "L5-S1"): "unchanged", ("hemangioma", "L3"): "unchanged",
                   ("fracture", "L2"): "new"}
    # each card carries its badge word (the text cue), not only its colour
    for change, word in (("new", "new"), ("gone", "gone"), ("unchanged", "same"), ("worse", "worse")):
        section = page.split(f'id="change-{change}"', 1)[1].split("</section>", 1)[0]
        cards = section.split("<article")[1:]
        assert cards and all(f'<span class="badge {change}">{word}</span>' in c for c in cards), change
    # report text is escaped; the only script is the page's own file
    assert "<script>document" not in page and "&lt;script&gt;document.title=" in page
    assert "<img src=x" not in page and "&lt;img src=x" in page
    assert page.count("<script") == 1 and '<script src="/static/app.js" defer></script>' in page
    # a new red flag keeps its attention line and the urgent-symptom advice
    fracture = page.split('data-finding="fracture"', 1)[1].split("</article>", 1)[0]
    assert "Please make sure your clinician sees this change." in fracture
    assert 'id="urgent-summary"' in page and "emergency department" in page
    assert "nothing to worry" not in page.lower()
    # the where-from line names the pasted text, not report ids
    assert "Last report: pasted text · New report: pasted text" in page


def test_compare_page_has_no_dead_anchors(client, annotate):
    r = post(client, PRIOR, CURRENT)
    page = r.text
    assert not dead_links(page), dead_links(page)
    # every highlight is either a link to a card on this page or not a link at all
    marks = re.findall(r'(<a class="hl" href="#([^"]+)" id="((?:prior|current)-m-\d+)">)?<mark ', page)
    linked = [m for m in marks if m[0]]
    assert len(linked) >= 8 and all(h.startswith("chg-") for _, h, _ in linked)
    assert not re.search(r'href="#card-', page)
    # mention ids are kept apart per report (the two reports would otherwise share m-0, m-1...)
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    # cards link back into each report
    protrusion = page.split('id="chg-disc_protrusion-L4-L5"', 1)[1].split("</article>", 1)[0]
    assert re.search(r'href="#prior-m-\d+">See it in your last report', protrusion)
    assert re.search(r'href="#current-m-\d+">See it in your new report', protrusion)  # "has resolved"
    # the standalone page (compare --format html, POST /v1/compare format=html) too
    cr = compare(annotate(PRIOR), annotate(CURRENT))
    assert not dead_links(compare_html(cr, PRIOR, CURRENT))
    # a mention whose finding has no card (absent in both reports) is not a link
    cr = compare(annotate("No fracture. L4-L5: disc bulge."), annotate("No fracture. L4-L5: disc bulge."))
    body = compare_html_body(cr, "No fracture. L4-L5: disc bulge.", "No fracture. L4-L5: disc bulge.")
    assert not dead_links(body)
    assert re.search(r'(?<!">)<mark class="m-absent"[^>]*data-finding="fracture"', body)


def test_empty_and_over_long_reports_get_a_message(client):
    r = post(client, "   ", "L4-L5: disc bulge.")
    assert r.status_code == 422
    assert alerts(r.text) == ["Your last report is empty. Please paste it or choose its file."]
    assert "L4-L5: disc bulge." in r.text  # the other report stays in its box
    r = post(client, "L4-L5: disc bulge. " + "x" * 6000, "")
    assert r.status_code == 422
    got = alerts(r.text)
    assert got[0].startswith("Your last report is too long: it is 6,019 bytes and the limit is 5,000 bytes")
    assert got[1] == "Your new report is empty. Please paste it or choose its file."
    assert "xxxxxxxx" not in r.text  # the over-long text is not sent back
    r = post(client, "L4-L5: disc bulge.", "y" * 6000)
    assert r.status_code == 413 and "Your new report is too long" in alerts(r.text)[0]
    assert "Traceback" not in r.text


def test_bad_files_are_named(client):
    r = post(client, "", "L4-L5: disc bulge.", files={"prior_file": ("old.txt", b""),
                                                       "current_file": ("new.gif", b"GIF89a....")})
    got = alerts(r.text)
    assert r.status_code == 422 and len(got) == 2
    assert got[0].startswith("Your last report: the file could not be used.") and "empty" in got[0]
    assert got[1].startswith("Your new report: the file could not be used.")


def test_text_files_compare_directly(client):
    r = post(client, files={"prior_file": ("old report.txt", b"L4-L5: mild disc bulge."),
                            "current_file": ("new report.txt", b"L4-L5: severe disc bulge. New L1 fracture.")})
    assert r.status_code == 200
    assert "Last report: old report.txt · New report: new report.txt" in r.text
    assert 'data-finding="disc_bulge" data-level="L4-L5" data-change="worse"' in r.text


def test_over_limit_body_gets_the_compare_page(nlp):
    settings = Settings(max_file_bytes=1_000)
    with TestClient(create_app(settings, nlp=nlp)) as c:
        big = b"L4-L5: disc bulge.\n" * 60_000  # over 2 x 1,000 + 1,000,000 bytes
        r = c.post("/compare", files={"prior_file": ("a.txt", big), "current_file": ("b.txt", b"x")})
    assert r.status_code == 413
    assert 'id="compare-form"' in r.text and "limit is 0.001 MB for each report" in r.text


def test_compare_flow_logs_no_report_text(client, caplog):
    with caplog.at_level(logging.DEBUG):
        post(client, PRIOR, CURRENT)
        post(client, PRIOR, "")
    assert MARK not in caplog.text and "hemangioma" not in caplog.text


def _texts(t) -> list[str]:
    def walk(x):
        if isinstance(x, dict):
            for v in x.values():
                yield from walk(v)
        elif isinstance(x, str):
            yield x
    filled = {"which": "Your last report", "size": "6,019", "limit": "5,000", "message": "The file is empty.",
              "what": "photo", "button": "Compare my reports", "mb": "15", "prior": "pasted text",
              "current": "report.pdf"}
    return [s.format(**filled) for s in walk(t.model_dump())]


def test_compare_page_wording():
    t = rules.load_compare_page(rules.default_patterns_dir())
    texts = _texts(t)
    assert len(texts) > 40
    for s in texts:
        # Flesch-Kincaid needs a few words to mean anything ("better" alone scores 8.4)
        if len(s.split()) >= 3:
            assert textstat.flesch_kincaid_grade(s) <= 8, s
        assert not re.search(r"nothing to worry|harmless|no need|reassur|normal\b|probably fine", s, re.I), s
    assert set(t.result.badges) == set(t.result.headings) == {"new", "worse", "gone", "better", "unchanged"}
    assert len(set(t.result.badges.values())) == 5  # each change its own word
