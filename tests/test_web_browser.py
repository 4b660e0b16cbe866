"""End to end in a real browser: Debian's chromium driven by Playwright, against `spinecontext serve`.

The patient page: paste a report (with XSS payloads), enter the age, submit
with the keyboard, see highlighted findings, cards and the red-flag card set
apart; upload a file; print and phone layouts. The radiologist view: get the
appendix and copy it with one click. No request leaves the server's origin.
Screenshots go to test-artifacts/.
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
    common = page.locator("#findings + .cards .card")
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
    alert = page.locator('[role="alert"]')
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
