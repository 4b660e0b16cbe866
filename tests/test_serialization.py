"""JSON-only extension values: to_disk/spacy.load, DocBin and n_process give identical output."""

import json

import spacy
from spacy.tokens import DocBin

from spinecontext.result import from_doc

from conftest import OWN


def texts():
    return [json.loads(line)["text"] for line in OWN.read_text(encoding="utf-8").splitlines()[:40]]


def results(nlp, docs):
    return [from_doc(d, report_id=str(i)).model_dump() for i, d in enumerate(docs)]


def test_extension_values_are_plain_json(nlp):
    doc = nlp(texts()[0])
    for name in ("spine_sections", "spine_sentences", "spine_levels", "spine_findings", "spine_age"):
        json.dumps(getattr(doc._, name))


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
