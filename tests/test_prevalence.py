"""Prevalence figures: exactly the evidence table, interpolated as stated, never for red flags."""

import re

import pytest

import spinecontext
from spinecontext.nlp import rules

from conftest import SHARED, require_shared

#: taxonomy finding -> (Brinjikji row in PREVALENCE.md, a sentence stating it at L4-L5)
BRINJIKJI = {
    "disc_degeneration": ("disk degeneration", "L4-L5: degenerative disc disease."),
    "disc_desiccation": ("disk signal loss", "L4-L5: disc desiccation."),
    "disc_height_loss": ("disk height loss", "L4-L5: loss of disc height."),
    "disc_bulge": ("disk bulge", "L4-L5: disc bulge."),
    "disc_protrusion": ("disk protrusion", "L4-L5: disc protrusion."),
    "annular_fissure": ("annular fissure", "L4-L5: annular fissure."),
    "facet_arthropathy": ("facet degeneration", "L4-L5: facet arthropathy."),
    "spondylolisthesis": ("spondylolisthesis", "Grade 1 anterolisthesis of L4 on L5."),
}


def evidence_table() -> dict[str, dict[int, int]]:
    require_shared()
    text = (SHARED / "evidence" / "PREVALENCE.md").read_text(encoding="utf-8")
    head = re.search(r"^\| finding \(Brinjikji\) \|(.*)\|$", text, re.M)
    ages = [int(a) for a in head.group(1).split("|")]
    table = {}
    for m in re.finditer(r"^\| (disk [a-z ]+|annular fissure|facet degeneration|spondylolisthesis) \|(.*)\|$", text, re.M):
        table[m.group(1)] = dict(zip(ages, (int(v) for v in m.group(2).split("|"))))
    return table


def expected(row: dict[int, int], age: int) -> int:
    """Linear interpolation between decades, rounded half up (computed here independently)."""
    lo = max(a for a in row if a <= age)
    hi = min(a for a in row if a >= age)
    if lo == hi:
        return row[lo]
    value = row[lo] + (row[hi] - row[lo]) * (age - lo) / (hi - lo)
    return int(value + 0.5)


def test_data_file_holds_the_evidence_table():
    table = evidence_table()
    data = rules.load_prevalence(rules.default_patterns_dir())
    assert set(table) == set(data.by_age.rows)
    for name, row in table.items():
        assert [row[a] for a in data.by_age.ages] == data.by_age.rows[name], name


def test_fixed_figures_come_from_the_evidence():
    require_shared()
    text = (SHARED / "evidence" / "PREVALENCE.md").read_text(encoding="utf-8")
    data = rules.load_prevalence(rules.default_patterns_dir())
    for name, fig in data.fixed.items():
        shown = f"{fig.percent:g}%"
        assert shown in text, (name, shown)


@pytest.mark.parametrize("age", [20, 35, 50, 65, 80])
@pytest.mark.parametrize("finding", sorted(BRINJIKJI))
def test_figure_at_age_equals_the_table(nlp, finding, age):
    row_name, sentence = BRINJIKJI[finding]
    want = expected(evidence_table()[row_name], age)
    r = spinecontext.annotate(nlp, sentence, age=age)
    f = next(f for f in r.findings if f.finding == finding)
    assert f.prevalence.kind == "at_age"
    assert (f.prevalence.percent, f.prevalence.age) == (want, age)
    assert str(want) in f.note and str(age) in f.note  # the note says which age the figure is for


@pytest.mark.parametrize("age", [5, 19, 81, 95])
def test_outside_the_table_no_number(nlp, age):
    r = spinecontext.annotate(nlp, "L4-L5: disc bulge.", age=age)
    f = r.findings[0]
    assert f.prevalence.kind == "outside" and f.prevalence.percent is None
    numbers = set(re.findall(r"\d+", f.note.replace("L4-L5", "")))
    assert numbers <= {str(age), "20", "80"}, f.note


def test_unknown_age_gives_the_range(nlp):
    table = evidence_table()
    r = spinecontext.annotate(nlp, "L4-L5: disc bulge.")
    f = r.findings[0]
    assert f.prevalence.kind == "range"
    assert (f.prevalence.range.percent_from, f.prevalence.range.percent_to) == (table["disk bulge"][20], table["disk bulge"][80])


def allowed_numbers(data) -> set[str]:
    """Figures the data file yields (table values and their interpolations), its ages, and "100"."""
    table = {name: dict(zip(data.by_age.ages, row)) for name, row in data.by_age.rows.items()}
    out = {str(expected(row, age)) for row in table.values()
           for age in range(data.by_age.ages[0], data.by_age.ages[-1] + 1)}
    out |= {str(a) for a in data.by_age.ages}
    out |= {str(int(f.percent + 0.5)) for f in data.fixed.values()}
    return out | {"100"}


@pytest.mark.parametrize("age", [None, 23, 47, 52, 68, 79, 90])
def test_every_number_shown_comes_from_the_data_file(nlp, age):
    from conftest import OWN
    import json

    data = rules.load_prevalence(rules.default_patterns_dir())
    lines = OWN.read_text(encoding="utf-8").splitlines()[::7]
    for line in lines:
        text = json.loads(line)["text"]
        r = spinecontext.annotate(nlp, text, age=age)
        shown = [f.note for f in r.findings] + [s.note for s in r.summary]
        if r.appendix:
            shown.append(r.appendix.split("\nSource:")[0])
        for note in shown:
            note = re.sub(r"\b[CTLS]\d{1,2}(?:-[CTLS]\d{1,2})?\b", "", note)  # level names
            for n in re.findall(r"\d+(?:\.\d+)?", note):
                allowed = allowed_numbers(data) | ({str(age)} if age is not None else set())
                if r.age is not None:
                    allowed.add(str(r.age))
                assert n in allowed, (n, note)


RED_FLAGS = [
    ("fracture", "Compression fracture of L1."),
    ("malignancy", "Lytic metastasis in L3."),
    ("infection", "Discitis at L2-L3."),
    ("cauda_equina_compression", "Extrusion compressing the cauda equina at L4-L5."),
    ("disc_extrusion", "Large disc extrusion at L4-L5."),
    ("nerve_root_compression", "The L5 nerve root is compressed at L4-L5."),
    ("modic_change", "Type 1 Modic changes at L4-L5."),
    ("central_canal_stenosis", "Severe central canal stenosis at L4-L5."),
    ("spondylolisthesis", "Grade 2 anterolisthesis of L4 on L5."),
]


@pytest.mark.parametrize("finding,text", RED_FLAGS)
@pytest.mark.parametrize("age", [None, 35, 50])
def test_never_reassured(nlp, finding, text, age):
    r = spinecontext.annotate(nlp, text + " Mild disc bulge at L3-L4.", age=age)
    mentions = [f for f in r.findings if f.finding == finding]
    assert mentions, r.findings
    for f in mentions:
        assert f.attention and f.prevalence is None
        assert "common" not in f.note.lower()
    card = next(s for s in r.summary if s.finding == finding)
    assert card.attention and card.prevalence is None and "common" not in card.note.lower()
    label = next(f.label for f in mentions)
    assert r.appendix is None or label not in r.appendix
