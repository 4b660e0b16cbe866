"""The one place the service touches the pipeline (loaded once, in the lifespan).

No NLP here: checks on the input, then :func:`spinecontext.annotate` /
``nlp.pipe``. A short report runs inline on the event loop (it takes about a
millisecond, less than handing it to a thread); a long one runs in a worker
thread so the loop keeps answering other requests meanwhile.
"""

from __future__ import annotations

from typing import Optional

from anyio import to_thread
from fastapi import Request
from spacy.language import Language

from .. import annotate
from ..nlp import MAX_CHARS
from ..result import ReportResult
from .errors import ApiError
from .models import BatchItem
from .settings import Settings


def get_nlp(request: Request) -> Language:
    nlp = getattr(request.app.state, "nlp", None)
    if nlp is None:  # pragma: no cover - the lifespan loads it before serving
        raise ApiError(503, "not_ready", "The pipeline is still loading.")
    return nlp


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def check_text(text: str, settings: Settings, *, what: str = "The report text") -> None:
    """413 over the size limit; 422 for text that is not valid Unicode (lone surrogates from JSON escapes)."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise ApiError(422, "invalid_text", f"{what} holds invalid Unicode (an unpaired surrogate).") from None
    if len(text) > MAX_CHARS:
        raise ApiError(413, "text_too_large", f"{what} is {len(text):,} characters; the pipeline's limit is {MAX_CHARS:,}.")
    if size > settings.max_text_bytes:
        raise ApiError(413, "text_too_large", f"{what} is {size:,} bytes; the limit is {settings.max_text_bytes:,}.")


async def annotate_text(nlp: Language, text: str, *, age: Optional[int], report_id: str,
                        settings: Settings) -> ReportResult:
    check_text(text, settings)
    if len(text) <= settings.inline_max_chars:
        return annotate(nlp, text, report_id=report_id, age=age)
    return await to_thread.run_sync(lambda: annotate(nlp, text, report_id=report_id, age=age))


def _run_batch(nlp: Language, items: list[tuple[int, str, str, Optional[int]]]) -> dict[int, ReportResult | None]:
    """Annotate (index, id, text, age) tuples one by one; a report the pipeline fails on maps to None.

    One report at a time rather than nlp.pipe with an error handler: handlers are
    set on the shared pipeline, which other requests use at the same moment.
    """
    out: dict[int, ReportResult | None] = {}
    for i, rid, text, age in items:
        try:
            out[i] = annotate(nlp, text, report_id=rid, age=age)
        except Exception:  # noqa: BLE001 - never log it: the message may quote the report
            out[i] = None
    return out


async def annotate_batch(nlp: Language, reports: list[BatchItem], settings: Settings):
    """[(id, ReportResult or None, ApiError or None)] in input order."""
    if len(reports) > settings.max_batch_reports:
        raise ApiError(422, "too_many_reports",
                       f"The batch holds {len(reports)} reports; the limit is {settings.max_batch_reports}.")
    errors: dict[int, ApiError] = {}
    todo = []
    for i, item in enumerate(reports):
        rid = item.id if item.id else str(i + 1)
        try:
            check_text(item.text, settings, what=f"Report {i + 1}")
        except ApiError as exc:
            errors[i] = exc
            continue
        todo.append((i, rid, item.text, item.age))
    results = await to_thread.run_sync(_run_batch, nlp, todo)
    out = []
    for i, item in enumerate(reports):
        rid = item.id if item.id else str(i + 1)
        if i in errors:
            out.append((rid, None, errors[i]))
        elif isinstance(results.get(i), ReportResult):
            out.append((rid, results[i], None))
        else:
            out.append((rid, None, ApiError(500, "pipeline_failed", "The pipeline failed on this report.")))
    return out
