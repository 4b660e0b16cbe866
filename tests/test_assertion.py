"""Assertion: negation, uncertainty, history, pseudo-negation, scope."""

import pytest


@pytest.mark.parametrize("text,expected", [
    # negation, including lists and "no significant"
    ("No fracture, spondylolisthesis or marrow lesion.",
     {("fracture", ""): "absent", ("spondylolisthesis", ""): "absent", ("malignancy", ""): "absent"}),
    ("No significant thecal sac or nerve root compression noted.",
     {("thecal_sac_compression", ""): "absent", ("nerve_root_compression", ""): "absent"}),
    # the medspaCy ": no" trap: a header colon must not stop the negation
    ("L5-S1: No spondylolisthesis.", {("spondylolisthesis", "L5-S1"): "absent"}),
    ("Mild disc bulge at L4-5 without foraminal narrowing.",
     {("disc_bulge", "L4-L5"): "present", ("foraminal_stenosis", "L4-L5"): "absent"}),
    ("The cauda equina is not compressed.", {("cauda_equina_compression", ""): "absent"}),
    ("Fracture: none.", {("fracture", ""): "absent"}),
    # pseudo-negation
    ("No change in the L4-5 disc bulge.", {("disc_bulge", "L4-L5"): "present"}),
    ("No significant interval change in the L5-S1 protrusion.", {("disc_protrusion", "L5-S1"): "present"}),
    # stable / unchanged / prior stay present
    ("Stable L4-5 disc bulge, unchanged since the prior study.", {("disc_bulge", "L4-L5"): "present"}),
    # uncertainty, read before negation
    ("A sequestered fragment cannot be excluded at L4-L5.", {("disc_extrusion", "L4-L5"): "possible"}),
    ("Hyperintense focus which probably represents discitis at L4-L5.", {("infection", "L4-L5"): "possible"}),
    ("? early compression fracture of L3", {("fracture", "L3"): "possible"}),
    ("Findings suggestive of spondylodiscitis at L5-S1.", {("infection", "L5-S1"): "possible"}),
    # history
    ("History of L4-5 disc herniation.", {("disc_herniation", "L4-L5"): "historical"}),
    ("Evaluate for spinal stenosis.", {("central_canal_stenosis", ""): "historical"}),
    # the reach of a negation ends at "but"
    ("No canal stenosis but a small disc bulge at L4-5.", {("central_canal_stenosis", "L4-L5"): "absent",
                                                    ("disc_bulge", "L4-L5"): "present"}),
    ("The previously seen L4-5 extrusion has resolved.", {("disc_extrusion", "L4-L5"): "absent"}),
])
def test_assertion(pairs, text, expected):
    assert pairs(text) == expected


def test_history_section_makes_findings_historical(pairs):
    p = pairs("CLINICAL HISTORY: prior L1 fracture.\nFINDINGS:\nDisc bulge at L4-5.")
    assert p == {("fracture", "L1"): "historical", ("disc_bulge", "L4-L5"): "present"}


def test_present_wins_at_report_level(annotate):
    r = annotate("No disc bulge at L3-4.\nL4-5: disc bulge.\nImpression: no stenosis; disc bulge at L4-5.")
    assert r.assertions()[("disc_bulge", "L4-L5")] == "present"
    assert r.present_pairs() == {("disc_bulge", "L4-L5")}


def test_every_mention_has_one_assertion(annotate):
    r = annotate("No fracture. ? metastasis at L2. History of discitis. Disc bulge at L4-5.")
    assert all(f.assertion in {"present", "absent", "possible", "historical"} for f in r.findings)


import pytest  # noqa: E402


@pytest.mark.parametrize("text,finding", [
    ("Fracture not seen.", "fracture"),
    ("Disc bulge at L4-5. Fracture not identified.", "fracture"),
    ("Spondylolisthesis is not seen.", "spondylolisthesis"),
    ("The discs are not desiccated.", "disc_desiccation"),
    ("The protrusion previously noted at L5-S1 is no longer visible.", "disc_protrusion"),
    ("scoliosis - nil", "scoliosis"),
    ("Spondylolisthesis: none", "spondylolisthesis"),
    ("Minor disc bulge at L3-4 which does not compromise the canal or foramina.", "foraminal_stenosis"),
    ("Small protrusion that does not contact the S1 roots.", "nerve_root_compression"),
])
def test_backward_negations_are_not_taken_by_the_forward_not(annotate, text, finding):
    got = {f.finding: f.assertion for f in annotate(text).findings}
    assert got[finding] == "absent"


def test_a_relative_clause_keeps_its_negation_to_itself(annotate):
    got = {f.finding: f.assertion for f in annotate("Small protrusion that does not contact the S1 roots.").findings}
    assert got["disc_protrusion"] == "present"


def test_one_side_graded_and_the_other_denied_is_present(pairs):
    assert pairs("L4-L5: Mild right and no left foraminal narrowing.")[("foraminal_stenosis", "L4-L5")] == "present"
    assert pairs("L4-L5: No right but moderate left foraminal narrowing.")[("foraminal_stenosis", "L4-L5")] == "present"
    assert pairs("L4-L5: No right or left foraminal narrowing.")[("foraminal_stenosis", "L4-L5")] == "absent"


def test_what_looked_like_is_a_hedge(pairs):
    assert pairs("The myelogram showed what looked like severe stenosis at L3-L4.")[("central_canal_stenosis", "L3-L4")] == "possible"


@pytest.mark.parametrize("text,pair", [
    ("There is nothing to suggest discitis.", ("infection", "")),
    ("Type 1 endplate changes at L2-L3 with no findings to suggest discitis.", ("infection", "L2-L3")),
    ("No features to suggest an infective process.", ("infection", "")),
    ("Not suspicious for malignancy.", ("malignancy", "")),
])
def test_a_denied_hedge_is_a_negation(pairs, text, pair):
    assert pairs(text)[pair] == "absent"


def test_a_hedge_alone_stays_a_hedge(pairs):
    assert pairs("Findings suggest discitis at L4-5.")[("infection", "L4-L5")] == "possible"


def test_nil_before_a_finding_negates_it(pairs):
    p = pairs("Nil fracture or listhesis.\nL4/5 small protrusion. Nil canal stenosis.\nL5/S1 disc dehydration, nil herniation.")
    assert p[("fracture", "")] == p[("spondylolisthesis", "")] == "absent"
    assert p[("central_canal_stenosis", "L4-L5")] == p[("disc_herniation", "L5-S1")] == "absent"
    assert p[("disc_protrusion", "L4-L5")] == "present"
