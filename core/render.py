"""Renderings of the one result model: table, JSON, plain text, Markdown, HTML.

Every rendering that shows the report keeps its text exactly as given: plain
text and Markdown contain it byte for byte, HTML contains it escaped (and
un-escaping the report block gives it back byte for byte). Report text is
always escaped in HTML, so a report holding ``<script>`` shows as text.
"""

from __future__ import annotations

import html
import json
import re
from typing import Optional

from .compare import ORDER
from .result import FindingSummary, ReportResult

COLUMNS = ("finding", "levels", "assertion", "severity", "side", "section", "text")


def to_json(result: ReportResult, *, indent: int | None = 2) -> str:
    return json.dumps(result.model_dump(mode="json"), indent=indent, ensure_ascii=False)


def _age_line(result: ReportResult) -> str:
    if result.age is None:
        return "age unknown"
    return f"age {result.age} ({'given' if result.age_source == 'given' else 'from report'})"


def table(result: ReportResult, *, notes: bool = True) -> str:
    """A readable plain-text table of one report's findings, then the notes."""
    head = f"{result.id}  [{_age_line(result)}, {len(result.findings)} finding mention(s)]"
    if not result.findings:
        return head + "\n  (no findings)"
    rows = [COLUMNS]
    for f in result.findings:
        rows.append((
            f.finding, ",".join(f.levels) or "-", f.assertion, f.severity or "-",
            f.laterality or "-", f.section, " ".join(f.text.split()),
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS) - 1)]
    lines = [head]
    for r in rows:
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])
    if notes and result.summary:
        attention, common, absent, history = _groups(result)
        lines.append("")
        lines.append("  What the findings mean:")
        lines += [f"  - {_title(s)}: {s.note}" for s in attention + common]
        lines += [f"  - {line}" for line in _listed(absent, history)]
    return "\n".join(lines)


def _title(s: FindingSummary) -> str:
    label = s.label[:1].upper() + s.label[1:]
    return f"{label} ({', '.join(s.levels)})" if s.levels else label


def _groups(result: ReportResult):
    """Summary entries split into: attention (present/possible), others present/possible, absent, history."""
    shown = [s for s in result.summary if s.assertion in ("present", "possible")]
    attention = [s for s in shown if s.attention]
    common = [s for s in shown if not s.attention]
    absent = [s for s in result.summary if s.assertion == "absent"]
    history = [s for s in result.summary if s.assertion == "historical"]
    return attention, common, absent, history


def _listed(absent, history) -> list[str]:
    """One plain sentence each for the findings stated absent and those named only as history."""
    out = []
    if absent:
        out.append("The report says these are not there: " + ", ".join(s.label for s in absent) + ".")
    if history:
        out.append("Mentioned only as history: " + ", ".join(s.label for s in history) + ".")
    return out


def context_text(result: ReportResult) -> str:
    """The context section (plain text) that follows the report."""
    attention, common, absent, history = _groups(result)
    out = ["CONTEXT FOR THIS REPORT (spinecontext)", f"Patient {_age_line(result)}."]
    if attention:
        out += ["", "Findings your clinician needs to look at:"] + [f"- {_title(s)}: {s.note}" for s in attention]
    if common:
        out += ["", "Other findings:"] + [f"- {_title(s)}: {s.note}" for s in common]
    for line in _listed(absent, history):
        out += ["", line]
    if not result.summary:
        out += ["", "No findings from our list were found in this report."]
    if result.appendix:
        out += ["", result.appendix]
    return "\n".join(out)


SEPARATOR = "\n\n" + "-" * 60 + "\n"


