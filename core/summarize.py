"""Summarise an archive of results (a JSONL of JSON contract objects) as HTML and PNG plots.

``spinecontext summarize RESULTS.jsonl -o summary.html`` reads one result a
line (as ``spinecontext annotate --format jsonl`` writes), streaming: it
keeps only counts per (finding, age decade), so memory does not grow with the
archive. It writes a self-contained HTML page (inline CSS, the plots as
base64 PNG data URIs, no scripts, nothing fetched, every text escaped) and
the plots as PNG files:

1. ``by_decade.png``: for each finding with a by-age figure in
   ``patterns/prevalence.yaml``, the share of reports stating it as present
   in each age decade (among the reports with a known age in that decade),
   beside the evidence table's estimate for people without back pain;
2. ``red_flags.png``: how many reports state each red flag as present or
   possible;
3. ``any_common.png``: the share of reports with at least one common finding
   present, by decade.

The archive holds reports of people who had an MRI, most of them probably
because of symptoms; the comparison is context, never a diagnosis, and a
finding being common in people without back pain does not say whether it
causes anyone's pain. Every asymptomatic figure comes from the evidence table
(loaded with the project's rule loader), with its citation.

A line that is not a result object is counted (with its line number, never
its content) and skipped; a line ``{"id": ..., "error": ...}`` (or
``"reason"``) counts as a report that could not be annotated, as does each
line of ``RESULTS.errors.jsonl`` when ``spinecontext batch`` wrote one.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Union

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

ASSERTIONS = ("present", "absent", "possible", "historical")
#: a mention's change over time (None: no comparison stated); results written before
#: change existed have no key and count as None
CHANGES = (None, "new", "worse", "better", "unchanged", "resolved")
GROUPS = ("common", "incidental", "red_flag")
#: Decades with fewer reports than this are drawn as hollow markers.
SMALL_N = 10
#: At most this many unreadable line numbers are kept and shown.
MAX_LINE_NUMBERS = 20
PLOTS = ("by_decade", "red_flags", "any_common")

CONTEXT_NOTE = (
    "The reports in this archive are of people who had a lumbar spine MRI, most of them probably "
    "because of back pain or other symptoms. People without back pain, as in the studies behind the "
    "comparison figures, are a different group. The comparison is context for reading the archive, "
    "not a diagnosis: a finding being common in people without back pain does not tell whether it "
    "causes a particular person's pain."
)


# --- counting ----------------------------------------------------------------
def decade(age: int) -> int:
    """The decade an age falls in: 52 -> 50."""
    return age // 10 * 10


def decade_label(d: int) -> str:
    return f"{d}-{d + 9}"


@dataclass
class Tally:
    """Counts over an archive; memory is bounded by findings x decades."""

    lines: int = 0
    reports: int = 0
    failed: int = 0
    malformed: int = 0
    malformed_lines: list[int] = field(default_factory=list)
    without_age: int = 0
    #: reports with a known age, per decade
    per_decade: Counter = field(default_factory=Counter)
    #: reports with the finding present, per (finding, decade); decade None = age unknown
    present: Counter = field(default_factory=Counter)
    #: reports per (red-flag finding, "present" | "possible"), report level (present wins)
    red_flags: Counter = field(default_factory=Counter)
    #: reports with at least one common finding present, per decade (None = age unknown)
    any_common: Counter = field(default_factory=Counter)
    #: reports that state a comparison with an earlier study (result "change".compared)
    compared: int = 0
    #: among those: reports per (finding, change) where a present/possible mention (or,
    #: for resolved, an absent one) of the finding states that change
    changes: Counter = field(default_factory=Counter)
    #: among those: reports stating each finding (present or possible)
    compared_present: Counter = field(default_factory=Counter)

    def bad_line(self, number: int) -> None:
        self.malformed += 1
        if len(self.malformed_lines) < MAX_LINE_NUMBERS:
            self.malformed_lines.append(number)

    def add(self, obj: object, number: int = 0) -> None:
        """Count one parsed JSON value (a result, an error record, or something malformed)."""
        parsed = _parse_result(obj)
        if parsed == "error":
            self.failed += 1
            return
        if parsed is None:
            self.bad_line(number)
            return
        age, findings, compared = parsed
        self.reports += 1
        if compared:
            self.compared += 1
            for f in {f for f, a, _, _ in findings if a in ("present", "possible")}:
                self.compared_present[f] += 1
            for key in {(f, c) for f, a, _, c in findings if c}:
                self.changes[key] += 1
        d = None if age is None else decade(age)
        if d is None:
            self.without_age += 1
        else:
            self.per_decade[d] += 1
        present = {f for f, a, _, _ in findings if a == "present"}
        for f in present:
            self.present[(f, d)] += 1
        if any(a == "present" and g == "common" for _, a, g, _ in findings):
            self.any_common[d] += 1
        flags: dict[str, str] = {}
        for f, a, g, _ in findings:
            if g == "red_flag" and a in ("present", "possible"):
                if flags.get(f) != "present":
                    flags[f] = a
        for f, a in flags.items():
            self.red_flags[(f, a)] += 1

    def add_line(self, raw: bytes, number: int) -> None:
        """Count one line of a JSONL file (blank lines are skipped)."""
        if not raw.strip():
            return
        self.lines += 1
        try:
            obj = json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            self.bad_line(number)
            return
        self.add(obj, number)

    def decades(self) -> list[int]:
        """Decades to show: every decade from the youngest to the oldest with reports (none if no ages)."""
        seen = sorted(d for d, n in self.per_decade.items() if n)
        return list(range(seen[0], seen[-1] + 10, 10)) if seen else []


def _parse_result(obj: object):
    """(age, [(finding, assertion, group)]) for a result object; "error" for an error record; None if malformed."""
    if not isinstance(obj, dict):
        return None
    if "findings" not in obj and (isinstance(obj.get("error"), str) or isinstance(obj.get("reason"), str)):
        return "error"
    findings, age = obj.get("findings"), obj.get("age")
    if not isinstance(findings, list) or not isinstance(obj.get("id"), str):
        return None
    if age is not None and (isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 150):
        return None
    out = []
    for f in findings:
        if not isinstance(f, dict):
            return None
        fid, a, g, c = f.get("finding"), f.get("assertion"), f.get("group"), f.get("change")
        if not isinstance(fid, str) or a not in ASSERTIONS or g not in GROUPS or c not in CHANGES:
            return None
        out.append((fid, a, g, c))
    change = obj.get("change")
    compared = isinstance(change, dict) and change.get("compared") is True
    return age, out, compared


def tally_lines(lines: Iterable[bytes]) -> Tally:
    tally = Tally()
    for n, raw in enumerate(lines, 1):
        tally.add_line(raw, n)
    return tally


def errors_file(results: Union[str, Path]) -> Path:
    """Where ``spinecontext batch`` writes the reports that failed: ``RESULTS.errors.jsonl``."""
    return Path(f"{results}.errors.jsonl")


def tally_file(path: Union[str, Path]) -> Tally:
    """Count a JSONL file of results, one line at a time."""
    with Path(path).open("rb") as handle:
        return tally_lines(handle)


# --- evidence ------------------------------------------------------------------
@dataclass
class Curve:
    finding: str
    label: str
    row: str
    ages: list[int]
    values: list[float]
    caveat: Optional[str]


@dataclass
class Evidence:
    """The by-age figures of ``patterns/prevalence.yaml`` and the finding labels."""

    curves: list[Curve]
    source_short: str
    citation: str
    doi: Optional[str]
    note: Optional[str]
    ages: list[int]
    labels: dict[str, str]
    red_flags: list[str]

    def value_at_table_age(self, curve: Curve, age: int) -> Optional[float]:
        return curve.values[curve.ages.index(age)] if age in curve.ages else None


def load_evidence(patterns_dir: Optional[Union[str, Path]] = None) -> Evidence:
    """The evidence table through the project's rule loader (nlp.rules)."""
    from .nlp.rules import load_findings, load_prevalence, resolve_dir

    directory = resolve_dir(patterns_dir)
    prev = load_prevalence(directory)
    rules = load_findings(directory)
    labels = {r.id: r.label for r in rules}
    by = prev.by_age
    curves = [Curve(fid, labels.get(fid, fid), fig.row, list(by.ages), list(by.rows[fig.row]), fig.caveat)
              for fid, fig in prev.findings.items() if fig.row is not None]
    src = prev.sources[by.source]
    return Evidence(curves=curves, source_short=src.short, citation=src.citation, doi=src.doi, note=src.note,
                    ages=list(by.ages), labels=labels, red_flags=[r.id for r in rules if r.group == "red_flag"])


