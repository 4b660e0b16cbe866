"""spinecontext.fhir: a FHIR R4B Bundle per report, validated by fhir.resources."""

import base64
import json

import pytest
from fhir.resources.R4B.bundle import Bundle

from spinecontext.fhir import ASSERTION_SYSTEM, FINDING_SYSTEM, LEVEL_SYSTEM, report_to_fhir
from spinecontext.result import ReportResult

TEXT = ("LSS MRI :\r\nL4-L5: mild disc bulge, more to the left side. Grade 1 anterolisthesis of L4.\n"
        "No fracture. Schmorl node at L2.\nL5-S1: Modic type 2 change. Disc protrusion L3-4 and L4-5.\n"
        "Impression: nöt unusual; possible annular fissure at L5-S1.")


@pytest.fixture(scope="module")
def result(annotate):
    return annotate(TEXT, age=52)


def _resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _components(obs: dict) -> dict[str, list]:
    out: dict[str, list] = {}
    for c in obs.get("component", []):
        code = c["code"]["coding"][0]["code"]
        value = next(v for k, v in c.items() if k.startswith("value"))
        out.setdefault(code, []).append(value)
    return out


def test_round_trip_and_counts(result):
    data = report_to_fhir(result, TEXT)
    json.dumps(data)  # JSON-ready
    bundle = Bundle.model_validate(data)
    assert bundle.type == "collection"
    assert bundle.model_dump(mode="json") == data
    reports = _resources(data, "DiagnosticReport")
    observations = _resources(data, "Observation")
    assert len(reports) == 1 and len(observations) == len(result.findings) > 4
    assert reports[0]["status"] == "final"
    assert reports[0]["identifier"][0]["value"] == result.id


def test_references_resolve(result):
    data = report_to_fhir(result, TEXT)
    urls = {e["fullUrl"] for e in data["entry"]}
    assert len(urls) == len(data["entry"])
    refs = [r["reference"] for r in _resources(data, "DiagnosticReport")[0]["result"]]
    obs_urls = [e["fullUrl"] for e in data["entry"] if e["resource"]["resourceType"] == "Observation"]
    assert refs == obs_urls and all(r in urls for r in refs)
    for e in data["entry"]:
        assert e["fullUrl"] == f"urn:uuid:{e['resource']['id']}"


def test_observations_match_findings(result):
    observations = _resources(report_to_fhir(result), "Observation")
    for f, obs in zip(result.findings, observations):
        assert obs["code"]["coding"][0] == {"system": FINDING_SYSTEM, "code": f.finding, "display": f.label}
        assert obs["code"]["text"] == f.label
        value = obs["valueCodeableConcept"]["coding"][0]
        assert value["system"] == ASSERTION_SYSTEM and value["code"] == f.assertion
        comps = _components(obs)
        assert [c["coding"][0]["code"] for c in comps.get("level", [])] == f.levels
        if len(f.levels) == 1:
            assert obs["bodySite"]["coding"][0] == {"system": LEVEL_SYSTEM, "code": f.levels[0], "display": f.levels[0]}
        elif not f.levels:
            assert "bodySite" not in obs
        assert comps["mention-start"] == [f.start] and comps["mention-end"] == [f.end]
        assert comps["mention-text"] == [TEXT[f.start:f.end]]
        if f.severity:
            assert comps["severity"][0]["coding"][0]["code"] == f.severity
        if f.laterality:
            assert comps["laterality"][0]["coding"][0]["code"] == f.laterality
        if f.note:
            assert obs["note"] == [{"text": f.note}]
        if f.prevalence and f.prevalence.percent is not None:
            assert comps["prevalence-percent"][0] == {"value": f.prevalence.percent, "unit": "%",
                                                     "system": "http://unitsofmeasure.org", "code": "%"}
            assert comps["prevalence-source"] == [f.prevalence.source]
            assert comps["prevalence-citation"] == [f.prevalence.citation]
        else:
            assert "prevalence-percent" not in comps


def test_bulge_prevalence_and_absent_fracture(result):
    observations = _resources(report_to_fhir(result), "Observation")
    by_code = {o["code"]["coding"][0]["code"]: o for o in observations}
    bulge = _components(by_code["disc_bulge"])
    assert bulge["prevalence-age"][0]["value"] == 52 and bulge["prevalence-age"][0]["code"] == "a"
    assert bulge["prevalence-source"] == ["Brinjikji 2015"]
    fracture = by_code["fracture"]
    assert fracture["valueCodeableConcept"]["coding"][0]["code"] == "absent"
    assert _components(fracture)["attention"] == [True]
    assert by_code["annular_fissure"]["valueCodeableConcept"]["coding"][0]["code"] == "possible"


def test_presented_form_only_with_text(result):
    with_text = _resources(report_to_fhir(result, TEXT), "DiagnosticReport")[0]
    form = with_text["presentedForm"][0]
    assert base64.b64decode(form["data"]).decode("utf-8") == TEXT
    assert form["size"] == len(TEXT.encode("utf-8"))
    without = _resources(report_to_fhir(result), "DiagnosticReport")[0]
    assert "presentedForm" not in without
    # no report text beyond the mention words when text is left out
    assert "Impression" not in json.dumps(report_to_fhir(result))


def test_deterministic_and_ids_depend_on_report_id(result):
    a = report_to_fhir(result, TEXT)
    assert a == report_to_fhir(result, TEXT)
    assert json.dumps(a, sort_keys=True) == json.dumps(report_to_fhir(result.model_copy(), TEXT), sort_keys=True)
    other = report_to_fhir(result.model_copy(update={"id": "other"}), TEXT)
    assert {e["fullUrl"] for e in a["entry"]}.isdisjoint(e["fullUrl"] for e in other["entry"])


def test_age_extension(result):
    report = _resources(report_to_fhir(result), "DiagnosticReport")[0]
    ext = {e["url"]: e for e in report["extension"]}
    assert ext["urn:spinecontext:extension:patient-age"]["valueAge"]["value"] == 52
    assert ext["urn:spinecontext:extension:patient-age-source"]["valueCode"] == "given"


def test_empty_report_and_no_age():
    data = report_to_fhir(ReportResult(id="empty"), "")
    Bundle.model_validate(data)
    (report,) = _resources(data, "DiagnosticReport")
    assert len(data["entry"]) == 1
    assert "result" not in report and "presentedForm" not in report and "extension" not in report


def test_every_contract_object_validates(annotate):
    texts = ["No disc herniation. History of L5 fracture.", "Metastasis cannot be excluded at L2.",
             "Grade 2 spondylolisthesis L5-S1 with severe canal stenosis; Modic type 1 at L4-L5.",
             "Tarlov cyst. Hemangioma of L3. Bilateral facet arthropathy L3-L4 through L5-S1."]
    for t in texts:
        for age in (None, 15, 52, 95):
            r = annotate(t, age=age)
            Bundle.model_validate(report_to_fhir(r, t))
