"""The rule scanner's fast paths give exactly the matches of its plain two-character dispatch."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spinecontext.nlp import scan
from spinecontext.nlp.scan import Scanner, text_info, word_starts

from conftest import DEV, OWN, REALSTYLE, ROOT

#: Characters the prefix analysis does not read exactly: they fold onto ASCII
#: letters (long s, Kelvin sign, dotless i, dotted capital I), are digits or
#: spaces to ``\d``/``\s`` beyond 0-9 and the six ASCII spaces, lower to two, or (capital
#: sigma) lower by context.
ODD = ["\u017f", "\u212a", "\u0131", "\u0130", "\xa0", "\x1c", "\x1f", "\u0663", "\u2003", "\x85", "\u03a3"]
#: Characters it reads exactly.
PLAIN = ["\u2013", "\u2019", "\u2022", "\xe9", "\xc9", "\xf6", "\u2026", "\u0632", "\xb5", "\xdf", "\u1e9e", "\ufb01"]

REPORT_WORDS = ["disc", "bulge", "bulges", "protrusion", "L4-5", "L5/S1", "no", "not", "without", "?", "//", "\n",
                ":", ",", ".", "mild", "severe", "left", "compressing", "thecal", "sac", "nerve", "root", "exit",
                "canal", "stenosis", "spinal", "the", "is", "seen", "at", "of", "cannot", "be", "excluded",
                "52-year-old", "Age:", "47", "yo", "facet", "arthropathy", "Modic", "type", "2", "grade", "II",
                "hypertrophy", "foraminal", "narrowing", "desiccation", "history", "fracture", "  ", "\t"]


def outcome(fn):
    """What ``fn()`` gives, or the type of the exception it raises (the two-character
    dispatch fails on a word starting with a character that lowers to two, as before)."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001
        return type(exc)


def found(scanner: Scanner, text: str, *args):
    return [(m.start(), m.end(), m.lastgroup) for m in scanner.finditer(text, *args)]


def reference_k2(scanner: Scanner, text: str, pos: int = 0, endpos=None, starts=None):
    """The scanner's matches by its two-character dispatch alone (the code before the finer one)."""
    end = len(text) if endpos is None else endpos
    if starts is None:
        starts = word_starts(text, punctuation=not scanner.words_only)
    out, nxt = [], pos
    for p in starts:
        if p < pos or p < nxt:
            continue
        if p >= end:
            break
        rx = scanner.compiled_for(text[p:p + scan.K].lower())
        if rx is None:
            continue
        m = rx.match(text, p, end)
        if m is not None:
            out.append((m.start(), m.end(), m.lastgroup))
            nxt = m.end() if m.end() > p else p + 1
    return out


@pytest.fixture(scope="module")
def scanners(nlp):
    f = nlp.get_pipe("spinecontext_findings")
    out = {"plain": f.plain, "cond": f.cond, "assertion": nlp.get_pipe("spinecontext_assertion").rx,
           "attributes": nlp.get_pipe("spinecontext_attributes").words, "age": nlp.get_pipe("spinecontext_age").rx}
    for i, (_, _, before, has) in enumerate(f.cond_specs):
        for name, sc in (("before", before), ("has", has)):
            if sc is not None:
                out[f"{name}{i}"] = sc
    return out


@pytest.fixture(scope="module")
def corpus_texts():
    import json

    files = [OWN, ROOT / "corpora" / "blind.jsonl", ROOT / "corpora" / "longform.jsonl", ROOT / "corpora" / "traps.jsonl", DEV, REALSTYLE]
    out = []
    for f in files:
        if f.exists():
            out += [json.loads(line)["text"] for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out


texts = st.lists(st.sampled_from(REPORT_WORDS + ODD + PLAIN), max_size=50).map(
    lambda words: "".join(w if w in ODD + PLAIN or w.isspace() else " " + w for w in words))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts, case=st.sampled_from(["same", "upper", "title"]))
def test_fine_dispatch_equals_two_character_dispatch(scanners, text, case):
    text = {"same": text, "upper": text.upper(), "title": text.title()}[case]
    for name, sc in scanners.items():
        assert outcome(lambda: found(sc, text)) == outcome(lambda: reference_k2(sc, text)), name


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts, a=st.integers(0, 300), b=st.integers(0, 300))
def test_fine_dispatch_in_a_window(scanners, text, a, b):
    lo, hi = min(a, b), max(a, b)
    for name, sc in scanners.items():
        assert outcome(lambda: found(sc, text, lo, hi)) == outcome(lambda: reference_k2(sc, text, lo, hi)), name


def test_corpus_texts_match_two_character_dispatch(scanners, corpus_texts):
    for text in corpus_texts:
        for name, sc in scanners.items():
            assert found(sc, text) == reference_k2(sc, text), name