# --- plots -------------------------------------------------------------------
def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)  # the Agg backend, without pyplot's global state
    return fig


def _number(v: float) -> str:
    return f"{v:g}"


def share(k: int, n: int) -> Optional[float]:
    return 100.0 * k / n if n else None


def plot_by_decade(tally: Tally, ev: Evidence) -> Figure:
    """Small multiples: archive share per decade (points) against the asymptomatic curve (line)."""
    decades = tally.decades()
    cols = 3
    rows = max(1, -(-len(ev.curves) // cols))
    fig = _figure(12, 3.1 * rows + 1.6)
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True)
    lo = min([ev.ages[0]] + decades)
    hi = max([ev.ages[-1]] + [d + 10 for d in decades])
    for i, ax in enumerate(axes.flat):
        if i >= len(ev.curves):
            ax.set_visible(False)
            continue
        c = ev.curves[i]
        ax.plot(c.ages, c.values, color="#1f5fa8", marker="o", markersize=3, linewidth=1.8,
                label=f"people without back pain ({ev.source_short})", gid=f"evidence:{c.finding}")
        xs, ys, small = [], [], []
        for d in decades:
            p = share(tally.present[(c.finding, d)], tally.per_decade[d])
            if p is not None:
                xs.append(d + 5)
                ys.append(p)
                small.append(tally.per_decade[d] < SMALL_N)
        big = [(x, y) for x, y, s in zip(xs, ys, small) if not s]
        few = [(x, y) for x, y, s in zip(xs, ys, small) if s]
        ax.plot([x for x, _ in big], [y for _, y in big], linestyle="none", marker="s", markersize=6,
                color="#c2571a", label="this archive (reports with an age)", gid=f"archive:{c.finding}")
        if few:
            ax.plot([x for x, _ in few], [y for _, y in few], linestyle="none", marker="s", markersize=6,
                    markerfacecolor="white", color="#c2571a", label=f"this archive, decade with < {SMALL_N} reports",
                    gid=f"archive-few:{c.finding}")
        ax.set_title(c.label + (" *" if c.caveat else ""), fontsize=11)
        ax.set_ylim(0, 100)
        ax.set_xlim(lo - 2, hi + 2)
        ax.grid(True, color="#dddddd", linewidth=0.6)
        if i % cols == 0:
            ax.set_ylabel("% of people / reports")
        if i >= len(ev.curves) - cols:
            ax.set_xlabel("age (years)")
            ax.tick_params(labelbottom=True)
    handles, names = [], []
    for ax in axes.flat:
        for h, n in zip(*ax.get_legend_handles_labels()):
            if n not in names:
                handles.append(h)
                names.append(n)
    fig.legend(handles, names, loc="upper center", ncol=3, frameon=False, fontsize=9, bbox_to_anchor=(0.5, 0.995))
    counts = ", ".join(f"{decade_label(d)}: {tally.per_decade[d]}" for d in decades) or "none"
    foot = [
        f"Line: estimated share of people WITHOUT back pain with the finding, at ages {ev.ages[0]}-{ev.ages[-1]}; "
        f"{ev.source_short} ({ev.citation})",
        "Squares: share of reports in this archive stating the finding as present, in each decade of age (drawn at "
        "mid-decade).",
        f"Reports with a known age per decade: {counts}. Reports without an age: {tally.without_age}.",
        "The archive is of people who had an MRI, most likely with symptoms: this comparison is context, not a diagnosis.",
    ]
    if any(c.caveat for c in ev.curves):
        foot.append("* " + " ".join(sorted({c.caveat for c in ev.curves if c.caveat})))
    text = "\n".join(_wrap(line, 150) for line in foot)
    fig.text(0.01, 0.005, text, fontsize=7.5, va="bottom", ha="left")
    foot_inches = 0.2 + (text.count("\n") + 1) * 7.5 * 1.25 / 72
    fig.tight_layout(rect=(0, foot_inches / fig.get_figheight(), 1, 1 - 0.35 / fig.get_figheight()))
    return fig


def plot_red_flags(tally: Tally, ev: Evidence) -> Figure:
    """Horizontal stacked bars: reports stating each red flag as present or possible."""
    flags = list(ev.red_flags) + sorted({f for f, _ in tally.red_flags} - set(ev.red_flags))
    fig = _figure(9, 1.1 + 0.55 * max(1, len(flags)) + 0.7)
    ax = fig.subplots()
    labels = [ev.labels.get(f, f) for f in flags]
    present = [tally.red_flags[(f, "present")] for f in flags]
    possible = [tally.red_flags[(f, "possible")] for f in flags]
    y = list(range(len(flags)))
    ax.barh(y, present, color="#a8321f", label="present", gid="red_flags:present")
    ax.barh(y, possible, left=present, color="#e8a593", label="possible only", gid="red_flags:possible")
    top = max([p + q for p, q in zip(present, possible)] + [1])
    for yi, p, q in zip(y, present, possible):
        ax.text(p + q + top * 0.01, yi, f"{p} present, {q} possible", va="center", fontsize=9)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.35)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"reports (of {tally.reports})")
    ax.set_title("Red-flag findings: reports stating each as present or possible", fontsize=11)
    ax.legend(loc="lower right", frameon=False, fontsize=9)
    fig.text(0.01, 0.01, "These findings need a clinician's attention; they are never compared with people without back pain.",
             fontsize=7.5)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def plot_any_common(tally: Tally) -> Figure:
    """Bars: share of reports with at least one common finding present, per decade, unknown age, all."""
    groups = [(decade_label(d), tally.any_common[d], tally.per_decade[d]) for d in tally.decades()]
    groups.append(("age unknown", tally.any_common[None], tally.without_age))
    groups.append(("all reports", sum(tally.any_common.values()), tally.reports))
    fig = _figure(9, 4.2)
    ax = fig.subplots()
    x = list(range(len(groups)))
    values = [share(k, n) or 0.0 for _, k, n in groups]
    colors = ["#4a7f3f"] * (len(groups) - 2) + ["#9c9c9c", "#2d4f27"]
    ax.bar(x, values, color=colors, gid="any_common")
    for xi, (_, k, n), v in zip(x, groups, values):
        ax.text(xi, v + 1.5, f"{k}/{n}" if n else "no reports", ha="center", fontsize=8)
    ax.set_xticks(x, [g for g, _, _ in groups], rotation=30, ha="right", fontsize=9)
    ax.set_ylim(0, 110)
    ax.set_ylabel("% of reports")
    ax.set_title("Reports with at least one common finding present (degenerative and other common findings)", fontsize=10)
    fig.tight_layout()
    return fig


