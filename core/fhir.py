"""One report's result as a FHIR R4B Bundle (JSON-ready dict).

Shape (built with the ``fhir.resources.R4B`` models, so it validates):

- a ``Bundle`` of type ``collection`` holding
- one ``DiagnosticReport`` (status ``final``, category Radiology from HL7 v2
  table 0074, code as text only: "MR lumbar spine" -- no LOINC code is given
  because the report does not say whether contrast was used, and the LOINC
  codes for lumbar spine MRI differ by contrast), ``identifier`` = the report
  id, ``result`` = references to every Observation, the patient age the
  pipeline used as an extension, and, when ``text`` is given, the report text
  as ``presentedForm`` (``text/plain; charset=utf-8``, base64, with its byte
  size). Leave ``text`` out to keep the report text out of the Bundle; the
  short mention texts are always in it.
- one ``Observation`` per finding **mention** (``result.findings``, in
  order), so each keeps its own assertion, side, section and offsets, as in
  the JSON contract and the CSV / Spark rows. The same finding stated twice
  (findings and impression) gives two Observations; group by the ``code``
  coding to count findings per report.

Each Observation has ``code`` = the finding (text = its label, one coding in
:data:`FINDING_SYSTEM` with the taxonomy id), category ``imaging``,
``valueCodeableConcept`` = the assertion (present / absent / possible /
historical in :data:`ASSERTION_SYSTEM`; an absent finding is an Observation
whose value is ``absent``), ``bodySite`` = the lumbar level(s) (a coding in
:data:`LEVEL_SYSTEM` when there is exactly one level, the levels as text
always; no bodySite when no level is stated), ``note`` = the plain-language
note, and ``component`` entries (codes in :data:`COMPONENT_SYSTEM`) for each
level, severity, the change over time the report states (``change``, codes in
:data:`CHANGE_SYSTEM`; only when stated), laterality, section, the mention text and offsets,
``attention``, the other attributes, and the prevalence in people without
back pain (percent and age as UCUM quantities, source and full citation,
caveat). Components appear only when their value is known.

Ids are UUID 5 from the report id (and the mention's index), and references
use ``urn:uuid:`` full URLs, so the same result always gives the same Bundle.
The code systems are this project's own URNs; there is no timestamp.
"""

from __future__ import annotations

import json

import base64
import uuid
from typing import Any, Optional

from fhir.resources.R4B.attachment import Attachment
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.observation import Observation, ObservationComponent
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.reference import Reference

from .result import FindingResult, ReportResult

#: Namespace of every UUID 5 in the Bundle.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:spinecontext:fhir")
#: Taxonomy finding ids (../shared/TAXONOMY.md).
FINDING_SYSTEM = "urn:spinecontext:finding"
#: present / absent / possible / historical.
ASSERTION_SYSTEM = "urn:spinecontext:assertion"
#: Lumbar levels as TAXONOMY.md writes them (``L4-L5``, ``L5``).
LEVEL_SYSTEM = "urn:spinecontext:level"
#: Names of the Observation components.
COMPONENT_SYSTEM = "urn:spinecontext:component"
#: mild / moderate / severe.
SEVERITY_SYSTEM = "urn:spinecontext:severity"
#: new / worse / better / unchanged / resolved (change over time the report states).
CHANGE_SYSTEM = "urn:spinecontext:change"
#: left / right / bilateral / central.
LATERALITY_SYSTEM = "urn:spinecontext:laterality"
#: The report id given to spinecontext.
REPORT_ID_SYSTEM = "urn:spinecontext:report-id"
#: Extension on the DiagnosticReport: the age (years) the notes used.
AGE_EXTENSION = "urn:spinecontext:extension:patient-age"
#: Extension on the DiagnosticReport: where that age came from (given / report).
AGE_SOURCE_EXTENSION = "urn:spinecontext:extension:patient-age-source"

UCUM = "http://unitsofmeasure.org"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
REPORT_CODE_TEXT = "MR lumbar spine"


def _uuid(report_id: str, *parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join([report_id, *map(str, parts)])))


def _concept(system: str, code: str, display: Optional[str] = None, text: Optional[str] = None) -> CodeableConcept:
    return CodeableConcept(coding=[Coding(system=system, code=code, display=display or code)], text=text or display or code)


def _component(code: str, display: str, **value: Any) -> ObservationComponent:
    """A component named ``code`` (in COMPONENT_SYSTEM) with one value[x] keyword."""
    return ObservationComponent(code=_concept(COMPONENT_SYSTEM, code, display), **value)


def _quantity(value: float, unit: str, code: str) -> Quantity:
    return Quantity(value=value, unit=unit, system=UCUM, code=code)


def _percent(value: float) -> dict:
    return {"valueQuantity": _quantity(value, "%", "%")}


def _years(value: float) -> dict:
    return {"valueQuantity": _quantity(value, "years", "a")}


def _prevalence_components(f: FindingResult) -> list[ObservationComponent]:
    p = f.prevalence
    if p is None:
        return []
    out = [_component("prevalence-kind", "asymptomatic prevalence: kind of figure", valueString=p.kind)]
    if p.percent is not None:
        out.append(_component("prevalence-percent", "share of people without back pain with this finding", **_percent(p.percent)))
    if p.age is not None:
        out.append(_component("prevalence-age", "age the asymptomatic prevalence is for", **_years(p.age)))
    if p.range is not None:
        r = p.range
        out += [
            _component("prevalence-from-age", "youngest age of the asymptomatic prevalence range", **_years(r.age_from)),
            _component("prevalence-from-percent", "asymptomatic prevalence at the youngest age", **_percent(r.percent_from)),
            _component("prevalence-to-age", "oldest age of the asymptomatic prevalence range", **_years(r.age_to)),
            _component("prevalence-to-percent", "asymptomatic prevalence at the oldest age", **_percent(r.percent_to)),
        ]
    if p.who:
        out.append(_component("prevalence-group", "group the asymptomatic prevalence describes", valueString=p.who))
    out.append(_component("prevalence-source", "source of the asymptomatic prevalence", valueString=p.source))
    out.append(_component("prevalence-citation", "citation of the asymptomatic prevalence", valueString=p.citation))
    if p.caveat:
        out.append(_component("prevalence-caveat", "caveat of the asymptomatic prevalence", valueString=p.caveat))
    return out


