"""The patient page's view of one result: a layer on top of the result model.

:func:`patient_view` derives everything the patient page shows beyond the
result itself, from the :class:`~spinecontext.result.ReportResult` and the
data files of ``patterns/`` (no NLP here, and nothing the result does not say):

* the bottom line: the findings grouped as "needs your clinician's attention"
  (red flags and the findings PREVALENCE.md section 4 never reassures),
  "common with age" (findings with an age-matched figure, and the age the
  figures are for) and "other", plus what the report says is not there or
  names only as history (``patient.yaml``);
* one card per finding that keeps only what is specific to it (what it is,
  where, how much, the figure); the sentences every common card would repeat
  are said once per page (``patient.yaml`` ``shared``);
* urgent-symptom advice for each red-flag card and once for the bottom line
  (``urgent.yaml``, from PREVALENCE.md section 7, with its sources);
* 3 to 6 questions to ask the clinician, built from the findings present
  (``questions.yaml``); a report with a red flag asks about next steps first.

The HTML renderer (:mod:`spinecontext.render`), and so the web page and
``annotate --format html``, render this view. It is plain data: nothing in it
is HTML, and the renderer escapes all of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from .nlp import rules
from .nlp.notes import figure_sentence, join_levels
from .result import FindingSummary, ReportResult

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
AGE_KINDS = ("at_age", "range", "outside")


@dataclass
class Urgent:
    """Urgent-symptom advice: the symptoms that need same-day care, and the sources."""

    groups: list[str]
    title: str
    intro: str
    same_day_text: str
    same_day: list[str]
    prompt_text: str
    prompt: list[str]
    risk_text: str
    risk: list[str]
    source_text: str
    sources: list[dict]  # {"short", "citation", "doi"}


@dataclass
class Card:
    finding: str
    title: str
    meta: list[str]
    paragraphs: list[str]
    attention: bool
    figure: Optional[dict] = None  # {"percent", "age", "source"} for the icon array
    urgent: Optional[Urgent] = None
    mention: Optional[int] = None  # index into ReportResult.findings of the first mention (for "see it in the report")


@dataclass
class Entry:
    """One finding named in the bottom line."""

    finding: str
    label: str
    levels: list[str]
    possible: bool = False


@dataclass
class PatientView:
    intro: str
    attention: list[Entry] = field(default_factory=list)
    attention_text: str = ""
    common: list[Entry] = field(default_factory=list)
    common_text: str = ""
    other: list[Entry] = field(default_factory=list)
    other_text: str = ""
    not_there: list[Entry] = field(default_factory=list)
    history: list[Entry] = field(default_factory=list)
    empty_text: str = ""
    urgent: Optional[Urgent] = None
    attention_cards: list[Card] = field(default_factory=list)
    common_cards: list[Card] = field(default_factory=list)
    shared_text: str = ""
    questions: list[str] = field(default_factory=list)
    texts: rules.PatientFile = None  # headings, legend, links

    def lines(self) -> list[str]:
        """Every sentence of patient wording this view adds (for the reading-level test)."""
        out = [self.intro, self.attention_text, self.common_text, self.other_text, self.empty_text,
               self.shared_text] + self.questions
        for u in [self.urgent] + [c.urgent for c in self.attention_cards]:
            if u:
                out += [u.intro, u.same_day_text, *u.same_day, u.prompt_text if u.prompt else "", *u.prompt,
                        u.risk_text if u.risk else "", *u.risk]
        return [x for x in out if x]


def _dir(patterns_dir: Optional[Union[str, Path]]) -> Path:
    return rules.resolve_dir(patterns_dir)


def _entry(s: FindingSummary) -> Entry:
    return Entry(s.finding, s.label, list(s.levels), s.assertion == "possible")


def _title(label: str) -> str:
    return label[:1].upper() + label[1:]


def urgent_group(s: FindingSummary, data: rules.UrgentFile) -> Optional[str]:
    """The urgent-symptom group of a finding the report states (present or possible), or None."""
    if s.assertion not in ("present", "possible"):
        return None
    for name, g in data.groups.items():
        if s.finding in g.findings:
            return name
        for w in g.when:
            if w.finding == s.finding and (w.severity is None or w.severity == s.severity):
                return name
    return None


def urgent_advice(names: list[str], data: rules.UrgentFile, *, summary: bool = False) -> Urgent:
    """The advice for one group (a card) or several (the bottom line), lists merged in order."""
    same_day, prompt, risk, sources = [], [], [], []

    def add(items, target):
        for x in items:
            if x not in target:
                target.append(x)

    for name in names:
        g = data.groups[name]
        add(g.same_day, same_day)
        for other in g.also:
            add(data.groups[other].same_day, same_day)
        add(g.prompt, prompt)
        if not summary:
            add(g.risk, risk)
        add(g.sources, sources)
    t = data.texts
    title = t.summary if summary else data.groups[names[0]].title
    return Urgent(groups=list(names), title=title, intro=t.intro, same_day_text=t.same_day, same_day=same_day,
                  prompt_text=t.prompt, prompt=prompt, risk_text=t.risk, risk=risk, source_text=t.source,
                  sources=[{"short": data.sources[s].short, "citation": " ".join(data.sources[s].citation.split()),
                            "doi": data.sources[s].doi} for s in sources])


def _sentences(text: Optional[str]) -> list[str]:
    return [x for x in _SENTENCE.split(text.strip()) if x] if text else []


def card_paragraphs(s: FindingSummary, notes: rules.NotesFile, shared: set[str]) -> list[str]:
    """The specific parts of a finding's note (the note as the pipeline writes it,
    less the sentences the page says once)."""
    t = notes.templates
    n = notes.findings[s.finding]
    parts = [t.possible] if s.assertion == "possible" else []
    parts.append(n.what)
    if s.levels:
        parts.append(t.where.format(levels=join_levels(s.levels)))
    if s.attention:
        parts.append(t.attention)
    else:
        if s.severity in ("moderate", "severe") and n.severe:
            parts.append(n.severe)
        if s.prevalence:
            fig = s.prevalence.model_dump()
            parts.append(figure_sentence(t, fig))
            if fig.get("caveat"):
                parts.append(fig["caveat"])
        specific = [x for x in _sentences(n.meaning) if x not in shared]
        if specific:
            parts.append(" ".join(specific))
    return [p.strip() for p in parts if p and p.strip()]


def _first_mention(result: ReportResult, finding: str) -> Optional[int]:
    return next((i for i, f in enumerate(result.findings) if f.finding == finding), None)


def _card(s: FindingSummary, result: ReportResult, notes, shared, urgent_data) -> Card:
    meta = []
    if s.levels:
        meta.append(", ".join(s.levels))
    if s.severity:
        meta.append(s.severity)
    if s.assertion == "possible":
        meta.append("possible")
    figure = None
    p = s.prevalence
    if p and p.percent is not None:
        figure = {"percent": p.percent, "age": p.age, "source": p.source}
    group = urgent_group(s, urgent_data) if s.attention else None
    return Card(finding=s.finding, title=_title(s.label), meta=meta, paragraphs=card_paragraphs(s, notes, shared),
                attention=s.attention, figure=figure,
                urgent=urgent_advice([group], urgent_data) if group else None,
                mention=_first_mention(result, s.finding))


def questions(result: ReportResult, attention: list[FindingSummary], shown: list[FindingSummary],
              urgent_groups: list[str], data: rules.QuestionsFile) -> list[str]:
    """Questions for the clinician from the templates whose condition holds, in file order."""
    out: list[str] = []

    def add(text: str) -> None:
        if text not in out and len(out) < data.max:
            out.append(text)

    def name(fid: str, label: str) -> str:
        return data.names.get(fid, label)

    order = {fid: i for i, fid in enumerate(data.nerve_findings)}
    nerve = sorted((f for f in result.findings if f.assertion == "present" and f.finding in order and f.levels),
                   key=lambda f: order[f.finding])
    sided = []
    for f in nerve:
        if f.laterality in ("left", "right") and f.laterality not in [x.laterality for x in sided]:
            sided.append(f)
    for tpl in data.templates:
        w = tpl.when
        if w == "attention":
            for s in attention[:data.per_finding_max]:
                add(tpl.text.format(name=name(s.finding, s.label), levels=join_levels(s.levels), side=""))
        elif w == "urgent" and urgent_groups:
            add(tpl.text)
        elif w == "any" and shown:
            add(tpl.text)
        elif w == "nerve_side":
            for f in sided[:data.per_finding_max]:
                add(tpl.text.format(name=name(f.finding, f.label), levels=join_levels(f.levels), side=f.laterality))
        elif w == "nerve_level" and nerve and not sided:
            f = nerve[0]
            add(tpl.text.format(name=name(f.finding, f.label), levels=join_levels(f.levels), side=""))
        elif w == "common_age" and any(s.prevalence and s.prevalence.kind in AGE_KINDS and not s.attention
                                       for s in shown):
            add(tpl.text)
        elif w == "possible":
            for s in [s for s in shown if s.assertion == "possible"][:1]:
                add(tpl.text.format(name=name(s.finding, s.label), levels=join_levels(s.levels), side=""))
        elif w == "none" and not shown:
            add(tpl.text)
        elif w == "always":
            add(tpl.text)
    return out


def patient_view(result: ReportResult, patterns_dir: Optional[Union[str, Path]] = None) -> PatientView:
    d = _dir(patterns_dir)
    texts = rules.load_patient(d)
    notes = rules.load_notes(d)
    urgent_data = rules.load_urgent(d)
    qdata = rules.load_questions(d)
    shared = set(texts.shared.sentences)
    g = texts.groups

    shown = [s for s in result.summary if s.assertion in ("present", "possible")]
    attention = [s for s in shown if s.attention]
    rest = [s for s in shown if not s.attention]
    common = [s for s in rest if s.prevalence and s.prevalence.kind in AGE_KINDS]
    other = [s for s in rest if s not in common]

    view = PatientView(intro=texts.intro, texts=texts)
    view.attention = [_entry(s) for s in attention]
    if attention:
        view.attention_text = g.attention.one if len(attention) == 1 else g.attention.many.format(count=len(attention))
    view.common = [_entry(s) for s in common]
    if common:
        kind = common[0].prevalence.kind
        if kind == "at_age":
            view.common_text = g.common.at_age.format(age=common[0].prevalence.age)
        elif kind == "range":
            view.common_text = g.common.age_unknown
        else:
            view.common_text = g.common.outside.format(age=result.age)
    view.other = [_entry(s) for s in other]
    if other:
        view.other_text = g.other.text
    view.not_there = [_entry(s) for s in result.summary if s.assertion == "absent"]
    view.history = [_entry(s) for s in result.summary if s.assertion == "historical"]
    if not shown:
        view.empty_text = g.only_not_there if result.summary else g.none

    groups: list[str] = []
    for s in attention:
        name = urgent_group(s, urgent_data)
        if name and name not in groups:
            groups.append(name)
    if groups:
        view.urgent = urgent_advice(groups, urgent_data, summary=True)
    view.attention_cards = [_card(s, result, notes, shared, urgent_data) for s in attention]
    view.common_cards = [_card(s, result, notes, shared, urgent_data) for s in common + other]
    # the shared paragraph stands in for sentences left off the cards: only when a card lost one
    if any(shared & set(_sentences(notes.findings[s.finding].meaning)) for s in common + other):
        view.shared_text = texts.shared.text
    view.questions = questions(result, attention, shown, groups, qdata)
    return view
