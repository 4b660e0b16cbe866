"""Typo stress test: how much do the scores drop when the words of the findings are misspelt?

From a gold corpus (``../shared/ANNOTATION.md`` format):

1. run the pipeline on the clean reports and collect the *finding words*: the
   words (letters only, 4 or more of them) inside the mentions it finds;
2. misspell a share (``rate``) of them, chosen at random with ``seed``, with
   one slip of the kind typists make: a neighbouring key instead of the right
   one, a letter left out, a letter typed twice or a neighbouring key added,
   two letters swapped;
3. score clean and misspelt reports against the same gold
   (:mod:`spinecontext.evaluate`), with the speller on and, for comparison,
   off (the pipeline without ``spinecontext_spelling``).

Only counts and scores are reported, never report text.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional, Sequence, Union

from spacy.language import Language

from . import annotate, load
from .evaluate import GoldReport, evaluate

#: Keys next to each key on a QWERTY keyboard (same row and the rows above and below).
NEIGHBOURS = {
    "q": "wa", "w": "qeas", "e": "wrsd", "r": "etdf", "t": "ryfg", "y": "tugh", "u": "yihj",
    "i": "uojk", "o": "ipkl", "p": "ol", "a": "qwsz", "s": "awedxz", "d": "serfcx",
    "f": "drtgvc", "g": "ftyhbv", "h": "gyujnb", "j": "huikmn", "k": "jiolm", "l": "kop",
    "z": "asx", "x": "zsdc", "c": "xdfv", "v": "cfgb", "b": "vghn", "n": "bhjm", "m": "njk",
}
EDITS = ("substitution", "deletion", "insertion", "transposition")
_WORD = re.compile(r"\b[A-Za-z]{4,}\b")
SPELLING_PIPE = "spinecontext_spelling"


def _key_near(c: str, rng: random.Random) -> str:
    near = NEIGHBOURS.get(c.lower())
    out = rng.choice(near) if near else rng.choice("abcdefghijklmnopqrstuvwxyz")
    return out.upper() if c.isupper() else out


def misspell(word: str, rng: random.Random, kind: Optional[str] = None) -> tuple[str, str]:
    """One typing slip in ``word``: (the misspelt word, the kind of edit). The result differs from ``word``."""
    for _ in range(100):
        k = kind or rng.choice(EDITS)
        n = len(word)
        if k == "substitution":
            i = rng.randrange(n)
            out = word[:i] + _key_near(word[i], rng) + word[i + 1:]
        elif k == "deletion":
            i = rng.randrange(n)
            out = word[:i] + word[i + 1:]
        elif k == "insertion":
            i = rng.randrange(n + 1)
            beside = word[i - 1] if i > 0 and (i == n or rng.random() < 0.5) else word[i]
            c = beside if rng.random() < 0.5 else _key_near(beside, rng)  # a key typed twice, or its neighbour
            out = word[:i] + c + word[i:]
        else:
            i = rng.randrange(n - 1)
            out = word[:i] + word[i + 1] + word[i] + word[i + 2:]
        if out != word and out:
            return out, k
    raise ValueError("cannot misspell a word made of one repeated letter")  # pragma: no cover


@dataclass
class Typo:
    report: int
    start: int
    end: int
    word: str
    typo: str
    kind: str


def finding_words(nlp: Language, gold: Sequence[GoldReport]) -> list[tuple[int, int, int]]:
    """(report index, start, end) of every finding word: letters only, 4+ letters, inside a mention found on the clean text."""
    out = []
    for i, g in enumerate(gold):
        spans = sorted({(f.start, f.end) for f in annotate(nlp, g.text, age=g.age).findings})
        for m in _WORD.finditer(g.text):
            if any(a <= m.start() and m.end() <= b for a, b in spans):
                out.append((i, m.start(), m.end()))
    return out


def make_typos(gold: Sequence[GoldReport], words: list[tuple[int, int, int]], rate: float,
               seed: int) -> tuple[list[GoldReport], list[Typo]]:
    """Misspell ``rate`` of ``words`` (chosen with ``seed``); the gold reports with the misspelt texts."""
    rng = random.Random(seed)
    chosen = sorted(rng.sample(words, round(rate * len(words)))) if words else []
    typos = []
    for i, a, b in chosen:
        word = gold[i].text[a:b]
        typo, kind = misspell(word, rng)
        typos.append(Typo(i, a, b, word, typo, kind))
    by_report: dict[int, list[Typo]] = {}
    for t in typos:
        by_report.setdefault(t.report, []).append(t)
    out = []
    for i, g in enumerate(gold):
        text = g.text
        for t in reversed(by_report.get(i, [])):  # from the end, so earlier offsets hold
            text = text[:t.start] + t.typo + text[t.end:]
        out.append(replace(g, text=text))
    return out, typos


def _scores(nlp: Language, gold: Sequence[GoldReport]) -> dict:
    s = evaluate(nlp, gold).summary()
    return {"pair_f1": s["pair"]["f1"], "report_f1": s["report"]["f1"],
            "negation_errors": s["negation"]["errors"]}


def run_stress(gold: Sequence[GoldReport], *, rate: float = 0.1, seed: int = 0,
               patterns_dir: Optional[Union[str, Path]] = None) -> dict:
    """Scores on clean and misspelt reports, speller on and off, and what the speller made of the typos."""
    on = load(patterns_dir)
    off = load(patterns_dir)
    off.remove_pipe(SPELLING_PIPE)
    words = finding_words(on, gold)
    typod, typos = make_typos(gold, words, rate, seed)
    speller = on.get_pipe(SPELLING_PIPE).speller
    back = other = 0
    for t in typos:
        fix = speller.correction(t.typo)
        if fix is not None and fix == t.word.lower():
            back += 1
        elif fix is not None:
            other += 1
    out = {
        "reports": len(gold), "finding_words": len(words), "rate": rate, "seed": seed,
        "typos": len(typos), "edits": dict(Counter(t.kind for t in typos)),
        "read_back": back, "read_as_other": other, "left": len(typos) - back - other,
        "short_typos": sum(1 for t in typos if len(t.typo) < speller.data.min_length),
    }
    for name, nlp in (("speller_on", on), ("speller_off", off)):
        clean, bad = _scores(nlp, gold), _scores(nlp, typod)
        out[name] = {"clean": clean, "typos": bad,
                     "drop": {k: clean[k] - bad[k] for k in ("pair_f1", "report_f1")}}
    return out


def format_stress(r: dict, corpus: str = "") -> str:
    edits = ", ".join(f"{r['edits'].get(k, 0)} {k}s" for k in EDITS)
    lines = [
        f"corpus: {corpus + ', ' if corpus else ''}{r['reports']} reports; {r['finding_words']:,} finding words "
        "(letters only, 4 or more, inside the mentions found on the clean text)",
        f"typos: {r['typos']:,} words (rate {r['rate']:.2f}, seed {r['seed']}): {edits}",
        f"speller: {r['read_back']} read back as the original word, {r['read_as_other']} as another lexicon word, "
        f"{r['left']} left as written ({r['short_typos']} of them shorter than the speller's minimum length)",
        "",
        f"{'':14} {'clean':>7} {'typos':>7} {'drop':>7}",
    ]
    for name, label in (("speller_on", "speller on"), ("speller_off", "speller off")):
        s = r[name]
        lines.append(label)
        for key, title in (("pair_f1", "pair F1"), ("report_f1", "report F1")):
            lines.append(f"  {title:12} {s['clean'][key]:>7.3f} {s['typos'][key]:>7.3f} {s['drop'][key]:>7.3f}")
    return "\n".join(lines)
