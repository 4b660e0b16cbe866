"""The HTML view in a real headless browser (Debian's chromium): escaping and a screenshot."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from spinecontext.render import to_html

from conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--mute-audio"]
XSS = ("EXAM: MRI lumbar spine\nCLINICAL HISTORY: 52-year-old.\n"
       "FINDINGS:\nL4-L5: mild disc bulge <script>document.title='pwned'</script> and facet arthropathy.\n"
       "L5-S1: disc extrusion compressing the S1 nerve root <img src=x onerror=\"document.title='pwned'\">.\n"
       "No fracture.")


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe:
        return exe
    if os.environ.get("SPINECONTEXT_REQUIRE_BROWSER") == "1":
        pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
    pytest.skip("chromium is not installed")


def run_chromium(*args, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([chromium(), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def page(annotate, tmp_path) -> Path:
    path = tmp_path / "report.html"
    path.write_text(to_html(XSS, annotate(XSS)), encoding="utf-8")
    return path


def test_report_text_is_inert_in_the_browser(page, tmp_path):
    out = run_chromium("--dump-dom", page.as_uri(), tmp_path=tmp_path)
    dom = out.stdout
    assert "</html>" in dom, out.stderr[-2000:]
    assert "pwned" not in dom.split("<pre", 1)[0]  # the title was not changed by the report text
    assert "<script" not in dom.lower() and "<img" not in dom.lower()
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom
    assert dom.count("<mark") >= 4 and 'id="attention"' in dom


@pytest.mark.parametrize("name,size", [("report-desktop.png", "1200,1800"), ("report-phone.png", "390,1800")])
def test_screenshot(page, tmp_path, name, size):
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / name
    shot.unlink(missing_ok=True)
    out = run_chromium(f"--screenshot={shot}", f"--window-size={size}", page.as_uri(), tmp_path=tmp_path)
    assert shot.exists(), out.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
