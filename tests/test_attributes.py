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
