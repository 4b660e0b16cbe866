"""The evaluation on real reports (../shared) and on the project's own corpus, with the bars."""

import json
import re
from collections import defaultdict

from spinecontext.evaluate import evaluate, read_gold
from spinecontext.nlp.rules import TAXONOMY_IDS

from conftest import DEV, OWN, require_shared


def test_dev_set_bars(nlp):
    require_shared()
    s = evaluate(nlp, read_gold(DEV)).summary()
    assert s["reports"] == 253
    assert s["pair"]["f1"] >= 0.95, s["pair"]
    assert s["report"]["f1"] >= 0.96, s["report"]
    assert s["negation"]["rate"] <= 0.02, s["negation"]


def test_own_corpus_bar(nlp):
    s = evaluate(nlp, read_gold(OWN)).summary()
    assert s["pair"]["f1"] >= 0.95, s["pair"]


def test_blind_corpus_bar(nlp):
    s = evaluate(nlp, read_gold(OWN.parent / "blind.jsonl")).summary()
    assert s["reports"] == 50
    assert s["pair"]["f1"] >= 0.95, s["pair"]
    assert s["negation"]["rate"] <= 0.02, s["negation"]


def _rows():
    return [json.loads(line) for line in OWN.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_own_corpus_size_and_coverage():
    rows = _rows()
    assert len(rows) >= 60
    assert len({r["id"] for r in rows}) == len(rows)
    reports = defaultdict(set)
    for r in rows:
        for f in r["findings"]:
            reports[(f["finding"], f["assertion"])].add(r["id"])
    for fid in TAXONOMY_IDS:
        assert len(reports[(fid, "present")]) >= 2, fid
    for assertion in ("present", "absent", "possible", "historical"):
        assert sum(1 for (f, a), ids in reports.items() if a == assertion and len(ids) >= 2) >= 2, assertion
    assert {r["style"] for r in rows} >= {"us_level_by_level", "paragraph", "numbered_impression", "whole_spine", "short_note"}


def test_own_corpus_copies_no_dev_text():
    require_shared()

    def grams(text):
        words = re.findall(r"[a-z0-9]+", text.lower())
        return {tuple(words[i:i + 8]) for i in range(len(words) - 7)}

    dev = set()
    for line in DEV.read_text(encoding="utf-8").splitlines():
        dev |= grams(json.loads(line)["text"])
    for r in _rows():
        assert not grams(r["text"]) & dev, r["id"]