def to_text(text: str, result: ReportResult) -> str:
    """The original report, unchanged, with the context section appended."""
    return text + SEPARATOR + context_text(result) + "\n"


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def to_markdown(text: str, result: ReportResult) -> str:
    """Markdown: the report verbatim in a fenced block, then the context."""
    fence = _fence(text)
    attention, common, absent, history = _groups(result)
    out = [f"# Report {result.id}", "", f"{fence}text", text, fence, "", "## What the findings mean", "",
           f"Patient {_age_line(result)}."]

    def card(s: FindingSummary) -> list[str]:
        lines = ["", f"### {_title(s)}", "", s.note]
        p = s.prevalence
        if p and p.percent is not None:
            lines += ["", f"*About {p.percent} in 100 people {('aged ' + str(p.age) + ' ') if p.age else ''}"
                          f"without back pain have this ({p.source}).*"]
        return lines

    if attention:
        out += ["", "## Findings your clinician needs to look at"]
        for s in attention:
            out += card(s)
    if common:
        out += ["", "## Other findings"]
        for s in common:
            out += card(s)
    for line in _listed(absent, history):
        out += ["", line]
    if result.appendix:
        title, _, rest = result.appendix.partition("\n")
        out += ["", f"## {title}", "", rest.replace("\n", "\n\n")]
    return "\n".join(out) + "\n"


# --- HTML ---------------------------------------------------------------------

CSS = """
:root { --ink:#1d2430; --muted:#5b6472; --line:#d8dde5; --mark:#fff2a8; --warn:#9a3412; --warnbg:#fff4ed;
        --fill:#2563eb; --empty:#dbe3ef; --found:#fde68a; --attn:#fdba8c; --maybe:#dbeafe; --past:#ede9fe; }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       margin: 0 auto; padding: 1rem; max-width: 60rem; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; } h3 { font-size: 1rem; margin: 0 0 .4rem; }
pre.report { white-space: pre-wrap; word-wrap: break-word; background: #f7f8fa; border: 1px solid var(--line);
             border-radius: 6px; padding: .8rem; font: 14px/1.6 ui-monospace, Menlo, Consolas, monospace; }
/* highlights: each kind has its own colour AND its own text cue and line, never colour alone */
a.hl { color: inherit; text-decoration: none; }
mark { border-radius: 2px; padding: 0 1px; color: inherit; }
mark[data-cue]::after { content: " [" attr(data-cue) "]"; font: 600 .72em system-ui, sans-serif;
                        color: var(--muted); white-space: nowrap; }
mark.m-present { background: var(--found); border-bottom: 2px solid #b45309; }
mark.m-present.attention { background: var(--attn); border-bottom: 3px double var(--warn); }
mark.m-present.attention::after, mark.m-possible.attention::after { color: var(--warn); }
mark.m-possible { background: var(--maybe); border-bottom: 2px dashed #1d4ed8; }
mark.m-possible.attention { background: #ffe4d4; border-bottom: 2px dashed var(--warn); }
mark.m-historical { background: var(--past); border-bottom: 2px dotted #6d28d9; }
mark.m-absent { background: transparent; color: var(--muted); text-decoration: line-through;
                text-decoration-color: #6b7280; border-bottom: 0; }
a.hl:target mark, a.hl:focus-visible mark { outline: 3px solid #f59e0b; outline-offset: 1px; }
ul.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .3rem 1.2rem; font-size: .9rem; margin: .4rem 0 .6rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(17rem, 1fr)); gap: .8rem; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: .8rem; background: #fff; }
.card.attention { border-color: var(--warn); background: var(--warnbg); }
.card:target { outline: 3px solid #f59e0b; }
.card .meta { color: var(--muted); font-size: .85rem; margin-bottom: .4rem; }
.card p { margin: .3rem 0; }
.back { font-size: .9rem; }
.icons { display: grid; grid-template-columns: repeat(10, .8rem); gap: 2px; margin: .5rem 0 .2rem; }
.icons span { width: .8rem; height: .8rem; border-radius: 50%; background: var(--empty); }
.icons span.on { background: var(--fill); }
.figure { font-size: .9rem; color: var(--muted); }
.bottom-line { border: 2px solid var(--line); border-radius: 10px; padding: .4rem 1rem 1rem; background: #fbfcfe; }
.bottom-line h2 { margin-top: .6rem; }
.bl-groups { display: grid; grid-template-columns: repeat(auto-fit, minmax(15rem, 1fr)); gap: .8rem; }
.bl-group { border-left: 5px solid var(--line); padding: .2rem .8rem; }
.bl-group ul { margin: .3rem 0; padding-left: 1.2rem; }
.bl-group p { margin: .2rem 0; }
.bl-attention { border-left-color: var(--warn); background: var(--warnbg); }
.bl-common { border-left-color: var(--fill); }
.bl-other { border-left-color: #9aa3af; }
.urgent { border: 2px solid var(--warn); border-radius: 8px; padding: .5rem .8rem; background: #fff; margin: .8rem 0; }
.urgent h3, .urgent h4 { margin: .2rem 0; font-size: 1rem; color: var(--warn); }
.urgent ul { margin: .3rem 0; padding-left: 1.2rem; }
.urgent p { margin: .3rem 0; }
.urgent .source { font-size: .82rem; color: var(--muted); }
.shared { background: #f3f6fb; border-radius: 6px; padding: .5rem .8rem; }
ol.questions li { margin: .25rem 0; }
.lv { color: var(--muted); font-size: .9rem; }
.not-there li, .history li { margin: .2rem 0; }
.appendix { border-left: 4px solid var(--line); padding-left: .8rem; }
footer { margin-top: 2rem; color: var(--muted); font-size: .85rem; }
@media print { body { max-width: none; } .card, .urgent, .bl-group { break-inside: avoid; }
               mark { background: none !important; } mark.m-present, mark.m-possible, mark.m-historical { text-decoration: underline; } }
"""


