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
        --fill:#2563eb; --empty:#dbe3ef; }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       margin: 0 auto; padding: 1rem; max-width: 60rem; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; } h3 { font-size: 1rem; margin: 0 0 .4rem; }
pre.report { white-space: pre-wrap; word-wrap: break-word; background: #f7f8fa; border: 1px solid var(--line);
             border-radius: 6px; padding: .8rem; font: 14px/1.45 ui-monospace, Menlo, Consolas, monospace; }
mark { background: var(--mark); border-radius: 2px; }
mark.attention { background: #ffd6c2; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(17rem, 1fr)); gap: .8rem; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: .8rem; background: #fff; }
.card.attention { border-color: var(--warn); background: var(--warnbg); }
.card .meta { color: var(--muted); font-size: .85rem; margin-bottom: .4rem; }
.icons { display: grid; grid-template-columns: repeat(10, .8rem); gap: 2px; margin: .5rem 0 .2rem; }
.icons span { width: .8rem; height: .8rem; border-radius: 50%; background: var(--empty); }
.icons span.on { background: var(--fill); }
.figure { font-size: .9rem; color: var(--muted); }
.appendix { border-left: 4px solid var(--line); padding-left: .8rem; }
footer { margin-top: 2rem; color: var(--muted); font-size: .85rem; }
@media print { body { max-width: none; } .card { break-inside: avoid; } mark { background: none; text-decoration: underline; } }
"""


def _icon_array(percent: int, age: Optional[int]) -> str:
    who = f"people aged {age}" if age else "people"
    label = f"About {percent} of 100 {who} without back pain have this"
    cells = "".join('<span class="on"></span>' if i < percent else "<span></span>" for i in range(100))
    return (f'<div class="icons" role="img" aria-label="{html.escape(label)}">{cells}</div>'
            f'<div class="figure">{html.escape(label)}.</div>')


def highlighted(text: str, result: ReportResult) -> str:
    """The report text, escaped, with each finding mention in a <mark>."""
    spans = sorted({(f.start, f.end, f.finding, f.attention and f.assertion in ("present", "possible"))
                    for f in result.findings})
    out, pos = [], 0
    for start, end, finding, attention in spans:
        if start < pos:
            continue  # overlapping mention: keep the first
        out.append(html.escape(text[pos:start], quote=False))
        cls = ' class="attention"' if attention else ""
        out.append(f'<mark{cls} data-finding="{finding}">{html.escape(text[start:end], quote=False)}</mark>')
        pos = end
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out)


def html_card(s: FindingSummary) -> str:
    cls = "card attention" if s.attention else "card"
    meta = []
    if s.levels:
        meta.append(", ".join(s.levels))
    if s.severity:
        meta.append(s.severity)
    if s.assertion == "possible":
        meta.append("possible")
    parts = [f'<article class="{cls}" data-finding="{s.finding}">',
             f"<h3>{html.escape(s.label[:1].upper() + s.label[1:])}</h3>"]
    if meta:
        parts.append(f'<div class="meta">{html.escape(" · ".join(meta))}</div>')
    parts.append(f"<p>{html.escape(s.note)}</p>")
    p = s.prevalence
    if p and p.percent is not None:
        parts.append(_icon_array(p.percent, p.age))
        parts.append(f'<div class="figure">Source: {html.escape(p.source)}.</div>')
    parts.append("</article>")
    return "".join(parts)


def html_body(text: str, result: ReportResult) -> str:
    """The page body (no <html>/<head>): reused by the web service's page."""
    attention, common, absent, history = _groups(result)
    out = ["<h1>Your report, explained</h1>",
           f'<p class="meta">Report {html.escape(result.id)} · patient {html.escape(_age_line(result))}</p>',
           "<h2>Your report</h2>",
           f'<pre class="report" id="report-text">{highlighted(text, result)}</pre>']
    if attention:
        out += ['<h2 id="attention">Findings your clinician needs to look at</h2>',
                '<div class="cards">' + "".join(html_card(s) for s in attention) + "</div>"]
    if common:
        out += ['<h2 id="findings">What the other findings mean</h2>',
                '<div class="cards">' + "".join(html_card(s) for s in common) + "</div>"]
    out += [f"<p>{html.escape(line)}</p>" for line in _listed(absent, history)]
    if not result.summary:
        out.append("<p>No findings from our list were found in this report.</p>")
    if result.appendix:
        title, _, rest = result.appendix.partition("\n")
        out += [f"<h2>{html.escape(title)}</h2>",
                '<div class="appendix">' + "".join(f"<p>{html.escape(line)}</p>" for line in rest.split("\n")) + "</div>"]
    out.append("<footer>Figures are estimates from published studies of people without back pain. "
               "A common finding can still matter for you: talk with your clinician.</footer>")
    return "\n".join(out)


def to_html(text: str, result: ReportResult) -> str:
    """A self-contained HTML page (inline CSS, no scripts, no external requests)."""
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>Report {html.escape(result.id)}, explained</title><style>{CSS}</style></head>"
            f"<body>\n{html_body(text, result)}\n</body></html>\n")


