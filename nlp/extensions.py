"""The one place where spinecontext registers its spaCy extensions.

All stored values are plain JSON data (dicts, lists, strings, numbers), so a
Doc survives ``nlp.pipe(n_process=...)``, ``Doc.to_bytes`` and ``DocBin``.
Span extensions are getters over that data, never stored objects. medspaCy's
data model (ConText flags, modifiers, sections) is registered here too, as
getters over the same data (``medspacy_view``).
"""

from __future__ import annotations

from typing import Any, Optional

from bisect import bisect_left, bisect_right

from spacy.attrs import IDX, LENGTH
from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from . import medspacy_view

DOC_EXTENSIONS = {
    # [{"name", "kind", "region", "start", "end", "header_end"}]
    "spine_sections": None,
    # [[start, end], ...] character offsets of sentences
    "spine_sentences": None,
    # [{"levels", "start", "end", "header", "scope_end"}]
    "spine_levels": None,
    # [{"finding", "start", "end", "text", "levels", "section_name", ...}]
    # (no dict key "section", "modifier", "modifiers" or "context_graph" anywhere: medspaCy's
    # msgpack decoders take any dict with one of those keys for their objects)
    "spine_findings": None,
    # the caller's age, set before the pipeline runs (spinecontext.make_doc)
    "spine_given_age": None,
    # {"age", "source": given|report|none, ...}
    "spine_age": None,
    # one entry per finding (report level), each with a note
    "spine_summary": None,
    # the radiologist's appendix (text) or None
    "spine_appendix": None,
    # change over time, report level: {"compared", "global_unchanged", "procedures"} or None
    "spine_change": None,
}


def _key(name: str) -> tuple:
    return ("._.", name, None, None)


#: Whether doc extension values live in ``doc.user_data`` under spaCy's key
#: ("._.", name, None, None); checked once in :func:`register`. Components then
#: read and write them there directly: each ``doc._`` access builds an
#: Underscore object, and a report takes a few dozen of them.
_DIRECT = False


def get(doc: Doc, name: str) -> Any:
    """The value of Doc extension ``name`` (same as ``doc._.<name>``)."""
    if _DIRECT:
        return doc.user_data.get(_key(name))
    return getattr(doc._, name)


def put(doc: Doc, name: str, value: Any) -> None:
    """Set Doc extension ``name`` (same as ``doc._.<name> = value``)."""
    if _DIRECT:
        doc.user_data[_key(name)] = value
    else:
        setattr(doc._, name, value)


def _section_spans(doc: Doc) -> list[Span]:
    return record_spans(doc, get(doc, "spine_sections") or [], "name")


def _level_spans(doc: Doc) -> list[Span]:
    return record_spans(doc, get(doc, "spine_levels") or [], "LEVEL")


def record_spans(doc: Doc, records: list[dict], label: str) -> list[Span]:
    """Spans for records with "start"/"end" offsets; ``label`` names the record field
    holding the label, or is the label itself when records have no such field.

    The same spans as ``doc.char_span(start, end, alignment_mode="expand")``: the
    tokens that overlap the characters, found by bisection over the token offsets
    (one array read a report instead of a token walk per record).
    """
    if not records or not len(doc):
        return []
    arr = doc.to_array([IDX, LENGTH])
    starts = arr[:, 0].tolist()
    ends = (arr[:, 0] + arr[:, 1]).tolist()
    n = len(starts)
    out = []
    for r in records:
        a, b = r["start"], r["end"]
        if a >= b:
            continue
        i = bisect_right(ends, a)      # first token ending after the start
        j = bisect_left(starts, b)     # tokens starting before the end
        if i < j <= n:
            out.append(Span(doc, i, j, label=r.get(label, label)))
    return out


def _finding_for(span: Span) -> Optional[dict[str, Any]]:
    for f in get(span.doc, "spine_findings") or ():
        if f["finding"] == span.label_ and span.start_char <= f["start"] and f["end"] <= span.end_char:
            return f
    return None


def register() -> None:
    """Register extensions (idempotent)."""
    global _DIRECT
    for name, default in DOC_EXTENSIONS.items():
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=default)
    if not Span.has_extension("spine_finding"):
        Span.set_extension("spine_finding", getter=_finding_for)
    # spans of sections and levels, built when asked (findings are in doc.spans)
    if not Doc.has_extension("spine_section_spans"):
        Doc.set_extension("spine_section_spans", getter=_section_spans)
    if not Doc.has_extension("spine_level_spans"):
        Doc.set_extension("spine_level_spans", getter=_level_spans)
    medspacy_view.register()
    probe = Doc(Vocab(), words=["x"])
    probe._.spine_age = {"age": 1}
    _DIRECT = probe.user_data.get(_key("spine_age")) == {"age": 1}


register()