def _icon_array(percent: int, age: Optional[int]) -> str:
    who = f"people aged {age}" if age else "people"
    label = f"About {percent} of 100 {who} without back pain have this"
    cells = "".join('<span class="on"></span>' if i < percent else "<span></span>" for i in range(100))
    return (f'<div class="icons" role="img" aria-label="{html.escape(label)}">{cells}</div>'
            f'<div class="figure">{html.escape(label)}.</div>')


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _anchor(finding: str) -> str:
    """The id of a finding's card (ids in the taxonomy are snake_case; anything else is escaped)."""
    return "card-" + re.sub(r"[^A-Za-z0-9_-]", "-", finding)


def kept_mentions(result: ReportResult) -> list[int]:
    """Indexes (into result.findings) of the mentions highlighted: by position; an
    overlapping later mention is not highlighted (the first one is kept)."""
    order = sorted(range(len(result.findings)), key=lambda i: (result.findings[i].start, result.findings[i].end))
    kept, pos, seen = [], 0, set()
    for i in order:
        f = result.findings[i]
        if f.start < pos or (f.start, f.end, f.finding) in seen:
            continue
        seen.add((f.start, f.end, f.finding))
        kept.append(i)
        pos = f.end
    return kept


def mention_kind(f) -> str:
    """present, attention, possible, historical or absent: how a mention is marked."""
    if f.assertion in ("present", "possible") and f.attention:
        return "attention"
    return f.assertion


def highlighted(text: str, result: ReportResult, legend=None, *, link=None, id_prefix: str = "m-") -> str:
    """The report text, escaped, with each finding mention in a <mark> whose class and
    text cue say what the report states (found, maybe, past, not there); each links
    to its card (``#card-FINDING``) and carries an id (``m-N``) the card links back to.

    ``link(i, mention)`` gives another target id for mention ``i`` (or None: the mark
    is not a link), for pages whose cards are not ``card-FINDING`` (the compare page);
    ``id_prefix`` keeps the ids of two reports on one page apart."""
    if legend is None:
        from .nlp import rules

        legend = rules.load_patient(rules.default_patterns_dir()).legend
    out, pos = [], 0
    for i in kept_mentions(result):
        f = result.findings[i]
        out.append(html.escape(text[pos:f.start], quote=False))
        kind = mention_kind(f)
        cls = f"m-{f.assertion}" + (" attention" if kind == "attention" else "")
        entry = getattr(legend, kind)
        mark = (f'<mark class="{cls}" data-finding="{_e(f.finding)}" data-assertion="{_e(f.assertion)}" '
                f'data-cue="{_e(entry.cue)}" title="{_e(entry.text)}">'
                f'{html.escape(text[f.start:f.end], quote=False)}</mark>')
        target = _anchor(f.finding) if link is None else link(i, f)
        out.append(f'<a class="hl" href="#{_e(target)}" id="{_e(id_prefix)}{i}">{mark}</a>' if target else mark)
        pos = f.end
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out)