def png_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


# --- HTML --------------------------------------------------------------------
CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ccc}
.context{background:#f3f6fb;border-left:4px solid #1f5fa8;padding:.7rem 1rem}
.warn{background:#fff4e5;border-left:4px solid #c2571a;padding:.5rem 1rem}
table{border-collapse:collapse;margin:.8rem 0;font-size:.9rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}td small{color:#555}
img{max-width:100%;height:auto;border:1px solid #eee}
.wide{overflow-x:auto}#by-decade td{white-space:nowrap}
.cite{font-size:.85rem;color:#444}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _pct(k: int, n: int) -> str:
    from .nlp.prevalence import whole

    return f"{whole(100.0 * k / n)}%" if n else "-"


def _img(name: str, data: bytes, alt: str) -> str:
    return f'<img src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}" alt="{_e(alt)}" id="plot-{_e(name)}">'


def _decade_table(tally: Tally, ev: Evidence) -> str:
    decades = tally.decades()
    head = "".join(f"<th>{_e(decade_label(d))}<br><small>n = {tally.per_decade[d]}</small></th>" for d in decades)
    rows = []
    for c in ev.curves:
        cells = []
        for d in decades:
            k, n = tally.present[(c.finding, d)], tally.per_decade[d]
            ref = ev.value_at_table_age(c, d)
            ref_text = (f"no back pain, age {d}: {_e(_number(ref))}%" if ref is not None
                        else "no figure at this age")
            cells.append(f"<td>{_pct(k, n)} <small>({k}/{n})</small><br><small>{ref_text}</small></td>")
        total = sum(v for (f, _), v in tally.present.items() if f == c.finding)
        label = _e(c.label) + (" *" if c.caveat else "")
        rows.append(f"<tr><td>{label}</td>{''.join(cells)}<td>{_pct(total, tally.reports)} <small>({total}/{tally.reports})</small></td></tr>")
    return (f"<div class=\"wide\"><table id=\"by-decade\"><tr><th>finding</th>{head}"
            f"<th>all reports<br><small>n = {tally.reports}, any age</small></th></tr>" + "".join(rows) + "</table></div>")


def _red_flag_table(tally: Tally, ev: Evidence) -> str:
    flags = list(ev.red_flags) + sorted({f for f, _ in tally.red_flags} - set(ev.red_flags))
    rows = "".join(
        f"<tr><td>{_e(ev.labels.get(f, f))}</td><td>{tally.red_flags[(f, 'present')]}</td>"
        f"<td>{tally.red_flags[(f, 'possible')]}</td></tr>" for f in flags)
    return f"<table><tr><th>red flag</th><th>reports: present</th><th>reports: possible only</th></tr>{rows}</table>"


def _change_table(tally: Tally, ev: Evidence) -> str:
    """How often each finding is new or worse (and unchanged, better, resolved) among the
    reports that state a comparison with an earlier study."""
    n = tally.compared
    found = sorted({f for f, _ in tally.changes} | set(tally.compared_present),
                   key=lambda f: (-(tally.changes[(f, "new")] + tally.changes[(f, "worse")]), f))
    rows = []
    for f in found:
        stated = tally.compared_present[f]
        cells = "".join(f"<td>{tally.changes[(f, c)]} <small>({_pct(tally.changes[(f, c)], stated)})</small></td>"
                        for c in ("new", "worse", "unchanged", "better"))
        rows.append(f"<tr><td>{_e(ev.labels.get(f, f))}</td><td>{stated}</td>{cells}"
                    f"<td>{tally.changes[(f, 'resolved')]}</td></tr>")
    return ("<table id=\"change\"><tr><th>finding</th><th>reports stating it</th><th>new</th><th>worse</th>"
            "<th>unchanged</th><th>better</th><th>gone (resolved)</th></tr>" + "".join(rows) + "</table>"
            if rows else "<p>No report that states a comparison names a finding.</p>") + (
            f"<p class=\"cite\">Among the {n} reports (of {tally.reports}) that state a comparison with an earlier "
            "study. Shares are of the reports stating the finding as present or possible; new and worse are what "
            "the report itself says (see the README, Change over time).</p>")


def render_html(tally: Tally, ev: Evidence, images: dict[str, bytes], source_name: str) -> str:
    """The self-contained summary page."""
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<title>Archive summary: {_e(source_name)}</title><style>{CSS}</style></head><body>",
        f"<h1>Archive summary: {_e(source_name)}</h1>",
        f"<p class=\"context\">{_e(CONTEXT_NOTE)}</p>",
        "<table id=\"counts\">",
        f"<tr><td>reports summarised</td><td>{tally.reports}</td></tr>",
        f"<tr><td>reports with a known age</td><td>{tally.reports - tally.without_age}</td></tr>",
        f"<tr><td>reports without an age</td><td>{tally.without_age}</td></tr>",
        f"<tr><td>reports that could not be annotated (error records)</td><td>{tally.failed}</td></tr>",
        f"<tr><td>lines that are not result objects (skipped)</td><td>{tally.malformed}</td></tr>",
        f"<tr><td>reports that state a comparison with an earlier study</td><td>{tally.compared}</td></tr>",
        "</table>",
    ]
    if tally.malformed:
        more = " and more" if tally.malformed > len(tally.malformed_lines) else ""
        parts.append(f"<p class=\"warn\">Skipped lines: {_e(', '.join(map(str, tally.malformed_lines)))}{more}.</p>")
    if not tally.reports:
        parts.append("<p class=\"warn\">The file holds no readable results: there is nothing to summarise.</p>")
    parts += [
        "<h2>Findings by age decade, beside people without back pain</h2>",
        "<p>For each finding: the share of reports in this archive that state it as present, among the reports "
        "with a known age in each decade of age, and the estimated share of people <strong>without</strong> back "
        f"pain who have it on imaging ({_e(ev.source_short)}). The archive is not a sample of people without "
        "pain: the two sets of figures describe different groups, and neither says whether a finding causes any "
        "one person's pain.</p>",
        _img("by_decade", images["by_decade"], "Share of reports with each finding by age decade, beside the share of people without back pain"),
        _decade_table(tally, ev),
    ]
    caveats = sorted({(c.label, c.caveat) for c in ev.curves if c.caveat})
    for label, caveat in caveats:
        parts.append(f"<p class=\"cite\">* {_e(label)}: {_e(caveat)}</p>")
    parts += [
        "<p class=\"cite\">The evidence table gives figures at "
        f"{_e(', '.join(str(a) for a in ev.ages))} years; the table's figures are estimates, were not split by "
        "severity, rest on few studies at the oldest ages, and do not apply outside "
        f"{ev.ages[0]}-{ev.ages[-1]} years.</p>",
        "<h2>Red flags</h2>",
        "<p>Findings that need a clinician's attention. They are counted, never compared with people without "
        "back pain.</p>",
        _img("red_flags", images["red_flags"], "Number of reports with each red-flag finding present or possible"),
        _red_flag_table(tally, ev),
        "<h2>Change over time</h2>",
        "<p>How often findings are new or worse, among the reports that compare with an earlier study.</p>",
        _change_table(tally, ev),
        "<h2>Reports with at least one common finding</h2>",
        _img("any_common", images["any_common"], "Share of reports with at least one common finding present, by decade"),
        "<h2>Source</h2>",
        f"<p class=\"cite\">{_e(ev.citation)}"
        + (f" doi:{_e(ev.doi)}" if ev.doi else "") + (f" ({_e(ev.note)})" if ev.note else "") + "</p>",
        "<p class=\"cite\">Made by spinecontext summarize from the annotated results; no report text is shown.</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


# --- the command ---------------------------------------------------------------
def make_plots(tally: Tally, ev: Evidence) -> dict[str, bytes]:
    """The three plots as PNG bytes, by name (see PLOTS)."""
    return {
        "by_decade": png_bytes(plot_by_decade(tally, ev)),
        "red_flags": png_bytes(plot_red_flags(tally, ev)),
        "any_common": png_bytes(plot_any_common(tally)),
    }


def summarize(results: Union[str, Path], html_path: Union[str, Path], png_dir: Optional[Union[str, Path]] = None,
              patterns_dir: Optional[Union[str, Path]] = None) -> Tally:
    """Read ``results`` (JSONL), write the HTML page and the PNG plots; return the counts.

    png_dir: folder for the PNG files (default: ``<html stem>_plots`` beside the page).
    """
    results, html_path = Path(results), Path(html_path)
    png_dir = Path(png_dir) if png_dir else html_path.with_name(f"{html_path.stem}_plots")
    tally = tally_file(results)
    errors = errors_file(results)
    if errors.is_file():  # spinecontext batch writes failed reports beside its output
        with errors.open("rb") as handle:
            tally.failed += sum(1 for line in handle if line.strip())
    ev = load_evidence(patterns_dir)
    images = make_plots(tally, ev)
    png_dir.mkdir(parents=True, exist_ok=True)
    for name, data in images.items():
        (png_dir / f"{name}.png").write_bytes(data)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(render_html(tally, ev, images, results.name), encoding="utf-8")
    return tally


__all__ = ["Tally", "Evidence", "tally_file", "tally_lines", "load_evidence", "make_plots", "render_html", "summarize"]
