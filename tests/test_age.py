"""Age from the caller or the report."""

import pytest


@pytest.mark.parametrize("text,age", [
    ("52-year-old man with back pain.", 52),
    ("History: 61 yo F, sciatica.", 61),
    ("Age: 47. Sex: M.", 47),
    ("Patient: 38Y M", 38),
    ("MRI LUMBAR SPINE (55M, thigh pain)", 55),
    ("Disc bulge at L4-5 measuring 3 mm.", None),
    ("Age: 300.", None),
])
def test_age_from_report(annotate, text, age):
    r = annotate(text)
    assert r.age == age
    assert r.age_source == ("report" if age is not None else "none")


def test_caller_wins(annotate):
    r = annotate("52-year-old man.", age=60)
    assert (r.age, r.age_source) == (60, "given")


def test_no_age(annotate):
    r = annotate("Disc bulge at L4-5.")
    assert (r.age, r.age_source) == (None, "none")


@pytest.mark.parametrize("text,age", [
    ("Date of birth: 14 March 1961\nDate of exam: 2 June 2023\nDisc bulge.", 62),
    ("DOB: 1980-12-25. Study date: 2024-06-01.", 43),
    ("DOB 25/12/1980 Study date 01/06/2024", 43),
    ("DOB: 12/03/1970. Exam date: 2024-05-01.", None),  # 12 March or 3 December: ambiguous
])
def test_age_from_dates(annotate, text, age):
    assert annotate(text).age == age


def test_caller_wins_over_dates(annotate):
    r = annotate("DOB: 1980-12-25. Study date: 2024-06-01.", age=50)
    assert (r.age, r.age_source) == (50, "given")
