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
    text = "text"
    md = "md"
    html = "html"


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
    format: Format = typer.Option(Format.table, "--format", "-f", help="table (findings and notes), json (the JSON contract; a list when there are several reports), jsonl (one report a line), text or md (the report unchanged with the context appended), html (a self-contained page; several reports need -o FOLDER)."),
    age: Optional[int] = typer.Option(None, "--age", min=0, max=120, help="Patient age in years; it wins over an age in the report (a .jsonl 'age' wins over this)."),
    appendix: bool = typer.Option(False, "--appendix", help="Print only the radiologist's appendix paragraph of each report."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Processes to use (nlp.pipe n_process)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file instead of standard output; for html, a path not ending in .html is a folder that gets one page per report."),
    patterns: Optional[Path] = typer.Option(None, "--patterns", help="Use the rule files in this folder instead of the packaged ones."),
) -> None:
    """Annotate reports: findings, levels, assertion, severity, side, and plain-language notes.

    A report that cannot be read or processed is reported on standard error
    as one line ("error: ID: reason") and the others still come out; the exit
    status is then 1.
    """
    from .io import iter_reports
    from .render import table, to_html, to_json, to_markdown, to_text
    from .runner import run

    nlp = _load(patterns)
    # html: -o page.html for one report; -o FOLDER (any path not ending .html) for one page per report
    per_file = format is Format.html and output is not None and (
        output.is_dir() or output.suffix.lower() not in (".html", ".htm"))
    if per_file:
        output.mkdir(parents=True, exist_ok=True)
    out = output.open("w", encoding="utf-8") if output and not per_file else sys.stdout
    failed = 0
    results = []
    written = 0
    try:
        for o in run(nlp, iter_reports(paths), workers=workers, age=age):
            if o.error:
                failed += 1
                typer.echo(f"error: {o.report.id}: {o.error}", err=True)
                continue
            r, text = o.result, o.report.text
            sep = "" if written == 0 else "\n"
            if appendix:
                body = r.appendix or "(no appendix: the report has no common finding with a figure)"
                out.write(sep + (f"== {r.id} ==\n" if len(paths) > 1 or written else "") + body + "\n")
            elif format is Format.jsonl:
                out.write(to_json(r, indent=None) + "\n")
            elif format is Format.json:
                results.append(r.model_dump(mode="json"))
            elif format is Format.text:
                out.write(sep + to_text(text, r))
            elif format is Format.md:
                out.write(sep + to_markdown(text, r))
            elif format is Format.html:
                if per_file:
                    (output / f"{_safe_name(r.id)}.html").write_text(to_html(text, r), encoding="utf-8")
                elif written:
                    _fail("html output of several reports needs -o FOLDER")
                else:
                    out.write(to_html(text, r))
            else:
                out.write(sep + table(r) + "\n")
            written += 1
        if format is Format.json and not appendix:
            data = results[0] if len(results) == 1 else results
            out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    if failed:
        raise typer.Exit(1)


def _safe_name(report_id: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "_", report_id).strip("._") or "report"


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
