"""scispaCy's offline parts against ours: accuracy change and cost (``spinecontext try-scispacy``).

Needs ``pip install "spinecontext[scispacy]"``. No scispaCy model is used or
downloaded: only the parts that work without one.

Variants of our pipeline, each scored on the gold corpora as ``spinecontext
evaluate`` scores ours:

* ``abbreviations``: scispaCy's ``AbbreviationDetector`` (Schwartz-Hearst, on a
  blank English pipeline) finds the abbreviations a report defines ("disc
  herniation (DH)"); every later use of the short form is replaced by its long
  form before our pipeline reads the report;
* ``tokenizer``: scispaCy's ``combined_rule_tokenizer`` in place of spaCy's
  English tokenizer in our pipeline;
* ``pysbd``: scispaCy's ``pysbd_sentencizer`` sets the sentences our components
  read (``doc._.spine_sentences``) in place of ``spinecontext_sentences``' (run
  on the report as the speller corrected it, tokenized by a blank English pipeline).

Cost: each variant's time per report against our pipeline's and a blank
spaCy tokenizer's, taking turns as in ``spinecontext bench`` (best of
``repeat`` timings); for ``abbreviations`` the detector's own time is added.
"""

from __future__ import annotations

from typing import Sequence

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from . import make_doc
from .bench import _time
from .evaluate import Evaluation, GoldReport
from .result import from_doc

VARIANTS = ("spinecontext", "abbreviations", "tokenizer", "pysbd")


def _require() -> None:
    try:
        import scispacy  # noqa: F401
    except ImportError:
        raise RuntimeError('scispaCy is not installed: pip install "spinecontext[scispacy]"') from None


@Language.component("spinecontext_trial_pysbd_sentences")
def pysbd_sentences(doc: Doc) -> Doc:
    """Our sentences from scispaCy's pysbd sentencizer (trial only, not in the pipeline)."""
    from scispacy.custom_sentence_segmenter import pysbd_sentencizer

    from .nlp import extensions as ext
    from .nlp.base import doc_text

    # the components read the report as the speller corrected it: sentences of that text
    sentences = pysbd_sentencizer(_BLANK.make_doc(doc_text(doc)))
    ext.put(doc, "spine_sentences", [[s.start_char, s.end_char] for s in sentences.sents])
    return doc


_BLANK = spacy.blank("en")


class Abbreviations:
    """scispaCy's AbbreviationDetector and the text with defined short forms spelt out."""

    def __init__(self) -> None:
        from scispacy.abbreviation import AbbreviationDetector  # noqa: F401  (registers the factory)

        self.nlp = spacy.blank("en")
        self.nlp.add_pipe("abbreviation_detector")

    def expand(self, text: str) -> tuple[str, int]:
        doc = self.nlp(text)
        uses = []
        for short in doc._.abbreviations:
            a, b = short.start_char, short.end_char
            if a > 0 and text[a - 1] == "(":
                continue  # the definition itself
            uses.append((a, b, short._.long_form.text))
        if not uses:
            return text, 0
        out, pos = [], 0
        for a, b, long in sorted(uses):
            if a < pos:
                continue
            out += [text[pos:a], long]
            pos = b
        out.append(text[pos:])
        return "".join(out), len(uses)


def _pipelines():
    import spinecontext
    from scispacy.custom_tokenizer import combined_rule_tokenizer

    from .nlp.tokenizer import TextKeepingTokenizer

    ours = spinecontext.load()
    tok = spinecontext.load()
    tok.tokenizer = TextKeepingTokenizer(combined_rule_tokenizer(tok))
    sbd = spinecontext.load()
    sbd.add_pipe("spinecontext_trial_pysbd_sentences", after="spinecontext_sentences")
    return ours, tok, sbd


def run_trial(corpora: Sequence[tuple[str, Sequence[GoldReport]]], *, repeat: int = 3,
              min_seconds: float = 1.0) -> list[dict]:
    _require()
    abbreviations = Abbreviations()
    results = []
    for name, gold in corpora:
        ours, tok, sbd = _pipelines()
        blank = spacy.blank("en")
        expanded = [abbreviations.expand(g.text) for g in gold]
        runs = {
            "spinecontext": (ours, [g.text for g in gold]),
            "abbreviations": (ours, [t for t, _ in expanded]),
            "tokenizer": (tok, [g.text for g in gold]),
            "pysbd": (sbd, [g.text for g in gold]),
        }
        scores = {}
        for variant, (nlp, texts) in runs.items():
            ev = Evaluation()
            for g, t in zip(gold, texts):
                ev.add(g, from_doc(nlp(make_doc(nlp, t, g.age)), report_id=g.id))
            s = ev.summary()
            scores[variant] = {"pair_f1": s["pair"]["f1"], "report_f1": s["report"]["f1"],
                               "negation_errors": s["negation"]["errors"], "gold_absent": s["negation"]["gold_absent"]}
        texts = [g.text for g in gold]
        stages = {"tokenizer_alone": blank.make_doc, "spinecontext": ours, "abbreviation_detector": abbreviations.nlp,
                  "tokenizer": tok, "pysbd": sbd}
        best = {k: float("inf") for k in stages}
        for _ in range(repeat):
            for stage, fn in stages.items():
                best[stage] = min(best[stage], _time(fn, texts, 1, min_seconds))
        base = best["tokenizer_alone"]
        cost = {"spinecontext": best["spinecontext"], "abbreviations": best["spinecontext"] + best["abbreviation_detector"],
                "tokenizer": best["tokenizer"], "pysbd": best["pysbd"]}
        for variant in VARIANTS:
            scores[variant]["time_vs_tokenizer"] = cost[variant] / base
            scores[variant]["reports_per_s"] = len(gold) / cost[variant]
        results.append({"corpus": name, "reports": len(gold), "reports_with_abbreviations": sum(1 for _, n in expanded if n),
                        "short_forms_spelt_out": sum(n for _, n in expanded), "variants": scores})
    return results


def format_trial(results: list[dict]) -> str:
    lines = ["| corpus | variant | pair F1 | report F1 | negation errors | reports/s | time vs tokenizer |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        for v in VARIANTS:
            s = r["variants"][v]
            lines.append(f"| {r['corpus']} ({r['reports']}) | {v} | {s['pair_f1']:.3f} | {s['report_f1']:.3f} | "
                         f"{s['negation_errors']} of {s['gold_absent']} | {s['reports_per_s']:,.0f} | "
                         f"{s['time_vs_tokenizer']:.2f}x |")
    lines.append("")
    for r in results:
        lines.append(f"{r['corpus']}: {r['reports_with_abbreviations']} reports define an abbreviation they use again "
                     f"({r['short_forms_spelt_out']} uses spelt out)")
    return "\n".join(lines)
