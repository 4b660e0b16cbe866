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


# --- the standalone compare page (core/render.compare_html; the patient page wiring is the lead's) ---

PRIOR = ("FINDINGS:\nL4-L5: mild disc bulge. Small left paracentral protrusion.\n"
         "L5-S1: mild facet arthropathy.\nL3 hemangioma.")
CURRENT = ("COMPARISON: MRI 2021.\nFINDINGS:\nL4-L5: moderate disc bulge. The protrusion has resolved.\n"
           "L5-S1: mild facet arthropathy, unchanged. <script>document.title='pwned'</script>\n"
           "L3 hemangioma, stable. New L2 compression fracture.")


@pytest.fixture
def compare_page(annotate, tmp_path) -> Path:
    from spinecontext.compare import compare
    from spinecontext.render import compare_html

    cr = compare(annotate(PRIOR), annotate(CURRENT))
    path = tmp_path / "compare.html"
    path.write_text(compare_html(cr, PRIOR, CURRENT), encoding="utf-8")
    return path


def test_compare_page_shows_changes_distinctly(compare_page, tmp_path):
    dom = run_chromium("--dump-dom", compare_page.as_uri(), tmp_path=tmp_path).stdout
    assert "</html>" in dom and "<script" not in dom.lower() and "pwned" not in dom.split("<pre", 1)[0]
    # each change has its own group, badge and card class (distinct border styles, not colour alone)
    for change, finding in (("new", "fracture"), ("gone", "disc_protrusion"), ("unchanged", "hemangioma"),
                            ("worse", "disc_bulge")):
        group = dom.split(f'id="change-{change}"', 1)[1].split("</section>", 1)[0]
        assert f'class="badge {change}"' in group and f'data-finding="{finding}"' in group, change


@pytest.mark.parametrize("name,size", [("compare-desktop.png", "1200,2200"), ("compare-phone.png", "390,2600")])
def test_compare_screenshot(compare_page, tmp_path, name, size):
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / name
    shot.unlink(missing_ok=True)
    out = run_chromium(f"--screenshot={shot}", f"--window-size={size}", compare_page.as_uri(), tmp_path=tmp_path)
    assert shot.is_file() and shot.stat().st_size > 10_000, out.stderr[-2000:]
