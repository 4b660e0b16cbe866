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
    # a range of vertebrae also lists the discs between them (a disc finding takes those)
    ("Hemangiomas in L1 through L3.", ["L1", "L2", "L3", "L1-L2", "L2-L3"]),
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


# --- level grammar of long-form reports (issue: real-world reports) ----------
@pytest.mark.parametrize("spelling,level", [
    ("L4 to L5", "L4-L5"), ("L4 L5", "L4-L5"), ("L5=S1", "L5-S1"), ("L-1 to L-2", "L1-L2"),
    ("S1/2", "S1-S2"), ("L5-SI", "L5-S1"), ("T-12toL1", "T12-L1"),
])
def test_long_form_spellings_of_a_disc(pairs, spelling, level):
    assert ("disc_bulge", level) in pairs(f"{spelling}: mild disc bulge.")


@pytest.mark.parametrize("text,finding,levels", [
    ("Compression fracture of the 5th lumbar vertebra.", "fracture", {"L5"}),
    ("Wedge fracture of the first lumbar vertebral body.", "fracture", {"L1"}),
    ("Disc bulges at L3-4,L4-5 and L5-S1.", "disc_bulge", {"L3-L4", "L4-L5", "L5-S1"}),
    ("Desiccation in the L3-4, L4-5 and L5-S1 intervertebral discs.", "disc_desiccation", {"L3-L4", "L4-L5", "L5-S1"}),
    ("Metastases from T11 to L2.", "malignancy", {"T12", "L1", "L2"}),
    ("Canal stenosis from mid L1 level to S1.", "central_canal_stenosis", {"L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"}),
    ("Epidural abscess extending from L4/5 up to L2/3.", "infection", {"L2-L3", "L3-L4", "L4-L5"}),
    ("Schmorl nodes at T12, L1, 2, 5.", "schmorl_node", {"T12", "L1", "L2", "L5"}),
    ("Fractures of L1-L3.", "fracture", {"L1", "L2", "L3"}),
    ("Disc desiccation from L2 L3 to L5 S1.", "disc_desiccation", {"L2-L3", "L3-L4", "L4-L5", "L5-S1"}),
    ("The L4 to L5 and L5 to S1 discs are desiccated.", "disc_desiccation", {"L4-L5", "L5-S1"}),
    ("Bilateral pars defects at L5/S1.", "spondylolysis", {"L5"}),
    ("Foraminal stenosis was severe bilaterally at L5-S1 and moderate at L1-L4.", "foraminal_stenosis",
     {"L5-S1", "L1-L2", "L2-L3", "L3-L4"}),
    ("Sacral insufficiency fracture.", "fracture", {"sacrum"}),
])
def test_long_form_level_grammar(pairs, text, finding, levels):
    got = {lv for (f, lv), a in pairs(text).items() if f == finding and a in ("present", "possible")}
    assert got == levels


def test_disc_finding_at_multiple_levels_takes_no_single_level(pairs):
    p = pairs("Disc bulges at multiple levels, some of them dehydrated, mostly at L2-3, L3-4.")
    assert p.get(("disc_bulge", "")) == "present"
    assert ("disc_bulge", "L2-L3") not in p


# --- scope of a level ----------------------------------------------------------
def test_header_alone_then_blank_line_covers_the_paragraph(pairs):
    p = pairs("FINDINGS:\nL4-5:\n\nThere is a broad disc bulge.\nMild facet arthropathy.\n\nL5-S1:\n\nNormal.")
    assert p[("disc_bulge", "L4-L5")] == "present"
    assert p[("facet_arthropathy", "L4-L5")] == "present"


def test_prose_level_keeps_the_paragraph_until_the_next_level(pairs):
    text = ("At L4-5, there is a broad-based disc bulge. Mild canal narrowing can be seen.\n"
            "The facets are hypertrophied.\n\nThe conus is normal. Mild facet arthropathy.")
    p = pairs(text)
    assert p[("central_canal_stenosis", "L4-L5")] == "present"
    assert p[("facet_arthropathy", "L4-L5")] == "present"
    assert p[("facet_arthropathy", "")] == "present"  # the next paragraph names no level