def _legend_html(legend) -> str:
    items = []
    for kind, cls in (("present", "m-present"), ("attention", "m-present attention"), ("possible", "m-possible"),
                      ("historical", "m-historical"), ("absent", "m-absent")):
        entry = getattr(legend, kind)
        items.append(f'<li><mark class="{cls}" data-cue="{_e(entry.cue)}">finding</mark> {_e(entry.text)}</li>')
    return (f'<p class="legend-title"><strong>{_e(legend.title)}</strong></p>'
            f'<ul class="legend" id="legend">{"".join(items)}</ul>')


def _urgent_html(u, *, heading: str = "h4", element_id: str = "", full: bool = False) -> str:
    """Urgent-symptom advice; ``full`` gives each source's whole citation (the bottom line), else its short name."""
    ident = f' id="{element_id}"' if element_id else ""
    parts = [f'<div class="urgent"{ident} data-groups="{_e(" ".join(u.groups))}">',
             f"<{heading}>{_e(u.title)}</{heading}>", f"<p>{_e(u.intro)}</p>",
             f"<p><strong>{_e(u.same_day_text)}</strong></p>",
             "<ul>" + "".join(f"<li>{_e(x)}</li>" for x in u.same_day) + "</ul>"]
    if u.prompt:
        parts += [f"<p>{_e(u.prompt_text)}</p>", "<ul>" + "".join(f"<li>{_e(x)}</li>" for x in u.prompt) + "</ul>"]
    if u.risk:
        parts += [f"<p>{_e(u.risk_text)}</p>", "<ul>" + "".join(f"<li>{_e(x)}</li>" for x in u.risk) + "</ul>"]
    if full:
        cites = "; ".join(f"{_e(s['citation'])}" + (f" doi:{_e(s['doi'])}" if s.get("doi") else "") for s in u.sources)
    else:
        cites = "; ".join(_e(s["short"]) for s in u.sources) + "."
    parts.append(f'<p class="source">{_e(u.source_text)} {cites}</p></div>')
    return "".join(parts)


def _card_html(c, result: ReportResult, kept: set, to_report: str) -> str:
    cls = "card attention" if c.attention else "card"
    parts = [f'<article class="{cls}" id="{_anchor(c.finding)}" data-finding="{_e(c.finding)}">',
             f"<h3>{_e(c.title)}</h3>"]
    if c.meta:
        parts.append(f'<div class="meta">{_e(" · ".join(c.meta))}</div>')
    parts += [f"<p>{_e(p)}</p>" for p in c.paragraphs]
    if c.figure:
        parts.append(_icon_array(c.figure["percent"], c.figure["age"]))
        parts.append(f'<div class="figure">Source: {_e(c.figure["source"])}.</div>')
    if c.urgent:
        parts.append(_urgent_html(c.urgent))
    back = _back_link(c.finding, result, kept, to_report)
    if back:
        parts.append(back)
    parts.append("</article>")
    return "".join(parts)


def _back_link(finding: str, result: ReportResult, kept: set, to_report: str) -> str:
    first = next((i for i, f in enumerate(result.findings) if f.finding == finding and i in kept), None)
    return f'<p class="back"><a href="#m-{first}">{_e(to_report)}</a></p>' if first is not None else ""


def _entries(entries) -> str:
    return "".join(f'<li><a href="#{_anchor(e.finding)}">{_e(e.label[:1].upper() + e.label[1:])}</a>'
                   + (f' <span class="lv">{_e(", ".join(e.levels))}</span>' if e.levels else "")
                   + (' <span class="lv">(maybe)</span>' if e.possible else "") + "</li>" for e in entries)


def _inline(entries) -> str:
    return ", ".join(f'<a href="#{_anchor(e.finding)}">{_e(e.label)}</a>' for e in entries)


