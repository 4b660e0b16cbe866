"""The ``spinecontext`` command line."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from . import __version__

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Find degenerative findings in lumbar spine MRI reports and add plain-language context.",
)


class Format(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _load(patterns: Optional[Path]):
    from . import load
    from .nlp.rules import RuleFileError

    try:
        return load(patterns)
    except RuleFileError as exc:
        _fail(f"rule files: {exc}")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"spinecontext {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """spinecontext command line."""


@app.command()
def annotate(
    paths: List[Path] = typer.Argument(..., help="Report .txt files, folders of them, or .jsonl files with id, text and optional age."),
    format: Format = typer.Option(Format.table, "--format", "-f", help="table (readable), json (the JSON contract; a list when there are several reports) or jsonl (one report a line)."),
    age: Optional[int] = typer.Option(None, "--age", min=0, max=120, help="Patient age in years, for reports that do not give one in their input (a .jsonl 'age' wins)."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Processes to use (nlp.pipe n_process)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file instead of standard output."),
    patterns: Optional[Path] = typer.Option(None, "--patterns", help="Use the rule files in this folder instead of the packaged ones."),
) -> None:
    """Annotate reports: findings, levels, assertion, severity and side.

    A report that cannot be read or processed is reported on standard error
    as one line ("error: ID: reason") and the others still come out; the exit
    status is then 1.
    """
    from .io import iter_reports
    from .render import table, to_json
    from .runner import run

    nlp = _load(patterns)
    out = output.open("w", encoding="utf-8") if output else sys.stdout
    failed = 0
    results = []
    try:
        first = True
        for o in run(nlp, iter_reports(paths), workers=workers, age=age):
            if o.error:
                failed += 1
                typer.echo(f"error: {o.report.id}: {o.error}", err=True)
                continue
            if format is Format.jsonl:
                out.write(to_json(o.result, indent=None) + "\n")
            elif format is Format.json:
                results.append(o.result.model_dump(mode="json"))
            else:
                out.write(("" if first else "\n") + table(o.result) + "\n")
            first = False
        if format is Format.json:
            data = results[0] if len(results) == 1 else results
            out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    finally:
        if output:
            out.close()
    if failed:
        raise typer.Exit(1)


@app.command()
def evaluate(
    gold: Path = typer.Argument(..., help="Gold .jsonl (format: shared/ANNOTATION.md)."),
    errors: bool = typer.Option(False, "--errors", help="Also list, per report id, the missed and extra (finding, level) pairs and negation errors."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
    patterns: Optional[Path] = typer.Option(None, "--patterns", help="Use the rule files in this folder instead of the packaged ones."),
) -> None:
    """Score the pipeline on a gold file: pair and report F1, per finding, negation errors."""
    from .evaluate import GoldFileError, evaluate as run_eval, format_errors, format_summary, read_gold

    try:
        reports = read_gold(gold)
    except GoldFileError as exc:
        _fail(str(exc))
    ev = run_eval(_load(patterns), reports)
    summary = ev.summary()
    if as_json:
        if errors:
            summary["errors"] = ev.errors
        typer.echo(json.dumps(summary, indent=2, default=list))
        return
    typer.echo(format_summary(summary))
    if errors and ev.errors:
        typer.echo("\n" + format_errors(ev))


@app.command()
def bench(
    corpus: Path = typer.Argument(..., help="A .jsonl file of reports (id, text) or a folder of .txt files."),
    repeat: int = typer.Option(5, "--repeat", min=1, max=50, help="Timings per stage; the best is kept."),
    min_seconds: float = typer.Option(1.0, "--min-seconds", min=0.0, max=60.0, help="Each timing loops over the corpus for at least this long."),
    no_medspacy: bool = typer.Option(False, "--no-medspacy", help="Skip the medspaCy baseline."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Time the tokenizer, medspaCy's default pipeline and spinecontext on the same texts."""
    from .bench import format_bench, run_bench
    from .io import iter_reports

    texts = [r.text for r in iter_reports([corpus]) if r.error is None]
    if not texts:
        _fail(f"{corpus}: no readable reports")
    result = run_bench(texts, repeat=repeat, with_medspacy=not no_medspacy, min_seconds=min_seconds)
    typer.echo(json.dumps(result, indent=2) if as_json else format_bench(result))


@app.command()
def rules(
    patterns: Optional[Path] = typer.Option(None, "--patterns", help="Check the rule files in this folder instead of the packaged ones."),
) -> None:
    """Check the rule files against their schema and print what they hold."""
    from .nlp.rules import RuleFileError, resolve_dir, validate_all

    try:
        counts = validate_all(patterns)
    except RuleFileError as exc:
        _fail(str(exc), code=1)
    typer.echo(f"rule files in {resolve_dir(patterns)}: OK")
    for k, v in counts.items():
        typer.echo(f"  {k}: {v}")


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
