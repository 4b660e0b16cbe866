"""spinecontext try-scispacy: scispaCy's offline parts measured in our pipeline (no model, no download)."""

import json


from spinecontext.evaluate import read_gold

from conftest import OWN



def test_variants_score_and_time(tmp_path):
    from spinecontext.scispacy_trial import Abbreviations, VARIANTS, format_trial, run_trial

    gold = read_gold(OWN)[:8]
    results = run_trial([("reports", gold)], repeat=1, min_seconds=0.0)
    r = results[0]
    assert r["reports"] == 8 and set(r["variants"]) == set(VARIANTS)
    for v in VARIANTS:
        s = r["variants"][v]
        assert 0.0 <= s["pair_f1"] <= 1.0 and s["reports_per_s"] > 0 and s["time_vs_tokenizer"] > 0
    # the tokenizer does not change what our components read: same scores
    assert r["variants"]["tokenizer"]["pair_f1"] == r["variants"]["spinecontext"]["pair_f1"]
    assert "| reports (8) | pysbd |" in format_trial(results)
    # the abbreviation detector spells out a short form the report defines
    text, n = Abbreviations().expand("Degenerative disc disease (DDD) at L4-5. DDD also at L5-S1.")
    assert n == 1 and text == "Degenerative disc disease (DDD) at L4-5. Degenerative disc disease also at L5-S1."
    json.dumps(results)
