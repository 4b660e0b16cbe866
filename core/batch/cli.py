"""The ``spinecontext batch`` and ``spinecontext bench-batch`` commands (registered in spinecontext.cli)."""

from __future__ import annotations

import json
import time
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer


class BatchFormat(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"
    fhir = "fhir"
    brat = "brat"


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def batch(
    input: Optional[Path] = typer.Argument(None, help="A folder of .txt reports (searched recursively; the id is the relative path), a .jsonl file (id, text, optional age) or a .csv file with a header row. Leave out with --db/--query."),
    output: str = typer.Option(..., "--output", "-o", help="Where to write: a .jsonl (one JSON contract per report), .csv or .parquet (one row per finding x level), .fhir.jsonl / .fhir.ndjson (FHIR R4B bundles) file, a folder with --format brat, or a SQLAlchemy database URL (e.g. sqlite:///out.db, postgresql+psycopg://user@host/db) to write tables."),
    format: Optional[BatchFormat] = typer.Option(None, "--format", "-f", help="Output format; by default from OUTPUT's name. brat writes ID.txt/ID.ann pairs and annotation.conf into the folder OUTPUT."),
    db: Optional[str] = typer.Option(None, "--db", help="Read reports from this SQLAlchemy database URL (with --query) instead of INPUT."),
    query: Optional[str] = typer.Option(None, "--query", help="SQL query giving the reports (with --db); rows are streamed."),
    id_col: str = typer.Option("id", "--id-col", help="Column (field) holding the report id."),
    text_col: str = typer.Option("text", "--text-col", help="Column (field) holding the report text."),
    age_col: str = typer.Option("age", "--age-col", help="Column (field) holding the patient age, if any."),
    table: Optional[str] = typer.Option(None, "--table", help="Database output: name of the findings table (default spine_findings); reports go to TABLE_reports."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, max=64, help="Worker processes, each with its own pipeline."),
    chunk_size: int = typer.Option(256, "--chunk-size", min=1, max=100_000, help="Reports per chunk: the unit sent to a worker and committed to the output."),
    resume: bool = typer.Option(False, "--resume", help="Continue an output left by an interrupted run: ids already written are skipped."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output (and its errors and state files)."),
    age: Optional[int] = typer.Option(None, "--age", min=0, max=120, help="Patient age for reports whose input row gives none; like annotate --age, it wins over an age written in the report text."),
    patterns: Optional[Path] = typer.Option(None, "--patterns", help="Use the rule files in this folder instead of the packaged ones."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines."),
    progress_every: float = typer.Option(10.0, "--progress-every", min=0.1, help="Seconds between progress lines when standard error is not a terminal."),
) -> None:
    """Annotate an archive of reports into files or a database: streaming, parallel, resumable.

    Reports that fail (not UTF-8, empty, too large, bad age, repeated id) go
    to OUTPUT.errors.jsonl (id and reason, never text; for a database, to
    TABLE_reports with status 'failed') and the batch goes on. The last line
    gives the counts: read, annotated, failed, skipped (already done).
    Output is committed chunk by chunk: after a crash, run the same command
    with --resume and every input id ends up in the output exactly once.
    """
    from . import BatchError, Progress, SourceError, open_source, run_batch, sink_for

    if resume and overwrite:
        _fail("--resume and --overwrite do not go together")
    try:
        source = open_source(input, db=db, query=query, id_col=id_col, text_col=text_col, age_col=age_col)
        sink = sink_for(output, format.value if format else None, table=table, patterns_dir=patterns)
    except (SourceError, BatchError) as exc:
        _fail(str(exc))
    if patterns is not None:
        from ..nlp.rules import RuleFileError, validate_all

        try:
            validate_all(patterns)
        except RuleFileError as exc:
            _fail(f"rule files: {exc}")
    progress = Progress(None, every=progress_every, enabled=not quiet)
    start = time.monotonic()
    try:
        if not quiet:
            progress.total = source.total()
            progress.start = time.monotonic()
        counts = run_batch(source, sink, workers=workers, chunk_size=chunk_size, patterns=patterns, age=age,
                           resume=resume, overwrite=overwrite, progress=progress)
    except (SourceError, BatchError) as exc:
        _fail(str(exc), code=2)
    except OSError as exc:
        _fail(f"{exc.filename or output}: {exc.strerror or exc}", code=1)
    except KeyboardInterrupt:
        _fail("interrupted; the committed part is kept: run the same command with --resume", code=130)
    secs = time.monotonic() - start
    rate = (counts.annotated + counts.failed) / secs if secs > 0 else 0.0
    typer.echo(f"{counts.line()} ({secs:,.1f} s, {rate:,.0f} reports/s)")
    if counts.failed and hasattr(sink, "errors_path"):
        typer.echo(f"failed reports and reasons: {sink.errors_path}", err=True)


def bench_batch(
    reports: int = typer.Option(100_000, "--reports", "-n", min=100, help="Size of the generated archive."),
    small: int = typer.Option(10_000, "--small", min=100, help="Size of the smaller archive (memory must stay flat from it to --reports)."),
    workers: int = typer.Option(2, "--workers", min=2, max=64, help="Workers of the parallel runs (compared with 1)."),
    corpus: Optional[List[Path]] = typer.Option(None, "--corpus", help="A .jsonl corpus to sample from (repeatable); by default corpora/reports.jsonl, corpora/blind.jsonl and ../shared/corpora/dev.jsonl when present."),
    kill_after: float = typer.Option(10.0, "--kill-after", min=1.0, help="Seconds before the kill -9 of the kill-and-resume run."),
    workdir: Optional[Path] = typer.Option(None, "--dir", help="Keep the archives and outputs in this folder (default: a temporary folder, removed)."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Benchmark batch: reports/s with 1 and N workers, peak memory, time to resume after kill -9."""
    from .bench import default_corpora, format_bench, run_bench

    corpora = corpus or default_corpora(Path.cwd())
    missing = [str(c) for c in corpora if not c.is_file()]
    if not corpora or missing:
        _fail(f"no corpus to sample: {', '.join(missing) or 'give --corpus FILE.jsonl'}")
    if small > reports:
        _fail("--small must not exceed --reports")
    result = run_bench(corpora, reports=reports, small=small, workers=workers, kill_after=kill_after,
                       workdir=workdir, log=lambda m: typer.echo(m, err=True))
    typer.echo(json.dumps(result, indent=2) if as_json else format_bench(result))
    if not result["resume"]["exactly_once"] or not result["resume"]["identical"]:
        raise typer.Exit(1)
