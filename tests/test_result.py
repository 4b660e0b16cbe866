"""The JSON contract of ../shared/TAXONOMY.md."""

import json

from spinecontext.result import levelled_wins

CONTRACT_KEYS = {"finding", "text", "start", "end", "section", "levels", "laterality", "severity",
                 "assertion", "group", "prevalence", "note"}


def test_contract_shape(annotate):
    text = "52-year-old.\nL4-L5: broad-based disc bulge, mild left foraminal narrowing."
    data = json.loads(json.dumps(annotate(text).model_dump(mode="json")))
    assert {"id", "age", "age_source", "findings"} <= set(data)
    assert data["age"] == 52 and data["age_source"] == "report"
    for f in data["findings"]:
        assert CONTRACT_KEYS <= set(f)
        assert text[f["start"]:f["end"]] == f["text"]
        assert f["laterality"] in {"bilateral", "left", "right", "central", None}
        assert f["severity"] in {"mild", "moderate", "severe", None}
        assert f["group"] in {"common", "incidental", "red_flag"}


def test_offsets_in_original_text(annotate):
    text = "LSS MRI :\r\n\tL4/L5 :  Diffuse   disc bulge –  compressing thecal sac."
    for f in annotate(text).findings:
        assert text[f.start:f.end] == f.text


def test_levelled_wins():
    assert levelled_wins({("disc_bulge", ""), ("disc_bulge", "L4-L5"), ("scoliosis", "")}) == {
        ("disc_bulge", "L4-L5"), ("scoliosis", "")}


def test_group_from_taxonomy(annotate):
    groups = {f.finding: f.group for f in annotate("L1 compression fracture. L2 hemangioma. Disc bulge at L4-5.").findings}
    assert groups == {"fracture": "red_flag", "hemangioma": "incidental", "disc_bulge": "common"}