def bottom_line_html(view) -> str:
    t = view.texts
    g = t.groups
    out = ['<section class="bottom-line" id="bottom-line" aria-labelledby="bottom-line-h">',
           f'<h2 id="bottom-line-h">{_e(t.headings.bottom_line)}</h2>', f"<p>{_e(view.intro)}</p>"]
    groups = []
    if view.attention:
        groups.append(f'<div class="bl-group bl-attention" id="bl-attention"><h3>{_e(g.attention.heading)}</h3>'
                      f"<p>{_e(view.attention_text)}</p><ul>{_entries(view.attention)}</ul></div>")
    if view.common:
        groups.append(f'<div class="bl-group bl-common" id="bl-common"><h3>{_e(g.common.heading)}</h3>'
                      f"<p>{_e(view.common_text)}</p><ul>{_entries(view.common)}</ul></div>")
    if view.other:
        groups.append(f'<div class="bl-group bl-other" id="bl-other"><h3>{_e(g.other.heading)}</h3>'
                      f"<p>{_e(view.other_text)}</p><ul>{_entries(view.other)}</ul></div>")
    if groups:
        out.append('<div class="bl-groups">' + "".join(groups) + "</div>")
    if view.empty_text:
        out.append(f'<p id="bl-empty">{_e(view.empty_text)}</p>')
    if view.urgent:
        out.append(_urgent_html(view.urgent, heading="h3", element_id="urgent-summary", full=True))
    if view.not_there:
        out.append(f'<p id="bl-not-there">{_e(g.not_there)} {_inline(view.not_there)}.</p>')
    if view.history:
        out.append(f'<p id="bl-history">{_e(g.history)} {_inline(view.history)}.</p>')
    out.append("</section>")
    return "".join(out)


def html_body(text: str, result: ReportResult, patterns_dir=None) -> str:
    """The page body (no <html>/<head>): reused by the web service's page.

    Order: the bottom line, questions for the clinician, the cards (attention
    first), what the report says is not there, then the report itself with its
    legend. Built from :func:`spinecontext.patient.patient_view` of the result."""
    from .patient import patient_view

    view = patient_view(result, patterns_dir)
    t = view.texts
    kept = set(kept_mentions(result))
    to_report = t.links.to_report
    out = ["<h1>Your report, explained</h1>",
           f'<p class="meta">Report {_e(result.id)} · patient {_e(_age_line(result))}</p>',
           bottom_line_html(view)]
    if view.questions:
        out += [f'<h2 id="questions">{_e(t.headings.questions)}</h2>',
                '<ol class="questions">' + "".join(f"<li>{_e(q)}</li>" for q in view.questions) + "</ol>"]
    if view.attention_cards:
        out += [f'<h2 id="attention">{_e(t.headings.attention)}</h2>',
                '<div class="cards">' + "".join(_card_html(c, result, kept, to_report) for c in view.attention_cards)
                + "</div>"]
    if view.common_cards:
        out.append(f'<h2 id="findings">{_e(t.headings.common)}</h2>')
        if view.shared_text:
            out.append(f'<p class="shared" id="shared">{_e(view.shared_text)}</p>')
        out.append('<div class="cards">' + "".join(_card_html(c, result, kept, to_report) for c in view.common_cards)
                   + "</div>")
    for entries, heading, ident, cls in ((view.not_there, t.headings.not_there, "not-there", "not-there"),
                                         (view.history, t.headings.history, "history", "history")):
        if entries:
            note = t.legend.absent.text if ident == "not-there" else t.legend.historical.text
            items = "".join(f'<li id="{_anchor(e.finding)}"><strong>{_e(e.label[:1].upper() + e.label[1:])}</strong>'
                            + (f' <span class="lv">{_e(", ".join(e.levels))}</span>' if e.levels else "")
                            + f": {_e(note)} " + _back_link(e.finding, result, kept, to_report).replace(
                                '<p class="back">', '<span class="back">').replace("</p>", "</span>") + "</li>"
                            for e in entries)
            out += [f'<h2 id="{ident}">{_e(heading)}</h2>', f'<ul class="{cls}">{items}</ul>']
    out += [f'<h2 id="report">{_e(t.headings.report)}</h2>', _legend_html(t.legend),
            f'<pre class="report" id="report-text">{highlighted(text, result, t.legend)}</pre>']
    if result.appendix:
        title, _, rest = result.appendix.partition("\n")
        out += [f"<h2>{_e(title)}</h2>",
                '<div class="appendix">' + "".join(f"<p>{_e(line)}</p>" for line in rest.split("\n")) + "</div>"]
    out.append("<footer>Figures are estimates from published studies of people without back pain. "
               "A common finding can still matter for you: talk with your clinician.</footer>")
    return "\n".join(out)


