"""medspaCy's data model on a spinecontext Doc, computed when asked.

medspaCy's tools (``visualize_ent``, ``DocConsumer``, ConText, the
Sectionizer) read these extensions:

* ``Span._.is_negated``, ``is_uncertain``, ``is_historical``,
  ``is_hypothetical``, ``is_family``: on a finding span they follow its
  assertion (absent, possible, historical; our assertion has no hypothetical
  or family value, so those two are False);
* ``Span._.modifiers``: the ConText modifiers (``ConTextModifier``) that
  applied to the finding, from the offsets the assertion component stores on
  the finding record (``"context"``), and ``Doc._.context_graph`` (a
  ``ConTextGraph`` of the findings and those modifiers);
* ``Doc._.sections`` (medspaCy ``Section`` objects from ``doc._.spine_sections``:
  category = our section name, title = the header words, body = the rest) and
  ``Token._.section``, through which medspaCy's own getters give
  ``Span._.section_category``, ``section_title``, ``section_body``, ``section_parent``.

Nothing is stored on the Doc: every value is derived from our plain JSON
extension data when it is read, so the pipeline does no extra work and
``n_process``, ``DocBin`` and ``to_disk`` are unaffected.

The same extensions keep serving medspaCy's own pipelines: a value that a
medspaCy component sets (``span._.is_negated = True``, ``token._.section =
...``, ``doc._.sections = [...]``) is stored where spaCy stores extension
values and wins over the derived one, and a span or doc that spinecontext did
not annotate gets medspaCy's defaults (False, ``()``, ``None``, ``[]``).

medspaCy's ConText re-registers ``Span._.modifiers`` and ``Doc._.context_graph``
(``force=True``) whenever one is built; :func:`register` (called by
``spinecontext.load()`` and the helpers of ``spinecontext.medspacy_rules``)
puts these back. The ConText flags and sections are not re-registered by medspaCy.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import OrderedDict
from typing import Any, Optional

from spacy.attrs import IDX, LENGTH
from spacy.tokens import Doc, Span, Token

#: medspaCy's ConText flags and the assertion that sets each on a finding span.
FLAGS = {
    "is_negated": "absent",
    "is_uncertain": "possible",
    "is_historical": "historical",
    "is_hypothetical": None,
    "is_family": None,
}


def _get(doc: Doc, name: str) -> Any:
    return doc.user_data.get(("._.", name, None, None))


def finding_for(span: Span) -> Optional[dict]:
    """The finding record a span of ``doc.spans["spine_findings"]`` (or ``doc.ents``) stands for."""
    findings = _get(span.doc, "spine_findings")
    if not findings:
        return None
    label, a, b = span.label_, span.start_char, span.end_char
    for f in findings:
        if f["finding"] == label and a <= f["start"] and f["end"] <= b:
            return f
    return None


def _flag(name: str, assertion: Optional[str]):
    def getter(span: Span) -> bool:
        key = ("._.", name, span.start_char, span.end_char)
        stored = span.doc.user_data.get(key)
        if stored is not None:
            return stored
        if assertion is None:
            return False
        f = finding_for(span)
        return f is not None and f.get("assertion") == assertion

    def setter(span: Span, value: Any) -> None:
        span.doc.user_data[("._.", name, span.start_char, span.end_char)] = value

    return getter, setter


# --- token offsets ------------------------------------------------------------
def _offsets(doc: Doc) -> tuple[list[int], list[int]]:
    arr = doc.to_array([IDX, LENGTH])
    return arr[:, 0].tolist(), (arr[:, 0] + arr[:, 1]).tolist()


def _tokens(starts: list[int], ends: list[int], a: int, b: int) -> tuple[int, int]:
    """Token range [i, j) overlapping characters [a, b) (an empty range at a's token when a == b)."""
    i = bisect_right(ends, a)
    j = bisect_left(starts, b) if b > a else i
    return i, max(i, j)


# --- per-doc objects, built once and shared ---------------------------------
#: id(doc) -> (fingerprint, objects). medspaCy compares modifiers by identity
#: (visualize_ent shows each one once), so every read of one doc must give the same
#: objects. Entries are checked against a fingerprint of the data they come from,
#: so a reused id never returns another doc's objects.
_CACHE: "OrderedDict[tuple, tuple]" = OrderedDict()
_CACHE_SIZE = 64


def _cached(kind: str, doc: Doc, fingerprint: tuple, build):
    key = (kind, id(doc))
    hit = _CACHE.get(key)
    if hit is not None and hit[0] == fingerprint:
        _CACHE.move_to_end(key)
        return hit[1]
    value = build()
    _CACHE[key] = (fingerprint, value)
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return value


def _modifier_records(doc: Doc) -> tuple:
    findings = _get(doc, "spine_findings") or ()
    return tuple(tuple(tuple(c) for c in f.get("context") or ()) for f in findings)


def _doc_modifiers(doc: Doc) -> tuple[list, dict]:
    """(modifiers, {finding index: [modifier, ...]}) of a spinecontext doc."""
    records = _modifier_records(doc)
    text = doc.text
    return _cached("modifiers", doc, (len(doc), records, text), lambda: _build_modifiers(doc, records, text))


def _build_modifiers(doc: Doc, records: tuple, text: str) -> tuple[list, dict]:
    from medspacy.context import ConTextModifier, ConTextRule

    findings = _get(doc, "spine_findings") or ()
    starts, ends = _offsets(doc)
    by_offsets: dict[tuple, Any] = {}
    scope: dict[tuple, list[int]] = {}
    per_finding: dict[int, list] = {}
    for k, (f, mods) in enumerate(zip(findings, records)):
        if not mods:
            continue
        ti, tj = _tokens(starts, ends, f["start"], f["end"])
        for a, b, category, direction in mods:
            mi, mj = _tokens(starts, ends, a, b)
            key = (a, b, category)
            # the scope reaches from the modifier to the farthest finding it modifies
            lo, hi = scope.setdefault(key, [mi, mj])
            scope[key] = [min(lo, ti, mj), max(hi, tj, mi)]
            per_finding.setdefault(k, []).append((key, mi, mj, direction))
    for k, items in per_finding.items():
        out = []
        for key, mi, mj, direction in items:
            mod = by_offsets.get(key)
            if mod is None:
                rule = ConTextRule(literal=text[key[0]:key[1]], category=key[2], direction=direction.upper())
                lo, hi = scope[key]
                mod = by_offsets[key] = ConTextModifier(rule, mi, mj, None, scope_start=lo, scope_end=hi)
            out.append(mod)
        per_finding[k] = out
    return list(by_offsets.values()), per_finding


def _modifiers_get(span: Span):
    key = ("._.", "modifiers", span.start_char, span.end_char)
    stored = span.doc.user_data.get(key)
    if stored is not None:
        return stored
    findings = _get(span.doc, "spine_findings")
    if not findings:
        return ()
    f = finding_for(span)
    if f is None or not f.get("context"):
        return ()
    k = next(i for i, g in enumerate(findings) if g is f)
    return tuple(_doc_modifiers(span.doc)[1].get(k, ()))


def _modifiers_set(span: Span, value: Any) -> None:
    span.doc.user_data[("._.", "modifiers", span.start_char, span.end_char)] = value


def _context_graph_get(doc: Doc):
    stored = doc.user_data.get(("._.", "context_graph", None, None))
    if stored is not None or _get(doc, "spine_findings") is None:
        return stored
    from medspacy.context import ConTextGraph

    modifiers, per_finding = _doc_modifiers(doc)
    targets = list(doc.spans["spine_findings"]) if "spine_findings" in doc.spans else []
    findings = _get(doc, "spine_findings") or ()
    index = {id(f): i for i, f in enumerate(findings)}
    edges = []
    for span in targets:
        f = finding_for(span)
        for mod in per_finding.get(index.get(id(f)), ()) if f is not None else ():
            edges.append((span, mod))
    return ConTextGraph(targets=targets, modifiers=list(modifiers), edges=edges)


def _context_graph_set(doc: Doc, value: Any) -> None:
    doc.user_data[("._.", "context_graph", None, None)] = value


# --- sections -----------------------------------------------------------------
def _doc_sections(doc: Doc) -> tuple[list[int], list]:
    """(section start offsets, medspaCy Sections) of a spinecontext doc."""
    records = _get(doc, "spine_sections") or ()
    fingerprint = (len(doc), tuple((s["name"], s["start"], s.get("header_end"), s["end"]) for s in records))
    return _cached("sections", doc, fingerprint, lambda: _build_sections(doc, records))


def _build_sections(doc: Doc, records) -> tuple[list[int], list]:
    from medspacy.section_detection import Section

    starts, ends = _offsets(doc)
    out, first = [], []
    for s in records:
        a, h, b = s["start"], s.get("header_end") or s["start"], s["end"]
        h = min(max(h, a), b) if b > a else h
        ti, tj = _tokens(starts, ends, a, h)
        bi, bj = _tokens(starts, ends, h, b)
        if h <= a:
            tj = ti = bi
        out.append(Section(s["name"], ti, tj, bi, max(bi, bj)))
        first.append(ti)
    return first, out


def _sections_get(doc: Doc):
    key = ("._.", "sections", None, None)
    stored = doc.user_data.get(key)
    if stored is not None:
        return stored
    if _get(doc, "spine_sections") is None:
        value: list = []  # medspaCy's default (a fresh list, stored, so that .append works)
        doc.user_data[key] = value
        return value
    return list(_doc_sections(doc)[1])


def _sections_set(doc: Doc, value: Any) -> None:
    doc.user_data[("._.", "sections", None, None)] = value


def _token_section_get(token: Token):
    stored = token.doc.user_data.get(("._.", "section", token.idx, None))
    if stored is not None or _get(token.doc, "spine_sections") is None:
        return stored
    first, sections = _doc_sections(token.doc)
    k = bisect_right(first, token.i) - 1
    return sections[k] if k >= 0 else None


def _token_section_set(token: Token, value: Any) -> None:
    token.doc.user_data[("._.", "section", token.idx, None)] = value


# --- registration ---------------------------------------------------------------
#: Section getters of spans and tokens, as medspaCy defines them (through
#: Token._.section); registered only where medspaCy has not registered them.
def _token_section_attr(attr: str):
    def get(token: Token):
        s = token._.section
        if s is None:
            return None
        if attr == "category":
            return s.category
        if attr == "parent":
            return s.parent
        start, end = getattr(s, attr)
        return token.doc[start:end]
    return get


_TOKEN_DERIVED = {
    "section_category": _token_section_attr("category"),
    "section_parent": _token_section_attr("parent"),
    "section_span": _token_section_attr("section_span"),
    "section_title": _token_section_attr("title_span"),
    "section_body": _token_section_attr("body_span"),
}


def _first_token(name: str):
    return lambda span: getattr(span[0]._, name) if len(span) else None


_OURS: dict[tuple[str, str], tuple] = {}


def register() -> None:
    """Register (or put back) the medspaCy extensions; idempotent and cheap."""
    if not _OURS:
        for name, assertion in FLAGS.items():
            _OURS[("span", name)] = _flag(name, assertion)
        _OURS[("span", "modifiers")] = (_modifiers_get, _modifiers_set)
        _OURS[("doc", "context_graph")] = (_context_graph_get, _context_graph_set)
        _OURS[("doc", "sections")] = (_sections_get, _sections_set)
        _OURS[("token", "section")] = (_token_section_get, _token_section_set)
    classes = {"span": Span, "doc": Doc, "token": Token}
    for (kind, name), (getter, setter) in _OURS.items():
        cls = classes[kind]
        if not cls.has_extension(name) or cls.get_extension(name)[2] is not getter:
            cls.set_extension(name, getter=getter, setter=setter, force=True)
    for name, getter in _TOKEN_DERIVED.items():
        if not Token.has_extension(name):
            Token.set_extension(name, getter=getter)
    for name in ("section", *_TOKEN_DERIVED):
        if not Span.has_extension(name):
            Span.set_extension(name, getter=_first_token(name))
