"""Notes: every finding has one, reading level, safety wording."""

import itertools
import re
import statistics

import pytest
import textstat

from spinecontext.nlp import rules

BANNED = [r"not the cause", r"harmless", r"nothing to worry", r"\bnormal\b", r"does not matter",
          r"doesn't matter", r"no need to worry", r"don't worry", r"dangerous", r"\bcancer\b", r"emergency"]


@pytest.fixture(scope="module")
def writer(nlp):
    return nlp.get_pipe("spinecontext_notes"), nlp.get_pipe("spinecontext_prevalence")


def assembled_notes(writer):
    """Every note the program can write: each finding x assertion x figure kind x severity."""
    notes, prev = writer
    out = []
    for rule in rules.load_findings(rules.default_patterns_dir()):
        for assertion, severity, age, levels in itertools.product(
                ("present", "possible", "absent", "historical"), (None, "severe"),
                (None, 35, 52, 85), ([], ["L4-L5"], ["L4-L5", "L5-S1"])):
            f = {"finding": rule.id, "label": rule.label, "group": rule.group, "assertion": assertion,
                 "severity": severity, "levels": levels, "attributes": {}}
            f["attention"] = not prev.reassurable(f)
            f["prevalence"] = prev.figure(rule.id, age) if assertion == "present" and not f["attention"] else None
            out.append((rule.id, notes.note(f)))
    return out


def test_every_taxonomy_finding_has_a_note():
    data = rules.load_notes(rules.default_patterns_dir())
    assert set(rules.TAXONOMY_IDS) <= set(data.findings)
    for fid in rules.TAXONOMY_IDS:
        assert data.findings[fid].what.strip()


def test_reading_level(writer, capsys):
    grades = []
    for fid, note in assembled_notes(writer):
        grade = textstat.flesch_kincaid_grade(note)
        assert grade <= 8, (fid, grade, note)
        grades.append(grade)
    median = statistics.median(grades)
    with capsys.disabled():
        print(f"\nnotes: {len(grades)} assembled, Flesch-Kincaid grade median {median:.1f}, max {max(grades):.1f}")
    assert median <= 7


def test_no_number_written_into_the_texts():
    data = rules.load_notes(rules.default_patterns_dir())
    texts = [t for n in data.findings.values() for t in (n.what, n.meaning, n.severe) if t]
    texts += [v for v in data.templates.model_dump().values()]
    for t in texts:
        assert not re.search(r"\d", re.sub(r"\{\w+\}", "", t)), t


def test_safety_wording(writer):
    for fid, note in assembled_notes(writer):
        for pattern in BANNED:
            assert not re.search(pattern, note, re.I), (fid, pattern, note)


def test_red_flags_get_attention_not_reassurance(writer):
    for fid, note in assembled_notes(writer):
        if fid in ("fracture", "malignancy", "infection", "cauda_equina_compression",
                                                    "nerve_root_compression", "disc_extrusion"):
            assert "common" not in note.lower(), note
            assert not re.search(r"in 100", note), note


def test_absent_and_historical_notes(annotate):
    r = annotate("CLINICAL HISTORY: history of L1 fracture.\nFINDINGS:\nNo disc herniation.")
    notes = {f.finding: f.note for f in r.findings}
    assert notes["disc_herniation"].lower().startswith("disc herniation")
    assert "in 100" not in notes["fracture"] and "in 100" not in notes["disc_herniation"]


def test_under_fifty_common_finding_is_not_dismissed(annotate):
    note = annotate("L4-L5: disc bulge.", age=30).findings[0].note
    meaning = rules.load_notes(rules.default_patterns_dir()).findings["disc_bulge"].meaning
    assert meaning in note


def test_severity_and_level_are_woven_in(annotate):
    note = annotate("L4-L5: severe disc bulge.", age=50).findings[0].note
    data = rules.load_notes(rules.default_patterns_dir())
    assert "L4-L5" in note
    if data.findings["disc_bulge"].severe:
        assert data.findings["disc_bulge"].severe in note


def test_appendix(annotate):
    r = annotate("L4-L5: disc bulge and facet arthropathy. L5-S1: disc extrusion. L1 compression fracture.", age=50)
    assert r.appendix.startswith(rules.load_appendix(rules.default_patterns_dir()).title)
    assert "disc bulge (about 60 in 100)" in r.appendix
    assert "facet joint arthropathy (about 32 in 100)" in r.appendix
    assert "extrusion" not in r.appendix and "fracture" not in r.appendix
    assert "Brinjikji" in r.appendix and "10.3174/ajnr.A4173" in r.appendix
    assert annotate("L4-L5: disc bulge and facet arthropathy. L5-S1: disc extrusion. L1 compression fracture.",
                    age=50).appendix == r.appendix  # deterministic


def test_no_appendix_without_common_findings(annotate):
    assert annotate("L1 compression fracture. No disc bulge.", age=50).appendix is None
    assert annotate("", age=50).appendix is None