def to_html(text: str, result: ReportResult, patterns_dir=None) -> str:
    """A self-contained HTML page (inline CSS, no scripts, no external requests)."""
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>Report {html.escape(result.id)}, explained</title><style>{CSS}</style></head>"
            f"<body>\n{html_body(text, result, patterns_dir)}\n</body></html>\n")


def report_text_from_html(page: str) -> str:
    """The report text inside a page made by :func:`to_html` (for checking it is unchanged)."""
    m = re.search(r'<pre class="report" id="report-text">(.*?)</pre>', page, re.S)
    if not m:
        raise ValueError("no report block in the page")
    return html.unescape(re.sub(r"</?(?:mark|a)\b[^>]*>", "", m.group(1)))



# --- comparing two reports (spinecontext compare, POST /v1/compare, the page's /compare) ---

COMPARE_COLUMNS = ("change", "finding", "level", "prior", "current", "why")


def compare_texts(patterns_dir=None):
    """The compare view's wording (patterns/compare_page.yaml)."""
    from .nlp import rules

    return rules.load_compare_page(rules.resolve_dir(patterns_dir))


def _state(s) -> str:
    if s is None:
        return "not mentioned"
    out = s.assertion + (f", {s.severity}" if s.severity else "")
    return out + (f" (says {s.change})" if s.change else "")


def _plain_state(s, states, unlevelled: Optional[str] = None) -> str:
    """What one report says about a pair, in the page's words ("there, mild", "not named");
    ``unlevelled``: the report's assertion of the finding without a level ("No fracture."),
    said when the report does not name the pair at its level."""
    if s is None:
        return getattr(states, unlevelled) if unlevelled else states.missing
    return getattr(states, s.assertion) + (f", {s.severity}" if s.severity else "")


def _entry_title(e) -> str:
    label = e.label[:1].upper() + e.label[1:]
    return f"{label} ({e.level})" if e.level else label


def change_anchor(finding: str, level: Optional[str]) -> str:
    """The id of a compare card: one per (finding, level)."""
    return "chg-" + re.sub(r"[^A-Za-z0-9_-]", "-", f"{finding}-{level or 'any'}")


def compare_table(cr) -> str:
    """A plain-text table of a :class:`~spinecontext.compare.CompareResult`, then the notes."""
    head = (f"{cr.prior.id} -> {cr.current.id}  ["
            + ", ".join(f"{n} {c}" for c, n in cr.counts.items()) + "]")
    if not cr.changes:
        return head + "\n  (no findings present in either report)"
    rows = [COMPARE_COLUMNS] + [
        (e.change + (" !" if e.attention and e.change in ("new", "worse") else ""), e.finding, e.level or "-",
         _state(e.prior), _state(e.current), e.reason) for e in cr.changes]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COMPARE_COLUMNS) - 1)]
    lines = [head] + ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1] for r in rows]
    lines += ["", "  What changed:"] + [f"  - {_entry_title(e)}: {e.note}" for e in cr.changes]
    return "\n".join(lines)


def compare_markdown(cr, patterns_dir=None) -> str:
    """Markdown: the changes grouped (new, worse, gone, better, unchanged), then a table."""
    headings = compare_texts(patterns_dir).result.headings
    out = [f"# Comparison: {cr.prior.id} (prior) and {cr.current.id} (current)", ""]
    out.append(", ".join(f"{n} {c}" for c, n in cr.counts.items()) + ".")
    for change in ORDER:
        group = [e for e in cr.changes if e.change == change]
        if group:
            out += ["", f"## {headings[change]}", ""] + [
                f"- **{_entry_title(e)}**{' (needs attention)' if e.attention else ''}: {e.note}" for e in group]
    if not cr.changes:
        out += ["", "No findings from our list are present in either report."]
    else:
        out += ["", "| change | finding | level | prior | current | why |", "|---|---|---|---|---|---|"]
        out += [f"| {e.change} | {e.finding} | {e.level or '-'} | {_state(e.prior)} | {_state(e.current)} | {e.reason} |"
                for e in cr.changes]
    return "\n".join(out) + "\n"


