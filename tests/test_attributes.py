"""Attributes: severity, laterality, position, grade, direction, Modic type."""


def one(annotate, text, finding):
    return next(f for f in annotate(text).findings if f.finding == finding)


def test_severity(annotate):
    assert one(annotate, "Mild disc bulge at L4-5.", "disc_bulge").severity == "mild"
    assert one(annotate, "Mild to moderate canal stenosis at L4-5.", "central_canal_stenosis").severity == "moderate"
    assert one(annotate, "Severe right foraminal stenosis at L5-S1.", "foraminal_stenosis").severity == "severe"
    assert one(annotate, "Disc bulge at L4-5.", "disc_bulge").severity is None


def test_no_significant_is_not_severe(annotate):
    assert one(annotate, "No significant canal stenosis.", "central_canal_stenosis").severity is None


def test_each_finding_reads_its_own_words(annotate):
    r = annotate("L4-5: mild disc bulge, severe foraminal stenosis.")
    sev = {f.finding: f.severity for f in r.findings}
    assert sev == {"disc_bulge": "mild", "foraminal_stenosis": "severe"}


def test_laterality(annotate):
    assert one(annotate, "Rt paracentral disc protrusion at L5-S1.", "disc_protrusion").laterality == "right"
    assert one(annotate, "Left foraminal narrowing at L4-5.", "foraminal_stenosis").laterality == "left"
    assert one(annotate, "Bilateral facet arthropathy at L4-5.", "facet_arthropathy").laterality == "bilateral"
    assert one(annotate, "Central disc protrusion at L4-5.", "disc_protrusion").laterality == "central"
    assert one(annotate, "Mild foraminal narrowing at L4-5, right greater than left.", "foraminal_stenosis").laterality == "bilateral"


def test_position(annotate):
    f = one(annotate, "Left paracentral disc protrusion at L5-S1.", "disc_protrusion")
    assert f.attributes["position"] == ["paracentral"]


def test_listhesis_grade_and_direction(annotate):
    f = one(annotate, "Grade II anterolisthesis of L4 on L5.", "spondylolisthesis")
    assert f.attributes == {"grade": 2, "direction": "anterior"}
    f = one(annotate, "Grade 1 retrolisthesis of L3 on L4.", "spondylolisthesis")
    assert f.attributes == {"grade": 1, "direction": "posterior"}


def test_modic_type(annotate):
    assert one(annotate, "Modic type II changes at L2/L3.", "modic_change").attributes["modic_type"] == 2
    assert one(annotate, "Type 1 Modic endplate changes at L5-S1.", "modic_change").attributes["modic_type"] == 1


def test_severity_and_side_stay_with_the_finding_they_grade(annotate):
    r = annotate("At L4-5, broad-based disc protrusion, facet arthropathy and ligamentum flavum thickening "
                 "causing mild to moderate left foraminal stenosis.")
    got = {f.finding: (f.severity, f.laterality) for f in r.findings}
    assert got["foraminal_stenosis"] == ("moderate", "left")
    assert got["disc_protrusion"] == (None, None)
    assert got["facet_arthropathy"] == (None, None)


def test_a_predicate_after_the_finding_grades_it(annotate):
    assert one(annotate, "Neural foraminal narrowing is moderate to severe on both sides.", "foraminal_stenosis").severity == "severe"
    assert one(annotate, "L4-5: the disc bulge is small.", "disc_bulge").severity == "mild"


def test_words_grading_the_next_clause_do_not_grade_this_one(annotate):
    r = annotate("L2-3 spondylosis with marked loss of disk space height.")
    assert one(annotate, "L2-3 spondylosis with marked loss of disk space height.", "osteophyte").severity is None
    assert {f.finding for f in r.findings} >= {"osteophyte", "disc_height_loss"}
    assert one(annotate, "Compression fractures at several levels.", "fracture").severity is None  # 'several' is not 'severe'


def test_distributive_grade(annotate):
    r = annotate("Spondylosis, annular bulging and facet joint disease at L1-L2 and L3-L4, all mild in degree.")
    assert {f.finding: f.severity for f in r.findings} == {"osteophyte": "mild", "disc_bulge": "mild", "facet_arthropathy": "mild"}


def test_mod_is_moderate_in_terse_notes(annotate):
    r = annotate("L3/4 - mod bulge, mod b/l facet hypertrophy, mild canal stenosis")
    assert {f.finding: f.severity for f in r.findings} == {
        "disc_bulge": "moderate", "facet_arthropathy": "moderate", "central_canal_stenosis": "mild"}


def test_a_comparative_of_large_does_not_grade(annotate):
    assert one(annotate, "Bilateral psoas abscesses, right larger than left.", "infection").severity is None
    assert one(annotate, "Disc bulges, largest at L4-5, narrowing the left foramen.", "foraminal_stenosis").severity is None
    assert one(annotate, "Large disc extrusion at L4-5.", "disc_extrusion").severity == "severe"
