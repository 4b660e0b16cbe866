"""Speed and memory benchmark, all stages in one process on the same texts.

Stages:
* ``tokenizer``: spaCy's blank English tokenizer alone (the floor);
* ``medspacy``: ``medspacy.load()``'s default pipeline (its tokenizer, PyRuSH
  sentences, TargetMatcher, ConText with its default rules) given target rules
  for the same findings (our finding expressions as regex TargetRules);
* ``extraction``: spinecontext without the prevalence and notes components;
* ``spinecontext``: the full spinecontext pipeline.

Several corpora can be measured in one run (each with its own freshly loaded
stages, see :func:`run_benches`); each round times every corpus with every
stage, taking turns.

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
    """medspaCy's default pipeline with TargetRules for the same findings (see medspacy_rules)."""
    from .medspacy_rules import medspacy_default_pipeline

    return medspacy_default_pipeline(patterns_dir)


def load_time(runs: int = 3) -> float:
    """Median wall time of ``import spinecontext; spinecontext.load()`` in ``runs`` fresh processes."""
    code = ("import time; t = time.perf_counter(); import spinecontext; "
            "spinecontext.load(); print(time.perf_counter() - t)")
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             cwd=tempfile.gettempdir())
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def _stages(with_medspacy: bool, patterns_dir=None) -> dict[str, Callable[[str], object]]:
    """The stages, freshly loaded."""
    import spinecontext

    stages: dict[str, Callable[[str], object]] = {}
    tok_nlp = spacy.blank("en")
    stages["tokenizer"] = tok_nlp.make_doc
    if with_medspacy:
        stages["medspacy"] = medspacy_baseline(patterns_dir)
    extraction = spinecontext.load(patterns_dir)
    extraction.select_pipes(disable=["spinecontext_prevalence", "spinecontext_notes"])
    stages["extraction"] = extraction  # findings, levels, assertion, attributes: no notes
    stages["spinecontext"] = spinecontext.load(patterns_dir)
    return stages


def run_benches(corpora: Sequence[tuple[str, Sequence[str]]], *, repeat: int = 5, with_medspacy: bool = True,
                patterns_dir=None, min_seconds: float = 1.0) -> list[dict]:
    """Figures for each ``(name, texts)`` corpus, all measured in this process.

    Each corpus has its own stages, loaded before any timing: spaCy's
    tokenizer gets up to a third faster once it has seen other texts (its
    vocabulary and cache tables grow), so stages shared between corpora would
    make one corpus's figures depend on the others in the run. In each of the
    ``repeat`` rounds every corpus is timed with every stage in turn, so a
    machine that speeds up or slows down during the run affects every corpus
    and stage alike.
    """
    all_stages = [_stages(with_medspacy, patterns_dir) for _ in corpora]
    best = [{name: float("inf") for name in stages} for stages in all_stages]
    for _ in range(repeat):
        for i, (_, texts) in enumerate(corpora):
            for name, fn in all_stages[i].items():
                secs = _time(fn, texts, 1, min_seconds if name != "medspacy" else 0.0)
                best[i][name] = min(best[i][name], secs)
    load_seconds = load_time()
    results = []
    for (corpus, texts), times, stages in zip(corpora, best, all_stages):
        n = len(texts)
        out: dict = {"corpus": corpus, "reports": n, "characters": sum(len(t) for t in texts),
                     "repeat": repeat, "stages": {}}
        for name, secs in times.items():
            out["stages"][name] = {"seconds": secs, "reports_per_s": n / secs if secs else float("inf")}
        for name, fn in stages.items():
            out["stages"][name]["peak_mib"] = _peak(fn, texts) / 2**20
        s = out["stages"]
        out["ratios"] = {"spinecontext_time_vs_tokenizer": s["spinecontext"]["seconds"] / s["tokenizer"]["seconds"],
                         "extraction_time_vs_tokenizer": s["extraction"]["seconds"] / s["tokenizer"]["seconds"]}
        if with_medspacy:
            out["ratios"]["medspacy_time_vs_tokenizer"] = s["medspacy"]["seconds"] / s["tokenizer"]["seconds"]
            out["ratios"]["spinecontext_speedup_vs_medspacy"] = s["medspacy"]["seconds"] / s["spinecontext"]["seconds"]
        out["load_seconds"] = load_seconds
        results.append(out)
    return results


def run_bench(texts: Sequence[str], *, repeat: int = 5, with_medspacy: bool = True,
              patterns_dir=None, min_seconds: float = 1.0, corpus: str = "corpus") -> dict:
    """Figures for one corpus (see :func:`run_benches`)."""
    return run_benches([(corpus, texts)], repeat=repeat, with_medspacy=with_medspacy,
                       patterns_dir=patterns_dir, min_seconds=min_seconds)[0]


#: The speed bars of the README, by kind of corpus.
BARS = ("bars (README): spinecontext time / tokenizer time <= 8x on short notes (../shared/corpora/dev.jsonl),\n"
        "               <= 6x on long-form reports (../shared/corpora/realstyle.jsonl);\n"
        "               spinecontext throughput >= 10x medspaCy's")


def _format_one(r: dict) -> list[str]:
    lines = [f"corpus: {r['corpus']}: {r['reports']} reports, {r['characters']:,} characters; "
             f"best of {r['repeat']} timings", ""]
    lines.append(f"{'stage':14} {'reports/s':>11} {'seconds':>9} {'peak MiB':>9}")
    for name, s in r["stages"].items():
        lines.append(f"{name:14} {s['reports_per_s']:>11,.0f} {s['seconds']:>9.3f} {s['peak_mib']:>9.1f}")
    lines.append("")
    ra = r["ratios"]
    lines.append(f"spinecontext time / tokenizer time: {ra['spinecontext_time_vs_tokenizer']:.2f}x")
    lines.append(f"extraction only (no prevalence/notes) / tokenizer: {ra['extraction_time_vs_tokenizer']:.2f}x")
    if "medspacy_time_vs_tokenizer" in ra:
        lines.append(f"medspacy time / tokenizer time:     {ra['medspacy_time_vs_tokenizer']:.1f}x")
        lines.append(f"spinecontext throughput / medspacy: {ra['spinecontext_speedup_vs_medspacy']:.1f}x")
    return lines


def format_bench(results) -> str:
    """The figures of :func:`run_benches` (or one :func:`run_bench` result) as text."""
    if isinstance(results, dict):
        results = [results]
    lines: list[str] = []
    for r in results:
        lines += _format_one(r) + [""]
    if len(results) > 1:
        medspacy = all("medspacy_time_vs_tokenizer" in r["ratios"] for r in results)
        width = max(len(r["corpus"]) for r in results)
        head = f"{'corpus':{width}} {'reports':>8} {'spinecontext/tok':>17} {'extraction/tok':>15}"
        if medspacy:
            head += f" {'medspacy/tok':>13} {'vs medspacy':>12}"
        lines += ["summary (one process, the same timings as above)", head]
        for r in results:
            ra = r["ratios"]
            row = (f"{r['corpus']:{width}} {r['reports']:>8} {ra['spinecontext_time_vs_tokenizer']:>16.2f}x"
                   f" {ra['extraction_time_vs_tokenizer']:>14.2f}x")
            if medspacy:
                row += f" {ra['medspacy_time_vs_tokenizer']:>12.1f}x {ra['spinecontext_speedup_vs_medspacy']:>11.1f}x"
            lines.append(row)
        lines.append("")
    lines.append(BARS)
    lines.append(f"load time (import + load, median of 3 fresh processes): {results[0]['load_seconds']:.2f} s  (bar: < 2 s)")
    return "\n".join(lines)