def _components(f: FindingResult) -> list[ObservationComponent]:
    out = [_component("level", "lumbar level", valueCodeableConcept=_concept(LEVEL_SYSTEM, lv)) for lv in f.levels]
    if f.severity:
        out.append(_component("severity", "severity", valueCodeableConcept=_concept(SEVERITY_SYSTEM, f.severity)))
    if f.change:
        out.append(_component("change", "change since an earlier study, as the report states it",
                              valueCodeableConcept=_concept(CHANGE_SYSTEM, f.change)))
    if f.laterality:
        out.append(_component("laterality", "laterality", valueCodeableConcept=_concept(LATERALITY_SYSTEM, f.laterality)))
    out.append(_component("group", "finding group (common, incidental, red_flag)", valueString=f.group))
    out.append(_component("attention", "needs the clinician's attention (never reassured)", valueBoolean=f.attention))
    if f.section:
        out.append(_component("section", "report section", valueString=f.section))
    if f.text:
        out.append(_component("mention-text", "words of the report", valueString=f.text))
    out.append(_component("mention-start", "character offset of the words in the report", valueInteger=f.start))
    out.append(_component("mention-end", "character offset just after the words", valueInteger=f.end))
    for key in sorted(f.attributes):
        value = f.attributes[key]
        if value is None or value == "":
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            kind, value = "valueInteger", value
        elif isinstance(value, (dict, list)):
            # structured attributes (position list, spelling record) as JSON text, not Python's repr
            kind, value = "valueString", json.dumps(value, ensure_ascii=False, sort_keys=True)
        else:
            kind, value = "valueString", str(value)
        out.append(_component(key.replace("_", "-"), key.replace("_", " "), **{kind: value}))
    return out + _prevalence_components(f)


def _body_site(levels: list[str]) -> Optional[CodeableConcept]:
    if not levels:
        return None
    text = "lumbar spine, " + ", ".join(levels)
    if len(levels) == 1:
        return CodeableConcept(coding=[Coding(system=LEVEL_SYSTEM, code=levels[0], display=levels[0])], text=text)
    return CodeableConcept(text=text)


def _observation(result: ReportResult, index: int, f: FindingResult) -> Observation:
    return Observation(
        id=_uuid(result.id, "observation", index),
        status="final",
        category=[_concept(OBSERVATION_CATEGORY, "imaging", "Imaging")],
        code=CodeableConcept(coding=[Coding(system=FINDING_SYSTEM, code=f.finding, display=f.label)], text=f.label),
        valueCodeableConcept=_concept(ASSERTION_SYSTEM, f.assertion),
        bodySite=_body_site(f.levels),
        note=[{"text": f.note}] if f.note else None,
        component=_components(f),
    )


def _report(result: ReportResult, observation_ids: list[str], text: Optional[str]) -> DiagnosticReport:
    extensions = []
    if result.age is not None:
        extensions.append(Extension(url=AGE_EXTENSION, valueAge={"value": result.age, "unit": "years", "system": UCUM, "code": "a"}))
        extensions.append(Extension(url=AGE_SOURCE_EXTENSION, valueCode=result.age_source))
    presented = None
    if text is not None and text != "":
        data = text.encode("utf-8")
        presented = [Attachment(contentType="text/plain; charset=utf-8", data=base64.b64encode(data), size=len(data))]
    return DiagnosticReport(
        id=_uuid(result.id, "report"),
        extension=extensions or None,
        identifier=[Identifier(system=REPORT_ID_SYSTEM, value=result.id)] if result.id else None,
        status="final",
        category=[_concept(V2_0074, "RAD", "Radiology")],
        code=CodeableConcept(text=REPORT_CODE_TEXT),
        result=[Reference(reference=f"urn:uuid:{oid}") for oid in observation_ids] or None,
        presentedForm=presented,
    )


def report_to_bundle(result: ReportResult, text: Optional[str] = None) -> Bundle:
    """The FHIR R4B ``Bundle`` model of one result (see the module docstring for its shape)."""
    observations = [_observation(result, i, f) for i, f in enumerate(result.findings)]
    report = _report(result, [o.id for o in observations], text)
    entries = [BundleEntry(fullUrl=f"urn:uuid:{r.id}", resource=r) for r in [report, *observations]]
    return Bundle(id=_uuid(result.id, "bundle"), type="collection", entry=entries)


def report_to_fhir(result: ReportResult, text: Optional[str] = None) -> dict:
    """One result as a JSON-ready FHIR R4B Bundle (type ``collection``).

    result: the pipeline's result for one report.
    text: the report text; when given it is embedded (base64) as the
        DiagnosticReport's ``presentedForm``; leave it out to keep it out.
    """
    return report_to_bundle(result, text).model_dump(mode="json")


__all__ = ["report_to_fhir", "report_to_bundle", "FINDING_SYSTEM", "ASSERTION_SYSTEM", "LEVEL_SYSTEM", "COMPONENT_SYSTEM",
           "CHANGE_SYSTEM"]
