"""The speller: misspelt rule words are read as the lexicon word; offsets always slice the original report."""

import json
import random
import shutil

import pytest
import spacy
from spacy.tokens import DocBin

import spinecontext
from spinecontext.nlp import rules, spelling
from spinecontext.nlp.base import SPELLING_KEY, TEXT_KEY
from spinecontext.nlp.rules import RuleFileError
from spinecontext.result import from_doc


@pytest.fixture(scope="session")
def speller(nlp):
    return nlp.get_pipe("spinecontext_spelling").speller


@pytest.fixture(scope="session")
def plain_nlp():
    """The pipeline without the speller (the finish step stays: it has nothing to map)."""
    nlp = spinecontext.load()
    nlp.remove_pipe("spinecontext_spelling")
    return nlp


# -- words ---------------------------------------------------------------------
ISSUE_TYPOS = {
    "sesiccation": "desiccation", "deciccation": "desiccation", "athropathy": "arthropathy",
    "nerual": "neural", "biltaral": "bilateral", "posterolateal": "posterolateral",
    "anterier": "anterior", "protursion": "protrusion", "foramenal": "foraminal",
    "stenossis": "stenosis", "herniaton": "herniation",
}


@pytest.mark.parametrize("typo,word", sorted(ISSUE_TYPOS.items()))
def test_issue_examples_are_read_as_the_rule_word(speller, typo, word):
    assert speller.correction(typo) == word


@pytest.mark.parametrize("word", [
    "protection", "extraction", "fraction", "posteriorly", "bilaterally", "disorder", "material",
    "stenosis", "protrusion", "desiccation",          # lexicon words
    "hypointense", "prevertebral", "intraforaminal",  # the never list: real words near a lexicon word
])
def test_real_words_are_not_corrected(speller, word):
    assert speller.correction(word) is None
    assert speller.correction(word.upper()) is None


@pytest.mark.parametrize("word", ["dsic", "bulg", "sac", "lss", "flav"])
def test_short_words_are_not_corrected(speller, word):
    assert speller.correction(word) is None


@pytest.mark.parametrize("word", [
    "bulgs",            # bulge and bulges, one edit each
    "naterolisthesis",  # anterolisthesis and laterolisthesis
    "nervee",           # nerve and nerves
])
def test_a_tie_means_no_correction(speller, word):
    found = speller._index.lookup(word, speller._verbosity, max_edit_distance=2)
    best = min(s.distance for s in found)
    assert len([s for s in found if s.distance == best]) > 1
    assert speller.correction(word) is None


def test_an_english_word_closer_than_the_lexicon_word_wins(speller):
    # two edits from "lateral", one from "material"; "enhacing": two from effacing, one from enhancing
    assert speller.correction("materail") is None
    assert speller.correction("enhacing") is None


def test_words_with_digits_or_other_letters_are_left(speller):
    for text in ["protursion2 at L4", "L5protursion", "protursion_x", "protursión"]:
        assert speller.correct(text) is None, text


def test_case_pattern_is_kept(speller):
    corrected, fixes = speller.correct("STENOSSIS. Protursion, herniaton")
    assert corrected == "STENOSIS. Protrusion, herniation"
    assert [f[4] for f in fixes] == ["STENOSSIS", "Protursion", "herniaton"]
    assert [f[5] for f in fixes] == ["STENOSIS", "Protrusion", "herniation"]


