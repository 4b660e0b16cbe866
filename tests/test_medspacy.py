"""medspaCy's data model on a spinecontext Doc, our rules as a medspaCy rule pack, displaCy.

The tests call medspaCy's and spaCy's own functions (visualize_ent, DocConsumer,
the rules' from_json loaders, displacy.render) on what spinecontext produces.
"""

import json
import re
import warnings

import pytest
from spacy import displacy

from spinecontext.display import GROUP_COLORS, displacy_options, finding_labels
from spinecontext.medspacy_rules import (CONTEXT, SECTIONS, TARGETS, assertion_of, export_rules, findings_by_id,
                                         medspacy_pipeline, result_from_medspacy)

from conftest import DEV, require_shared

REPORT = (
    "CLINICAL HISTORY: back pain. Known disc herniation at L4-5.\n"
    "FINDINGS:\n"
    "L3-L4: mild disc bulge.\n"
    "L4-L5: No spinal canal stenosis. Possible small annular fissure.\n"
    "L5-S1: No spondylolisthesis.\n"
    "IMPRESSION: Mild degenerative change."
)

#: finding id -> (is_negated, is_uncertain, is_historical) the report states
EXPECTED = {
    "disc_herniation": (False, False, True),
    "disc_bulge": (False, False, False),
    "central_canal_stenosis": (True, False, False),
    "annular_fissure": (False, True, False),
    "spondylolisthesis": (True, False, False),
}


@pytest.fixture(scope="module")
def doc(nlp):
    return nlp(REPORT)


def flags(span):
    return span._.is_negated, span._.is_uncertain, span._.is_historical


def test_finding_spans_answer_context_attributes(doc):
    spans = list(doc.spans["spine_findings"])
    assert {s.label_: flags(s) for s in spans} == EXPECTED
    # derived from our assertion, for every span of every finding
    by_label = {f["finding"]: f["assertion"] for f in doc._.spine_findings}
    for s in spans:
        assert (s._.is_negated, s._.is_uncertain, s._.is_historical) == (
            by_label[s.label_] == "absent", by_label[s.label_] == "possible", by_label[s.label_] == "historical")
        assert s._.is_hypothetical is False and s._.is_family is False
    # the findings are the entities too (they do not overlap here)
    assert [(e.label_, e.start_char) for e in doc.ents] == [(s.label_, s.start_char) for s in spans]
    assert {e.label_: flags(e) for e in doc.ents} == EXPECTED


def test_sections_in_medspacy_shape(doc):
    from medspacy.section_detection import Section

    sections = doc._.sections
    assert all(isinstance(s, Section) for s in sections)
    assert [s.category for s in sections] == ["history", "findings", "impression"]
    assert [doc[slice(*s.title_span)].text for s in sections] == ["CLINICAL HISTORY:", "FINDINGS:", "IMPRESSION:"]
    cats = {s.label_: s._.section_category for s in doc.spans["spine_findings"]}
    assert cats == {"disc_herniation": "history", "disc_bulge": "findings", "central_canal_stenosis": "findings",
                    "annular_fissure": "findings", "spondylolisthesis": "findings"}


def test_modifiers_and_context_graph(doc):
    from medspacy.context import ConTextModifier

    mods = {s.label_: [(doc[slice(*m.modifier_span)].text, m.category) for m in s._.modifiers]
            for s in doc.spans["spine_findings"]}
    assert mods["central_canal_stenosis"] == [("No", "NEGATED_EXISTENCE")]
    assert mods["annular_fissure"] == [("Possible", "POSSIBLE_EXISTENCE")]
    assert mods["disc_herniation"] == [("Known", "HISTORICAL")]
    assert mods["disc_bulge"] == []
    graph = doc._.context_graph
    assert all(isinstance(m, ConTextModifier) for m in graph.modifiers)
    assert sorted((t.label_, m.category) for t, m in graph.edges) == sorted(
        (k, c) for k, v in mods.items() for _, c in v)


def test_visualize_ent_draws_findings_context_and_sections(doc):
    from medspacy.visualization import visualize_ent

    html = visualize_ent(doc, jupyter=False)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    for label in EXPECTED:
        assert label.upper() in text
    for category in ("NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HISTORICAL"):
        assert category in text
    for title in ("<< HISTORY >>", "<< FINDINGS >>", "<< IMPRESSION >>"):
        assert title in html
    # the negation cue is drawn on the words of the report
    assert re.search(r"No NEGATED_EXISTENCE spinal canal stenosis CENTRAL_CANAL_STENOSIS", text)
    # and through the span-group option medspaCy offers
    html = visualize_ent(doc, jupyter=False, target_span_type="group", span_group_name="spine_findings")
    assert "SPONDYLOLISTHESIS" in html


def test_doc_consumer_table(nlp, doc):
    from medspacy.io import DocConsumer

    consumer = DocConsumer(nlp, dtypes=("ents", "group", "section", "context"), span_group_name="spine_findings")
    consumed = consumer(doc)
    ents = consumed._.to_dataframe("ents")
    got = {row.label_: (row.is_negated, row.is_uncertain, row.is_historical, row.section_category)
           for row in ents.itertuples()}
    assert got == {k: (*v, "history" if k == "disc_herniation" else "findings") for k, v in EXPECTED.items()}
    assert list(ents["text"]) == [s.text for s in doc.spans["spine_findings"]]
    group = consumed._.to_dataframe("group")
    assert list(group["label_"]) == list(ents["label_"])
    sections = consumed._.to_dataframe("section")
    assert list(sections["section_category"]) == ["history", "findings", "impression"]
    context = consumed._.to_dataframe("context")
    assert sorted(zip(context["ent_label_"], context["modifier_category"])) == [
        ("annular_fissure", "POSSIBLE_EXISTENCE"), ("central_canal_stenosis", "NEGATED_EXISTENCE"),
        ("disc_herniation", "HISTORICAL"), ("spondylolisthesis", "NEGATED_EXISTENCE")]


