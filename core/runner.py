"""Annotate a stream of reports in order, never losing one.

Reports that could not be read carry their reason through; a report on which
the pipeline fails gets a one-line reason instead of stopping the run. Works
with one process or ``nlp.pipe(n_process=N)``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Iterable, Iterator, Optional

from spacy.language import Language

from . import make_doc
from .io import Report
from .result import ReportResult, from_doc


@dataclass
class Outcome:
    report: Report
    result: Optional[ReportResult] = None
    error: Optional[str] = None


def _skip_failed(proc_name, proc, docs, exc) -> None:
    """spaCy error handler: drop the failed doc; ``run`` reports the gap.

    Module-level so it can be sent to worker processes. It must not log: the
    exception may quote report text.
    """
    return None


def run(nlp: Language, reports: Iterable[Report], *, workers: int = 1,
        batch_size: int = 64, age: Optional[int] = None) -> Iterator[Outcome]:
    """Annotate ``reports``; yield one Outcome per report, in input order.

    age: an age for reports that have none of their own (the caller's age).
    """
    nlp.set_error_handler(_skip_failed)
    pending: deque[tuple[int, Report]] = deque()

    def feed():
        for i, rep in enumerate(reports):
            pending.append((i, rep))
            if rep.error is None:
                given = rep.age if rep.age is not None else age
                # a Doc carries the caller's age into the pipeline; plain text is cheaper to send
                yield (rep.text if given is None else make_doc(nlp, rep.text, given)), i

    def flush_until(i: Optional[int]) -> Iterator[Outcome]:
        while pending and (i is None or pending[0][0] < i):
            _, rep = pending.popleft()
            yield Outcome(rep, error=rep.error or "the pipeline failed on this report")

    docs = nlp.pipe(feed(), as_tuples=True, n_process=workers, batch_size=batch_size)
    for doc, i in docs:
        yield from flush_until(i)
        _, rep = pending.popleft()
        yield Outcome(rep, result=from_doc(doc, report_id=rep.id))
    yield from flush_until(None)