def _osa(a: str, b: str) -> int:
    """Optimal string alignment distance (reference implementation)."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def test_delete_index_finds_exactly_the_lexicon_words_within_the_distance(speller):
    """The SymSpell index against brute force over the whole lexicon, on random typos."""
    rng = random.Random(7)
    lexicon = sorted(speller.lexicon)
    from spinecontext.stress import misspell

    for _ in range(300):
        word = rng.choice(lexicon)
        typo = word
        for _ in range(rng.choice([1, 2])):
            typo, _ = misspell(typo, rng) if len(typo) > 1 else (typo, None)
        d = speller._distance[min(len(typo), speller._max_len)]
        if not d:
            continue
        got = {(s.term, s.distance) for s in speller._index.lookup(typo, speller._verbosity, max_edit_distance=d)}
        want = {(w, _osa(typo, w)) for w in lexicon if _osa(typo, w) <= d}
        assert got == want, typo


def test_caches_are_bounded(monkeypatch):
    data = rules.load_spelling(rules.default_patterns_dir())
    sp = spelling.Speller(data, spelling.english_words(data.dictionary))
    monkeypatch.setattr(spelling, "CACHE_LIMIT", 50)
    rng = random.Random(1)
    for i in range(400):
        junk = "".join(rng.choice("qxzjkv") for _ in range(8))
        sp.correct(f"{junk} protursion {junk}{i % 7}x")
    assert len(sp._plain) <= 50 and len(sp._fixes) <= 50
    assert len(sp._ok_pieces) <= 50 and len(sp._bad_pieces) <= 50
    assert sp.correction("protursion") == "protrusion"


def test_long_pieces_are_read_but_not_remembered():
    data = rules.load_spelling(rules.default_patterns_dir())
    sp = spelling.Speller(data, spelling.english_words(data.dictionary))
    piece = "protursion," + "-" * 100 + "stenossis"
    text = f"L4-L5: {piece} {'x' * 5000}"
    for _ in range(2):
        corrected, fixes = sp.correct(text)
        assert [f[5] for f in fixes] == ["protrusion", "stenosis"]
        assert corrected == text.replace("protursion", "protrusion").replace("stenossis", "stenosis")
    assert piece not in sp._bad_pieces and "x" * 5000 not in sp._ok_pieces
    assert sp.correction("protursion" * 10) is None  # longer than any lexicon word can be


# -- reports -------------------------------------------------------------------
CLEAN = ("CLINICAL HISTORY: 52-year-old with back pain.\n"
         "FINDINGS:\n"
         "L4-L5: Disc desiccation with a posterolateral disc protrusion, compressing the neural foramen "
         "and the exiting nerve root. Bilateral foraminal stenosis.\n"
         "L5-S1: Facet arthropathy. No disc herniation. Anterior osteophytes.\n"
         "IMPRESSION: Moderate stenosis at L4-L5.")
TYPOS = {"desiccation": "sesiccation", "posterolateral": "posterolateal", "protrusion": "protursion",
         "neural": "nerual", "Bilateral": "Biltaral", "foraminal": "foramenal", "arthropathy": "athropathy",
         "herniation": "herniaton", "Anterior": "Anterier", "Moderate": "Modrate"}


def _typod(text=CLEAN):
    for word, typo in TYPOS.items():
        text = text.replace(word, typo, 1)
    return text


def _summary(result):
    return sorted((f.finding, tuple(f.levels), f.assertion, f.laterality or "", f.severity or "") for f in result.findings)


def test_typod_report_reads_like_the_clean_one(annotate):
    clean, typod = annotate(CLEAN), annotate(_typod())
    assert _summary(typod) == _summary(clean)
    assert typod.age == clean.age == 52


def test_without_the_speller_the_typos_are_missed(annotate, plain_nlp):
    typod = spinecontext.annotate(plain_nlp, _typod())
    assert len(typod.findings) < len(annotate(CLEAN).findings)


def test_offsets_slice_the_original_report(nlp):
    text = _typod()
    doc = nlp(text)
    assert doc.text == text
    findings = doc._.spine_findings
    assert findings
    for f in findings:
        assert text[f["start"]:f["end"]] == f["text"]
    for span, f in zip(doc.spans["spine_findings"], findings):
        assert span.label_ == f["finding"] and span.start_char <= f["start"] and f["end"] <= span.end_char
    for a, b in doc._.spine_sentences:
        assert 0 <= a < b <= len(text) and not text[a].isspace() and not text[b - 1].isspace()
    for g in doc._.spine_levels:
        assert text[g["start"]:g["end"]][:1] in "LS"
        assert g["scope_end"] is None or g["end"] <= g["scope_end"] <= len(text)
    names = [(s["name"], text[s["start"]:s["header_end"]].strip()) for s in doc._.spine_sections]
    assert ("impression", "IMPRESSION:") in names and ("findings", "FINDINGS:") in names
    age = doc._.spine_age
    assert text[age["start"]:age["end"]] == "52"
    for entry in doc._.spine_summary:
        for a, b in entry["mentions"]:
            assert any(f["start"] == a and f["end"] == b for f in findings)


def test_structure_matches_the_pipeline_without_typos_where_the_words_are_the_same(nlp, plain_nlp):
    """Sentences, sections, levels and token sentence starts of a corrected report equal those of the
    speller-less pipeline on the same text (the typos do not change where sentences or levels are)."""
    text = _typod()
    a, b = nlp(text), plain_nlp(text)
    for name in ("spine_sentences", "spine_sections", "spine_levels"):
        assert getattr(a._, name) == getattr(b._, name), name
    assert [t.is_sent_start for t in a] == [t.is_sent_start for t in b]
    assert [s.text for s in a.sents] == [s.text for s in b.sents]


def test_many_sentences_keep_their_token_starts(nlp, plain_nlp):
    text = " ".join(f"L{1 + i % 5}: stenossis {i}." for i in range(60))
    a, b = nlp(text), plain_nlp(text)
    assert a._.spine_sentences == b._.spine_sentences
    assert [t.is_sent_start for t in a] == [t.is_sent_start for t in b]


def test_mentions_say_what_they_were_read_as(annotate):
    text = _typod()
    r = annotate(text)
    prot = next(f for f in r.findings if f.finding == "disc_protrusion")
    sp = prot.attributes["spelling"]
    assert sp["read_as"] == "protrusion"
    assert sp["words"] == [{"word": "protursion", "read_as": "protrusion",
                            "start": text.index("protursion"), "end": text.index("protursion") + 10}]
    assert {w["word"] for w in sp["sentence"]} >= {"sesiccation", "posterolateal", "nerual"}
    assert prot.attributes["position"] == ["posterolateral"]
    json.dumps(r.model_dump())
    # a mention whose sentence holds no correction has no spelling attribute
    clean_sentence = annotate("L3-L4: mild disc bulge.\nL4-L5: disc protursion.")
    bulge = next(f for f in clean_sentence.findings if f.finding == "disc_bulge")
    assert "spelling" not in bulge.attributes


def test_a_report_without_corrections_is_untouched(nlp, plain_nlp):
    text = CLEAN
    doc = nlp.make_doc(text)
    nlp.get_pipe("spinecontext_spelling")(doc)
    assert SPELLING_KEY not in doc.user_data and doc.user_data[TEXT_KEY] is text
    a, b = from_doc(nlp(text), report_id="x"), from_doc(plain_nlp(text), report_id="x")
    assert a == b
    assert all("spelling" not in f.attributes for f in a.findings)


def test_length_preserving_corrections_move_no_offset(nlp, plain_nlp):
    text = "L4-L5: disc sesiccation, nerual foramen narrowing."  # substitution and transposition only
    doc = nlp(text)
    f = next(f for f in doc._.spine_findings if f["finding"] == "disc_desiccation")
    assert text[f["start"]:f["end"]] == "sesiccation"
    assert doc._.spine_sentences == plain_nlp(text)._.spine_sentences


def test_caches_and_record_are_dropped(nlp):
    doc = nlp(_typod())
    assert SPELLING_KEY not in doc.user_data and TEXT_KEY not in doc.user_data


def test_serialisation_of_corrected_reports(nlp, tmp_path):
    texts = [_typod(), CLEAN, "L5-S1: STENOSSIS and a protursion.", ""]
    docs = list(nlp.pipe(texts))
    want = [from_doc(d, report_id=str(i)).model_dump() for i, d in enumerate(docs)]
    db = DocBin(store_user_data=True)
    for d in docs:
        db.add(d)
    back = list(DocBin().from_bytes(db.to_bytes()).get_docs(nlp.vocab))
    assert [from_doc(d, report_id=str(i)).model_dump() for i, d in enumerate(back)] == want
    assert [[(s.start_char, s.end_char) for s in d.spans["spine_findings"]] for d in back] == \
           [[(s.start_char, s.end_char) for s in d.spans["spine_findings"]] for d in docs]
    two = list(nlp.pipe(texts, n_process=2, batch_size=1))
    assert [from_doc(d, report_id=str(i)).model_dump() for i, d in enumerate(two)] == want
    nlp.to_disk(tmp_path / "pipe")
    assert (tmp_path / "pipe" / "spinecontext_spelling" / "spelling.yaml").exists()
    loaded = spacy.load(tmp_path / "pipe")
    assert loaded.pipe_names[0] == "spinecontext_spelling" and loaded.pipe_names[-1] == "spinecontext_finish"
    assert [from_doc(d, report_id=str(i)).model_dump() for i, d in enumerate(loaded.pipe(texts))] == want


def test_offset_map_never_decreases_and_ends_at_the_original_length():
    rng = random.Random(3)
    for _ in range(500):
        length, fixes, pos, shift = rng.randint(0, 80), [], 0, 0
        while True:
            a = pos + rng.randint(1, 8)
            old = rng.randint(1, 6)
            new = max(1, old + rng.choice([-2, -1, 0, 1, 2]))
            if a + old > length:
                break
            fixes.append([a, a + old, a + shift, a + shift + new, "w", "r"])
            shift += new - old
            pos = a + old
        table = spelling.OffsetMap(fixes, length + shift).table
        assert len(table) == length + shift + 1 and table[-1] == length
        assert all(x <= y for x, y in zip(table, table[1:]))
        for o0, o1, n0, n1, _, _ in fixes:
            assert table[n0] == o0 and table[n1] == o1


# -- rule file -----------------------------------------------------------------
@pytest.fixture
def rules_copy(tmp_path):
    dst = tmp_path / "patterns"
    shutil.copytree(rules.default_patterns_dir(), dst, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return dst


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("old,new,message", [
    ("  - desiccation\n", "  - Desiccation\n", "lower-case word"),
    ("  - desiccation\n", "  - desiccation\n  - desiccation\n", "listed twice"),
    ("  - hypointense ", "  - stenosis ", "in both lexicon and never"),
    ("{min_length: 8, distance: 2}", "{min_length: 4, distance: 2}", "increasing min_length"),
    ("{min_length: 8, distance: 2}", "{min_length: 8, distance: 3}", "distance"),
    ("min_length: 5\n", "min_length: 5\ncolour: red\n", "colour"),
])
def test_bad_spelling_file_is_named(rules_copy, old, new, message):
    _edit(rules_copy / "spelling.yaml", old, new)
    with pytest.raises(RuleFileError, match=rf"spelling\.yaml.*{message}"):
        rules.load_spelling(rules_copy)


def test_missing_dictionary_is_a_clear_error(rules_copy):
    _edit(rules_copy / "spelling.yaml", "  package: symspellpy\n", "  package: no_such_package_here\n")
    with pytest.raises(RuleFileError, match="no_such_package_here.*not installed"):
        spinecontext.load(rules_copy)
    _edit(rules_copy / "spelling.yaml", "  package: no_such_package_here\n", "  package: symspellpy\n")
    _edit(rules_copy / "spelling.yaml", "  file: frequency_dictionary_en_82_765.txt\n", "  file: nothing.txt\n")
    with pytest.raises(RuleFileError, match="nothing.txt"):
        spinecontext.load(rules_copy)


def test_edited_lexicon_is_used(rules_copy):
    _edit(rules_copy / "spelling.yaml", "  - protrusion\n  - protrusions\n", "")
    nlp = spinecontext.load(rules_copy)
    assert nlp.get_pipe("spinecontext_spelling").speller.correction("protursion") is None
