"""Speed and memory benchmark, all stages in one process on the same texts.

Stages:
* ``tokenizer``: spaCy's blank English tokenizer alone (the floor);
* ``medspacy``: ``medspacy.load()``'s default pipeline (its tokenizer, PyRuSH
  sentences, TargetMatcher, ConText with its default rules) given target rules
  for the same findings (our finding expressions as regex TargetRules);
* ``extraction``: spinecontext without the prevalence and notes components;
* ``spinecontext``: the full spinecontext pipeline.

Each stage is warmed up, then timed ``repeat`` times, the stages taking turns;
each timing loops over the corpus for at least ``min_seconds`` (one pass for
medspaCy, which is slow enough) and the best seconds-per-pass is kept. Peak memory is measured separately with tracemalloc (Python
allocations while the stage processes the corpus once). Load time is the
median wall time of ``import spinecontext; spinecontext.load()`` in three fresh
processes.
"""

from __future__ import annotations

import gc
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from typing import Callable, Sequence

import spacy


def _time(fn: Callable[[str], object], texts: Sequence[str], repeat: int, min_seconds: float) -> float:
    """Best seconds per pass over ``texts`` (each measurement spans at least ``min_seconds``)."""
    for t in texts[:20]:
        fn(t)
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        passes = 0
        start = time.perf_counter()
        while True:
            for t in texts:
                fn(t)
            passes += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        best = min(best, elapsed / passes)
    return best


def _peak(fn: Callable[[str], object], texts: Sequence[str]) -> int:
    gc.collect()
    tracemalloc.start()
    for t in texts:
        fn(t)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def medspacy_baseline(patterns_dir=None):
    """medspaCy's default pipeline with TargetRules for the same findings."""
    try:
        from loguru import logger

        logger.disable("PyRuSH")  # PyRuSH logs every sentence at DEBUG otherwise
    except ImportError:  # pragma: no cover
        pass
    import medspacy
    from medspacy.target_matcher import TargetRule

    from .nlp import rules

    d = rules.resolve_dir(patterns_dir)
    nlp = medspacy.load()
    target_rules = []
    for rule in rules.load_findings(d):
        for spec in rule.patterns:
            target_rules.append(TargetRule(rule.id, rule.id.upper(), pattern=rules.expand(spec.regex, d)))
    nlp.get_pipe("medspacy_target_matcher").add(target_rules)
    return nlp


def load_time(runs: int = 3) -> float:
    """Median median wall time of ``import spinecontext; spinecontext.load()`` in three fresh
processes."""
    code = ("import time; t = time.perf_counter(); import spinecontext; "
            "spinecontext.load(); print(time.perf_counter() - t)")
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             cwd=tempfile.gettempdir())
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def run_bench(texts: Sequence[str], *, repeat: int = 5, with_medspacy: bool = True,
              patterns_dir=None, min_seconds: float = 1.0) -> dict:
    import spinecontext

    n = len(texts)
    chars = sum(len(t) for t in texts)
    stages: dict[str, Callable[[str], object]] = {}
    tok_nlp = spacy.blank("en")
    stages["tokenizer"] = tok_nlp.make_doc
    if with_medspacy:
        stages["medspacy"] = medspacy_baseline(patterns_dir)
    extraction = spinecontext.load(patterns_dir)
    extraction.select_pipes(disable=["spinecontext_prevalence", "spinecontext_notes"])
    stages["extraction"] = extraction  # findings, levels, assertion, attributes: no notes
    stages["spinecontext"] = spinecontext.load(patterns_dir)
    out: dict = {"reports": n, "characters": chars, "repeat": repeat, "stages": {}}
    # timings of the stages alternate, so a machine that speeds up or slows
    # down during the run affects every stage alike
    best = {name: float("inf") for name in stages}
    for _ in range(repeat):
        for name, fn in stages.items():
            secs = _time(fn, texts, 1, min_seconds if name != "medspacy" else 0.0)
            best[name] = min(best[name], secs)
    for name, secs in best.items():
        out["stages"][name] = {"seconds": secs, "reports_per_s": n / secs if secs else float("inf")}
    for name, fn in stages.items():
        out["stages"][name]["peak_mib"] = _peak(fn, texts) / 2**20
    s = out["stages"]
    out["ratios"] = {"spinecontext_time_vs_tokenizer": s["spinecontext"]["seconds"] / s["tokenizer"]["seconds"],
                     "extraction_time_vs_tokenizer": s["extraction"]["seconds"] / s["tokenizer"]["seconds"]}
    if with_medspacy:
        out["ratios"]["medspacy_time_vs_tokenizer"] = s["medspacy"]["seconds"] / s["tokenizer"]["seconds"]
        out["ratios"]["spinecontext_speedup_vs_medspacy"] = s["medspacy"]["seconds"] / s["spinecontext"]["seconds"]
    out["load_seconds"] = load_time()
    return out


def format_bench(r: dict) -> str:
    lines = [f"corpus: {r['reports']} reports, {r['characters']:,} characters; best of {r['repeat']} timings", ""]
    lines.append(f"{'stage':14} {'reports/s':>11} {'seconds':>9} {'peak MiB':>9}")
    for name, s in r["stages"].items():
        lines.append(f"{name:14} {s['reports_per_s']:>11,.0f} {s['seconds']:>9.3f} {s['peak_mib']:>9.1f}")
    lines.append("")
    ra = r["ratios"]
    lines.append(f"spinecontext time / tokenizer time: {ra['spinecontext_time_vs_tokenizer']:.2f}x  (bar: <= 8x)")
    lines.append(f"extraction only (no prevalence/notes) / tokenizer: {ra['extraction_time_vs_tokenizer']:.2f}x")
    if "medspacy_time_vs_tokenizer" in ra:
        lines.append(f"medspacy time / tokenizer time:     {ra['medspacy_time_vs_tokenizer']:.1f}x")
        lines.append(f"spinecontext throughput / medspacy: {ra['spinecontext_speedup_vs_medspacy']:.1f}x  (bar: >= 10x)")
    lines.append(f"load time (import + load, median of 3 fresh processes): {r['load_seconds']:.2f} s  (bar: < 2 s)")
    return "\n".join(lines)
