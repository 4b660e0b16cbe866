"""Batch annotation of report archives: streaming, parallel, crash-safe and resumable.

    >>> from spinecontext.batch import open_source, sink_for, run_batch
    >>> counts = run_batch(open_source(Path("reports.jsonl")), sink_for("out.csv"), workers=2)
    >>> counts.line()
    'read 1,000, annotated 998, failed 2, skipped 0'

Sources (:mod:`.sources`): a folder of .txt files, .jsonl, .csv, a SQL query.
Sinks (:mod:`.sinks`, :mod:`.db`): JSONL, CSV, Parquet, FHIR R4B NDJSON, brat,
database tables. :mod:`.engine` runs the loop; :mod:`.bench` measures it.
"""

from __future__ import annotations

from .engine import DUPLICATE, Counts, run_batch
from .progress import Progress
from .sinks import BatchError, Outcome, Sink, safe_name, sink_for
from .sources import Source, SourceError, open_source

__all__ = ["run_batch", "Counts", "DUPLICATE", "Progress", "BatchError", "Outcome", "Sink", "safe_name",
           "sink_for", "Source", "SourceError", "open_source"]
