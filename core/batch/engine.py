"""The batch loop: read chunks, annotate them in worker processes, commit them in order.

The main process reads the input, decides what each report needs (annotate,
fail, skip because it is already done, or fail as a repeated id), and commits
chunks in input order. Each worker process loads the pipeline once, receives
chunks of (id, text, age) and sends back ready-to-write output (JSON lines,
CSV text, rows), so the main process only does I/O. At most ``2 x workers``
chunks are in flight, which bounds memory whatever the archive size; the ids
seen in this run live in a temporary SQLite file, not in memory.

Repeated ids: the first report with an id is annotated; each later one is
not, and fails with the reason "duplicate id".
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional

from ..io import Report
from .encode import ENCODERS
from .progress import Progress
from .sinks import BatchError, Outcome, Sink, _in_chunks

DEFAULT_CHUNK = 256
DUPLICATE = "duplicate id: an earlier report in the input has the same id"


@dataclass
class Counts:
    read: int = 0
    annotated: int = 0
    failed: int = 0
    skipped: int = 0

    def line(self) -> str:
        return (f"read {self.read:,}, annotated {self.annotated:,}, failed {self.failed:,}, "
                f"skipped {self.skipped:,}")

    def as_dict(self) -> dict[str, int]:
        return {"read": self.read, "annotated": self.annotated, "failed": self.failed, "skipped": self.skipped}


# --- worker side ------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _watch_parent(parent: int) -> None:
    """End this worker when the main process is gone (even after kill -9)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def init_worker(patterns: Optional[str], encoder: str, age: Optional[int], parent: Optional[int] = None) -> None:
    from .. import load

    if _WORKER.get("patterns", "") != patterns or "nlp" not in _WORKER:  # one load per process
        _WORKER["nlp"] = load(patterns)
        _WORKER["patterns"] = patterns
    _WORKER["encode"] = ENCODERS[encoder]
    _WORKER["age"] = age
    if parent is not None:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def annotate_chunk(items: list[tuple[str, str, Optional[int]]]) -> list[tuple[Any, Optional[str]]]:
    """[(payload, None) or (None, reason)] for each (id, text, age), in order."""
    from ..runner import run

    encode: Callable = _WORKER["encode"]
    out: list[tuple[Any, Optional[str]]] = []
    reports = [Report(rid, text=text, age=age) for rid, text, age in items]
    for o in run(_WORKER["nlp"], reports, workers=1, batch_size=64, age=_WORKER["age"]):
        if o.error is not None:
            out.append((None, o.error))
            continue
        try:
            out.append((encode(o.result, o.report.text), None))
        except Exception as exc:  # never let one report stop the batch; never quote its text
            out.append((None, f"could not convert the result ({exc.__class__.__name__})"))
    return out


# --- main side --------------------------------------------------------------------

class RunSeen:
    """How many times each id has occurred so far in this run (a temporary on-disk SQLite table)."""

    def __init__(self):
        self.conn = sqlite3.connect("")  # private temporary database, deleted on close
        self.conn.execute("PRAGMA journal_mode=OFF")
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("CREATE TABLE seen (id TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID")

    def visit(self, ids: list[str]) -> list[int]:
        distinct = list(dict.fromkeys(ids))
        counts: dict[str, int] = {}
        for part in _in_chunks(distinct):
            counts.update(self.conn.execute(f"SELECT id, n FROM seen WHERE id IN ({','.join('?' * len(part))})", part))
        out = []
        for i in ids:
            counts[i] = counts.get(i, 0) + 1
            out.append(counts[i])
        self.conn.executemany("INSERT OR REPLACE INTO seen (id, n) VALUES (?, ?)", [(i, counts[i]) for i in distinct])
        return out

    def close(self) -> None:
        self.conn.close()


@dataclass
class _Chunk:
    plan: list[tuple[str, Optional[Outcome]]]   # (action, outcome): "skip" | "done" (outcome) | "work"
    work: list[str]                             # ids sent to be annotated, in order
    future: Any = None                          # Future or ready list of (payload, error)


