"""Vertebral levels: spellings, lists, ranges, headers."""

import pytest


def groups(nlp, text):
    return [g["levels"] for g in nlp(text)._.spine_levels]


@pytest.mark.parametrize("spelling,level", [
    ("L4-5", "L4-L5"), ("L4/5", "L4-L5"), ("L4-L5", "L4-L5"), ("L4–L5", "L4-L5"), ("L4/L5", "L4-L5"),
    ("L45", "L4-L5"), ("L5-S1", "L5-S1"), ("L5S1", "L5-S1"), ("L5/S1", "L5-S1"), ("l4-l5", "L4-L5"),
    ("T12-L1", "T12-L1"), ("D12/L1", "T12-L1"), ("L4 - L5", "L4-L5"), ("the lumbosacral junction", "L5-S1"),
    ("L5-L6", "L5-L6"), ("L4 on L5", "L4-L5"), ("L5 over S1", "L5-S1"),
])
def test_spellings(nlp, spelling, level):
    assert groups(nlp, f"Disc bulge at {spelling}.") == [[level]]


@pytest.mark.parametrize("text,levels", [
    ("Bulges at L4/L5 & L5/S1 levels.", ["L4-L5", "L5-S1"]),
    ("Bulges at L3-L4, L4-L5 and L5-S1 levels.", ["L3-L4", "L4-L5", "L5-S1"]),
    ("Bulges at L2/L3,L3/L4 & L4/L5 levels.", ["L2-L3", "L3-L4", "L4-L5"]),
    ("Desiccation from L3-L4 through L5-S1.", ["L3-L4", "L4-L5", "L5-S1"]),
    ("Desiccation from L2-3 to L4-5.", ["L2-L3", "L3-L4", "L4-L5"]),
    ("Hemangiomas in L1 through L3.", ["L1", "L2", "L3"]),
])
def test_lists_and_ranges(nlp, text, levels):
    assert groups(nlp, text) == [levels]


@pytest.mark.parametrize("text", [
    "compressing the Lt S1 nerve root",
    "abutting both S1 nerve roots",
    "increased T2 signal in the disc",
    "low on T1&T2 WI",
])
def test_not_levels(nlp, text):
    assert groups(nlp, text) == []


def test_block_header_scope(annotate):
    text = "L4-L5:\nDiffuse disc bulge.\nFacet arthropathy.\n\nSchmorl nodes."
    found = {(f.finding, tuple(f.levels)) for f in annotate(text).findings}
    assert ("disc_bulge", ("L4-L5",)) in found
    assert ("facet_arthropathy", ("L4-L5",)) in found
    assert ("schmorl_node", ()) in found  # after the blank line: outside the header


def test_next_header_ends_scope(annotate):
    text = "L4-L5: Disc bulge.\nL5-S1: Protrusion.\nNo canal stenosis."
    found = {(f.finding, tuple(f.levels)) for f in annotate(text).findings}
    assert found == {("disc_bulge", ("L4-L5",)), ("disc_protrusion", ("L5-S1",)),
                     ("central_canal_stenosis", ("L5-S1",))}


def test_multilevel_sentence_not_under_header(annotate):
    text = "L3-L4: diffuse disc bulge.\nmultilevel disc bulges noted elsewhere with schmorls nodules."
    found = {(f.finding, tuple(f.levels)) for f in annotate(text).findings}
    assert ("schmorl_node", ()) in found


def test_this_level_refers_back(annotate):
    r = annotate("There is anterolisthesis of L4 on L5. Facet arthropathy is present at this level.")
    assert {(f.finding, tuple(f.levels)) for f in r.findings} == {
        ("spondylolisthesis", ("L4-L5",)), ("facet_arthropathy", ("L4-L5",))}


def test_vertebral_findings_take_the_vertebra(annotate):
    r = annotate("Old L1 compression fracture. L3 and L2 hemangiomas. Schmorl node in the inferior endplate of L2.")
    assert {(f.finding, tuple(f.levels)) for f in r.findings} == {
        ("fracture", ("L1",)), ("hemangioma", ("L3", "L2")), ("schmorl_node", ("L2",))}


def test_disc_findings_prefer_disc_levels(annotate):
    r = annotate("Sequestrated disc fragment posterior to the L5 vertebral body below the L4/L5 level.")
    assert [(f.finding, f.levels) for f in r.findings] == [("disc_extrusion", ["L4-L5"])]


def test_listhesis_of_one_vertebra(annotate):
    r = annotate("Grade 1 anterolisthesis of L4.")
    assert [(f.finding, f.levels) for f in r.findings] == [("spondylolisthesis", ["L4-L5"])]


def test_thoracic_only_is_dropped(annotate):
    r = annotate("Central disc protrusion noted at D11/D12, compressing the spinal cord.\nDisc bulge at L4-5.")
    assert {(f.finding, tuple(f.levels)) for f in r.findings} == {("disc_bulge", ("L4-L5",))}
