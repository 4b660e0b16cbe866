"""Sections and exam regions."""


def sections(nlp, text):
    return [(s["name"], s["kind"], s["region"]) for s in nlp(text)._.spine_sections]


def test_us_headers(nlp):
    text = ("EXAM: MRI lumbar spine\nCLINICAL HISTORY: back pain.\nTECHNIQUE: T1, T2.\n"
            "COMPARISON: None.\n\nFINDINGS:\nL4-L5: disc bulge.\n\nIMPRESSION:\n1. Disc bulge.")
    names = [n for n, _, _ in sections(nlp, text)]
    assert names == ["exam", "history", "technique", "comparison", "findings", "impression"]


def test_history_section_is_one_line(annotate):
    """Findings after a one-line history, with no FINDINGS header, are findings of this exam."""
    r = annotate("History: back pain, query disc herniation.\n\nAt L4-L5 there is a disc protrusion.")
    by = {f.finding: (f.assertion, f.section) for f in r.findings}
    assert by["disc_herniation"] == ("historical", "history")
    assert by["disc_protrusion"] == ("present", "findings")


def test_region_titles(nlp):
    text = "C.SPINE MRI :\ndisc bulge at C5/C6.\nLSS MRI :\nDiffuse disc bulge at L4/L5."
    regions = [r for _, _, r in sections(nlp, text)]
    assert regions == ["cervical", "lumbar"]


def test_cervical_findings_are_not_lumbar(annotate):
    text = ("MRI OF THE C. SPINE\n-Features of muscle spasm noted.\n-Multilevel annular tears.\n"
            "MRI OF THE LSS\n-Diffuse disc bulge at L4-L5.")
    found = {(f.finding, tuple(f.levels)) for f in annotate(text).findings}
    assert found == {("disc_bulge", ("L4-L5",))}


def test_inline_region_label(annotate):
    text = "THORACIC: Mild disc bulges at T6-T7. No cord compression.\nLUMBAR: Grade 1 anterolisthesis of L5 on S1."
    found = {(f.finding, tuple(f.levels), f.assertion) for f in annotate(text).findings}
    assert found == {("spondylolisthesis", ("L5-S1",), "present")}


def test_other_exam_section_dropped(annotate):
    text = "LUMBOSACRAL SPINE MRI:\nL4-L5: disc bulge.\nSI JOINTS MRI:\nSmall Tarlov cyst at the right S2 foramen."
    assert {f.finding for f in annotate(text).findings} == {"disc_bulge"}


def test_section_spans(nlp):
    doc = nlp("FINDINGS:\nDisc bulge.\nIMPRESSION:\nBulge.")
    assert [s.label_ for s in doc._.spine_section_spans] == ["findings", "impression"]
    assert [s.text for s in doc._.spine_level_spans] == []


def test_a_teaching_cases_discussion_holds_no_findings(pairs):
    text = ("Findings: A small anterior epidural abscess at L2-3.\n"
            "Diagnosis: Pyogenic spondylodiscitis.\n"
            "Discussion: The main differential is Modic type 1 change, and metastatic disease.\n"
            "Teaching points:\n- Tuberculous spondylitis forms large paraspinal abscesses.")
    p = pairs(text)
    assert p.get(("infection", "L2-L3")) == "present"
    assert not any(k[0] in ("modic_change", "malignancy") for k in p)
