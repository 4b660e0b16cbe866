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
                    (output / f"{_safe_name(r.id)}.html").write_text(to_html(text, r, patterns), encoding="utf-8")
                elif written:
                    _fail("html output of several reports needs -o FOLDER")
                else:
                    out.write(to_html(text, r, patterns))
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
    _print_evaluation(run_eval(_load(patterns), reports), as_json, errors, format_summary, format_errors)


def _print_evaluation(ev, as_json: bool, errors: bool, format_summary, format_errors) -> None:
    """The figures of an evaluation (JSON, or the summary text), and its errors if asked."""
    summary = ev.summary()
    if as_json:
        if errors:
            summary["errors"] = ev.errors
        typer.echo(json.dumps(summary, indent=2, default=list))
        return
    typer.echo(format_summary(summary))
    if errors and ev.errors:
        typer.echo("\n" + format_errors(ev))


class CompareFormat(str, Enum):
    table = "table"
    json = "json"
    md = "md"
    html = "html"


@app.command()
def compare(
    inputs: List[Path] = typer.Argument(..., help="PRIOR CURRENT: two report files (.txt, or .jsonl holding one report), or FILE.jsonl PRIOR_ID CURRENT_ID."),
    format: CompareFormat = typer.Option(CompareFormat.table, "--format", "-f", help="table (changes and notes), json (the compare contract: both results and the changes), md, html (a self-contained page)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file instead of standard output."),
    patterns: Optional[Path] = typer.Option(None, "--patterns", help="Use the rule files in this folder instead of the packaged ones."),
) -> None:
    """Compare two reports of the same patient: per (finding, level), new, gone, unchanged,
    worse or better, from what each report says and the change the current report states.

    Bad input (a missing file, an id not found, an empty or too long report) gives one
    line per problem on standard error ("error: WHERE: reason") and exit status 1;
    nothing is compared then.
    """
    from .compare import compare as run_compare, read_inputs
    from .render import compare_html, compare_markdown, compare_table
    from .result import from_doc
    from . import make_doc

    reports, problems = read_inputs(list(inputs))
    if problems:
        for p in problems:
            typer.echo(f"error: {p}", err=True)
        raise typer.Exit(2 if len(inputs) not in (2, 3) else 1)
    nlp = _load(patterns)
    results = []
    for rep in reports:
        try:
            results.append(from_doc(nlp(make_doc(nlp, rep.text, rep.age)), report_id=rep.id))
        except Exception:  # noqa: BLE001 - never print it: the message may quote the report
            typer.echo(f"error: {rep.id}: the pipeline failed on this report", err=True)
            raise typer.Exit(1)
    cr = run_compare(results[0], results[1], patterns)
    if format is CompareFormat.json:
        body = json.dumps(cr.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    elif format is CompareFormat.md:
        body = compare_markdown(cr)
    elif format is CompareFormat.html:
        body = compare_html(cr, reports[0].text, reports[1].text)
    else:
        body = compare_table(cr) + "\n"
    if output is not None:
        try:
            output.write_text(body, encoding="utf-8")
        except OSError as exc:
            _fail(f"{output}: cannot write ({exc.strerror or exc.__class__.__name__})", code=1)
    else:
        sys.stdout.write(body)


@app.command("evaluate-compare")
def evaluate_compare(
    gold: Path = typer.Argument(..., help="Gold pairs .jsonl (corpora/README.md: id, prior, current, changes), e.g. corpora/change_pairs.jsonl."),
    errors: bool = typer.Option(False, "--errors", help="Also list, per pair id, the (finding, level) pairs whose change is wrong."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
    patterns: Optional[Path] = typer.Option(None, "--patterns", help="Use the rule files in this folder instead of the packaged ones."),
) -> None:
    """Score `compare` on gold pairs: change accuracy over the gold (finding, level) entries,
    confusions, the red-flag safety check (gold new or worse red flags reported unchanged or
    better), and both reports of each pair scored as single reports (pair F1, change)."""
    from .evaluate import GoldFileError, evaluate_pairs, format_pair_errors, format_pair_summary, read_pairs

    try:
        pairs = read_pairs(gold)
    except GoldFileError as exc:
        _fail(str(exc))
    _print_evaluation(evaluate_pairs(_load(patterns), pairs, patterns), as_json, errors,
                      format_pair_summary, format_pair_errors)


@app.command()
def bench(
    corpora: List[Path] = typer.Argument(..., help="One or more corpora: .jsonl files of reports (id, text) or folders of .txt files. All are measured in this one process."),
    repeat: int = typer.Option(5, "--repeat", min=1, max=50, help="Timings per stage and corpus; the best is kept."),
    min_seconds: float = typer.Option(1.0, "--min-seconds", min=0.0, max=60.0, help="Each timing loops over the corpus for at least this long."),
    no_medspacy: bool = typer.Option(False, "--no-medspacy", help="Skip the medspaCy baseline (slow: one pass per timing)."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON: one object for one corpus, a list of them (one per corpus, in order) for several."),
) -> None:
    """Time the tokenizer, medspaCy's default pipeline and spinecontext on the same texts.

    For each corpus: a table of the stages and the ratios spinecontext time /
    tokenizer time and extraction-only / tokenizer time (and medspaCy's, unless
    --no-medspacy). The stages are loaded once and take turns on every corpus,
    so the figures of several corpora come from the same process and timings.
    Bars (README): <= 8x on short notes (../shared/corpora/dev.jsonl), <= 6x on
    long-form reports (../shared/corpora/realstyle.jsonl).
    """
    from .bench import format_bench, run_benches
    from .io import iter_reports

    loaded = []
    for corpus in corpora:
        texts = [r.text for r in iter_reports([corpus]) if r.error is None]
        if not texts:
            _fail(f"{corpus}: no readable reports")
        loaded.append((str(corpus), texts))
    results = run_benches(loaded, repeat=repeat, with_medspacy=not no_medspacy, min_seconds=min_seconds)
    if as_json:
        typer.echo(json.dumps(results[0] if len(results) == 1 else results, indent=2))
    else:
        typer.echo(format_bench(results))


@app.command("export-rules")
def export_rules(
    medspacy_dir: Path = typer.Option(..., "--medspacy", help="Folder to write the medspaCy rule files into (created if missing)."),
    patterns: Optional[Path] = typer.Option(None, "--patterns", help="Export the rule files in this folder instead of the packaged ones."),
) -> None:
    """Write our rules as a medspaCy rule pack: TargetRule, ConTextRule and SectionRule JSON.

    spinecontext_target_rules.json (finding patterns), spinecontext_context_rules.json
    (assertion rules) and spinecontext_section_rules.json (section headers), each in
    medspaCy's own format, to be read with TargetRule.from_json, ConTextRule.from_json
    and SectionRule.from_json. What medspaCy's rule files cannot express is approximated
    (a pattern's preceded_by / sentence_has condition folded into its expression) or
    left out (report_has patterns, vetoes, yields_to, a ConText rule's stop expression,
    exam-region titles), and counted.
    """
    from .medspacy_rules import CONTEXT, NOT_EXPRESSIBLE, SECTIONS, TARGETS, export_rules as run_export
    from .nlp.rules import RuleFileError

    try:
        counts = run_export(medspacy_dir, patterns)
    except RuleFileError as exc:
        _fail(f"rule files: {exc}")
    except OSError as exc:
        _fail(f"cannot write {medspacy_dir} ({exc.strerror or exc.__class__.__name__})")
    typer.echo(f"{medspacy_dir / TARGETS}: {counts['target_rules']} target rules")
    typer.echo(f"{medspacy_dir / CONTEXT}: {counts['context_rules']} ConText rules")
    typer.echo(f"{medspacy_dir / SECTIONS}: {counts['section_rules']} section rules")
    for key, n in counts["left_out"].items():
        typer.echo(f"not in medspaCy's terms ({n}): {NOT_EXPRESSIBLE[key]}")


@app.command("compare-engines")
def compare_engines(
    corpora: List[Path] = typer.Argument(..., help="Gold .jsonl files (format: shared/ANNOTATION.md); all measured in this one process."),
    repeat: int = typer.Option(3, "--repeat", min=1, max=50, help="Timings per engine and corpus; the best is kept."),
    min_seconds: float = typer.Option(1.0, "--min-seconds", min=0.0, max=60.0, help="Each timing of spinecontext and the tokenizer loops for at least this long (medspaCy: one pass)."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON (a list, one object per corpus)."),
) -> None:
    """spinecontext vs medspaCy with our exported rules vs medspaCy's default pipeline, on gold corpora.

    Per corpus and engine: pair precision, recall and F1, report finding F1,
    negation errors (findings the report only denies found present, levels
    ignored), reports/s and time vs a blank spaCy tokenizer, all from one
    process. medspaCy attributes no levels, so its pairs are unlevelled.
    Slow: medspaCy takes about a second per 150 reports and pass.
    """
    from .engines import format_compare, run_compare
    from .evaluate import GoldFileError, read_gold

    loaded = []
    for corpus in corpora:
        try:
            loaded.append((str(corpus), read_gold(corpus)))
        except GoldFileError as exc:
            _fail(str(exc))
    results = run_compare(loaded, repeat=repeat, min_seconds=min_seconds)
    typer.echo(json.dumps(results, indent=2) if as_json else format_compare(results))


@app.command("try-scispacy")
def try_scispacy(
    corpora: List[Path] = typer.Argument(..., help="Gold .jsonl files (format: shared/ANNOTATION.md)."),
    repeat: int = typer.Option(3, "--repeat", min=1, max=50, help="Timings per variant and corpus; the best is kept."),
    min_seconds: float = typer.Option(1.0, "--min-seconds", min=0.0, max=60.0, help="Each timing loops over the corpus for at least this long."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Measure scispaCy's offline parts in our pipeline: abbreviation detector, tokenizer, pysbd sentences.

    Needs pip install "spinecontext[scispacy]"; no scispaCy model is used or downloaded.
    Per corpus and variant: pair F1, report F1, negation errors, reports/s and time
    vs a blank spaCy tokenizer (README: scispaCy).
    """
    from .evaluate import GoldFileError, read_gold
    from .scispacy_trial import format_trial, run_trial

    loaded = []
    for corpus in corpora:
        try:
            loaded.append((str(corpus), read_gold(corpus)))
        except GoldFileError as exc:
            _fail(str(exc))
    try:
        results = run_trial(loaded, repeat=repeat, min_seconds=min_seconds)
    except RuntimeError as exc:
        _fail(str(exc))
    typer.echo(json.dumps(results, indent=2) if as_json else format_trial(results))


@app.command("stress-typos")
def stress_typos(
    corpus: Path = typer.Argument(..., help="Gold .jsonl (format: shared/ANNOTATION.md)."),
    rate: float = typer.Option(0.1, "--rate", min=0.0, max=1.0, help="Share of the finding words to misspell."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random choice of words and slips."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
    patterns: Optional[Path] = typer.Option(None, "--patterns", help="Use the rule files in this folder instead of the packaged ones."),
) -> None:
    """Misspell a share of the finding words (one typing slip each) and score clean vs misspelt, speller on and off.

    Finding words: the words (letters only, 4 or more) inside the mentions the
    pipeline finds on the clean reports. Only counts and scores are printed.
    """
    from .evaluate import GoldFileError, read_gold
    from .nlp.rules import RuleFileError
    from .stress import format_stress, run_stress

    try:
        reports = read_gold(corpus)
    except GoldFileError as exc:
        _fail(str(exc))
    try:
        result = run_stress(reports, rate=rate, seed=seed, patterns_dir=patterns)
    except RuleFileError as exc:
        _fail(f"rule files: {exc}")
    typer.echo(json.dumps(result, indent=2) if as_json else format_stress(result, corpus.name))


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


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; the default serves this machine only. Use 0.0.0.0 only behind a TLS proxy."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes; each loads the pipeline once."),
    patterns: Optional[Path] = typer.Option(None, "--patterns", help="Use the rule files in this folder instead of the packaged ones."),
    cors_origin: List[str] = typer.Option([], "--cors-origin", help="Allow browser calls from this origin (repeatable). CORS is off by default."),
    access_log: bool = typer.Option(True, "--access-log/--no-access-log", help="Log one line per request (method, path, status; never bodies)."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level: critical, error, warning, info, debug."),
) -> None:
    """Run the web service and the patient page (FastAPI on uvicorn).

    API: POST /v1/annotate, /v1/appendix, /v1/annotate/file, /v1/batch, /v1/compare;
    GET /healthz, /version, /openapi.json. Pages: / (patients) and
    /radiologist. Nothing is stored; report text never appears in logs.
    Limits come from SPINECONTEXT_MAX_* environment variables (see README).
    """
    import os

    from .api.settings import Settings

    if patterns is not None:
        _load(patterns)  # fail here, with a clear message, rather than in every worker
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        _fail(str(exc))
    if patterns is not None:
        os.environ["SPINECONTEXT_PATTERNS_DIR"] = str(patterns.resolve())
    if cors_origin:
        os.environ["SPINECONTEXT_CORS_ORIGINS"] = ",".join(cors_origin)
    if log_level not in ("critical", "error", "warning", "info", "debug"):
        _fail(f"--log-level must be one of critical, error, warning, info, debug; got {log_level!r}")
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"note: serving on {host}, reachable from other machines; use TLS in front of it.", err=True)
    del settings
    from .api.server import serve as run_server

    raise typer.Exit(run_server(host, port, workers=workers, access_log=access_log, log_level=log_level))


@app.command("bench-api")
def bench_api(
    clients: int = typer.Option(50, "--clients", min=1, max=1000, help="Concurrent keep-alive clients (closed loop, no think time)."),
    seconds: float = typer.Option(20.0, "--seconds", min=1.0, max=3600.0, help="Measured duration."),
    warmup: float = typer.Option(3.0, "--warmup", min=0.0, max=600.0, help="Load before measuring, not counted."),
    workers: int = typer.Option(2, "--workers", min=1, max=64, help="Server worker processes."),
    corpus: Optional[Path] = typer.Option(None, "--corpus", help="Reports to send (.jsonl or folder); default: the project's corpora/reports.jsonl."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Start the web service on 127.0.0.1 and measure it under load: requests/s, latency percentiles, errors, server memory."""
    from .api.loadbench import DEFAULT_CORPUS, format_result, run as run_load

    try:
        result = run_load(clients=clients, seconds=seconds, warmup=warmup, workers=workers,
                          corpus=corpus or DEFAULT_CORPUS)
    except (RuntimeError, ValueError) as exc:
        _fail(str(exc), code=1)
    typer.echo(json.dumps(result, indent=2) if as_json else format_result(result))


@app.command("bench-ocr")
def bench_ocr(
    corpora: Optional[list[Path]] = typer.Argument(None, help="Gold .jsonl corpora; default: the project's corpora/reports.jsonl, holdout.jsonl and longform.jsonl."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Only the first N reports of each corpus."),
    seed: int = typer.Option(0, "--seed", help="Seed for the rotation and noise of the page photos."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """OCR accuracy: each report typeset as a page photo (rotated, blurred, noisy JPEG), read by OCR, then annotated; pair F1 against the gold beside the same reports as text, and seconds per page."""
    from .ocrbench import format_table, run as run_ocr

    root = Path(__file__).resolve().parent.parent / "corpora"
    paths = corpora or [root / "reports.jsonl", root / "holdout.jsonl", root / "longform.jsonl"]
    for p in paths:
        if not p.is_file():
            _fail(f"{p}: no such file")
    try:
        result = run_ocr(paths, limit=limit, seed=seed)
    except (ValueError, OSError) as exc:
        _fail(str(exc), code=1)
    typer.echo(json.dumps(result, indent=2) if as_json else format_table(result))


@app.command()
def summarize(
    results: Path = typer.Argument(..., help="A .jsonl of results, one JSON contract object a line (annotate --format jsonl, batch)."),
    output: Path = typer.Option(Path("summary.html"), "--output", "-o", help="The HTML page to write (self-contained: plots embedded, no scripts)."),
    png_dir: Optional[Path] = typer.Option(None, "--png-dir", help="Folder for the plots as PNG files; default: OUTPUT's name + '_plots' beside it."),
    patterns: Optional[Path] = typer.Option(None, "--patterns", help="Read the evidence table from this rule folder instead of the packaged one."),
) -> None:
    """Summarise annotated results: findings by age decade beside people without back pain, red flags, plots.

    Lines that are not result objects are counted and skipped (their numbers
    go to standard error and the page); the exit status is then 1.
    """
    from .nlp.rules import RuleFileError
    from .summarize import summarize as run_summary

    if not results.is_file():
        _fail(f"{results}: no such file")
    try:
        tally = run_summary(results, output, png_dir, patterns)
    except RuleFileError as exc:
        _fail(f"rule files: {exc}")
    except OSError as exc:
        _fail(f"cannot write the summary ({exc.strerror or exc.__class__.__name__})")
    plots = png_dir or output.with_name(f"{output.stem}_plots")
    typer.echo(f"{tally.reports} reports ({tally.reports - tally.without_age} with an age) -> {output}; plots in {plots}")
    if tally.failed:
        typer.echo(f"note: {tally.failed} error record(s): reports that could not be annotated", err=True)
    if tally.malformed:
        more = " ..." if tally.malformed > len(tally.malformed_lines) else ""
        typer.echo(f"error: {results.name}: {tally.malformed} line(s) are not result objects "
                   f"(line {', '.join(map(str, tally.malformed_lines))}{more})", err=True)
        raise typer.Exit(1)


# spinecontext batch / bench-batch live in spinecontext.batch.cli
from .batch import cli as _batch_cli  # noqa: E402

app.command("batch")(_batch_cli.batch)
app.command("bench-batch")(_batch_cli.bench_batch)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
