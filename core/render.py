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
