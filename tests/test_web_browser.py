"""End to end in a real browser: Debian's chromium driven by Playwright, against `spinecontext serve`.

The patient page: paste a report (with XSS payloads), enter the age, submit
with the keyboard, see the bottom line first (the right groups for a common
and a red-flag report), highlights that say found / maybe / not there and link
to their cards and back, the urgent-symptom advice with its source for red
flags, questions; upload a file, a photo (OCR: the text comes back in the box
to check, then explains to the same findings), an over-limit file (the size
message, with and without scripts); print and phone layouts; /docs. The
radiologist view: get the appendix and copy it with one click. No request
leaves the server's origin. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
import shutil

import pytest

from conftest import ROOT

from apihelp import Server, pdf_bytes

ARTIFACTS = ROOT / "test-artifacts"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MARKER = "QZX-UNIQUE-PATIENT-9931"
REPORT = ("EXAM: MRI lumbar spine without contrast\n"
          f"CLINICAL HISTORY: Low back pain. {MARKER}\n"
          "FINDINGS:\n"
          "L1: Acute compression fracture of the L1 vertebral body.\n"
          "L4-L5: Mild disc bulge <script>document.title='pwned'</script> with mild facet arthropathy.\n"
          "L5-S1: Disc desiccation. Small protrusion <img src=x onerror=\"document.title='pwned'\">.\n"
          "No spondylolisthesis.\n"
          "IMPRESSION: Acute L1 compression fracture. Mild degenerative changes.")


def chromium_path() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe:
        return exe
    if os.environ.get("SPINECONTEXT_REQUIRE_BROWSER") == "1":
        pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
    pytest.skip("chromium is not installed")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("server") / "server.log"
    srv = Server(workers=1, log_path=log)
    yield srv
    srv.stop()
    # the server's whole log (access lines at debug level included) never holds report text
    assert MARKER not in srv.log()


@pytest.fixture(scope="module")
def browser():
    exe = chromium_path()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    pg = context.new_page()
    pg.requests = []
    pg.dialogs = []
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    yield pg
    context.close()
    foreign = [u for u in pg.requests if not u.startswith(server.url)]
    assert not foreign, f"requests left the server's origin: {foreign}"


def test_patient_flow(page, server):
    page.goto(server.url + "/")
    title = page.title()
    # keyboard only: tab to the report box, type, tab to age, submit with Enter
    page.keyboard.press("Tab")  # skip link
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.locator("#report-input").focus()
    page.keyboard.insert_text(REPORT)
    page.locator("#age-input").focus()
    page.keyboard.type("52")
    page.locator("#explain").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#report-text")

    assert page.title() != title and "pwned" not in page.title()
    assert not page.dialogs
    # the only script element is our own file; the payloads are text
    assert page.locator("script").count() == 1
    assert page.locator("#report-text img").count() == 0
    report_text = page.locator("#report-text").inner_text()
    assert "<script>document.title='pwned'</script>" in report_text and "<img src=x" in report_text
    # findings highlighted, cards with notes and icon arrays, red flag set apart and first
    assert page.locator("#report-text mark").count() >= 5
    attention = page.locator("#attention + .cards .card.attention")
    assert attention.count() >= 1 and "fracture" in attention.first.get_attribute("data-finding")
    common = page.locator("#findings ~ .cards .card")
    assert common.count() >= 3
    bulge = page.locator('.card[data-finding="disc_bulge"]')
    assert "without back pain" in bulge.inner_text() and bulge.locator('[role="img"]').count() == 1
    box_attention = page.locator("#attention").bounding_box()
    box_common = page.locator("#findings").bounding_box()
    assert box_attention["y"] < box_common["y"]
    assert page.locator("[data-print]").is_visible()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-patient-desktop.png"), full_page=True)
    # print layout: the page chrome and buttons disappear, the report and cards stay
    page.emulate_media(media="print")
    assert not page.locator("header.site").is_visible() and not page.locator(".tools").is_visible()
    assert page.locator("#report-text").is_visible() and bulge.is_visible()
    page.emulate_media(media="screen")
    # phone width: nothing wider than the screen
    page.set_viewport_size({"width": 390, "height": 844})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    page.screenshot(path=str(ARTIFACTS / "web-patient-phone.png"), full_page=True)


def test_patient_upload(page, server, tmp_path):
    path = tmp_path / "my report.pdf"
    path.write_bytes(pdf_bytes(["FINDINGS:", "L4-L5: Mild disc bulge.", "L5-S1: No disc herniation."]))
    page.goto(server.url + "/")
    page.set_input_files("#report-file", str(path))
    page.fill("#age-input", "35")
    page.click("#explain")
    page.wait_for_selector("#report-text")
    assert page.locator('.card[data-finding="disc_bulge"]').count() == 1
    assert "at age 35" in page.locator('.card[data-finding="disc_bulge"]').inner_text().lower()


def test_patient_errors_are_shown(page, server):
    page.goto(server.url + "/")
    page.fill("#report-input", "L4-L5: disc bulge.")
    page.fill("#age-input", "130")
    # the browser's own check stops an out-of-range age; submit past it to see the server's answer
    page.evaluate("document.getElementById('explain-form').noValidate = true")
    page.click("#explain")
    alert = page.locator("#form-error")
    alert.wait_for()
    assert "Age must be" in alert.inner_text()
    assert page.locator("#report-input").input_value() == "L4-L5: disc bulge."


def test_radiologist_copy_appendix(page, server):
    page.goto(server.url + "/radiologist")
    page.fill("#report-input", REPORT)
    page.fill("#age-input", "52")
    page.click("#get-appendix")
    page.wait_for_selector("#appendix")
    appendix = page.locator("#appendix").input_value()
    assert "without back pain" in appendix and "52" in appendix
    page.click("#copy-appendix")
    # (a locator wait, not wait_for_function: our CSP forbids the eval that would need)
    page.locator("#copy-status", has_text="Copied").wait_for()
    assert "Copied" in page.locator("#copy-status").inner_text()
    assert page.evaluate("navigator.clipboard.readText()") == appendix
    page.screenshot(path=str(ARTIFACTS / "web-radiologist.png"), full_page=True)


COMMON_REPORT = ("EXAM: MRI lumbar spine without contrast\nCLINICAL HISTORY: Low back pain.\nFINDINGS:\n"
                 "L3-L4: Mild disc bulge without spinal canal stenosis.\n"
                 "L4-L5: Disc desiccation. Small left paracentral protrusion with moderate left foraminal "
                 "narrowing. Mild facet arthropathy.\n"
                 "L5-S1: No disc herniation.\nNo spondylolisthesis.\nIMPRESSION: Mild degenerative changes.")
RED_REPORT = ("FINDINGS:\nL1: Acute compression fracture.\n"
              "L4-L5: Large central disc extrusion compressing the cauda equina.\n"
              "L5-S1: Mild disc bulge. No foraminal stenosis.\nIMPRESSION: Cauda equina compression. L1 fracture.")


def explain(page, server, text, age="52"):
    page.goto(server.url + "/")
    page.fill("#report-input", text)
    page.fill("#age-input", age)
    page.click("#explain")
    page.wait_for_selector("#report-text")


def test_bottom_line_for_a_common_report(page, server):
    explain(page, server, COMMON_REPORT)
    bottom = page.locator("#bottom-line")
    # the bottom line comes first: above the cards and the report
    assert bottom.bounding_box()["y"] < page.locator("#findings").bounding_box()["y"] < page.locator("#report-text").bounding_box()["y"]
    assert page.locator("#bl-attention").count() == 0 and page.locator("#urgent-summary").count() == 0
    common = page.locator("#bl-common").inner_text()
    assert "Common with age" in common and "aged 52" in common and "Disc bulge" in common and "Facet joint" in common
    assert "Narrowing of a nerve opening" in page.locator("#bl-other").inner_text()
    not_there = page.locator("#bl-not-there").inner_text()
    assert "spinal canal" in not_there and "spondylolisthesis" in not_there
    # the shared sentences are said once, not on every card
    assert page.locator(".shared").count() == 1
    assert page.locator(".card", has_text="It can still be part of pain for some people.").count() == 0
    assert page.locator("ol.questions li").count() >= 3
    page.screenshot(path=str(ARTIFACTS / "web-common-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(ARTIFACTS / "web-common-phone.png"), full_page=True)


def test_absent_mention_is_not_styled_as_a_finding(page, server):
    explain(page, server, COMMON_REPORT)
    absent = page.locator('#report-text mark[data-assertion="absent"][data-finding="central_canal_stenosis"]')
    present = page.locator('#report-text mark[data-assertion="present"][data-finding="disc_bulge"]')
    assert absent.count() >= 1 and present.count() >= 1
    style = lambda loc, pseudo=None: loc.first.evaluate(  # noqa: E731
        "(el, p) => { const s = getComputedStyle(el, p); return [s.backgroundColor, s.textDecorationLine, s.content, s.color]; }",
        pseudo)
    a_bg, a_deco, _, a_color = style(absent)
    p_bg, p_deco, _, p_color = style(present)
    assert a_bg == "rgba(0, 0, 0, 0)" and p_bg != a_bg  # no highlight colour at all
    assert "line-through" in a_deco and "line-through" not in p_deco
    assert a_color != p_color
    # a text cue too, not colour alone
    assert "not there" in style(absent, "::after")[2] and "found" in style(present, "::after")[2]
    assert "not there" in absent.first.get_attribute("title")
    assert "not there" in page.locator("#legend").inner_text()


def test_highlights_link_to_cards_and_back(page, server):
    explain(page, server, COMMON_REPORT)
    link = page.locator('#report-text a.hl:has(mark[data-finding="disc_bulge"])').first
    link.click()
    assert page.url.endswith("#card-disc_bulge")
    card = page.locator("#card-disc_bulge")
    box = card.bounding_box()
    assert -5 <= box["y"] < 900  # scrolled into view
    card.locator(".back a").click()
    target = page.url.rsplit("#", 1)[1]
    assert target.startswith("m-")
    assert page.locator(f"#{target} mark").get_attribute("data-finding") == "disc_bulge"
    assert -5 <= page.locator(f"#{target}").bounding_box()["y"] < 900
    # an absent mention links to the "not there" entry, which says so
    page.locator('#report-text a.hl:has(mark[data-assertion="absent"][data-finding="spondylolisthesis"])').first.click()
    assert page.url.endswith("#card-spondylolisthesis")
    assert "not there" in page.locator("#card-spondylolisthesis").inner_text()


def test_red_flag_report_shows_urgent_advice_with_its_source(page, server):
    explain(page, server, RED_REPORT, age="60")
    attention = page.locator("#bl-attention").inner_text()
    assert "Fracture" in attention and "cauda equina" in attention.lower()
    summary = page.locator("#urgent-summary")
    assert summary.is_visible()
    text = summary.inner_text()
    assert "emergency department" in text and "same day" in text
    assert "Finucane" in text and "Chou" in text and "10.2519/jospt.2020.9971" in text
    fracture = page.locator("#card-fracture .urgent")
    assert fracture.is_visible() and "Source: Chou 2007" in fracture.inner_text()
    assert "fall" in fracture.inner_text()
    assert page.locator("#card-cauda_equina_compression .urgent").is_visible()
    assert page.locator("#card-disc_bulge .urgent").count() == 0  # a common finding gets none
    assert page.locator("ol.questions li").first.inner_text().startswith("What are the next steps")
    page.screenshot(path=str(ARTIFACTS / "web-red-flag-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(ARTIFACTS / "web-red-flag-phone.png"), full_page=True)


def _cards(page) -> set[tuple[str, str]]:
    out = set()
    for card in page.locator(".card").all():
        meta = card.locator(".meta")
        out.add((card.get_attribute("data-finding"), meta.inner_text() if meta.count() else ""))
    return out


def test_photo_upload_fills_the_text_box_and_explains_the_same(page, server, tmp_path):
    from spinecontext.ocrbench import render_page

    photo = tmp_path / "report photo.jpg"
    photo.write_bytes(render_page(COMMON_REPORT, seed=11))
    explain(page, server, COMMON_REPORT, age="52")
    from_text = _cards(page)
    page.goto(server.url + "/")
    page.set_input_files("#report-file", str(photo))
    page.fill("#age-input", "52")
    page.click("#explain")
    page.wait_for_selector("#ocr-notice", timeout=60_000)
    assert "check it against your paper copy" in page.locator("#ocr-notice").inner_text()
    text = page.locator("#report-input").input_value()
    assert "L4-L5" in text and "FINDINGS" in text
    assert page.locator("#age-input").input_value() == "52"
    page.screenshot(path=str(ARTIFACTS / "web-ocr-check-desktop.png"), full_page=True)
    page.click("#explain")
    page.wait_for_selector("#report-text")
    assert _cards(page) == from_text
    # the recognised text never reaches the server's log
    log = server.log()
    assert all(line not in log for line in text.splitlines() if len(line) > 12)


def test_over_limit_upload_shows_the_size_message(browser, server, tmp_path):
    big = tmp_path / "huge photo.jpg"
    big.write_bytes(b"\xff\xd8\xff\xe0" + b"\x01" * 16_000_000)  # over the 15 MB limit
    for scripts in (True, False):
        context = browser.new_context(viewport={"width": 1200, "height": 900}, java_script_enabled=scripts)
        pg = context.new_page()
        pg.goto(server.url + "/")
        pg.set_input_files("#report-file", str(big))
        pg.click("#explain")
        alert = pg.locator('[role="alert"]:visible')
        alert.first.wait_for(timeout=60_000)
        message = alert.first.inner_text()
        assert "too large to upload" in message and "15 MB" in message, (scripts, message)
        assert pg.locator("#explain-form").is_visible()
        if not scripts:
            pg.screenshot(path=str(ARTIFACTS / "web-too-large.png"), full_page=True)
        context.close()


def test_interactive_api_docs(browser, server):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    errors, requests = [], []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("request", lambda r: requests.append(r.url))
    pg.goto(server.url + "/docs")
    pg.locator(".opblock").first.wait_for(timeout=30_000)
    assert pg.locator(".opblock").count() >= 6
    # try one call from the browser
    op = pg.locator(".opblock", has_text="/healthz").first
    op.locator(".opblock-summary").click()
    # "try it out" is on from the start (docs.js: tryItOutEnabled)
    op.get_by_role("button", name="Execute").click()
    status = op.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for(timeout=30_000)
    assert "200" in status.inner_text()
    pg.screenshot(path=str(ARTIFACTS / "web-docs.png"), full_page=False)
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
    assert all(u.startswith(server.url) or u.startswith("data:") for u in requests), requests
    context.close()


# --- compare with my last report (/compare) ---------------------------------------------

CMP_MARKER = "QZX-UNIQUE-PRIOR-5520"
CMP_PRIOR = (f"CLINICAL HISTORY: Back pain. {CMP_MARKER}\nFINDINGS:\n"
             "L4-L5: Mild disc bulge. Small left paracentral protrusion.\n"
             "L5-S1: Mild facet arthropathy.\nL3 hemangioma.\nNo fracture.")
CMP_CURRENT = ("COMPARISON: MRI 2021.\nFINDINGS:\n"
               "L4-L5: Moderate disc bulge. The protrusion has resolved.\n"
               "L5-S1: Mild facet arthropathy, unchanged. <script>document.title='pwned'</script>\n"
               "L3 hemangioma, stable. New L2 compression fracture <img src=x onerror=\"document.title='pwned'\">.")


def _change_style(card):
    return card.evaluate("""el => { const s = getComputedStyle(el); const b = el.querySelector('h3 .badge');
        const t = getComputedStyle(b);
        return {border: s.borderLeftStyle + ' ' + s.borderLeftColor, badge: b.textContent.trim(),
                badgeStyle: t.borderTopStyle + ' ' + t.color, visible: t.display !== 'none' && t.visibility !== 'hidden'}; }""")


def test_compare_flow(page, server):
    page.goto(server.url + "/")
    title = page.title()
    page.click("#compare-link")
    page.wait_for_selector("#compare-form")
    page.fill("#prior-input", CMP_PRIOR)
    page.fill("#current-input", CMP_CURRENT)
    page.click("#compare")
    page.wait_for_selector("#change-counts")

    assert page.title() != title and "pwned" not in page.title()
    assert not page.dialogs
    assert page.locator("script").count() == 1
    assert page.locator("#prior-text img, #current-text img").count() == 0
    assert "<script>document.title='pwned'</script>" in page.locator("#current-text").inner_text()

    # new, gone and unchanged: each in its group, each card with its own colour, border style AND word
    styles = {}
    for change, finding, word in (("new", "fracture", "new"), ("gone", "disc_protrusion", "gone"),
                                  ("unchanged", "hemangioma", "same"), ("worse", "disc_bulge", "worse")):
        card = page.locator(f'#change-{change} .card[data-finding="{finding}"]')
        assert card.count() == 1, change
        assert card.get_attribute("data-change") == change
        styles[change] = s = _change_style(card)
        assert s["badge"].lower() == word and s["visible"], (change, s)
        assert word.upper() in card.inner_text(), change  # the badge word is shown (uppercased by CSS)
    for a in ("new", "gone", "unchanged"):
        for b in ("new", "gone", "unchanged"):
            if a < b:
                assert styles[a]["border"] != styles[b]["border"], (a, b, styles)
                assert styles[a]["border"].split()[0] != styles[b]["border"].split()[0], (a, b)  # not colour alone
                assert styles[a]["badge"] != styles[b]["badge"]
    # plain words: the new red flag keeps its attention line; the same is not called harmless
    fracture = page.locator('#change-new .card[data-finding="fracture"]').inner_text()
    assert "This was not on your last scan." in fracture and "Please make sure your clinician sees this change." in fracture
    assert "Last scan: not there. This scan: there." in fracture  # "No fracture." had no level
    assert page.locator("#urgent-summary").is_visible()
    assert "nothing to worry" not in page.locator("main").inner_text().lower()

    # every in-page link lands on something that exists
    dead = page.evaluate("""() => Array.from(document.querySelectorAll('a[href^="#"]'))
        .map(a => a.getAttribute('href').slice(1)).filter(id => !document.getElementById(id))""")
    assert dead == [], dead
    # a highlight in the last report goes to its card, and the card back into the new report
    page.locator('#prior-text a.hl:has(mark[data-finding="disc_protrusion"])').first.click()
    assert page.url.endswith("#chg-disc_protrusion-L4-L5")
    card = page.locator("#chg-disc_protrusion-L4-L5")
    assert -5 <= card.bounding_box()["y"] < 900
    card.locator('a[href^="#current-m-"]').click()
    target = page.url.rsplit("#", 1)[1]
    assert target.startswith("current-m-")
    assert page.locator(f"#{target} mark").get_attribute("data-finding") == "disc_protrusion"
    assert -5 <= page.locator(f"#{target}").bounding_box()["y"] < 900

    page.evaluate("window.scrollTo(0, 0)")
    page.goto(page.url.split("#", 1)[0] + "#")  # no :target outline in the screenshot
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-compare-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(ARTIFACTS / "web-compare-phone.png"), full_page=True)
    # the server's log holds none of either report
    log = server.log()
    assert CMP_MARKER not in log and "hemangioma" not in log and "paracentral" not in log


def test_compare_bad_input_is_shown_on_the_page(browser, server):
    for scripts in (True, False):
        context = browser.new_context(viewport={"width": 1200, "height": 900}, java_script_enabled=scripts)
        pg = context.new_page()
        pg.goto(server.url + "/compare")
        pg.fill("#prior-input", "   ")
        pg.fill("#current-input", "L4-L5: disc bulge. " + "x" * 210_000)  # over the 200,000-byte limit
        pg.click("#compare")
        alert = pg.locator("#form-error")
        alert.wait_for()
        text = alert.inner_text()
        assert "Your last report is empty" in text and "Your new report is too long" in text, (scripts, text)
        assert "200,000 bytes" in text and "Traceback" not in pg.content()
        assert pg.locator("#compare-form").is_visible()
        if not scripts:
            pg.screenshot(path=str(ARTIFACTS / "web-compare-errors.png"), full_page=True)
        context.close()


def test_compare_with_a_photo_of_the_last_report(page, server, tmp_path):
    from spinecontext.ocrbench import render_page

    old = "FINDINGS:\nL4-L5: Mild disc bulge. Small left paracentral protrusion.\nL3 hemangioma."
    photo = tmp_path / "old report.jpg"
    photo.write_bytes(render_page(old, seed=5))
    page.goto(server.url + "/compare")
    page.set_input_files("#prior-file", str(photo))
    page.fill("#current-input", "L4-L5: Mild disc bulge, unchanged. L3 hemangioma, stable.")
    page.click("#compare")
    page.wait_for_selector("#prior-ocr-notice", timeout=60_000)
    assert "check it against your paper copy" in page.locator("#prior-ocr-notice").inner_text()
    assert page.locator("#current-ocr-notice").count() == 0
    text = page.locator("#prior-input").input_value()
    assert "L4-L5" in text and "hemangioma" in text.lower()
    assert page.locator("#current-input").input_value().startswith("L4-L5: Mild disc bulge, unchanged.")
    page.click("#compare")
    page.wait_for_selector("#change-counts")
    assert page.locator('#change-gone .card[data-finding="disc_protrusion"]').count() == 1
    assert page.locator('#change-unchanged .card[data-finding="hemangioma"]').count() == 1
    log = server.log()
    assert all(line not in log for line in text.splitlines() if len(line) > 12)
