"""Engines side by side: spinecontext, medspaCy with our rules, medspaCy's default.

For each gold corpus, in one process:

* ``spinecontext``: our pipeline (``spinecontext.load()``);
* ``medspacy_our_rules``: ``medspacy.load()`` with our rules exported as
  medspaCy rule files and read back with medspaCy's loaders
  (:func:`spinecontext.medspacy_rules.medspacy_pipeline`);
* ``medspacy_default``: ``medspacy.load()``'s default pipeline (its own ConText
  rules, no sections) given every finding pattern as a TargetRule (the
  baseline of ``spinecontext bench``).

Accuracy (one pass): pair F1 over present (finding, level) pairs and report
finding F1 (levels ignored), as ``spinecontext evaluate`` scores them. medspaCy
gives no levels, so its pairs are unlevelled and match only gold pairs with no
level. Negation errors here are counted per finding with levels ignored, the
same way for every engine: a finding the report only denies (gold assertion
absent at every level it names) that the engine finds present somewhere.
(The pair-level count of ``spinecontext evaluate`` would give medspaCy none by
construction, as its unlevelled pairs never meet a gold level.)

Speed: as ``spinecontext bench``: a blank spaCy tokenizer and the engines take
turns, each timed ``repeat`` times (spinecontext and the tokenizer for at least
``min_seconds`` a timing, medspaCy one pass); the best is kept. Each corpus has
its own freshly loaded engines.
"""

from __future__ import annotations

import tempfile
from typing import Sequence

import spacy

from . import make_doc
from .bench import _time
from .evaluate import Evaluation, GoldReport
from .result import PRECEDENCE, from_doc

ENGINES = ("spinecontext", "medspacy_our_rules", "medspacy_default")
TITLES = {
    "spinecontext": "spinecontext",
    "medspacy_our_rules": "medspaCy + our rules",
    "medspacy_default": "medspaCy default",
}


def _report_level(assertions: dict) -> dict[str, str]:
    out: dict[str, str] = {}
    for (finding, _), a in assertions.items():
        old = out.get(finding)
        if old is None or PRECEDENCE.index(a) < PRECEDENCE.index(old):
            out[finding] = a
    return out


class _Score:
    def __init__(self) -> None:
        self.ev = Evaluation()
        self.denied = 0
        self.negation_errors = 0

    def add(self, gold: GoldReport, pred) -> None:
        self.ev.add(gold, pred)
        g, p = _report_level(gold.assertions), _report_level(pred.assertions())
        for finding, a in g.items():
            if a == "absent":
                self.denied += 1
                if p.get(finding) == "present":
                    self.negation_errors += 1

    def summary(self) -> dict:
        s = self.ev.summary()
        return {"pair": s["pair"], "report": s["report"],
                "negation": {"denied_findings": self.denied, "errors": self.negation_errors,
                             "rate": self.negation_errors / self.denied if self.denied else 0.0}}


def _engines(rules_dir: str) -> dict:
    import spinecontext

    from .medspacy_rules import findings_by_id, medspacy_default_pipeline, medspacy_pipeline, result_from_medspacy

    by_id = findings_by_id()
    ours = spinecontext.load()
    ours_rules = medspacy_pipeline(rules_dir)
    default = medspacy_default_pipeline()
    return {
        "spinecontext": (ours, lambda g: from_doc(ours(make_doc(ours, g.text, g.age)), report_id=g.id)),
        "medspacy_our_rules": (ours_rules, lambda g: result_from_medspacy(ours_rules(g.text), g.id, by_id)),
        "medspacy_default": (default, lambda g: result_from_medspacy(default(g.text), g.id, by_id)),
    }


def run_compare(corpora: Sequence[tuple[str, Sequence[GoldReport]]], *, repeat: int = 3,
                min_seconds: float = 1.0) -> list[dict]:
    """Accuracy and speed of the three engines on each ``(name, gold reports)`` corpus."""
    import warnings

    from .medspacy_rules import export_rules

    results = []
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        # medspaCy warns for each target match that overlaps an earlier entity
        warnings.simplefilter("ignore", RuntimeWarning)
        export_rules(tmp)
        loaded = []
        for name, gold in corpora:
            engines = _engines(tmp)
            tok = spacy.blank("en")
            loaded.append((name, gold, engines, tok))
        for name, gold, engines, _ in loaded:
            scores = {}
            for engine, (_, annotate) in engines.items():
                score = _Score()
                for g in gold:
                    score.add(g, annotate(g))
                scores[engine] = score.summary()
            results.append({"corpus": name, "reports": len(gold), "engines": scores})
        best = [{k: float("inf") for k in ("tokenizer", *ENGINES)} for _ in loaded]
        for _ in range(repeat):
            for i, (name, gold, engines, tok) in enumerate(loaded):
                texts = [g.text for g in gold]
                stages = {"tokenizer": tok.make_doc, **{e: nlp for e, (nlp, _) in engines.items()}}
                for stage, fn in stages.items():
                    secs = _time(fn, texts, 1, 0.0 if stage.startswith("medspacy") else min_seconds)
                    best[i][stage] = min(best[i][stage], secs)
    for r, times in zip(results, best):
        n = r["reports"]
        r["tokenizer_reports_per_s"] = n / times["tokenizer"]
        for engine in ENGINES:
            r["engines"][engine]["reports_per_s"] = n / times[engine]
            r["engines"][engine]["time_vs_tokenizer"] = times[engine] / times["tokenizer"]
        r["repeat"] = repeat
    return results


def format_compare(results: list[dict]) -> str:
    lines = ["| corpus | engine | pair P | pair R | pair F1 | report F1 | negation errors (findings) | reports/s | time vs tokenizer |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for engine in ENGINES:
            e = r["engines"][engine]
            p, rep, neg = e["pair"], e["report"], e["negation"]
            lines.append(f"| {r['corpus']} ({r['reports']}) | {TITLES[engine]} | {p['precision']:.3f} | {p['recall']:.3f} "
                         f"| {p['f1']:.3f} | {rep['f1']:.3f} | {neg['errors']} of {neg['denied_findings']} "
                         f"({neg['rate']:.1%}) | {e['reports_per_s']:,.0f} | {e['time_vs_tokenizer']:.1f}x |")
    lines += ["", "One process: accuracy from one pass of each engine, speed the best of "
              f"{results[0]['repeat'] if results else 0} timings taking turns with a blank spaCy tokenizer.",
              "medspaCy attributes no levels: its pairs are unlevelled and match only gold pairs without a level.",
              "Negation errors: findings the report only denies that the engine finds present (levels ignored)."]
    return "\n".join(lines)
