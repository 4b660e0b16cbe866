"""The patient's age: given by the caller, or read from the report.

The report may state it ("52-year-old", "Age: 47", "61 yo F", "38Y M") or
give a date of birth and an exam date. The caller's age (set on the Doc with
:func:`spinecontext.make_doc`) always wins; an age outside the accepted range
is ignored.
"""

import re
from datetime import date
from pathlib import Path
from typing import Optional

from spacy.language import Language
from spacy.tokens import Doc

from . import extensions as ext
from . import rules
from .base import RuleComponent, doc_text
from .scan import Scanner, doc_word_starts

MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_DATE = re.compile(
    r"(?P<iso>(?P<iy>\d{4})[-/.](?P<im>\d{1,2})[-/.](?P<id>\d{1,2}))"
    r"|(?P<num>(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<ny>\d{4}|\d{2}))"
    r"|(?P<dmy>(?P<dd>\d{1,2})(?:st|nd|rd|th)?\s+(?P<dm>[a-z]{3})[a-z]*\.?,?\s+(?P<dy>\d{4}))"
    r"|(?P<mdy>(?P<mm>[a-z]{3})[a-z]*\.?\s+(?P<md>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<my>\d{4}))",
    re.IGNORECASE,
)


def _readings(m: re.Match) -> list[tuple[date, Optional[str]]]:
    """Possible dates of a date match, with the day/month order assumed for
    numeric dates ("dm" or "md"; two readings for an ambiguous 03/04/1970)."""
    out: list[tuple[date, Optional[str]]] = []

    def add(y: int, mo: int, d: int, order: Optional[str] = None) -> None:
        try:
            out.append((date(y, mo, d), order))
        except ValueError:
            pass

    if m.group("iso"):
        add(int(m.group("iy")), int(m.group("im")), int(m.group("id")))
    elif m.group("num"):
        a, b, y = int(m.group("a")), int(m.group("b")), int(m.group("ny"))
        if y < 100:
            y += 2000 if y <= date.today().year % 100 else 1900
        add(y, b, a, "dm")  # day/month/year
        add(y, a, b, "md")  # month/day/year
    elif m.group("dmy"):
        mo = MONTHS.get(m.group("dm").lower()[:3])
        if mo:
            add(int(m.group("dy")), mo, int(m.group("dd")))
    elif m.group("mdy"):
        mo = MONTHS.get(m.group("mm").lower()[:3])
        if mo:
            add(int(m.group("my")), mo, int(m.group("md")))
    return list(dict.fromkeys(out))


def _first_dated(label: re.Pattern, text: str, skip: int = -1):
    """(label match, readings, end of the date) for the first label followed by a
    date, not starting at ``skip``; None if there is none."""
    for m in label.finditer(text):
        if m.start() == skip:
            continue
        d = _DATE.match(text, m.end())
        readings = _readings(d) if d else []
        if readings:
            return m, readings, d.end()
    return None


def years_between(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class AgeReader(RuleComponent):
    kind = "age"

    def _load(self, directory: Path) -> None:
        data = rules.load_age(directory)
        self.min_age, self.max_age = data.min_age, data.max_age
        # one pass over the word starts; group "age" renamed per pattern
        self.rx = Scanner([p.replace("(?P<age>", f"(?P<age{i}>") for i, p in enumerate(data.patterns)],
                          rules.FLAGS, "a")
        self.birth = re.compile(data.birth_date, rules.FLAGS)
        self.exam = re.compile(data.exam_date, rules.FLAGS)

    def stated(self, text: str, starts: Optional[list[int]] = None) -> Optional[dict]:
        """The first stated age in the accepted range, or None."""
        for m in self.rx.finditer(text, starts=starts):
            name = next(k for k, v in m.groupdict().items() if v is not None and k.startswith("age"))
            age = int(m.group(name))
            if self.min_age <= age <= self.max_age:
                return {"age": age, "start": m.start(name), "end": m.end(name)}
        return None

    def from_dates(self, text: str) -> Optional[dict]:
        """Age from a date of birth and an exam date; None when absent or ambiguous."""
        low = text.lower()
        if "dob" not in low and "d.o.b" not in low and "birth" not in low and "born" not in low:
            return None
        born = _first_dated(self.birth, text)
        if born is None:
            return None
        found = _first_dated(self.exam, text, skip=born[0].start())
        if found is None:
            return None
        exam = found[1]
        # one report writes all its dates the same way: pair readings of the same order
        ages = {years_between(b, e) for b, bo in born[1] for e, eo in exam if bo is None or eo is None or bo == eo}
        if len(ages) != 1:
            return None  # 03/04/1970: the day/month order changes the age
        age = ages.pop()
        if not self.min_age <= age <= self.max_age:
            return None
        label, _, end = born
        return {"age": age, "start": label.start(), "end": end}

    def find(self, text: str, starts: Optional[list[int]] = None) -> Optional[dict]:
        return self.stated(text, starts) or self.from_dates(text)

    def __call__(self, doc: Doc) -> Doc:
        found = self.find(doc_text(doc), doc_word_starts(doc, not self.rx.words_only))
        given = ext.get(doc, "spine_given_age")
        if given is not None:
            ext.put(doc, "spine_age", {"age": int(given), "source": "given",
                                       "report_age": found["age"] if found else None})
        elif found:
            ext.put(doc, "spine_age", {**found, "source": "report"})
        else:
            ext.put(doc, "spine_age", {"age": None, "source": "none"})
        return doc


@Language.factory(
    "spinecontext_age",
    default_config={"patterns_dir": None},
    assigns=["doc._.spine_age"],
)
def make_age(nlp: Language, name: str, patterns_dir: Optional[str]) -> AgeReader:
    """The patient's age: the caller's (doc._.spine_given_age) or the report's.

    patterns_dir: folder of rule files to use instead of the packaged ones.
    """
    return AgeReader(nlp, name, patterns_dir=patterns_dir)
