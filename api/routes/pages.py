"""The web page: a patient view at ``/`` and a radiologist view at ``/radiologist``.

Plain HTML forms rendered on the server, so the page works with the keyboard,
on a phone, with scripts off, and prints cleanly. The only script
(``/static/app.js``, same origin, allowed by the CSP) adds the copy and print
buttons and checks a file's size before it is uploaded. A photo or scan is read
by OCR and comes back in the text box for the patient to check before it is
explained. The result page is :func:`spinecontext.render.html_body` of the
result (the patient view of :mod:`spinecontext.patient`). Everything the page needs is served from here: no CDN, no fonts, no
network calls. Report text is always escaped. Nothing is stored.
"""

from __future__ import annotations

import html
from typing import Optional

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from ...render import CSS as REPORT_CSS
from ...render import html_body
from ...result import ReportResult
from ..errors import ApiError
from ..service import annotate_text, get_nlp, get_settings
from ..uploads import read_upload

router = APIRouter(include_in_schema=False)

PRIVACY = ("Nothing you enter is stored or sent anywhere else: the report is read, explained "
           "and forgotten.")


def page(title: str, body: str, *, view: str, status: int = 200) -> HTMLResponse:
    nav = (f'<a href="/" {"aria-current=page" if view == "patient" else ""}>For patients</a>'
           f'<a href="/radiologist" {"aria-current=page" if view == "radiologist" else ""}>For radiologists</a>')
    doc = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · spinecontext</title>
<link rel="stylesheet" href="/assets/report.css"><link rel="stylesheet" href="/static/page.css">
<script src="/static/app.js" defer></script>
</head><body>
<a class="skip" href="#main">Skip to content</a>
<header class="site"><span class="brand">spinecontext</span><nav aria-label="Views">{nav}</nav></header>
<main id="main">
{body}
</main>
</body></html>
"""
    return HTMLResponse(doc, status_code=status)


def _error(message: Optional[str]) -> str:
    return f'<div class="error" role="alert" id="form-error">{html.escape(message)}</div>' if message else ""


#: Shown above the text box after a photo or scan was read by OCR.
OCR_CHECK = ("We read this text from your {what}. Please check it against your paper copy and correct it "
             "before you go on. Look closely at the levels (such as L4-L5) and at small words such as "
             "\"no\" or \"not\": a misread one changes the meaning. Then press \"Explain my report\".")


def _ocr_notice(what: Optional[str]) -> str:
    if not what:
        return ""
    return f'<div class="notice" role="status" id="ocr-notice">{html.escape(OCR_CHECK.format(what=what))}</div>'


def patient_form(message: Optional[str] = None, text: str = "", age: str = "", *, ocr: Optional[str] = None,
                 max_file_bytes: int = 15_000_000) -> str:
    return f"""<h1>Understand your spine MRI report</h1>