#: The compare view's styles (after CSS): each change has its own colour AND its own
#: badge word and border style, so new, gone and unchanged differ without colour.
COMPARE_CSS = """
.change-group { margin: 1rem 0; }
.change-group h2 { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem; }
.badge { display: inline-block; min-width: 5.5rem; text-align: center; font-size: .8rem; font-weight: 700;
         text-transform: uppercase; letter-spacing: .04em; border-radius: 999px; padding: .1rem .6rem; border: 2px solid; }
.card h3 .badge { min-width: 0; margin-right: .4rem; font-size: .72rem; vertical-align: .1em; }
.badge.new { color: #9a3412; border-color: #9a3412; background: #fff4ed; }
.badge.worse { color: #7c2d12; border-color: #7c2d12; background: #ffedd5; border-style: double; border-width: 3px; }
.badge.gone { color: #1e3a8a; border-color: #1e3a8a; background: #eff6ff; border-style: dashed; }
.badge.better { color: #166534; border-color: #166534; background: #f0fdf4; }
.badge.unchanged { color: #374151; border-color: #6b7280; background: #f3f4f6; border-style: dotted; }
.card.change-new { border-left: 6px solid #9a3412; }
.card.change-worse { border-left: 6px double #7c2d12; }
.card.change-gone { border-left: 6px dashed #1e3a8a; background: #f8faff; }
.card.change-better { border-left: 6px solid #166534; }
.card.change-unchanged { border-left: 6px dotted #6b7280; }
.card.attention.change-gone, .card.attention.change-better, .card.attention.change-unchanged { background: #fff; }
details.changes-details { margin: 1.2rem 0; }
details.changes-details summary { font-weight: 600; cursor: pointer; }
.table-wrap { overflow-x: auto; }
table.changes { border-collapse: collapse; width: 100%; font-size: .9rem; }
table.changes th, table.changes td { border: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
.reports { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(22rem, 100%), 1fr)); gap: 1rem; }
.reports > div { min-width: 0; }
"""


def _compare_links(result: ReportResult, cards: dict) -> tuple:
    """(link(i, mention) for :func:`highlighted`, {card id: first mention index}) for one report:
    a mention links to the card of its (finding, level), or for a mention without a level
    to the finding's first card; a mention with no card is not a link."""
    by_finding: dict[str, str] = {}
    for (finding, _level), ident in cards.items():
        by_finding.setdefault(finding, ident)

    def link(i, f):
        if not f.levels:
            return cards.get((f.finding, ""), by_finding.get(f.finding))
        return next((cards[(f.finding, lv)] for lv in f.levels if (f.finding, lv) in cards), None)

    first: dict[str, int] = {}
    for i in kept_mentions(result):
        target = link(i, result.findings[i])
        if target and target not in first:
            first[target] = i
    return link, first


