"""The patient view (core/patient.py): bottom line, cards, urgent-symptom advice, questions."""

from __future__ import annotations

import html
import re
import statistics

import pytest
import textstat

from spinecontext.nlp import rules
from spinecontext.patient import _sentences, patient_view, urgent_group
from spinecontext.render import html_body, kept_mentions, to_html
from spinecontext.result import FindingResult, FindingSummary, ReportResult

from conftest import SHARED, require_shared
from test_notes import BANNED

D = rules.default_patterns_dir()
COMMON = ("EXAM: MRI lumbar spine\nFINDINGS:\n"
          "L3-L4: Mild disc bulge without spinal canal stenosis.\n"
          "L4-L5: Disc desiccation. Small left paracentral protrusion with moderate left foraminal narrowing. "
          "Mild facet arthropathy.\n"
          "L5-S1: No disc herniation. Possible small annular fissure.\nNo spondylolisthesis.\n"
          "IMPRESSION: Mild degenerative changes.")
RED = ("FINDINGS:\nL1: Acute compression fracture.\n"
       "L4-L5: Large central disc extrusion compressing the cauda equina.\n"
       "L5-S1: Mild disc bulge. No foraminal stenosis.\nIMPRESSION: Cauda equina compression.")
#: one synthetic report per red-flag group (urgent.yaml), stated present
RED_FLAG_REPORTS = {
    "cauda_equina": ("L4-L5: compression of the cauda equina.", "cauda_equina_compression"),
    "infection": ("L3-L4: discitis with osteomyelitis.", "infection"),
    "fracture": ("L2: acute compression fracture.", "fracture"),
    "malignancy": ("L3: marrow replacing lesion suspicious for metastasis.", "malignancy"),
    "nerve_root": ("L5-S1: disc extrusion compressing the left S1 nerve root.", "nerve_root_compression"),
}


def test_bottom_line_groups_for_a_common_report(annotate):
    r = annotate(COMMON, age=52)
    v = patient_view(r)
    assert not v.attention and v.urgent is None
    common = {e.finding for e in v.common}
    assert {"disc_bulge", "disc_desiccation", "disc_protrusion", "facet_arthropathy"} <= common
    assert "52" in v.common_text  # the age the figures are for
    assert "foraminal_stenosis" in {e.finding for e in v.other}  # no figure: other
    assert {"central_canal_stenosis", "disc_herniation", "spondylolisthesis"} <= {e.finding for e in v.not_there}
    # nothing the report says is absent is in a "found" group
    found = {e.finding for e in v.attention + v.common + v.other}
    assert not found & {e.finding for e in v.not_there}


def test_bottom_line_groups_for_a_red_flag_report(annotate):
    v = patient_view(annotate(RED, age=52))
    assert {e.finding for e in v.attention} >= {"fracture", "cauda_equina_compression", "disc_extrusion"}
    assert {e.finding for e in v.common} == {"disc_bulge"}
    assert v.urgent and {"fracture", "cauda_equina"} <= set(v.urgent.groups)
    assert "foraminal_stenosis" in {e.finding for e in v.not_there}


def test_age_unknown_and_outside(annotate):
    assert "do not know your age" in patient_view(annotate("L4-L5: disc bulge.")).common_text
    assert "85" in patient_view(annotate("L4-L5: disc bulge.", age=85)).common_text


def test_cards_say_the_shared_sentences_once(annotate):
    r = annotate(COMMON, age=52)
    v = patient_view(r)
    shared = set(rules.load_patient(D).shared.sentences)
    notes = {s.finding: s.note for s in r.summary}
    for c in v.common_cards:
        text = " ".join(c.paragraphs)
        assert not shared & set(_sentences(text)), (c.finding, text)
        # the card is the pipeline's note less the shared sentences: nothing else lost or added
        expected = " ".join(x for x in _sentences(notes[c.finding]) if x not in shared)
        assert " ".join(_sentences(text)) == expected
    page = html_body(COMMON, r)
    assert page.count(html.escape(v.shared_text)) == 1
    assert "can still be part of pain" in v.shared_text  # common never becomes "not the cause"
    rest = page.replace(html.escape(v.shared_text), "")
    for sentence in shared:
        assert html.escape(sentence) not in rest


def test_urgent_data_comes_from_prevalence_section_7():
    require_shared()
    text = (SHARED / "evidence" / "PREVALENCE.md").read_text(encoding="utf-8")
    section = text[text.index("## 7."):]
    data = rules.load_urgent(D)
    for src in data.sources.values():
        assert src.citation.split()[0].rstrip(",") in section, src.short
        if src.doi:
            assert src.doi in section
    rows = {"cauda_equina": "cauda equina", "infection": "infection", "fracture": "| fracture",
            "malignancy": "malignancy", "nerve_root": "nerve root compression"}
    assert set(data.groups) == set(rows)
    for name, key in rows.items():
        assert key in section, name
        assert data.groups[name].same_day and data.groups[name].sources


