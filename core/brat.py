"""One report's findings in brat standoff format (``.txt`` + ``.ann``).

- The ``.txt`` is the report text unchanged, so brat offsets equal the JSON
  contract's ``start``/``end``. Offsets are in characters (brat reads UTF-8
  text); write the ``.txt`` with ``encoding="utf-8", newline=""`` so a CRLF
  report keeps its ``\\r`` characters and the offsets stay right.
- One ``T`` line per finding mention, typed with the taxonomy id
  (``T1<TAB>disc_bulge 27 32<TAB>bulge``). A mention that runs over a line
  break (or a tab) is split into discontinuous fragments
  (``start end;start end``) around the breaks, as brat needs: every fragment
  is a slice of the text without a line break or tab, and the text field is
  the fragments joined by single spaces.
- ``A`` lines: ``Assertion`` (present / absent / possible / historical),
  ``Severity``, ``Laterality`` when known, and the binary ``Attention`` for
  findings that need the clinician's attention.
- ``#`` lines (``AnnotatorNotes``): the levels and the report section.

:func:`brat_annotation_conf` gives the matching ``annotation.conf``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional, Union

from .result import FindingResult, ReportResult

ASSERTIONS = ("present", "absent", "possible", "historical")
SEVERITIES = ("mild", "moderate", "severe")
LATERALITIES = ("left", "right", "bilateral", "central")
GROUPS = ("common", "incidental", "red_flag")

#: Characters a brat span may not hold: anything Python treats as a line
#: break (str.splitlines) and the tab, which separates .ann fields.
_BREAK = re.compile(r"[\r\n\t\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")


def fragments(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The pieces of ``text[start:end]`` between line breaks, trimmed of spaces.

    Never empty for a span holding any visible character; a span of only
    spaces and breaks gives its unsplit (start, end).
    """
    out: list[tuple[int, int]] = []
    pos = start
    for m in list(_BREAK.finditer(text, start, end)) + [None]:
        stop = m.start() if m else end
        s, e = pos, stop
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e:
            out.append((s, e))
        if m:
            pos = m.end()
    return out or [(start, end)]


def _t_line(n: int, f: FindingResult, text: str) -> str:
    parts = fragments(text, f.start, f.end)
    offsets = ";".join(f"{s} {e}" for s, e in parts)
    words = " ".join(text[s:e] for s, e in parts)
    words = _BREAK.sub(" ", words)  # only for a span of nothing but breaks
    return f"T{n}\t{f.finding} {offsets}\t{words}"


def report_to_brat(result: ReportResult, text: str) -> tuple[str, str]:
    """(``.txt`` content, ``.ann`` content) for one report.

    result: the pipeline's result for ``text`` (its offsets index ``text``).
    text: the report text exactly as annotated.
    """
    if any(f.end > len(text) or f.start < 0 or f.start > f.end for f in result.findings):
        raise ValueError(f"report {result.id}: finding offsets do not fit the text given")
    lines: list[str] = []
    a = note = 0
    for n, f in enumerate(result.findings, 1):
        lines.append(_t_line(n, f, text))
        attrs = [("Assertion", f.assertion), ("Severity", f.severity), ("Laterality", f.laterality)]
        for name, value in attrs:
            if value:
                a += 1
                lines.append(f"A{a}\t{name} T{n} {value}")
        if f.attention:
            a += 1
            lines.append(f"A{a}\tAttention T{n}")
        comment = "; ".join(x for x in (
            f"levels: {', '.join(f.levels)}" if f.levels else "levels: none stated",
            f"section: {f.section}" if f.section else "",
        ) if x)
        note += 1
        lines.append(f"#{note}\tAnnotatorNotes T{n}\t{_BREAK.sub(' ', comment)}")
    return text, "".join(line + "\n" for line in lines)


def brat_annotation_conf(patterns_dir: Optional[Union[str, Path]] = None) -> str:
    """An ``annotation.conf`` declaring every finding of the rule files and the attributes.

    Findings are grouped under their group (``!common``, ``!incidental``,
    ``!red_flag``: headings that cannot be annotated themselves). Overlapping
    mentions are allowed (``<OVERLAP>``), as the pipeline can produce them.
    patterns_dir: rule files to read instead of the packaged ones.
    """
    from .nlp.rules import load_findings, resolve_dir

    rules = load_findings(resolve_dir(patterns_dir))
    lines = ["# spinecontext findings (taxonomy ids), for brat standoff files from spinecontext.brat", "[entities]"]
    for group in GROUPS:
        ids = [r.id for r in rules if r.group == group]
        if ids:
            lines.append(f"!{group}")
            lines += [f"\t{i}" for i in ids]
    lines += [
        "",
        "[relations]",
        "<OVERLAP> Arg1:<ENTITY>, Arg2:<ENTITY>, <OVL-TYPE>:<ANY>",
        "",
        "[events]",
        "",
        "[attributes]",
        f"Assertion Arg:<ENTITY>, Value:{'|'.join(ASSERTIONS)}",
        f"Severity Arg:<ENTITY>, Value:{'|'.join(SEVERITIES)}",
        f"Laterality Arg:<ENTITY>, Value:{'|'.join(LATERALITIES)}",
        "Attention Arg:<ENTITY>",
    ]
    return "\n".join(lines) + "\n"


__all__ = ["report_to_brat", "brat_annotation_conf", "fragments"]
