"""The JSON API for reporting systems and scripts: ``/v1/...``."""

from __future__ import annotations

from typing import Optional

from anyio import to_thread
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field
from spacy.language import Language

from ...compare import CompareResult, compare as compare_results
from ...render import compare_html, compare_markdown, to_html, to_markdown, to_text
from ...result import ReportResult
from ..errors import ApiError, documented, documented_json, error_response
from ..models import AnnotateRequest, AppendixRequest, BatchRequest, BatchResponse, BatchResult, CompareRequest, OutputFormat
from ..service import annotate_batch, annotate_text, check_text, get_nlp, get_settings
from ..settings import Settings
from ..uploads import read_upload

router = APIRouter(prefix="/v1", tags=["annotate"])

#: A standalone HTML rendering carries its own inline <style>; nothing else may run or load.
HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

RENDERED = {
    200: {"description": "The JSON contract (format=json), or the rendered report (text, md, html).",
          "content": {"text/plain": {"schema": {"type": "string"}},
                      "text/markdown": {"schema": {"type": "string"}},
                      "text/html": {"schema": {"type": "string"}}}},
}


def _render(fmt: OutputFormat, text: str, result: ReportResult, patterns_dir=None) -> Response:
    if fmt == "text":
        return PlainTextResponse(to_text(text, result))
    if fmt == "md":
        return Response(to_markdown(text, result), media_type="text/markdown; charset=utf-8")
    if fmt == "html":
        return HTMLResponse(to_html(text, result, patterns_dir), headers={"content-security-policy": HTML_CSP})
    return Response(result.model_dump_json(), media_type="application/json")


@router.post("/annotate", response_model=ReportResult, responses={**RENDERED, **documented(413, 422, 500)},
             summary="Annotate one report")
async def annotate_report(body: AnnotateRequest, nlp: Language = Depends(get_nlp),
                          settings: Settings = Depends(get_settings)) -> Response:
    """Find the findings of one report, with levels, assertion, severity, side, plain-language
    notes, age-matched prevalence and the radiologist's appendix (the JSON contract of
    TAXONOMY.md). Nothing is stored."""
    result = await annotate_text(nlp, body.text, age=body.age, report_id=body.id, settings=settings)
    return _render(body.format, body.text, result, settings.patterns_dir)


@router.post("/appendix", response_class=PlainTextResponse, responses=documented_json(413, 422, 500),
             summary="The radiologist's appendix for one report")
async def appendix(body: AppendixRequest, nlp: Language = Depends(get_nlp),
                   settings: Settings = Depends(get_settings)) -> PlainTextResponse:
    """The context paragraph to append to the report before signing, as plain text.
    The body is empty when the report has no common finding with a figure (then
    there is nothing to append)."""
    result = await annotate_text(nlp, body.text, age=body.age, report_id="report", settings=settings)
    return PlainTextResponse(result.appendix or "")


COMPARED = {
    200: {"description": "Both results and the changes per (finding, level) (format=json), or the rendered comparison (md, html).",
          "content": {"text/markdown": {"schema": {"type": "string"}},
                      "text/html": {"schema": {"type": "string"}}}},
}


@router.post("/compare", response_model=CompareResult, responses={**COMPARED, **documented(413, 422, 500)},
             summary="Compare two reports of the same patient")