<p class="lead">Paste the report your clinic gave you, or upload it, and add your age. You will see
each finding explained in plain words, and how common it is in people of your age who have
<strong>no</strong> back pain.</p>
<p class="privacy">{PRIVACY}</p>
{_error(message)}
<form method="post" action="/" enctype="multipart/form-data" class="entry" id="explain-form" data-max-file-bytes="{max_file_bytes}">
  <label for="report-input">Your report (paste the text)</label>
  {_ocr_notice(ocr)}
  <textarea id="report-input" name="text" rows="12" spellcheck="false">{html.escape(text)}</textarea>
  <label for="report-file">…or upload the report: a file (.txt, .pdf, .docx) or a photo of the paper copy (.jpg, .png, .heic), up to {max_file_bytes // 1_000_000} MB</label>
  <input id="report-file" name="file" type="file" accept=".txt,.pdf,.docx,.jpg,.jpeg,.png,.heic,.heif,.webp,text/plain,application/pdf,application/vnd.openxmlformats-officedocument.wordprocessingml.document,image/jpeg,image/png,image/heic,image/heif,image/webp">
  <p class="small" id="file-hint">A photo is read on this server, and you can check the text before it is explained.</p>
  <div class="error" role="alert" id="file-error" tabindex="-1" hidden></div>
  <label for="age-input">Your age in years (optional)</label>
  <input id="age-input" name="age" type="number" min="0" max="120" inputmode="numeric" value="{html.escape(age)}">
  <button type="submit" id="explain">Explain my report</button>
</form>
<p class="small">This page explains words in a report. It does not diagnose, and it does not
replace your clinician, who knows your symptoms and your examination.</p>"""


def radiologist_form(message: Optional[str] = None, text: str = "", age: str = "", *, intro: bool = True) -> str:
    head = f"""<h1>Context paragraph for a lumbar spine MRI report</h1>
<p class="lead">Paste the report, add the patient's age, and get the prevalence paragraph to append
before signing (in the spirit of the LIRE trial).</p>
<p class="privacy">{PRIVACY}</p>""" if intro else "<h2>Edit the report and try again</h2>"
    return head + f"""
{_error(message)}
<form method="post" action="/radiologist" enctype="multipart/form-data" class="entry" id="appendix-form">
  <label for="report-input">Report text</label>
  <textarea id="report-input" name="text" rows="14" spellcheck="false" required>{html.escape(text)}</textarea>
  <label for="age-input">Patient age in years</label>
  <input id="age-input" name="age" type="number" min="0" max="120" inputmode="numeric" value="{html.escape(age)}">
  <button type="submit" id="get-appendix">Get the appendix</button>
</form>"""


class FormInput:
    def __init__(self, text: str, age: Optional[int], age_raw: str, source: str = "pasted text", ocr: bool = False):
        self.text, self.age, self.age_raw, self.source, self.ocr = text, age, age_raw, source, ocr


async def read_form(request: Request, *, allow_file: bool) -> FormInput:
    settings = get_settings(request)
    try:
        form = await request.form(max_files=1 if allow_file else 0, max_fields=5,
                                  max_part_size=settings.max_json_body_bytes)
    except ApiError:
        raise
    except StarletteHTTPException as exc:
        raise ApiError(exc.status_code if exc.status_code != 400 else 422, "invalid_form",
                       "The form could not be read; please try again.") from None
    try:
        raw_text = form.get("text")
        text = raw_text if isinstance(raw_text, str) else ""
        age_raw = form.get("age")
        age_raw = age_raw.strip() if isinstance(age_raw, str) else ""
        upload = form.get("file") if allow_file else None
        source = "pasted text"
        ocr = False
        if isinstance(upload, UploadFile) and upload.filename:
            source = upload.filename[:200]
            data = await upload.read(settings.max_file_bytes + 1)
            text, ocr = await to_thread.run_sync(read_upload, data, upload.filename, settings)
            del data
    finally:
        await form.close()
    entry = FormInput(text, None, age_raw, source, ocr)
    if not text.strip():
        raise FormError(422, "no_report", "Please paste the report text or choose a report file.", entry)
    if age_raw:
        if not age_raw.isdigit() or not 0 <= int(age_raw) <= 120:
            raise FormError(422, "invalid_age", "Age must be a whole number of years from 0 to 120.", entry)
        entry.age = int(age_raw)
    return entry


class FormError(ApiError):
    """A form problem; carries what was entered so the form comes back filled in."""

    def __init__(self, status: int, code: str, message: str, entry: FormInput):
        super().__init__(status, code, message)
        self.entry = entry


@router.get("/", response_class=HTMLResponse)
async def patient_page(request: Request) -> HTMLResponse:
    return page("Understand your spine MRI report",
                patient_form(max_file_bytes=get_settings(request).max_file_bytes), view="patient")


def patient_error_page(message: str, status: int, max_file_bytes: int) -> HTMLResponse:
    """The patient form with an error (used by the request guard for over-limit bodies)."""
    return page("Understand your spine MRI report", patient_form(message, max_file_bytes=max_file_bytes),
                view="patient", status=status)


@router.post("/", response_class=HTMLResponse)
async def patient_result(request: Request) -> HTMLResponse:
    settings = get_settings(request)
    text, age = "", ""
    try:
        entry = await read_form(request, allow_file=True)
        text, age = entry.text, entry.age_raw
        if entry.ocr:
            # a photo or scan: the patient checks and corrects the recognised text first
            what = "scan" if entry.source.lower().endswith(".pdf") else "photo"
            keep = text if len(text.encode("utf-8", "replace")) <= settings.max_text_bytes else ""
            message = None if keep else (f"The text read from the {what} is over "
                                         f"{settings.max_text_bytes:,} bytes, the limit for a report.")
            return page("Check the text of your report",
                        patient_form(message, keep, age, ocr=what if keep else None,
                                     max_file_bytes=settings.max_file_bytes), view="patient")
        result = await annotate_text(get_nlp(request), entry.text, age=entry.age, report_id=entry.source,
                                     settings=settings)
    except ApiError as exc:
        if isinstance(exc, FormError):
            text, age = exc.entry.text, exc.entry.age_raw
        keep = text if len(text.encode("utf-8", "replace")) <= settings.max_text_bytes else ""
        return page("Understand your spine MRI report",
                    patient_form(exc.message, keep, age, max_file_bytes=settings.max_file_bytes),
                    view="patient", status=exc.status_code)
    tools = ('<div class="tools"><button type="button" data-print hidden>Print or save as PDF</button>'
             '<a href="/">Explain another report</a></div>')
    return page("Your report, explained", tools + html_body(entry.text, result, settings.patterns_dir), view="patient")


def radiologist_error_page(message: str, status: int) -> HTMLResponse:
    return page("Report context paragraph", radiologist_form(message), view="radiologist", status=status)


@router.get("/radiologist", response_class=HTMLResponse)
async def radiologist_page() -> HTMLResponse:
    return page("Report context paragraph", radiologist_form(), view="radiologist")


def _summary_table(result: ReportResult) -> str:
    if not result.summary:
        return "<p>No findings from our list were found in this report.</p>"
    rows = "".join(
        f"<tr><td>{html.escape(s.label)}</td><td>{html.escape(', '.join(s.levels) or '-')}</td>"
        f"<td>{html.escape(s.assertion)}</td><td>{html.escape(s.severity or '-')}</td>"
        f"<td>{'needs attention' if s.attention else html.escape(s.group)}</td></tr>"
        for s in result.summary)
    return ('<table class="summary"><caption>Findings read from the report</caption><thead><tr>'
            '<th scope="col">Finding</th><th scope="col">Levels</th><th scope="col">Assertion</th>'
            f'<th scope="col">Severity</th><th scope="col">Group</th></tr></thead><tbody>{rows}</tbody></table>')


@router.post("/radiologist", response_class=HTMLResponse)
async def radiologist_result(request: Request) -> Response:
    settings = get_settings(request)
    text, age = "", ""
    try:
        entry = await read_form(request, allow_file=False)
        text, age = entry.text, entry.age_raw
        result = await annotate_text(get_nlp(request), entry.text, age=entry.age, report_id="report",
                                     settings=settings)
    except ApiError as exc:
        if isinstance(exc, FormError):
            text, age = exc.entry.text, exc.entry.age_raw
        keep = text if len(text.encode("utf-8", "replace")) <= settings.max_text_bytes else ""
        return page("Report context paragraph", radiologist_form(exc.message, keep, age),
                    view="radiologist", status=exc.status_code)
    if result.appendix:
        block = (f'<label for="appendix">Appendix to add to the report</label>'
                 f'<textarea id="appendix" readonly rows="10">{html.escape(result.appendix)}</textarea>'
                 '<div class="tools"><button type="button" id="copy-appendix" data-copy-target="appendix" '
                 'data-status="copy-status" hidden>Copy appendix</button>'
                 '<span id="copy-status" role="status" aria-live="polite"></span></div>')
    else:
        block = ('<p id="no-appendix">No appendix: the report has no common finding with an '
                 'age-matched figure.</p>')
    body = (f"<h1>Context paragraph</h1>{block}{_summary_table(result)}"
            + radiologist_form(None, entry.text, entry.age_raw, intro=False))
    return page("Report context paragraph", body, view="radiologist")


@router.get("/assets/report.css")
async def report_css() -> Response:
    return Response(REPORT_CSS, media_type="text/css; charset=utf-8")