def test_corrected_report_keeps_modifiers_on_original_words(nlp):
    # "protursion" is read as "protrusion" and "stenossis" as "stenosis": offsets go back to the original
    text = "L4-5: small protursion. No foraminal stenossis at L5-S1 whatsoever."
    d = nlp(text)
    mods = {s.label_: [(d[slice(*m.modifier_span)].text, m.category) for m in s._.modifiers]
            for s in d.spans["spine_findings"]}
    assert mods.get("foraminal_stenosis") == [("No", "NEGATED_EXISTENCE")]
    assert {s.label_: s._.is_negated for s in d.ents} == {"disc_protrusion": False, "foraminal_stenosis": True}


def test_medspacy_pipelines_keep_their_own_values(nlp):
    """A medspaCy ConText run after ours sets its own flags; spans spinecontext did not make get medspaCy's defaults."""
    import medspacy

    ms = medspacy.load()  # builds a ConText, which re-registers Span._.modifiers
    d = ms("There is no evidence of pneumonia.")
    assert d.ents == ()
    span = d[4:6]
    assert span._.is_negated is False and span._.modifiers == () and d._.sections == []
    span._.is_negated = True
    assert span._.is_negated is True
    # and spinecontext docs read their modifiers again after spinecontext.load() or register()
    from spinecontext.nlp import medspacy_view

    medspacy_view.register()
    doc = nlp(REPORT)
    assert any(s._.modifiers for s in doc.spans["spine_findings"])


# --- the rule pack ------------------------------------------------------------
@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    out = tmp_path_factory.mktemp("medspacy_rules")
    counts = export_rules(out)
    return out, counts


def test_exported_files_load_with_medspacys_loaders(pack):
    from medspacy.context import ConTextRule
    from medspacy.section_detection import SectionRule
    from medspacy.target_matcher import TargetRule

    out, counts = pack
    targets = TargetRule.from_json(str(out / TARGETS))
    context = ConTextRule.from_json(str(out / CONTEXT))
    sections = SectionRule.from_json(str(out / SECTIONS))
    assert len(targets) == counts["target_rules"] > 100
    assert len(context) == counts["context_rules"] >= 15
    assert [s.category for s in sections] == ["history", "technique", "comparison", "findings", "impression", "discussion", "exam"]
    ids = set(findings_by_id())
    assert {t.category for t in targets} == ids  # every finding has at least one exported pattern
    assert {c.category for c in context} >= {"NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HISTORICAL", "PSEUDO", "TERMINATE"}
    # every pattern compiles as medspaCy compiles it
    for rule in targets + context + sections:
        re.compile(rule.pattern, re.IGNORECASE)
    # the files are medspaCy's format: one top-level key each
    assert list(json.loads((out / TARGETS).read_text())) == ["target_rules"]


def test_export_rules_command(tmp_path):
    from typer.testing import CliRunner

    from spinecontext.cli import app

    res = CliRunner().invoke(app, ["export-rules", "--medspacy", str(tmp_path / "pack")])
    assert res.exit_code == 0, res.output
    for name in (TARGETS, CONTEXT, SECTIONS):
        assert (tmp_path / "pack" / name).is_file()
    assert "target rules" in res.output and "not in medspaCy's terms" in res.output


def test_medspacy_with_our_rules_annotates(pack):
    out, _ = pack
    ms = medspacy_pipeline(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        d = ms(REPORT)
    got = {e.label_: assertion_of(e) for e in d.ents}
    # "L5-S1: No spondylolisthesis." is negated with our rules (medspaCy's default ": no" rule stops it)
    assert got["spondylolisthesis"] == "absent"
    assert got["central_canal_stenosis"] == "absent"
    assert got["annular_fissure"] == "possible"
    assert got["disc_bulge"] == "present"
    assert got["disc_herniation"] == "historical"  # under the history header (Sectionizer span_attrs)
    assert {e.label_: e._.section_category for e in d.ents}["disc_bulge"] == "findings"


def test_medspacy_with_our_rules_on_the_dev_set(pack):
    require_shared()
    from spinecontext.evaluate import Evaluation, read_gold

    out, _ = pack
    ms = medspacy_pipeline(out)
    by_id = findings_by_id()
    ev = Evaluation()
    gold = read_gold(DEV)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for g in gold:
            ev.add(g, result_from_medspacy(ms(g.text), g.id, by_id))
    s = ev.summary()
    assert s["reports"] == len(gold) == 253
    # finding F1 with levels ignored: medspaCy with our rules finds most findings (no levels: pairs are not scored here)
    assert s["report"]["f1"] > 0.85


# --- displaCy -----------------------------------------------------------------
def test_displacy_renders_findings_with_group_colours(doc):
    options = displacy_options()
    assert options["spans_key"] == "spine_findings"
    html = displacy.render(doc, style="span", options=options)
    labels = finding_labels()
    by_id = findings_by_id()
    for span in doc.spans["spine_findings"]:
        assert span.label_ in html
        assert labels[span.label_] == by_id[span.label_].label
        colour = GROUP_COLORS[by_id[span.label_].group]
        assert options["colors"][span.label_] == colour
        assert colour in html
    # a red flag gets the red-flag colour
    red = next(r.id for r in by_id.values() if r.group == "red_flag")
    assert displacy_options()["colors"][red] == GROUP_COLORS["red_flag"]
    assert displacy_options(group_colors={"common": "#000000"})["colors"]["disc_bulge"] == "#000000"
