"""Property tests: on any text the pipeline never raises and offsets slice back."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spinecontext.nlp.scan import Scanner, word_starts

WORDS = ["disc", "bulge", "protrusion", "L4-5", "L5/S1", "D12/L1", "no", "not", "without", "?", "//",
         "\n", ":", ",", ".", "mild", "severe", "left", "Rt", "compressing", "thecal", "sac", "nerve", "root",
         "exit", "canal", "stenosis", "fracture", "history", "of", "IMPRESSION:", "HISTORY:", "C.SPINE", "MRI",
         "LSS", "through", "L3-L4", "and", "&", "at", "level", "Modic", "type", "2", "grade", "II",
         "anterolisthesis", "metastasis", "cannot", "be", "excluded", "52-year-old", "–", "T2", "signal"]

report_like = st.lists(st.sampled_from(WORDS), max_size=60).map(" ".join)
any_text = st.text(max_size=400)
#: misspellings the speller reads as rule words, longer and shorter than the word
TYPOS = ["sesiccation", "deciccation", "athropathy", "nerual", "biltaral", "posterolateal", "anterier",
         "protursion", "foramenal", "stenossis", "herniaton", "compresing", "STENOSSIS", "Protrusin",
         "ligamnetum", "hyperatrophy", "disck", "fracturre", "dehydrted", "bulgee", "thecl"]
typo_like = st.lists(st.sampled_from(WORDS + TYPOS + TYPOS), max_size=60).map(
    lambda ws: "".join(w + (" " if i % 7 else "\n") for i, w in enumerate(ws)))


def check(annotate, text):
    r = annotate(text)
    for f in r.findings:
        assert text[f.start:f.end] == f.text
        assert f.assertion in {"present", "absent", "possible", "historical"}
        assert all(isinstance(lv, str) and lv for lv in f.levels)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=any_text)
def test_arbitrary_text(annotate, text):
    check(annotate, text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=report_like)
def test_report_like_text(annotate, text):
    check(annotate, text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=typo_like)
def test_report_like_text_with_typos(nlp, text):
    """Offsets, spans and every stored offset slice the original text when words were corrected."""
    import spinecontext
    from spinecontext.result import from_doc

    doc = nlp(spinecontext.make_doc(nlp, text))
    assert doc.text == text
    r = from_doc(doc, report_id="t")
    for f in r.findings:
        assert text[f.start:f.end] == f.text
        sp = f.attributes.get("spelling")
        if sp:
            for w in sp["words"] + sp["sentence"]:
                assert text[w["start"]:w["end"]] == w["word"]
    for span, f in zip(doc.spans["spine_findings"], r.findings):
        assert span.label_ == f.finding and span.start_char <= f.start and f.end <= span.end_char
    for a, b in doc._.spine_sentences:
        assert 0 <= a < b <= len(text)
    for g in doc._.spine_levels:
        assert 0 <= g["start"] < g["end"] <= len(text) and text[g["start"]].upper() in "CTDLS"
    for sec in doc._.spine_sections:
        assert 0 <= sec["start"] <= sec["header_end"] <= len(text) and sec["start"] <= sec["end"] <= len(text)
    for entry in doc._.spine_summary:
        for a, b in entry["mentions"]:
            assert 0 <= a <= b <= len(text)


PATTERNS = [r"\bbulg(?:e|es)\b", r"\bdisc\s+bulge", r"(?:exit|neural)\s+canals?", r"\bno\b", r"\?+",
            r":\s*none", r"\b(?:is|are)?\s*not\b", r"[LS]\d", r"a?b+", r"\bthecal(?=\s+sac)"]


def reference(patterns, text):
    """Try the whole alternation at each start position, left to right, non-overlapping."""
    import re

    rx = re.compile("|".join(f"(?P<g{i}>{p})" for i, p in enumerate(patterns)), re.IGNORECASE)
    out, nxt = [], 0
    for p in word_starts(text):
        if p < nxt:
            continue
        m = rx.match(text, p)
        if m:
            out.append((m.start(), m.end(), m.lastgroup))
            nxt = max(m.end(), p + 1)
    return out


@settings(max_examples=400, deadline=None)
@given(text=st.lists(st.sampled_from(["disc", "bulge", "bulges", "exit", "canal", "no", "not", "is", "?", "??",
                                      ":", "none", "L4", "S1", "ab", "bbb", "thecal", "sac", " ", "\n", ","]),
                     max_size=30).map("".join))
def test_scanner_equals_reference(text):
    got = [(m.start(), m.end(), m.lastgroup) for m in Scanner(PATTERNS).finditer(text)]
    assert got == reference(PATTERNS, text)


def test_largest_allowed_report_is_processed(annotate):
    """A report at the size limit (1,000,000 characters) runs through in about linear time."""
    from spinecontext.nlp import MAX_CHARS

    unit = "L4-5: No disc bulge // ? fracture L1: none; mild stenosis at L3-L4 through L5-S1\n"
    text = (unit * (MAX_CHARS // len(unit) + 1))[:MAX_CHARS]
    r = annotate(text)
    assert len(r.findings) > 10_000
    for f in r.findings[::997]:
        assert text[f.start:f.end] == f.text


def test_mentions_start_and_end_on_their_words(nlp):
    """No finding expression takes the whitespace around its words (a mention's text is
    what the patient page highlights and what its span covers)."""
    import json

    from conftest import ROOT
    texts = ["Severe stenosis at L3-4.", "Canal: moderate stenosis. Foramina: patent.",
             "Mild right and no left foraminal narrowing at L4-5.", "No left recess stenosis."]
    for name in ("longform.jsonl", "holdout.jsonl", "reports.jsonl", "change_single.jsonl"):
        for line in (ROOT / "corpora" / name).read_text(encoding="utf-8").splitlines():
            texts.append(json.loads(line)["text"])
    for text in texts:
        for f in nlp(text)._.spine_findings:
            assert f["text"] == f["text"].strip() and f["text"], (f["finding"], f["text"])