def report_text_from_html(page: str) -> str:
    """The report text inside a page made by :func:`to_html` (for checking it is unchanged)."""
    m = re.search(r'<pre class="report" id="report-text">(.*?)</pre>', page, re.S)
    if not m:
        raise ValueError("no report block in the page")
    return html.unescape(re.sub(r"</?mark[^>]*>", "", m.group(1)))


# --- comparing two reports (spinecontext compare, POST /v1/compare) ---------------

#: Headings of the change groups, in the order shown.
CHANGE_HEADINGS = {
    "new": "New since the last scan",
    "worse": "Worse than on the last scan",
    "gone": "On the last scan, not on this one",
    "better": "Better than on the last scan",
    "unchanged": "The same as on the last scan",
}
COMPARE_COLUMNS = ("change", "finding", "level", "prior", "current", "why")


def _state(s) -> str:
    if s is None:
        return "not mentioned"
    out = s.assertion + (f", {s.severity}" if s.severity else "")
    return out + (f" (says {s.change})" if s.change else "")


def _entry_title(e) -> str:
    label = e.label[:1].upper() + e.label[1:]
    return f"{label} ({e.level})" if e.level else label


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


def compare_markdown(cr) -> str:
    """Markdown: the changes grouped (new, worse, gone, better, unchanged), then a table."""
    out = [f"# Comparison: {cr.prior.id} (prior) and {cr.current.id} (current)", ""]
    out.append(", ".join(f"{n} {c}" for c, n in cr.counts.items()) + ".")
    for change, heading in CHANGE_HEADINGS.items():
        group = [e for e in cr.changes if e.change == change]
        if group:
            out += ["", f"## {heading}", ""] + [
                f"- **{_entry_title(e)}**{' (needs attention)' if e.attention else ''}: {e.note}" for e in group]
    if not cr.changes:
        out += ["", "No findings from our list are present in either report."]
    else:
        out += ["", "| change | finding | level | prior | current | why |", "|---|---|---|---|---|---|"]
        out += [f"| {e.change} | {e.finding} | {e.level or '-'} | {_state(e.prior)} | {_state(e.current)} | {e.reason} |"
                for e in cr.changes]
    return "\n".join(out) + "\n"


