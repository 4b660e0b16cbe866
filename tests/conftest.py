"""Shared fixtures. The real reports stay in ../shared (beside the project)."""

import os
from pathlib import Path

import pytest
from hypothesis import settings

import spinecontext

# CI runs the property tests with a fixed seed, so a run is repeatable and a
# red CI names a case anyone can rerun; a developer's run explores new cases.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEV = SHARED / "corpora" / "dev.jsonl"
REALSTYLE = SHARED / "corpora" / "realstyle.jsonl"
OWN = ROOT / "corpora" / "reports.jsonl"
SAMPLES = ROOT / "corpora" / "samples"


@pytest.fixture(scope="session")
def nlp():
    return spinecontext.load()


@pytest.fixture(scope="session")
def annotate(nlp):
    """annotate(text, age=None) -> ReportResult"""

    def run(text: str, age=None):
        return spinecontext.annotate(nlp, text, report_id="t", age=age)

    return run


@pytest.fixture(scope="session")
def pairs(annotate):
    """pairs(text) -> {(finding, level or ''): report-level assertion}"""

    def run(text: str):
        return annotate(text).assertions()

    return run


def require_shared() -> None:
    """Skip when ../shared is absent, except in CI (SPINECONTEXT_REQUIRE_SHARED=1), where it fails."""
    if DEV.exists():
        return
    if os.environ.get("SPINECONTEXT_REQUIRE_SHARED") == "1":
        pytest.fail(f"{DEV} is missing: the shared corpora must sit beside the project")
    pytest.skip(f"{DEV} is not beside the project")