def _chunks(reports: Iterable[Report], size: int) -> Iterator[list[Report]]:
    it = iter(reports)
    while chunk := list(islice(it, size)):
        yield chunk


def run_batch(source: Iterable[Report], sink: Sink, *, workers: int = 1, chunk_size: int = DEFAULT_CHUNK,
              patterns: Optional[Path] = None, age: Optional[int] = None, resume: bool = False,
              overwrite: bool = False, progress: Optional[Progress] = None) -> Counts:
    """Annotate every report of ``source`` into ``sink``; return the counts.

    resume: continue an output left by an earlier run (done ids are skipped).
    overwrite: replace an existing output instead of refusing.
    age: the age for reports that carry none.
    """
    if workers < 1 or chunk_size < 1:
        raise ValueError("workers and chunk_size must be at least 1")
    counts = Counts()
    progress = progress or Progress(enabled=False)
    sink.prepare(resume=resume, overwrite=overwrite)
    seen = RunSeen()
    executor: Optional[ProcessPoolExecutor] = None
    pat = str(patterns) if patterns is not None else None
    try:
        if workers > 1:
            import multiprocessing

            executor = ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=init_worker, initargs=(pat, sink.encoder, age, os.getpid()))
        else:
            init_worker(pat, sink.encoder, age)
        pending: deque[_Chunk] = deque()
        in_flight = 2 * workers

        def commit(chunk: _Chunk) -> None:
            results = chunk.future
            if isinstance(results, Future):
                try:
                    results = results.result()
                except BrokenProcessPool:
                    raise BatchError("a worker process died (out of memory?); the committed part is kept: "
                                     "run again with --resume") from None
            done = iter(zip(chunk.work, results))
            outcomes: list[Outcome] = []
            for action, outcome in chunk.plan:
                if action == "work":
                    rid, (payload, error) = next(done)
                    outcome = Outcome(rid, payload=payload, error=error)
                    if error is None:
                        counts.annotated += 1
                    else:
                        counts.failed += 1
                if outcome is not None:
                    outcomes.append(outcome)
            sink.commit(outcomes)
            progress.update(counts.read, counts.annotated + counts.failed)

        for reports in _chunks(source, chunk_size):
            counts.read += len(reports)
            ids = [r.id for r in reports]
            occurrence = seen.visit(ids)
            committed = sink.committed(ids)
            chunk = _Chunk(plan=[], work=[])
            items = []
            for r, n in zip(reports, occurrence):
                if n == 1:
                    if r.id in committed:
                        chunk.plan.append(("skip", None))
                        counts.skipped += 1
                    elif r.error is not None:
                        chunk.plan.append(("done", Outcome(r.id, error=r.error)))
                        counts.failed += 1
                    else:
                        chunk.plan.append(("work", None))
                        chunk.work.append(r.id)
                        items.append((r.id, r.text, r.age))
                elif n - 1 <= committed.get(r.id, 0):
                    chunk.plan.append(("skip", None))  # this repeat was reported by an earlier run
                    counts.skipped += 1
                else:
                    chunk.plan.append(("done", Outcome(r.id, error=DUPLICATE, dup=n - 1)))
                    counts.failed += 1
            if not items:
                chunk.future = []
            elif executor is not None:
                chunk.future = executor.submit(annotate_chunk, items)
            else:
                chunk.future = annotate_chunk(items)
            pending.append(chunk)
            while len(pending) > in_flight or (pending and not isinstance(pending[0].future, Future)):
                commit(pending.popleft())
            progress.update(counts.read, counts.annotated + counts.failed)
        while pending:
            commit(pending.popleft())
        sink.finish()
        progress.update(counts.read, counts.annotated + counts.failed, force=True)
    finally:
        progress.close()
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        seen.close()
        sink.close()
    return counts