COMPARE_CSS = """
.change-group { margin: 1rem 0; }
.change-group h2 { display: flex; align-items: center; gap: .5rem; }
.badge { display: inline-block; min-width: 6.5rem; text-align: center; font-size: .8rem; font-weight: 700;
         text-transform: uppercase; letter-spacing: .04em; border-radius: 999px; padding: .1rem .6rem; border: 2px solid; }
.badge.new { color: #9a3412; border-color: #9a3412; background: #fff4ed; }
.badge.worse { color: #7c2d12; border-color: #7c2d12; background: #ffedd5; }
.badge.gone { color: #1e3a8a; border-color: #1e3a8a; background: #eff6ff; border-style: dashed; }
.badge.better { color: #166534; border-color: #166534; background: #f0fdf4; }
.badge.unchanged { color: #374151; border-color: #6b7280; background: #f3f4f6; }
.card.change-new { border-left: 6px solid #9a3412; }
.card.change-worse { border-left: 6px solid #7c2d12; }
.card.change-gone { border-left: 6px dashed #1e3a8a; }
.card.change-better { border-left: 6px solid #166534; }
.card.change-unchanged { border-left: 6px solid #9ca3af; }
table.changes { border-collapse: collapse; width: 100%; font-size: .9rem; }
table.changes th, table.changes td { border: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
.reports { display: grid; grid-template-columns: repeat(auto-fit, minmax(22rem, 1fr)); gap: 1rem; }
"""


def compare_html_body(cr, prior_text: str, current_text: str) -> str:
    """The compare page body (no <html>/<head>), for the web page to embed later."""
    esc = html.escape
    out = ["<h1>What changed since your last scan</h1>",
           f'<p class="meta">Last scan: report {esc(cr.prior.id)} · this scan: report {esc(cr.current.id)}</p>',
           '<p id="change-counts">' + esc(", ".join(f"{n} {c}" for c, n in cr.counts.items())) + ".</p>"]
    for change, heading in CHANGE_HEADINGS.items():
        group = [e for e in cr.changes if e.change == change]
        if not group:
            continue
        out.append(f'<section class="change-group" id="change-{change}" data-change="{change}">')
        out.append(f'<h2><span class="badge {change}">{esc(change)}</span> {esc(heading)}</h2><div class="cards">')
        for e in group:
            cls = f"card change-{change}" + (" attention" if e.attention else "")
            meta = [x for x in (e.level, e.current.severity if e.current else None) if x]
            out.append(f'<article class="{cls}" data-finding="{esc(e.finding)}" data-change="{change}">'
                       f"<h3>{esc(e.label[:1].upper() + e.label[1:])}</h3>"
                       + (f'<div class="meta">{esc(" · ".join(meta))}</div>' if meta else "")
                       + f"<p>{esc(e.note)}</p>"
                       + f'<div class="figure">Last scan: {esc(_state(e.prior))}. This scan: {esc(_state(e.current))}.</div>'
                       + "</article>")
        out.append("</div></section>")
    if not cr.changes:
        out.append("<p>No findings from our list are present in either report.</p>")
    else:
        out.append('<h2>All findings compared</h2><table class="changes"><tr>'
                   + "".join(f"<th>{c}</th>" for c in COMPARE_COLUMNS) + "</tr>")
        out += [f'<tr class="change-{e.change}"><td>{esc(e.change)}</td><td>{esc(e.label)}</td><td>{esc(e.level or "-")}</td>'
                f"<td>{esc(_state(e.prior))}</td><td>{esc(_state(e.current))}</td><td>{esc(e.reason)}</td></tr>"
                for e in cr.changes]
        out.append("</table>")
    out += ['<h2>The two reports</h2><div class="reports">',
            f'<div><h3>Last scan</h3><pre class="report" id="prior-text">{highlighted(prior_text, cr.prior)}</pre></div>',
            f'<div><h3>This scan</h3><pre class="report" id="current-text">{highlighted(current_text, cr.current)}</pre></div>',
            "</div>",
            "<footer>The change comes from what the two reports say and the words of the newer report. "
            "A finding that is the same can still matter for you: talk with your clinician.</footer>"]
    return "\n".join(out)


def compare_html(cr, prior_text: str, current_text: str) -> str:
    """A self-contained compare page (inline CSS, no scripts, no external requests, report text escaped)."""
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>Reports {html.escape(cr.prior.id)} and {html.escape(cr.current.id)} compared</title>"
            f"<style>{CSS}{COMPARE_CSS}</style></head>"
            f"<body>\n{compare_html_body(cr, prior_text, current_text)}\n</body></html>\n")
