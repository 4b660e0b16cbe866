"""The web page: a patient view at ``/`` and a radiologist view at ``/radiologist``.

Plain HTML forms rendered on the server, so the page works with the keyboard,
on a phone, with scripts off, and prints cleanly. The only script
(``/static/app.js``, same origin, allowed by the CSP) adds the copy and print
buttons and checks a file's size before it is uploaded. A photo or scan is read
by OCR and comes back in the text box for the patient to check before it is
explained. The result page is :func:`spinecontext.render.html_body` of the
result (the patient view of :mod:`spinecontext.patient`). ``/compare`` takes the
last report and the new one (pasted or uploaded, the same upload and OCR path)
and shows :func:`spinecontext.render.compare_html_body` of
:func:`spinecontext.compare.compare` of the two results. Everything the page needs is served from here: no CDN, no fonts, no
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

from ...compare import compare as compare_results
from ...render import COMPARE_CSS, compare_html_body, compare_texts, html_body
from ...render import CSS as REPORT_CSS
from ...result import ReportResult
from ..errors import ApiError
from ..service import annotate_text, check_text, get_nlp, get_settings
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
{_compare_offer()}
<p class="small">This page explains words in a report. It does not diagnose, and it does not
replace your clinician, who knows your symptoms and your examination.</p>"""


def _compare_offer() -> str:
    t = compare_texts()
    return f'<p class="compare-offer" id="compare-offer">{html.escape(t.offer)} <a href="/compare" id="compare-link">{html.escape(t.link)}</a></p>'


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
             '<a href="/">Explain another report</a>'
             f'<a href="/compare" id="compare-link">{html.escape(compare_texts(settings.patterns_dir).link)}</a></div>')
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
    return Response(REPORT_CSS + COMPARE_CSS, media_type="text/css; charset=utf-8")


# --- compare with my last report ---------------------------------------------------

SIDES = ("prior", "current")


def compare_form(messages: Optional[list] = None, texts: Optional[dict] = None, *, ocr: Optional[dict] = None,
                 max_file_bytes: int = 15_000_000, patterns_dir=None) -> str:
    """The two-report form: for each report a text box and a file input (the upload and OCR
    path of the single-report form); ``ocr`` maps a side to "photo"/"scan" when its text was
    read by OCR and needs checking."""
    t = compare_texts(patterns_dir)
    f = t.form
    texts, ocr = texts or {}, ocr or {}
    errors = "".join(f"<li>{html.escape(m)}</li>" for m in (messages or []))
    alert = f'<div class="error" role="alert" id="form-error"><ul>{errors}</ul></div>' if errors else ""
    accept = ('.txt,.pdf,.docx,.jpg,.jpeg,.png,.heic,.heif,.webp,text/plain,application/pdf,'
              'application/vnd.openxmlformats-officedocument.wordprocessingml.document,image/jpeg,image/png,'
              'image/heic,image/heif,image/webp')
    parts = []
    for side, label in (("prior", f.prior_label), ("current", f.current_label)):
        notice = ""
        if ocr.get(side):
            notice = (f'<div class="notice" role="status" id="{side}-ocr-notice">'
                      f'{html.escape(f.ocr_check.format(what=ocr[side], button=f.submit))}</div>')
        parts.append(f"""<fieldset class="side" id="{side}-side"><legend>{html.escape(label)}</legend>
  <label for="{side}-input">{html.escape(f.paste_label)}</label>
  {notice}
  <textarea id="{side}-input" name="{side}_text" rows="10" spellcheck="false">{html.escape(texts.get(side, ""))}</textarea>
  <label for="{side}-file">{html.escape(f.file_label.format(mb=max_file_bytes // 1_000_000))}</label>
  <input id="{side}-file" name="{side}_file" type="file" accept="{accept}" data-error="{side}-file-error">
  <div class="error" role="alert" id="{side}-file-error" tabindex="-1" hidden></div>
</fieldset>""")
    return f"""<h1>{html.escape(f.title)}</h1>
<p class="lead">{html.escape(f.lead)}</p>
<p class="privacy">{PRIVACY}</p>
{alert}
<form method="post" action="/compare" enctype="multipart/form-data" class="entry" id="compare-form" data-max-file-bytes="{max_file_bytes}">
{"".join(parts)}
  <button type="submit" id="compare">{html.escape(f.submit)}</button>
</form>
<p class="small"><a href="/">Explain one report</a></p>
<p class="small">This page explains words in two reports. It does not diagnose, and it does not
replace your clinician, who knows your symptoms and your examination.</p>"""


def compare_error_page(message: str, status: int, max_file_bytes: int) -> HTMLResponse:
    """The compare form with an error (used by the request guard for over-limit bodies)."""
    return page(compare_texts().form.title, compare_form([message], max_file_bytes=max_file_bytes),
                view="patient", status=status)


