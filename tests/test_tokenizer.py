"""The report tokenizer: spaCy's English tokenizer without its letterless special cases."""

import spacy

import spinecontext
from spinecontext.nlp.tokenizer import without_emoticons


def _words(nlp, text):
    return [t.text for t in nlp.make_doc(text)]


def test_emoticon_special_cases_are_left_out_by_default():
    nlp = spinecontext.load()
    rules = nlp.tokenizer.rules
    default = spacy.blank("en").tokenizer.rules
    dropped = set(default) - set(rules)
    assert ":(" in dropped and "):" in dropped and "<3" in dropped
    assert all(not any(c.isalpha() for c in key) for key in dropped)
    # the abbreviations and contractions stay
    for key in ("e.g.", "Dr.", "and/or", "cannot", "don't"):
        assert key in rules


def test_reports_are_not_read_as_emoticons():
    nlp = spinecontext.load()
    assert _words(nlp, "at this level :(disscating") == ["at", "this", "level", ":", "(", "disscating"]
    assert _words(nlp, "(with contrast):\nno") == ["(", "with", "contrast", ")", ":", "\n", "no"]
    # what the special cases that stay do, they still do
    assert _words(nlp, "(e.g. L4 and/or L5)") == ["(", "e.g.", "L4", "and/or", "L5", ")"]
    assert _words(nlp, "can not") == ["can", "not"]


def test_tokens_match_spacy_elsewhere():
    nlp = spinecontext.load()
    blank = spacy.blank("en")
    text = ("L4-5: broad-based disc bulge, moderate bilateral foraminal narrowing (R>L). "
            "Dr. Smith's 3.5 mm protrusion at L5/S1 - no cauda equina compression; T2-hyperintense.")
    assert _words(nlp, text) == [t.text for t in blank.make_doc(text)]


def test_the_option_keeps_them_and_survives_saving(tmp_path):
    config = {"nlp": {"tokenizer": {"@tokenizers": "spinecontext.Tokenizer.v1", "emoticons": True}}}
    nlp = spacy.blank("en", config=config)
    assert ":(" in nlp.tokenizer.rules
    assert without_emoticons({":(": [], "e.g.": []}) == {"e.g.": []}
    saved = spinecontext.load()
    saved.to_disk(tmp_path / "pipe")
    loaded = spacy.load(tmp_path / "pipe")
    assert ":(" not in loaded.tokenizer.rules
    assert _words(loaded, "level :(x") == ["level", ":", "(", "x"]
