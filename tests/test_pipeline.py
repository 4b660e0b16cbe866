"""The pipeline as a spaCy citizen: spaCy's error-handler protocol reaches every component."""

import pytest

import spinecontext
from spinecontext.nlp import PIPE_NAMES


def test_set_error_handler_reaches_every_component(monkeypatch):
    nlp = spinecontext.load()
    seen = []
    nlp.set_error_handler(lambda name, proc, docs, e: seen.append((name, type(e).__name__)))
    for name in PIPE_NAMES:
        assert nlp.get_pipe(name).get_error_handler() is not None
    findings = nlp.get_pipe("spinecontext_findings")
    monkeypatch.setattr(findings, "match", lambda *a, **k: 1 / 0)
    assert list(nlp.pipe(["L4-5: disc bulge.", "No stenosis."])) == []  # the handler dropped both
    assert seen == [("spinecontext_findings", "ZeroDivisionError")] * 2


def test_without_a_handler_errors_are_raised(monkeypatch):
    nlp = spinecontext.load()
    monkeypatch.setattr(nlp.get_pipe("spinecontext_findings"), "match", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        nlp("L4-5: disc bulge.")