@pytest.mark.parametrize("group", sorted(RED_FLAG_REPORTS))
def test_every_red_flag_group_gets_urgent_advice(annotate, group):
    text, finding = RED_FLAG_REPORTS[group]
    r = annotate("FINDINGS:\n" + text, age=60)
    v = patient_view(r)
    card = next(c for c in v.attention_cards if c.finding == finding)
    assert card.urgent and group in card.urgent.groups and card.urgent.sources
    assert v.urgent and group in v.urgent.groups  # the bottom line, once
    page = html_body(r.findings[0].text, r)
    assert page.count('id="urgent-summary"') == 1


def test_severe_central_stenosis_gets_the_cauda_equina_advice(annotate):
    v = patient_view(annotate("L4-L5: severe central canal stenosis.", age=60))
    assert v.attention_cards[0].urgent.groups == ["cauda_equina"]


def test_no_common_finding_gets_urgent_advice():
    data = rules.load_urgent(D)
    never = set(rules.load_prevalence(D).never_reassure.findings)
    for rule in rules.load_findings(D):
        if rule.id in never:
            continue
        for severity in (None, "mild", "moderate", "severe"):
            if rule.id == "central_canal_stenosis" and severity == "severe":
                continue  # never reassured (PREVALENCE.md section 4) and in section 7's first row
            s = FindingSummary(finding=rule.id, label=rule.label, group=rule.group, assertion="present",
                               levels=[], severity=severity, attention=False, note="x", mentions=[])
            assert urgent_group(s, data) is None, (rule.id, severity)


def test_common_report_has_no_urgent_advice_anywhere(annotate):
    r = annotate(COMMON, age=52)
    page = html_body(COMMON, r)
    assert 'class="urgent"' not in page and "emergency department" not in page


def test_absent_and_historical_red_flags_get_no_urgent_advice(annotate):
    r = annotate("CLINICAL HISTORY: history of L1 fracture.\nFINDINGS:\nNo cauda equina compression.", age=60)
    v = patient_view(r)
    assert v.urgent is None and not v.attention_cards


def test_urgent_wording_never_calls_the_finding_an_emergency():
    data = rules.load_urgent(D)
    texts = [data.texts.intro, data.texts.same_day, data.texts.summary, data.texts.prompt]
    texts += [x for g in data.groups.values() for x in g.same_day + g.prompt + g.risk + [g.title]]
    for t in texts:
        assert not re.search(r"\b(is|are) (an |not an )?emergency|not urgent|nothing to worry|harmless", t, re.I), t


def test_questions(annotate):
    red = patient_view(annotate(RED, age=52)).questions
    assert 3 <= len(red) <= 6
    assert red[0].startswith("What are the next steps")  # a red flag asks about next steps first
    assert any("same day" in q for q in red)
    common = patient_view(annotate(COMMON, age=52)).questions
    assert 3 <= len(common) <= 6 and not any("next steps" in q for q in common)
    assert "If I have pain in my left leg, could the narrowing at L4-L5 explain it?" in common
    # the absent stenosis at L3-L4 asks nothing
    assert not any("L3-L4" in q for q in common)
    none = patient_view(annotate("FINDINGS: Normal lumbar spine.")).questions
    assert 3 <= len(none) <= 6


def assembled_texts() -> list[str]:
    """Every patient text the new layer can show, placeholders filled."""
    p = rules.load_patient(D)
    u = rules.load_urgent(D)
    q = rules.load_questions(D)
    g = p.groups
    out = [p.intro, g.attention.one, g.other.text, g.not_there, g.history, g.none, g.only_not_there, p.shared.text]
    out += [g.attention.many.format(count=n) for n in (2, 3, 5)]
    out += [g.common.at_age.format(age=a) for a in (20, 35, 52, 80)]
    out += [g.common.age_unknown, g.common.outside.format(age=85)]
    out += [e.text for e in (p.legend.present, p.legend.attention, p.legend.possible, p.legend.historical, p.legend.absent)]
    out += [u.texts.intro, u.texts.same_day, u.texts.prompt, u.texts.risk, u.texts.summary]
    out += [x for grp in u.groups.values() for x in grp.same_day + grp.prompt + grp.risk]
    labels = {r.id: r.label for r in rules.load_findings(D)}
    for t in q.templates:
        for fid in labels:
            for levels in ("L4-L5", "L4-L5 and L5-S1"):
                for side in ("left", "right"):
                    out.append(t.text.format(name=q.names.get(fid, labels[fid]), levels=levels, side=side))
    return sorted(set(out))


