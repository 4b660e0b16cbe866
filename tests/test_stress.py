"""Typo stress test: misspelt finding words cost little with the speller on."""

import json
import random

import pytest

from spinecontext.evaluate import read_gold
from spinecontext.stress import EDITS, misspell, run_stress

from conftest import ROOT
from test_cli import invoke
from test_spelling import _osa

CORPORA = [ROOT / "corpora" / "reports.jsonl", ROOT / "corpora" / "blind.jsonl", ROOT / "corpora" / "longform.jsonl"]


@pytest.mark.parametrize("corpus", CORPORA, ids=lambda p: p.name)
@pytest.mark.parametrize("seed", [0, 1])
def test_pair_f1_drop_with_the_speller_is_small(corpus, seed):
    r = run_stress(read_gold(corpus), rate=0.1, seed=seed)
    assert r["typos"] >= 50
    on, off = r["speller_on"], r["speller_off"]
    # the rules hold no hand-listed misspellings: the misspellings the writers
    # left in the "clean" reports are read by the speller, which never costs accuracy
    assert on["clean"]["pair_f1"] >= off["clean"]["pair_f1"]
    assert on["drop"]["pair_f1"] <= 0.03, on
    assert on["drop"]["pair_f1"] < off["drop"]["pair_f1"]
    assert r["read_back"] >= 0.7 * r["typos"]


def test_misspell_makes_one_typing_slip():
    rng = random.Random(0)
    words = ["protrusion", "Disc", "STENOSIS", "foraminal", "bulge"]
    seen = set()
    for _ in range(400):
        word = rng.choice(words)
        typo, kind = misspell(word, rng)
        seen.add(kind)
        assert typo != word and typo.isalpha()
        assert _osa(typo.lower(), word.lower()) == 1
        if word.isupper():
            assert typo.isupper()
    assert seen == set(EDITS)


def test_same_seed_same_typos():
    gold = read_gold(CORPORA[1])
    assert run_stress(gold, seed=3) == run_stress(gold, seed=3)


def test_stress_typos_command():
    res = invoke("stress-typos", CORPORA[1], "--rate", "0.2", "--seed", "2", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["rate"] == 0.2 and data["seed"] == 2 and data["reports"] == 50
    assert set(data["speller_on"]) == {"clean", "typos", "drop"}
    res = invoke("stress-typos", CORPORA[1])
    assert res.exit_code == 0 and "speller on" in res.output and "pair F1" in res.output
    res = invoke("stress-typos", ROOT / "no_such.jsonl")
    assert res.exit_code == 2 and "no such file" in res.output
