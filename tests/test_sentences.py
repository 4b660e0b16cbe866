"""Sentence and line splitting."""

import pytest


def sents(nlp, text):
    doc = nlp(text)
    return [text[a:b] for a, b in doc._.spine_sentences]


@pytest.mark.parametrize("text,expected", [
    ("Disc bulge at L4-5.\nNo stenosis.", ["Disc bulge at L4-5.", "No stenosis."]),
    ("Bulge at L4-5 // protrusion at L5-S1", ["Bulge at L4-5", "protrusion at L5-S1"]),
    ("- straightened lordosis\n- dessicated discs", ["straightened lordosis", "dessicated discs"]),
    ("Bulge measuring 1.3 cm. Stenosis.", ["Bulge measuring 1.3 cm.", "Stenosis."]),
    ("Feature of muscle spasm.Desiccating disc materials.", ["Feature of muscle spasm.", "Desiccating disc materials."]),
    ("? early compression fracture of L3", ["? early compression fracture of L3"]),
])
def test_split(nlp, text, expected):
    assert sents(nlp, text) == expected


def test_continuation_lines_join(nlp):
    text = "Mild disc bulges noted at L3-L4 and L4-L5 levels\nCompressing the thecal sac"
    assert sents(nlp, text) == [text]


def test_continuation_after_full_stop_lowercase(nlp):
    text = "Mild diffuse disc bulge noted at L5/S1 level. mildly compressing the thecal sac"
    assert sents(nlp, text) == [text]


def test_doc_sents_agree(nlp):
    doc = nlp("Disc bulge.\nNo stenosis.\nFacet arthropathy.")
    assert [s.text for s in doc.sents] == ["Disc bulge.\n", "No stenosis.\n", "Facet arthropathy."]


def test_sentence_after_a_lengthening_correction_stays_inside_the_doc(nlp):
    # "herniaton" is read as "herniation": the text the components read is one
    # character longer than the tokens' text, and the last sentence ("?") starts
    # past the last token in it (found by tests/test_properties.py)
    text = "disc\ndisc disc disc disc disc disc disc\ndisc disc disc disc disc disc herniaton\n? "
    doc = nlp(text)
    assert doc.text == text
    assert [s.text.strip() for s in doc.sents][0] == "disc"
    assert any(f["finding"] == "disc_herniation" for f in doc._.spine_findings)