@router.get("/compare", response_class=HTMLResponse)
async def compare_page(request: Request) -> HTMLResponse:
    settings = get_settings(request)
    return page(compare_texts(settings.patterns_dir).form.title,
                compare_form(max_file_bytes=settings.max_file_bytes, patterns_dir=settings.patterns_dir),
                view="patient")


class CompareFormError(Exception):
    def __init__(self, status: int, messages: list[str]):
        self.status, self.messages = status, messages


@router.post("/compare", response_class=HTMLResponse)
async def compare_result(request: Request) -> HTMLResponse:
    """Both reports from the form (pasted, or a file each: .txt/.pdf/.docx, or a photo or scan
    read by OCR, which comes back in its box to check first), then the compare view. Every
    problem of either report is listed on the form; nothing is stored or logged."""
    settings = get_settings(request)
    t = compare_texts(settings.patterns_dir)
    err = t.errors
    which = {"prior": err.which.prior, "current": err.which.current}
    texts = {side: "" for side in SIDES}
    sources = {side: "pasted text" for side in SIDES}
    ocr: dict[str, str] = {}
    status, messages = 422, []

    def fail(code: int, message: str) -> None:
        nonlocal status
        status = max(status, code) if messages else code
        messages.append(message)

    try:
        form = await request.form(max_files=2, max_fields=4, max_part_size=settings.max_json_body_bytes)
    except StarletteHTTPException as exc:
        too_big = "maximum size" in str(exc.detail)
        message = (err.too_long.format(which="A report", size=f"over {settings.max_json_body_bytes:,}",
                                       limit=f"{settings.max_text_bytes:,}") if too_big else err.form)
        return page(t.form.title, compare_form([message], max_file_bytes=settings.max_file_bytes,
                                               patterns_dir=settings.patterns_dir),
                    view="patient", status=413 if too_big else 422)
    try:
        for side in SIDES:
            raw = form.get(f"{side}_text")
            texts[side] = raw if isinstance(raw, str) else ""
            upload = form.get(f"{side}_file")
            if isinstance(upload, UploadFile) and upload.filename:
                data = await upload.read(settings.max_file_bytes + 1)
                try:
                    texts[side], was_ocr = await to_thread.run_sync(read_upload, data, upload.filename, settings)
                except ApiError as exc:
                    fail(exc.status_code, err.file.format(which=which[side], message=exc.message))
                    continue
                finally:
                    del data
                sources[side] = upload.filename[:200]
                if was_ocr:
                    ocr[side] = "scan" if upload.filename.lower().endswith(".pdf") else "photo"
    finally:
        await form.close()
    for side in SIDES:
        text = texts[side]
        try:
            check_text(text, settings, what=which[side])
        except ApiError as exc:
            if exc.code == "text_too_large":
                fail(413, err.too_long.format(which=which[side], size=f"{len(text.encode('utf-8', 'replace')):,}",
                                              limit=f"{settings.max_text_bytes:,}"))
            else:
                fail(exc.status_code, err.unreadable.format(which=which[side]))
            texts[side] = ""  # never send an over-long or broken text back into the page
            ocr.pop(side, None)
            continue
        if not text.strip() and not any(m.startswith(which[side] + ":") for m in messages):
            fail(422, err.empty.format(which=which[side]))
    if messages or ocr:
        # a problem, or text read by OCR: the form again, filled in, for the patient to fix or check
        title = t.form.title
        return page(title, compare_form(messages, texts, ocr=ocr, max_file_bytes=settings.max_file_bytes,
                                        patterns_dir=settings.patterns_dir),
                    view="patient", status=status if messages else 200)
    nlp = get_nlp(request)
    try:
        prior = await annotate_text(nlp, texts["prior"], age=None, report_id="prior", settings=settings)
        current = await annotate_text(nlp, texts["current"], age=None, report_id="current", settings=settings)
    except ApiError as exc:  # pragma: no cover - the checks above come first
        return page(t.form.title, compare_form([exc.message], texts, max_file_bytes=settings.max_file_bytes,
                                               patterns_dir=settings.patterns_dir),
                    view="patient", status=exc.status_code)
    result = compare_results(prior, current, settings.patterns_dir)
    tools = ('<div class="tools"><button type="button" data-print hidden>Print or save as PDF</button>'
             f'<a href="/compare">{html.escape(t.result.again)}</a><a href="/">Explain one report</a></div>')
    body = compare_html_body(result, texts["prior"], texts["current"], settings.patterns_dir,
                             prior_name=sources["prior"], current_name=sources["current"])
    return page(t.result.title, tools + body, view="patient")