def test_reading_level_of_the_new_patient_texts(capsys):
    grades = []
    for t in assembled_texts():
        grade = textstat.flesch_kincaid_grade(t)
        assert grade <= 8, (grade, t)
        grades.append(grade)
    median = statistics.median(grades)
    with capsys.disabled():
        print(f"\npatient page texts (summary, urgent advice, questions, legend): {len(grades)} assembled, "
              f"Flesch-Kincaid grade median {median:.1f}, max {max(grades):.1f}")
    assert median <= 7


def test_new_texts_use_no_banned_wording():
    u = rules.load_urgent(D)
    urgent = {u.texts.same_day} | {x for g in u.groups.values() for x in g.same_day + g.prompt + g.risk}
    for t in assembled_texts():
        for pattern in BANNED:
            if pattern in (r"emergency", r"\bcancer\b") and t in urgent:
                # "go to an emergency department" is the advice itself, and "history of cancer"
                # a symptom to act on (PREVALENCE.md section 7); notes about findings still never say these
                continue
            assert not re.search(pattern, t, re.I), (pattern, t)


def test_every_view_line_is_reading_level_checked(annotate):
    """What a real page shows is among the assembled texts (so the reading-level test covers it)."""
    known = set(assembled_texts())
    for text, age in ((COMMON, 52), (RED, 52), ("L4-L5: disc bulge.", None), ("FINDINGS: Normal.", 40)):
        for line in patient_view(annotate(text, age=age)).lines():
            assert line in known, line


# --- HTML: highlighting, links, escaping ----------------------------------------------

def test_absent_mentions_are_marked_not_there(annotate):
    r = annotate(COMMON, age=52)
    page = html_body(COMMON, r)
    for i in kept_mentions(r):
        f = r.findings[i]
        m = re.search(rf'<a class="hl" href="#card-{f.finding}" id="m-{i}"><mark class="([^"]+)"[^>]*data-cue="([^"]+)"', page)
        assert m, f
        if f.assertion == "absent":
            assert m.group(1) == "m-absent" and m.group(2) == "not there"
        else:
            assert "m-absent" not in m.group(1)
    stenosis = [i for i, f in enumerate(r.findings) if f.finding == "central_canal_stenosis"]
    assert stenosis and all(r.findings[i].assertion == "absent" for i in stenosis)


def test_every_highlight_links_to_a_card_and_back(annotate):
    for text in (COMMON, RED):
        r = annotate(text, age=52)
        page = html_body(text, r)
        ids = set(re.findall(r'id="([^"]+)"', page))
        targets = re.findall(r'href="#([^"]+)"', page)
        assert targets and all(t in ids for t in targets), [t for t in targets if t not in ids]
        for i in kept_mentions(r):
            assert f'href="#card-{r.findings[i].finding}"' in page
        # every card and "not there" entry links back to a mention in the report
        for fid in {s.finding for s in r.summary}:
            start = page.index(f'id="card-{fid}"')
            opener = page.rfind("<", 0, start)
            end_tag = "</article>" if page.startswith("<article", opener) else "</li>"
            block = page[start:page.index(end_tag, start)]
            assert re.search(r'href="#m-\d+"', block), fid


def test_report_text_survives_the_markup(annotate):
    nasty = COMMON + "\n<script>alert(1)</script> & <b>bold</b> \"quoted\""
    r = annotate(nasty, age=52)
    from spinecontext.render import report_text_from_html

    assert report_text_from_html(to_html(nasty, r)) == nasty


def test_summary_and_questions_escape_everything():
    evil = "<script>alert('x')</script>"
    finding = FindingResult(finding="disc_bulge", text="bulge", start=0, end=5, section="findings",
                            levels=[f"L4-L5{evil}"], laterality="left", assertion="present", group="common",
                            label=f"disc bulge{evil}", note="n")
    summary = FindingSummary(finding="disc_bulge", label=f"disc bulge{evil}", group="common", assertion="present",
                             levels=[f"L4-L5{evil}"], attention=False, note="n", mentions=[[0, 5]])
    r = ReportResult(id=f"r{evil}", findings=[finding], summary=[summary])
    page = html_body("bulge <script>alert(1)</script>", r)
    assert "<script" not in page and "&lt;script&gt;" in page
    v = patient_view(r)
    assert any(evil in q for q in v.questions) or any(evil in e.label for e in v.other + v.common)
