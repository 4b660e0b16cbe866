"""``spinecontext bench-batch``: throughput, memory and resume time of ``spinecontext batch``.

It builds archives by sampling reports from .jsonl corpora (with their ages),
runs ``spinecontext batch`` in fresh processes with 1 and N workers on a small
and a large archive, and measures:

- reports/s (wall time of the whole command, pipeline loading included);
- peak memory of the whole process tree (the main process and its workers):
  the sum over processes of each one's peak resident set (VmHWM), sampled
  from /proc every 0.2 s, so an upper bound of the simultaneous total;
- the time to resume after ``kill -9``: a run on the large archive is killed
  after a few seconds, then ``--resume`` runs to the end; its output must hold
  every input id exactly once and equal the uninterrupted run's bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional


def default_corpora(root: Path) -> list[Path]:
    """The project's corpora, and the shared development corpus when it sits beside the project."""
    candidates = [root / "corpora" / "reports.jsonl", root / "corpora" / "blind.jsonl",
                  root.parent / "shared" / "corpora" / "dev.jsonl"]
    return [p for p in candidates if p.is_file()]


def make_archive(corpora: list[Path], path: Path, n: int, seed: int = 0) -> int:
    """Write ``n`` reports sampled (with replacement) from ``corpora`` to ``path``; return the pool size."""
    pool: list[tuple[str, object]] = []
    for c in corpora:
        with c.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    row = json.loads(line)
                    if isinstance(row.get("text"), str) and row["text"].strip():
                        pool.append((row["text"], row.get("age")))
    if not pool:
        raise ValueError("the corpora hold no reports")
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            text, age = rng.choice(pool)
            row = {"id": f"bench-{i:07d}", "text": text}
            if isinstance(age, int):
                row["age"] = age
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(pool)


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def _hwm_kib(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class TreeMemory:
    """Peak resident memory of a process and its descendants (Linux /proc)."""

    def __init__(self, root: int):
        self.root = root
        self.peaks: dict[int, int] = {}

    def sample(self) -> None:
        kids = _children()
        todo = [self.root]
        while todo:
            pid = todo.pop()
            hwm = _hwm_kib(pid)
            if hwm is not None:
                self.peaks[pid] = max(self.peaks.get(pid, 0), hwm)
            todo.extend(kids.get(pid, []))

    @property
    def total_mib(self) -> float:
        return sum(self.peaks.values()) / 1024

    @property
    def main_mib(self) -> float:
        return self.peaks.get(self.root, 0) / 1024


def batch_command(*args: object) -> list[str]:
    return [sys.executable, "-m", "spinecontext.cli", "batch", *map(str, args)]


def run_measured(cmd: list[str], *, kill_after: Optional[float] = None) -> dict:
    """Run ``cmd``; wall time and peak tree memory (or kill -9 it after ``kill_after`` s)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    mem = TreeMemory(proc.pid)
    killed = False
    load = 0.0
    while proc.poll() is None:
        mem.sample()
        load = max(load, os.getloadavg()[0])
        if kill_after is not None and time.monotonic() - start >= kill_after:
            proc.send_signal(signal.SIGKILL)
            killed = True
            break
        time.sleep(0.2)
    out, err = proc.communicate()
    secs = time.monotonic() - start
    if not killed and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[3:])} failed ({proc.returncode}): {err.strip()[-500:]}")
    return {"seconds": secs, "max_load": load, "peak_mib": mem.total_mib, "main_peak_mib": mem.main_mib,
            "processes": len(mem.peaks), "pids": sorted(mem.peaks), "stdout": out.strip(), "killed": killed}


def _ids(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line)["id"] for line in fh if line.strip()]


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _wait_gone(pids: list[int], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end and any(os.path.exists(f"/proc/{p}") for p in pids):
        time.sleep(0.1)


def run_bench(corpora: list[Path], *, reports: int = 100_000, small: int = 10_000, workers: int = 2,
              kill_after: float = 10.0, workdir: Optional[Path] = None,
              log: Callable[[str], None] = lambda m: None) -> dict:
    tmp = None
    if workdir is None:
        tmp = tempfile.mkdtemp(prefix="spinecontext-bench-")
        workdir = Path(tmp)
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        big, little = workdir / f"archive-{reports}.jsonl", workdir / f"archive-{small}.jsonl"
        pool = make_archive(corpora, big, reports)
        make_archive(corpora, little, small)
        log(f"archives: {reports:,} and {small:,} reports sampled from {pool} corpus reports")
        runs = {}
        for n_reports, archive in ((small, little), (reports, big)):
            for w in (1, workers):
                out = workdir / f"out-{n_reports}-w{w}.jsonl"
                r = run_measured(batch_command(archive, "-o", out, "--workers", w, "--overwrite", "--quiet"))
                r["reports_per_s"] = n_reports / r["seconds"]
                runs[f"{n_reports}/w{w}"] = r
                log(f"{n_reports:,} reports, {w} worker(s): {r['seconds']:.1f} s, {r['reports_per_s']:,.0f} reports/s, "
                    f"peak {r['peak_mib']:,.0f} MiB over {r['processes']} processes")
        reference = workdir / f"out-{reports}-w{workers}.jsonl"
        # kill -9 mid-run, then --resume to the end
        out = workdir / "out-killed.jsonl"
        cmd = batch_command(big, "-o", out, "--workers", workers, "--quiet")
        first = run_measured(cmd + ["--overwrite"], kill_after=kill_after)
        _wait_gone(first["pids"])  # workers notice the parent's death within 0.5 s
        time.sleep(1.0)
        done_before = len(_ids(out)) if out.exists() else 0
        resumed = run_measured(cmd + ["--resume"])
        ids = _ids(out)
        err_ids = _ids(Path(f"{out}.errors.jsonl"))
        want = _ids(big)
        exactly_once = sorted(ids + err_ids) == sorted(want) and len(set(ids + err_ids)) == len(want)
        identical = _sha(out) == _sha(reference)
        rate = runs[f"{reports}/w{workers}"]["reports_per_s"]
        resume = {"killed_after_s": kill_after, "done_before_kill": done_before,
                  "resume_seconds": resumed["seconds"], "resumed_reports": reports - done_before,
                  "overhead_seconds": resumed["seconds"] - (reports - done_before) / rate,
                  "exactly_once": exactly_once, "identical": identical, "stdout": resumed["stdout"]}
        log(f"kill -9 after {kill_after:.0f} s ({done_before:,} committed), --resume: {resumed['seconds']:.1f} s, "
            f"exactly once: {exactly_once}, identical to the uninterrupted run: {identical}")
        w1, wn = runs[f"{reports}/w1"], runs[f"{reports}/w{workers}"]
        return {"reports": reports, "small": small, "workers": workers, "corpus_reports": pool,
                "runs": {k: {kk: vv for kk, vv in v.items() if kk not in ("stdout", "pids")} for k, v in runs.items()},
                "speedup": wn["reports_per_s"] / w1["reports_per_s"],
                "resume": resume}
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def format_bench(result: dict) -> str:
    n, s, w = result["reports"], result["small"], result["workers"]
    runs = result["runs"]
    lines = [f"spinecontext batch on {n:,} reports sampled from {result['corpus_reports']} corpus reports", "",
             "| archive | workers | seconds | reports/s | peak memory, all processes (MiB) | main process (MiB) | max load average |",
             "|---|---|---|---|---|---|---|"]
    for key, r in runs.items():
        size, wk = key.split("/w")
        lines.append(f"| {int(size):,} | {wk} | {r['seconds']:.1f} | {r['reports_per_s']:,.0f} | "
                     f"{r['peak_mib']:,.0f} | {r['main_peak_mib']:,.0f} | {r['max_load']:.1f} |")
    r = result["resume"]
    lines += ["", f"speedup with {w} workers on {n:,} reports: {result['speedup']:.2f}x (bar >= 1.6x)",
              f"peak memory {s:,} -> {n:,} reports: "
              + ", ".join(f"{k} worker(s) {runs[f'{s}/w{k}']['peak_mib']:,.0f} -> {runs[f'{n}/w{k}']['peak_mib']:,.0f} MiB"
                          for k in (1, w)) + " (bar < 1024 MiB, flat)",
              f"kill -9 after {r['killed_after_s']:.0f} s with {r['done_before_kill']:,} reports committed; "
              f"--resume took {r['resume_seconds']:.1f} s for the other {r['resumed_reports']:,} "
              f"(restart overhead {r['overhead_seconds']:+.1f} s vs the uninterrupted rate)",
              f"after the resume every id is there exactly once: {r['exactly_once']}; "
              f"identical to the uninterrupted run: {r['identical']}"]
    return "\n".join(lines)
