"""Rule files: schema validation on load, clear errors, taxonomy coverage."""

import re
import shutil

import pytest

from spinecontext.nlp import rules
from spinecontext.nlp.rules import RuleFileError

from conftest import SHARED, require_shared


@pytest.fixture
def rules_copy(tmp_path):
    dst = tmp_path / "patterns"
    shutil.copytree(rules.default_patterns_dir(), dst, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return dst


def test_packaged_rules_load():
    counts = rules.validate_all()
    assert counts["findings"] >= 30
    assert counts["context_rules"] > 5


def test_taxonomy_ids_match_shared_taxonomy():
    require_shared()
    table = (SHARED / "TAXONOMY.md").read_text(encoding="utf-8")
    ids = set(re.findall(r"^\| ([a-z_]+) \| (?:common|incidental|red_flag) \|", table, re.M))
    assert ids == set(rules.TAXONOMY_IDS)
    groups = dict(re.findall(r"^\| ([a-z_]+) \| (common|incidental|red_flag) \|", table, re.M))
    loaded = {r.id: r.group for r in rules.load_findings(rules.default_patterns_dir())}
    for fid, group in groups.items():
        assert loaded[fid] == group, fid


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_unknown_key_is_rejected(rules_copy):
    _edit(rules_copy / "findings" / "a_disc.yaml", "    label: disc bulge\n", "    label: disc bulge\n    colour: red\n")
    with pytest.raises(RuleFileError, match=r"a_disc\.yaml.*colour"):
        rules.load_findings(rules_copy)


def test_invalid_regex_is_named(rules_copy):
    _edit(rules_copy / "findings" / "a_disc.yaml", r"'\bbulg(?:e|es|ing|ed)\b'", r"'\bbulg(?:e|es'")
    with pytest.raises(RuleFileError, match=r"a_disc\.yaml.*invalid regular expression"):
        rules.load_findings(rules_copy)


def test_unknown_word_class_is_named(rules_copy):
    _edit(rules_copy / "findings" / "a_disc.yaml", r"'\bbulg(?:e|es|ing|ed)\b'", r"'<<bulgy>>'")
    with pytest.raises(RuleFileError, match=r"bulgy"):
        rules.load_findings(rules_copy)


def test_missing_taxonomy_finding_is_reported(rules_copy):
    text = (rules_copy / "findings" / "d_incidental.yaml").read_text(encoding="utf-8")
    start = text.index("  - id: hemangioma")
    end = text.index("  - id: transitional_vertebra")
    (rules_copy / "findings" / "d_incidental.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(RuleFileError, match="hemangioma"):
        rules.load_findings(rules_copy)


def test_bad_context_category(rules_copy):
    _edit(rules_copy / "context.yaml", "category: TERMINATE", "category: STOP")
    with pytest.raises(RuleFileError, match=r"context\.yaml"):
        rules.load_context(rules_copy)


def test_not_yaml(rules_copy):
    (rules_copy / "age.yaml").write_text("patterns: [unclosed\n", encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"age\.yaml: not valid YAML"):
        rules.load_age(rules_copy)


def test_edited_rule_changes_behaviour(rules_copy):
    """A clinician's edit to a data file is picked up without touching Python."""
    import spinecontext

    # "bulgish": too far from "bulge" for the speller to read it as that word
    before = spinecontext.annotate(spinecontext.load(rules_copy), "Disc bulgish at L4-5.")
    assert not before.findings
    _edit(rules_copy / "findings" / "a_disc.yaml", r"'\bbulg(?:e|es|ing|ed)\b'", r"'\bbulg(?:e|es|ing|ed|ish)\b'")
    after = spinecontext.annotate(spinecontext.load(rules_copy), "Disc bulgish at L4-5.")
    assert [(f.finding, f.levels) for f in after.findings] == [("disc_bulge", ["L4-L5"])]


def test_clause_break_words_are_plain_words(rules_copy):
    _edit(rules_copy / "attributes.yaml", "words: [with, causing,", r"words: ['wi\w+', causing,")
    with pytest.raises(RuleFileError, match=r"attributes\.yaml.*plain words"):
        rules.load_attributes(rules_copy)


def test_edited_clause_break_changes_behaviour(rules_copy):
    """Clause breaks are data: with "with" no longer a break, the grade of the
    clause before it reaches the finding after it."""
    import spinecontext

    text = "L4-5: severe scarring with foraminal stenosis."
    before = [(f.finding, f.severity) for f in spinecontext.annotate(spinecontext.load(rules_copy), text).findings]
    _edit(rules_copy / "attributes.yaml", "words: [with, causing,", "words: [causing,")
    after = [(f.finding, f.severity) for f in spinecontext.annotate(spinecontext.load(rules_copy), text).findings]
    assert before == [("foraminal_stenosis", None)]
    assert after == [("foraminal_stenosis", "severe")]