def test_level_opening_a_sentence_inside_a_line(pairs):
    p = pairs("L2-L3 The disc is desiccated.L3L4 The disc is desiccated. A 3 mm disk bulge is seen.")
    assert ("disc_bulge", "L3-L4") in p and ("disc_bulge", "L2-L3") not in p


def test_numbered_impression_item_keeps_its_level(pairs):
    p = pairs("IMPRESSION:\n1. At the L4-5 level there is a disc extrusion. It compresses the left L5 root.\n2. Mild scoliosis.")
    assert p[("disc_extrusion", "L4-L5")] == "present"
    assert p[("nerve_root_compression", "L4-L5")] == "present"


def test_disc_finding_under_a_disc_header_is_not_moved_to_a_lone_vertebra(pairs):
    p = pairs("L4-5: There is a left L5 hemilaminectomy and a broad-based disc protrusion.")
    assert ("disc_protrusion", "L4-L5") in p and ("disc_protrusion", "L5") not in p


def test_inline_region_label_covers_its_paragraph_only(pairs):
    p = pairs("Hips: symmetric narrowing of both joint spaces.\n\nDiffuse disc bulges at L4/L5 indenting the thecal sac.")
    assert p[("disc_bulge", "L4-L5")] == "present"


def test_the_latter_and_the_former_pick_one_level_of_a_list(pairs):
    p = pairs("Disc protrusions at L4/5 and L5/S1, the latter abutting the left S1 nerve root.")
    assert p.get(("nerve_root_compression", "L5-S1")) == "present"
    assert ("nerve_root_compression", "L4-L5") not in p
    assert p.get(("disc_protrusion", "L4-L5")) == p.get(("disc_protrusion", "L5-S1")) == "present"
    p = pairs("Disc bulges at L3-4 and L4-5, the former with mild left foraminal narrowing.")
    assert ("foraminal_stenosis", "L3-L4") in p and ("foraminal_stenosis", "L4-L5") not in p


def test_a_sentence_with_a_label_of_its_own_does_not_take_the_level_before_it(pairs):
    p = pairs("FINDINGS: Alignment: mild levoscoliosis centred at L2. Marrow: no marrow-replacing lesion. Conus: normal.")
    assert p.get(("malignancy", "")) == "absent" and ("malignancy", "L2") not in p
    # a clause before a colon is no label; a plain next sentence keeps the level
    p = pairs("A lesion in the pedicle of L4. This is non-specific: a metastasis cannot be excluded.")
    assert p.get(("malignancy", "L4")) == "possible"
    assert pairs("L4-5: bulge. Mild canal stenosis.").get(("central_canal_stenosis", "L4-L5")) == "present"


def test_the_intervening_disc_of_two_neighbouring_vertebrae(pairs):
    p = pairs("T2 hyperintensity of the L2 and L3 vertebral bodies with loss of the intervening disc height.")
    assert p.get(("disc_height_loss", "L2-L3")) == "present"


def test_a_level_naming_an_operation_is_not_the_findings_when_another_comes_before(pairs):
    p = pairs("Adjacent segment degeneration at L3-L4 above the L4-S1 fusion, with severe central canal stenosis.")
    assert p == {("central_canal_stenosis", "L3-L4"): "present"}
    # with no other level, the operation's level stays
    assert pairs("Recurrent disc herniation at the L4-5 laminectomy site.").get(("disc_herniation", "L4-L5")) == "present"


def test_a_level_with_a_space_before_the_next_number(pairs):
    p = pairs("L4 5: Disc bulge with endplate spurring.\nIMPRESSION: Mild canal stenosis at L4 5.")
    assert p.get(("disc_bulge", "L4-L5")) == p.get(("central_canal_stenosis", "L4-L5")) == "present"
    # not a measurement, and not a number that is not the next vertebra
    p = pairs("A 5 mm synovial cyst at L4 3 mm from the root.")
    assert ("synovial_cyst", "L4-L5") not in p