def test_text_info_reads_odd_characters_as_not_exact():
    assert text_info("L4-L5: mild disc bulge.") == (True, "l4-l5: mild disc bulge.")
    for c in PLAIN:
        assert text_info(f"disc {c} bulge")[0], repr(c)
    for c in ODD:
        assert not text_info(f"disc {c} bulge")[0], repr(c)
    assert text_info("\u0130 disc")[1] is None  # lowers to two characters


def test_every_character_is_judged_as_defined():
    """Every code point: exact exactly when it neither folds onto ASCII nor is an extra digit or space."""
    ascii_i = re.compile(r"[\x00-\x7f]", re.IGNORECASE)
    for cp in list(range(0x3000)) + list(range(0xfb00, 0xfb10)) + [0x1e9e, 0x212a, 0x2126, 0x1d7ce]:
        c = chr(cp)
        if 0xD800 <= cp <= 0xDFFF:
            continue
        odd = (len(c.lower()) != 1 or c == "\u03a3" or cp > 127 and (ascii_i.match(c) or re.match(r"\d", c))
               or re.match(r"\s", c) and c not in " \t\n\r\f\v")
        assert scan._exact_char(c) == (not odd), hex(cp)


def test_fine_prefixes_skip_patterns_not_read_exactly():
    assert scan.fine_prefixes(r"(a)\1b") is None           # a back-reference
    assert scan.fine_prefixes("\u017fpinal") is None        # a non-ASCII letter in the pattern
    assert scan.fine_prefixes(r"[\u0100-\u0110]x") is None
    assert scan.fine_prefixes(r"disc\s+bulge") == frozenset({"disc" + c for c in " \t\n\r\f\v"})


def test_word_starts():
    assert word_starts("L4-5: no, disc") == [0, 2, 3, 4, 6, 8, 10]
    assert word_starts("L4-5: no, disc", punctuation=False) == [0, 3, 6, 10]
    assert word_starts("") == [] and word_starts("  ") == []


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200) | texts)
def test_word_starts_equal_their_definition(text):
    words = [m.start() for m in re.finditer(r"\b\w", text)]
    assert word_starts(text, punctuation=False) == words  # computed
    assert word_starts(text) == [m.start() for m in re.finditer(r"\b\w|[^\w\s]", text)]
    assert word_starts(text, punctuation=False) == words  # taken from the list with punctuation


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts, case=st.sampled_from(["same", "upper"]))
def test_findings_walk_equals_two_character_dispatch(nlp, monkeypatch, text, case):
    """FindingMatcher.match walks the word starts itself: the finer dispatch changes nothing."""
    from spinecontext.nlp import findings

    text = text.upper() if case == "upper" else text
    matcher = nlp.get_pipe("spinecontext_findings")
    sents = [[0, len(text)]]
    fast = outcome(lambda: matcher.match(text, sents))
    with monkeypatch.context() as m:
        m.setattr(findings, "text_info", lambda t: (False, scan.text_info(t)[1]))
        m.setattr(scan, "text_info", lambda t: (False, t.lower() if len(t.lower()) == len(t) else None))
        slow = outcome(lambda: matcher.match(text, sents))
    assert fast == slow


level_texts = st.lists(st.sampled_from(list("LlSsTtDdCc0123456789 -/\n\t,.aoI\\=") + [
    "\u2013", "\u2014", "at", "to", " on ", " over ", "L5", "S1", "SI", "T12", "D12", "L45", "disc", "mid"] + ODD + PLAIN),
    max_size=25).map("".join)


@settings(max_examples=1500, deadline=None)
@given(text=level_texts)
def test_level_mention_expression_as_written(text):
    from spinecontext.nlp.levels import MENTION, MENTION_AS_WRITTEN

    def spans(rx):
        return [(m.span(), m.groupdict(), m.lastgroup) for m in rx.finditer(text)]

    assert spans(MENTION) == spans(MENTION_AS_WRITTEN)


def test_needed_literals():
    assert scan.needed_literals(r"\bdisc\s+bulge") == (("bulge",), ("disc",))
    assert scan.needed_literals(r"\b(?:disc|disk)s?\s+(?:bulge|protrusion)\b") == (
        ("protrusion", "bulge"), ("dis",))  # the parser keeps "dis" + [ck]
    assert scan.needed_literals(r"\w+|x") is None
    assert not scan.may_match(scan.needed_literals("sacrum|coccyx"), "L4-5 disc")
    assert scan.may_match(scan.needed_literals("sacrum|coccyx"), "the SACRUM")
    assert scan.may_match(scan.needed_literals("sacrum"), "the \u017facrum")  # not read exactly: searched


def expressions(nlp):
    f = nlp.get_pipe("spinecontext_findings")
    lv = nlp.get_pipe("spinecontext_levels")
    out = [lv.named, lv.ordinal] + [v for vs in f.vetoes.values() for v in vs] + list(f.report_has.values())
    return out + [re.compile(p, re.IGNORECASE) for p in f.plain.patterns + f.cond.patterns]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts, case=st.sampled_from(["same", "upper"]))
