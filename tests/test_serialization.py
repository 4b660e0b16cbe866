"""JSON-only extension values: to_disk/spacy.load, DocBin and n_process give identical output."""

import json

import spacy
from spacy.tokens import DocBin

from spinecontext.result import from_doc

from conftest import OWN, ROOT


def texts():
    own = [json.loads(line)["text"] for line in OWN.read_text(encoding="utf-8").splitlines()[:40]]
    # follow-up reports: change cues and procedures (doc._.spine_change) go through too
    change = (ROOT / "corpora" / "change_single.jsonl").read_text(encoding="utf-8").splitlines()
    return own + [json.loads(line)["text"] for line in change[:12]]


def results(nlp, docs):
    docs = list(docs)
    return [from_doc(d, report_id=str(i)).model_dump() for i, d in enumerate(docs)] + [medspacy_view(d) for d in docs]


def medspacy_view(doc):
    """What medspaCy's tools read on a Doc: entities and finding spans with their ConText
    flags, sections and modifiers, sections (as plain values, to compare)."""
    def span(s):
        return (s.label_, s.start_char, s.end_char, s._.is_negated, s._.is_uncertain, s._.is_historical,
                s._.is_hypothetical, s._.is_family, s._.section_category,
                [(m.modifier_span, m.category, m.direction) for m in s._.modifiers])
    return {"ents": [span(e) for e in doc.ents],
            "spans": [span(s) for s in doc.spans["spine_findings"]],
            "sections": [(x.category, x.title_span, x.body_span) for x in doc._.sections]}


def test_extension_values_are_plain_json(nlp):
    doc = nlp(texts()[0])
    for name in ("spine_sections", "spine_sentences", "spine_levels", "spine_findings", "spine_age"):
        json.dumps(getattr(doc._, name))
    # medspaCy's attributes are derived when read: the Doc stores nothing but plain data
    view = medspacy_view(doc)
    assert view["ents"] and any(e[3] or e[4] or e[5] for e in view["ents"])
    assert any(e[-1] for e in view["spans"]) and view["sections"]
    for key, value in doc.user_data.items():
        json.dumps([key, value])


def test_to_disk_and_spacy_load(nlp, tmp_path):
    nlp.to_disk(tmp_path / "pipe")
    assert (tmp_path / "pipe" / "spinecontext_findings" / "findings" / "a_disc.yaml").exists()
    loaded = spacy.load(tmp_path / "pipe")
    assert loaded.pipe_names == nlp.pipe_names
    t = texts()
    assert results(loaded, loaded.pipe(t)) == results(nlp, nlp.pipe(t))


def test_n_process_two_matches_one(nlp):
    t = texts()
    one = results(nlp, nlp.pipe(t, n_process=1))
    two = results(nlp, nlp.pipe(t, n_process=2, batch_size=8))
    assert two == one


def test_docbin_round_trip(nlp):
    t = texts()[:10]
    docs = list(nlp.pipe(t))
    db = DocBin(store_user_data=True)
    for d in docs:
        db.add(d)
    back = list(DocBin().from_bytes(db.to_bytes()).get_docs(nlp.vocab))
    assert results(nlp, back) == results(nlp, docs)
    assert [[s.label_ for s in d.spans["spine_findings"]] for d in back] == \
           [[s.label_ for s in d.spans["spine_findings"]] for d in docs]


def test_serialised_doc_holds_text_once(nlp):
    from spinecontext.nlp.base import TEXT_KEY

    assert TEXT_KEY not in nlp("Disc bulge at L4-5.").user_data


def test_round_trips_with_medspacy_imported(nlp):
    """medspaCy's msgpack decoders take any dict with a "section", "modifier(s)" or "context_graph"
    key for their own objects: no stored value may have one, or DocBin and n_process break."""
    import medspacy  # noqa: F401  (registers its decoders)

    def keys(value):
        if isinstance(value, dict):
            yield from value
            for v in value.values():
                yield from keys(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                yield from keys(v)

    t = texts()[:10]
    docs = list(nlp.pipe(t))
    for d in docs:
        assert not set(keys(list(d.user_data.values()))) & {"section", "modifier", "modifiers", "context_graph"}
    db = DocBin(store_user_data=True)
    for d in docs:
        db.add(d)
    back = list(DocBin().from_bytes(db.to_bytes()).get_docs(nlp.vocab))
    assert results(nlp, back) == results(nlp, docs)
    assert results(nlp, nlp.pipe(t, n_process=2, batch_size=4)) == results(nlp, docs)
