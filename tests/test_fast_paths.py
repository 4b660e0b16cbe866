"""Faster code paths of the components give what the plain code gave (kept here as references)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def summary_reference(note, findings):
    """NoteWriter.summary as first written (one entry per finding, in order of first mention)."""
    rank = {"present": 0, "possible": 1, "absent": 2, "historical": 3}
    sev_rank = {None: 0, "mild": 1, "moderate": 2, "severe": 3}
    by_id = {}
    for f in findings:
        by_id.setdefault(f["finding"], []).append(f)
    out = []
    for fid, mentions in by_id.items():
        best = min(rank.get(m.get("assertion"), 9) for m in mentions)
        chosen = [m for m in mentions if rank.get(m.get("assertion"), 9) == best]
        levels = []
        for m in chosen:
            levels += [lv for lv in m["levels"] if lv not in levels]
        first = chosen[0]
        entry = {
            "finding": fid, "label": first["label"], "group": first["group"],
            "assertion": first.get("assertion", "present"),
            # change over time (added with it): of the chosen mentions, worse > new > resolved > better > unchanged
            "change": next((c for c in ("worse", "new", "resolved", "better", "unchanged")
                            if any(m.get("change") == c for m in chosen)), None),
            "levels": levels,
            "severity": max((m.get("severity") for m in chosen), key=lambda v: sev_rank.get(v, 0)),
            "attention": any(m.get("attention") for m in chosen),
            "prevalence": next((m["prevalence"] for m in chosen if m.get("prevalence")), None),
            "mentions": [[m["start"], m["end"]] for m in mentions],
        }
        entry["note"] = note(entry)
        out.append(entry)
    return out


FIGURES = [None, {"kind": "at_age", "percent": 60, "age": 50, "source": "s", "citation": "c", "caveat": None},
           {"kind": "range", "percent": None, "age": None, "source": "s", "citation": "c", "caveat": "note",
            "range": {"age_from": 20, "percent_from": 37, "age_to": 80, "percent_to": 96}},
           {"kind": "outside", "percent": None, "age": 90, "source": "s", "citation": "c", "caveat": None}]

mention = st.fixed_dictionaries({
    "finding": st.sampled_from(["disc_bulge", "disc_protrusion", "fracture", "scoliosis"]),
    "assertion": st.sampled_from(["present", "possible", "absent", "historical"]),
    "levels": st.lists(st.sampled_from(["L4-L5", "L5-S1", "L3", "sacrum"]), max_size=3),
    "severity": st.sampled_from([None, "mild", "moderate", "severe"]),
    "change": st.sampled_from([None, "new", "worse", "better", "unchanged", "resolved"]),
    "attention": st.booleans(),
    "prevalence": st.sampled_from(FIGURES),
    "start": st.integers(0, 500), "end": st.integers(0, 500),
    "label": st.just("a label"), "group": st.sampled_from(["common", "red_flag"]),
})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(findings=st.lists(mention, max_size=8))
def test_summary_equals_reference(nlp, findings):
    notes = nlp.get_pipe("spinecontext_notes")
    assert notes.summary(findings) == summary_reference(notes._write, findings)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(f=mention)
def test_memoised_note_equals_written_note(nlp, f):
    notes = nlp.get_pipe("spinecontext_notes")
    assert notes.note(f) == notes._write(f)


hit = st.tuples(st.integers(0, 60), st.integers(0, 12),
                st.sampled_from([("sev", "mild"), ("sev", "moderate"), ("sev", "severe"), ("side", "left"),
                                 ("side", "right"), ("side", "bilateral"), ("side", "central"),
                                 ("pos", "foraminal"), ("pos", "paracentral")]))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.lists(hit, max_size=12), b0=st.integers(0, 70), fe=st.integers(0, 70), a1=st.integers(0, 80))
def test_read_around_equals_two_reads(nlp, raw, b0, fe, a1):
    reader = nlp.get_pipe("spinecontext_attributes")
    hits = sorted((s, s + n, kind, name) for s, n, (kind, name) in raw)
    starts = [h[0] for h in hits]
    assert reader.read_around(hits, starts, b0, fe, a1) == reader.read(hits, starts, b0, fe) + reader.read(
        hits, starts, fe, a1)


def region_of_reference(s, line):
    """SectionSplitter.region_of as first written."""
    if not s.any_region.search(line):
        return None
    head, colon, _ = line.partition(":")
    if colon and 0 < len(head.split()) <= s.inline_max_words and not s.not_title.search(head):
        for region, rx in s.regions:
            if rx.search(head):
                return region
    if len(line) > 12 * s.max_words:
        return None
    words = line.split()
    if not words or len(words) > s.max_words:
        return None
    if not s.title_words.search(line) or s.not_title.search(line):
        return None
    for region, rx in s.regions:
        if rx.search(line):
            return region
    return None


line_words = st.sampled_from(["LSS", "MRI", "lumbar", "LUMBAR", "spine", "C.SPINE", "cervical", "neck", "knee", "hip",
                              "SI joints", "whole spine", ":", " : ", "mild", "disc", "bulge", "noted", "at", "L4-5",
                              "of the", "scan", "study", "Findings", "\u017fpine", "the", "thoracic", "-", "x" * 40])


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(line_words, max_size=14), pad=st.sampled_from(["", "report: ", "  "]))
def test_region_of_equals_reference(nlp, words, pad):
    s = nlp.get_pipe("spinecontext_sections")
    line = " ".join(words)
    text = pad + line + "\nmore"
    want = region_of_reference(s, line)
    assert s.region_of(line) == want
    assert s.region_of(line, text, len(pad)) == want


def reassurable_reference(p, f):
    """Prevalence.reassurable as first written."""
    never = p.data.never_reassure
    if p.groups.get(f["finding"]) == "red_flag" or f["finding"] in never.findings:
        return False
    attrs = f.get("attributes") or {}
    for w in never.when:
        if w.finding != f["finding"]:
            continue
        if w.severity is not None and f.get("severity") == w.severity:
            return False
        if w.grade_at_least is not None and (attrs.get("grade") or 0) >= w.grade_at_least:
            return False
        if w.modic_type is not None and attrs.get("modic_type") == w.modic_type:
            return False
    return True


def test_reassurable_equals_reference(nlp):
    p = nlp.get_pipe("spinecontext_prevalence")
    ids = sorted(p.groups) + ["not_a_finding"]
    for fid in ids:
        for severity in (None, "mild", "moderate", "severe"):
            for attrs in ({}, None, {"grade": 1}, {"grade": 2}, {"grade": 3}, {"modic_type": 1}, {"modic_type": 2}):
                f = {"finding": fid, "severity": severity, "attributes": attrs}
                assert p.reassurable(f) == reassurable_reference(p, f), (fid, severity, attrs)


def appendix_reference(n, findings, age):
    """NoteWriter.appendix as first written."""
    a = n.appendix_text
    by_age = n.prevalence.by_age
    items = {}
    for f in findings:
        fig = f.get("prevalence")
        if (f.get("assertion") == "present" and not f.get("attention") and fig
                and fig["kind"] in ("at_age", "range", "outside") and f["finding"] not in items):
            items[f["finding"]] = fig
    if not items:
        return None
    ordered = sorted(items, key=lambda fid: n.order.get(fid, 999))
    parts = []
    for fid in ordered:
        fig, label = items[fid], n.labels.get(fid, fid)
        if fig["kind"] == "at_age":
            parts.append(a.item_with_age.format(label=label, n=fig["percent"]))
        elif fig["kind"] == "range":
            parts.append(a.item_without_age.format(label=label, lo=fig["range"]["percent_from"],
                                                   hi=fig["range"]["percent_to"]))
        else:
            parts.append(a.item_outside.format(label=label))
    listed = parts[0] if len(parts) == 1 else a.joiner.join(parts[:-1]) + a.last_joiner + parts[-1]
    kind = items[ordered[0]]["kind"]
    body = {"at_age": a.with_age, "range": a.without_age, "outside": a.outside_ages}[kind]
    src = n.prevalence.sources[by_age.source]
    citation = src.citation + (f" doi:{src.doi}" if src.doi else "")
    return "\n".join([a.title, " ".join(body.format(age=age, items=listed).split()),
                      a.citation.format(citation=" ".join(citation.split()))])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(findings=st.lists(mention, max_size=8), age=st.sampled_from([None, 20, 35, 50, 90]))
def test_appendix_equals_reference(nlp, findings, age):
    notes = nlp.get_pipe("spinecontext_notes")
    assert notes.appendix(findings, age) == appendix_reference(notes, findings, age)