def test_needed_literals_are_needed(nlp, text, case):
    text = text.upper() if case == "upper" else text
    for rx in expressions(nlp):
        if rx.search(text):
            assert scan.may_match(scan.needed_literals(rx.pattern, rx.flags), text), rx.pattern


def test_needed_literals_are_needed_in_the_corpora(nlp, corpus_texts):
    for rx in expressions(nlp):
        needs = scan.needed_literals(rx.pattern, rx.flags)
        for text in corpus_texts:
            if rx.search(text):
                assert scan.may_match(needs, text), rx.pattern


def test_needles_of_many_words_are_searched_at_once():
    needs = scan.needed_literals(r"\b(?:compress\w*|abutt\w*|indent\w*|efface\w*|contact\w*)")
    assert len(needs) == 1 and not isinstance(needs.checks[0], tuple)
    assert scan.may_match(needs, "the root is ABUTTED")
    assert not scan.may_match(needs, "the root is free")
    text = "abutting the root. free"
    assert scan.may_match_in(needs, text, 0, 10) and not scan.may_match_in(needs, text, 3, 23)


def test_word_scanner_only_for_word_start_expressions():
    assert scan.word_scanner(r"\bdisc\s+bulge") is not None
    assert scan.word_scanner(r"\b(?:a|b)x|\bcd") is not None
    assert scan.word_scanner(r"disc") is None          # may match inside a word
    assert scan.word_scanner(r"\b-x") is None           # starts with punctuation
    assert scan.word_scanner(r"\b\w*") is None          # may be empty


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts, case=st.sampled_from(["same", "upper"]))
def test_word_scanners_find_what_finditer_finds(nlp, text, case):
    text = text.upper() if case == "upper" else text
    f = nlp.get_pipe("spinecontext_findings")
    lv = nlp.get_pipe("spinecontext_levels")
    exprs = [v for vs in f.vetoes.values() for v in vs] + [lv.named]
    for rx in exprs:
        sc = scan.word_scanner(rx.pattern, rx.flags)
        if sc is not None and text_info(text)[0]:
            got = [m.span() for m in sc.finditer(text, starts=word_starts(text, False))]
            assert got == [m.span() for m in rx.finditer(text)], rx.pattern


@settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet=st.characters(max_codepoint=127), max_size=200))
def test_word_starts_of_ascii_texts_equal_their_definition(text):
    words = [m.start() for m in re.finditer(r"\b\w", text)]
    both = [m.start() for m in re.finditer(r"\b\w|[^\w\s]", text)]
    assert word_starts(text, punctuation=False) == words
    assert word_starts(text) == both
    assert word_starts(text + "") == both


ordinal_texts = st.lists(st.sampled_from(["the", "5th", "fifth", "first", "1st", "twelfth", "lumbar", "sacral",
                                          "thoracic", "vertebra", "vertebral body", "segment", "level", "body",
                                          "lumbosacral", "lumbo-sacral", "junction", "thoraco-lumbar", "sacrum",
                                          "alar", "fracture", "sacral ala", ",", " ", "\n"] + ODD + PLAIN),
                         max_size=20).map(" ".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=ordinal_texts, case=st.sampled_from(["same", "upper", "title"]))
def test_level_word_scanners_find_what_finditer_finds(nlp, text, case):
    text = {"same": text, "upper": text.upper(), "title": text.title()}[case]
    lv = nlp.get_pipe("spinecontext_levels")
    if not text_info(text)[0]:
        return
    words = word_starts(text, False)
    for scanner, rx in ((lv.named_words, lv.named), (lv.ordinal_words, lv.ordinal)):
        got = [(m.span(), m.lastgroup if rx is lv.named else m.group("ord", "region")) for m in
               scanner.finditer(text, starts=words)]
        want = [(m.span(), m.lastgroup if rx is lv.named else m.group("ord", "region")) for m in rx.finditer(text)]
        assert got == want


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts, a=st.integers(0, 300), b=st.integers(0, 300), case=st.sampled_from(["same", "upper"]))
def test_first_char_search_finds_what_the_scanner_finds(scanners, text, a, b, case):
    text = text.upper() if case == "upper" else text
    if not text_info(text)[0]:
        return
    lo, hi = min(a, b), max(a, b)
    tried = 0
    for name, sc in scanners.items():
        rx = scan.first_char_search(sc)
        if rx is None:
            continue
        tried += 1
        assert (rx.search(text, lo, hi) is not None) == (next(sc.finditer(text, lo, hi), None) is not None), name
    assert tried >= 10


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(max_codepoint=127), max_size=120) | texts)
def test_fine_keys_of_word_starts_picked_from_those_with_punctuation(text):
    low = text.lower()
    both, words = word_starts(text), word_starts(text, punctuation=False)
    assert scan.fine_keys(low, both) == [low[p:p + scan.FINE] for p in both]
    assert scan.fine_keys(low, words) == [low[p:p + scan.FINE] for p in words]