def compare_html_body(cr, prior_text: str, current_text: str, patterns_dir=None, *,
                      prior_name: Optional[str] = None, current_name: Optional[str] = None) -> str:
    """The compare view (no <html>/<head>): the patient page's ``/compare`` and
    :func:`compare_html`. Each card has an id (``chg-FINDING-LEVEL``); the marks in
    both reports link to their card and each card links back to its first mention in
    each report (``prior-m-N``, ``current-m-N``), so no link points nowhere."""
    from .nlp import rules
    from .patient import patient_view

    texts = compare_texts(patterns_dir)
    t = texts.result
    legend = rules.load_patient(rules.resolve_dir(patterns_dir)).legend
    cards = {(e.finding, e.level or ""): change_anchor(e.finding, e.level) for e in cr.changes}
    prior_link, prior_first = _compare_links(cr.prior, cards)
    current_link, current_first = _compare_links(cr.current, cards)
    counts = ", ".join(f"{cr.counts.get(c, 0)} {t.badges[c]}" for c in ORDER)
    pa, ca = cr.prior.assertions(), cr.current.assertions()
    out = [f"<h1>{_e(t.title)}</h1>",
           '<p class="meta">' + _e(t.meta.format(prior=prior_name or cr.prior.id,
                                                 current=current_name or cr.current.id)) + "</p>",
           f'<p id="compare-intro">{_e(t.intro)}</p>', f'<p id="change-counts">{_e(counts)}.</p>']
    urgent = patient_view(cr.current, patterns_dir).urgent
    if urgent:
        out.append(_urgent_html(urgent, heading="h3", element_id="urgent-summary", full=True))
    for change in ORDER:
        group = [e for e in cr.changes if e.change == change]
        if not group:
            continue
        badge = f'<span class="badge {change}">{_e(t.badges[change])}</span>'
        out.append(f'<section class="change-group" id="change-{change}" data-change="{change}">')
        out.append(f"<h2>{badge} {_e(t.headings[change])}</h2><div class=\"cards\">")
        for e in group:
            ident = cards[(e.finding, e.level or "")]
            cls = f"card change-{change}" + (" attention" if e.attention else "")
            meta = [x for x in (e.level, e.current.severity if e.current else None) if x]
            backs = [f'<a href="#{side}-m-{first[ident]}">{_e(words)}</a>'
                     for side, first, words in (("prior", prior_first, t.to_prior), ("current", current_first, t.to_current))
                     if ident in first]
            out.append(f'<article class="{cls}" id="{ident}" data-finding="{_e(e.finding)}" '
                       f'data-level="{_e(e.level or "")}" data-change="{change}">'
                       f"<h3>{badge} {_e(e.label[:1].upper() + e.label[1:])}</h3>"
                       + (f'<div class="meta">{_e(" · ".join(meta))}</div>' if meta else "")
                       + f'<p class="change-note">{_e(e.note)}</p>'
                       + f'<div class="figure">{_e(t.last_scan)}: {_e(_plain_state(e.prior, t.states, pa.get((e.finding, ""))))}. '
                         f'{_e(t.this_scan)}: {_e(_plain_state(e.current, t.states, ca.get((e.finding, ""))))}.</div>'
                       + (f'<p class="back">{" · ".join(backs)}</p>' if backs else "")
                       + "</article>")
        out.append("</div></section>")
    if not cr.changes:
        out.append(f'<p id="compare-none">{_e(t.none)}</p>')
    else:
        out.append(f'<details class="changes-details"><summary>{_e(t.details)}</summary>'
                   '<div class="table-wrap"><table class="changes"><tr>'
                   + "".join(f"<th>{c}</th>" for c in COMPARE_COLUMNS) + "</tr>")
        out += [f'<tr class="change-{e.change}"><td>{_e(e.change)}</td><td>{_e(e.label)}</td><td>{_e(e.level or "-")}</td>'
                f"<td>{_e(_state(e.prior))}</td><td>{_e(_state(e.current))}</td><td>{_e(e.reason)}</td></tr>"
                for e in cr.changes]
        out.append("</table></div></details>")
    out += [f'<h2 id="reports">{_e(t.reports)}</h2>', _legend_html(legend), '<div class="reports">',
            f'<div><h3>{_e(t.prior_report)}</h3><pre class="report" id="prior-text">'
            f'{highlighted(prior_text, cr.prior, legend, link=prior_link, id_prefix="prior-m-")}</pre></div>',
            f'<div><h3>{_e(t.current_report)}</h3><pre class="report" id="current-text">'
            f'{highlighted(current_text, cr.current, legend, link=current_link, id_prefix="current-m-")}</pre></div>',
            "</div>", f"<footer>{_e(t.footer)}</footer>"]
    return "\n".join(out)


def compare_html(cr, prior_text: str, current_text: str, patterns_dir=None) -> str:
    """A self-contained compare page (inline CSS, no scripts, no external requests, report text escaped)."""
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>Reports {html.escape(cr.prior.id)} and {html.escape(cr.current.id)} compared</title>"
            f"<style>{CSS}{COMPARE_CSS}</style></head>"
            f"<body>\n{compare_html_body(cr, prior_text, current_text, patterns_dir)}\n</body></html>\n")