async def compare(body: CompareRequest, nlp: Language = Depends(get_nlp),
                  settings: Settings = Depends(get_settings)) -> Response:
    """Per (finding, level) present or possible in either report: new, gone, unchanged, worse
    or better, from what each report says and the change the current report states itself
    (each mention's `change`). Grades in both reports decide worse/better (mild < moderate <
    severe); a red flag the current report calls new or worse is never reported unchanged or
    better. Every problem of the input is an error naming the report (413 text_too_large,
    422 empty_text); nothing is stored."""
    problems = []  # every problem of both reports, not only the first
    for name, rep in (("prior", body.prior), ("current", body.current)):
        try:
            check_text(rep.text, settings, what=f"The {name} report")
        except ApiError as exc:
            problems.append((exc.status_code, exc.code, exc.message, name))
            continue
        if not rep.text.strip():
            problems.append((422, "empty_text", f"The {name} report is empty.", name))
    if problems:
        status, code = max((p[0], p[1]) for p in problems)
        return error_response(status, code, " ".join(p[2] for p in problems),
                              [{"loc": ["body", p[3], "text"], "msg": p[2], "type": p[1]} for p in problems])
    prior = await annotate_text(nlp, body.prior.text, age=body.prior.age, report_id=body.prior.id or "prior", settings=settings)
    current = await annotate_text(nlp, body.current.text, age=body.current.age, report_id=body.current.id or "current",
                                  settings=settings)
    result = compare_results(prior, current, settings.patterns_dir)
    if body.format == "md":
        return Response(compare_markdown(result), media_type="text/markdown; charset=utf-8")
    if body.format == "html":
        return HTMLResponse(compare_html(result, body.prior.text, body.current.text), headers={"content-security-policy": HTML_CSP})
    return Response(result.model_dump_json(), media_type="application/json")


class FileResult(BaseModel):
    filename: str = Field(description="The uploaded file's name.")
    text: str = Field(description="The report text read from the file; the result's offsets point into it.")
    ocr: bool = Field(default=False, description="True when the text was read by OCR from a photo or a scanned PDF: "
                                                 "show it to the reader to check (a misread level or 'no' changes the meaning).")
    result: ReportResult


@router.post("/annotate/file", response_model=FileResult,
             responses={**RENDERED, **documented(413, 415, 422, 500)}, summary="Annotate an uploaded report file")
async def annotate_file(
    request: Request,
    file: UploadFile = File(description="The report: .txt (UTF-8), .pdf, .docx, or a photo (.jpg, .png, .heic, .webp); a photo or a PDF without a text layer is read by offline OCR (limit 15,000,000 bytes by default)."),
    age: Optional[int] = Form(default=None, ge=0, le=120, description="Patient age in years."),
    format: OutputFormat = Form(default="json", description="json: the text read from the file and the JSON contract; text, md or html: the rendered report."),
    nlp: Language = Depends(get_nlp),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Read the report from a .txt, .pdf or .docx file, or from a photo or scan of a paper report
    (offline OCR, a few seconds a page), in memory, and annotate it. The file is never written
    anywhere. `ocr` in the answer says the text came from OCR and needs checking by a person."""
    # FastAPI reads an empty form field as "not sent"; here an empty value is an error, as the schema says
    form = await request.form()
    for name in ("age", "format"):
        if form.get(name) == "":
            raise ApiError(422, "invalid_request", f"{name}: must not be empty (leave the field out instead)")
    data = await file.read(settings.max_file_bytes + 1)
    await file.close()
    filename = (file.filename or "upload")[:200]
    text, ocr = await to_thread.run_sync(read_upload, data, filename, settings)
    result = await annotate_text(nlp, text, age=age, report_id=filename, settings=settings)
    if format != "json":
        return _render(format, text, result, settings.patterns_dir)
    return Response(FileResult(filename=filename, text=text, ocr=ocr, result=result).model_dump_json(),
                    media_type="application/json")


@router.post("/batch", response_model=BatchResponse, responses=documented(413, 422, 500),
             summary="Annotate several reports")
async def batch(body: BatchRequest, nlp: Language = Depends(get_nlp),
                settings: Settings = Depends(get_settings)) -> Response:
    """Annotate up to 100 reports (by default) in one call. A report that fails (e.g. over
    the size limit) gets an error entry and the others still come back, in input order."""
    rows = await annotate_batch(nlp, body.reports, settings)
    results = []
    for rid, result, err in rows:
        error = None
        if err is not None:
            error = {"status": err.status_code, "code": err.code, "message": err.message}
        results.append(BatchResult(id=rid, result=result, error=error))
    failed = sum(1 for r in results if r.error is not None)
    out = BatchResponse(results=results, annotated=len(results) - failed, failed=failed)
    return Response(out.model_dump_json(exclude_none=False), media_type="application/json")


__all__ = ["router", "ApiError"]
