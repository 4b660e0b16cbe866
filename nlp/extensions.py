"""The one place where spinecontext registers its spaCy extensions.

All stored values are plain JSON data (dicts, lists, strings, numbers), so a
Doc survives ``nlp.pipe(n_process=...)``, ``Doc.to_bytes`` and ``DocBin``.
Span extensions are getters over that data, never stored objects.
"""

from __future__ import annotations

from typing import Any, Optional

from spacy.tokens import Doc, Span

DOC_EXTENSIONS = {
    # [{"name", "kind", "region", "start", "end", "header_end"}]
    "spine_sections": None,
    # [[start, end], ...] character offsets of sentences
    "spine_sentences": None,
    # [{"levels", "start", "end", "header", "scope_end"}]
    "spine_levels": None,
    # [{"finding", "start", "end", "text", "levels", "section", ...}]
    "spine_findings": None,
    # the caller's age, set before the pipeline runs (spinecontext.make_doc)
    "spine_given_age": None,
    # {"age", "source": given|report|none, ...}
    "spine_age": None,
    # one entry per finding (report level), each with a note
    "spine_summary": None,
    # the radiologist's appendix (text) or None
    "spine_appendix": None,
}


def _finding_for(span: Span) -> Optional[dict[str, Any]]:
    for f in span.doc._.spine_findings or ():
        if f["finding"] == span.label_ and span.start_char <= f["start"] and f["end"] <= span.end_char:
            return f
    return None


def register() -> None:
    """Register extensions (idempotent)."""
    for name, default in DOC_EXTENSIONS.items():
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=default)
    if not Span.has_extension("spine_finding"):
        Span.set_extension("spine_finding", getter=_finding_for)


register()
