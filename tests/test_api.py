"""The web service (FastAPI TestClient): every endpoint, every error, headers, logs, pages."""

from __future__ import annotations

import json
import logging
import re
import tempfile

import pytest
from fastapi.testclient import TestClient

import spinecontext
from spinecontext.api import Settings, create_app
from spinecontext.render import report_text_from_html

from apihelp import docx_bytes, encrypted_pdf, pdf_bytes

REPORT = ("EXAM: MRI lumbar spine\nCLINICAL HISTORY: Low back pain.\nFINDINGS:\n"
          "L4-L5: Mild disc bulge with mild bilateral facet arthropathy.\n"
          "L5-S1: Disc desiccation. Small central disc protrusion. No spondylolisthesis.\n"
          "IMPRESSION: Mild degenerative changes.")
RED_FLAG = ("FINDINGS:\nL1: acute compression fracture with retropulsion.\n"
            "L4-L5: disc bulge.\nIMPRESSION: Acute L1 fracture.")
XSS = ("FINDINGS:\nL4-L5: mild disc bulge <script>document.title='pwned'</script>.\n"
       "L5-S1: protrusion <img src=x onerror=\"alert(1)\">.")
MARKER = "ZQX-PATIENT-MARKER-7731"
SMALL = Settings(max_text_bytes=5_000, max_file_bytes=100_000, max_batch_reports=3,
                 max_json_body_bytes=50_000, max_batch_body_bytes=60_000)


@pytest.fixture(scope="module")
def client(nlp):
    with TestClient(create_app(SMALL, nlp=nlp)) as c:
        yield c


def err(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["status"] == status and body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


# --- POST /v1/annotate -----------------------------------------------------------

def test_annotate_returns_the_contract(client, nlp):
    r = client.post("/v1/annotate", json={"text": REPORT, "age": 52, "id": "r1"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    expected = spinecontext.annotate(nlp, REPORT, report_id="r1", age=52).model_dump(mode="json")
    assert r.json() == expected
    body = r.json()
    assert body["age"] == 52 and body["age_source"] == "given"
    assert {f["finding"] for f in body["findings"]} >= {"disc_bulge", "facet_arthropathy", "disc_protrusion"}
    assert body["appendix"] and "52" in body["appendix"]
    negated = [f for f in body["findings"] if f["finding"] == "spondylolisthesis"]
    assert negated and all(f["assertion"] == "absent" for f in negated)
    for f in body["findings"]:
        assert REPORT[f["start"]:f["end"]] == f["text"]


def test_annotate_age_from_report_and_default_id(client):
    r = client.post("/v1/annotate", json={"text": "CLINICAL HISTORY: 64-year-old man.\nFINDINGS: L4-L5: disc bulge."})
    body = r.json()
    assert body["id"] == "report" and body["age"] == 64 and body["age_source"] == "report"


@pytest.mark.parametrize("fmt,ctype", [("text", "text/plain"), ("md", "text/markdown"), ("html", "text/html")])
def test_annotate_rendered_formats(client, fmt, ctype):
    r = client.post("/v1/annotate", json={"text": XSS, "age": 40, "format": fmt})
    assert r.status_code == 200 and r.headers["content-type"].startswith(ctype)
    if fmt == "text":
        assert r.text.startswith(XSS)
    elif fmt == "md":
        assert XSS in r.text
    else:
        assert "<script>document" not in r.text and "&lt;script&gt;" in r.text and "<img" not in r.text
        assert report_text_from_html(r.text) == XSS
        # a standalone page keeps its own CSP: inline style only, no script at all
        assert "script-src" not in r.headers["content-security-policy"]
        assert "default-src 'none'" in r.headers["content-security-policy"]


def test_empty_report_gives_an_empty_result(client):
    r = client.post("/v1/annotate", json={"text": ""})
    assert r.status_code == 200 and r.json()["findings"] == [] and r.json()["appendix"] is None


@pytest.mark.parametrize("payload,where", [
    ({"text": REPORT, "age": -1}, "age"),
    ({"text": REPORT, "age": 121}, "age"),
    ({"text": REPORT, "age": "fifty"}, "age"),
    ({"text": REPORT, "age": 50.5}, "age"),
    ({"text": 12}, "text"),
    ({"age": 50}, "text"),
    ({"text": REPORT, "format": "pdf"}, "format"),
    ({"text": REPORT, "colour": "red"}, "colour"),
    ({"text": REPORT, "id": ""}, "id"),
    ([REPORT], "body"),
])
def test_annotate_invalid_fields_are_422_without_the_input(client, payload, where):
    r = client.post("/v1/annotate", json=payload)
    e = err(r, 422, "invalid_request")
    assert where in json.dumps(e["details"])
    assert "L4-L5" not in r.text and all(set(d) == {"loc", "msg", "type"} for d in e["details"])


@pytest.mark.parametrize("body", [b"{not json", b'{"text": "L4-L5: disc bulge', b"", b"\xff\xfe"])
def test_malformed_json_is_422(client, body):
    r = client.post("/v1/annotate", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] in ("invalid_json", "invalid_request")
    assert "L4-L5" not in r.text


def test_text_over_the_limit_is_413(client):
    e = err(client.post("/v1/annotate", json={"text": "disc bulge. " * 500}), 413, "text_too_large")
    assert "5,000" in e["message"]
    # the limit counts UTF-8 bytes, not characters
    err(client.post("/v1/annotate", json={"text": "é" * 2600}), 413, "text_too_large")
    assert client.post("/v1/annotate", json={"text": "é" * 2400}).status_code == 200


def test_body_over_the_limit_is_413_before_parsing(client):
    big = json.dumps({"text": "x" * 60_000})
    err(client.post("/v1/annotate", content=big, headers={"content-type": "application/json"}), 413, "request_too_large")


def test_streamed_body_over_the_limit_is_413(client):
    def chunks():
        for _ in range(20):
            yield b"x" * 5_000

    r = client.post("/v1/annotate", content=chunks(), headers={"content-type": "application/json"})
    err(r, 413, "request_too_large")


def test_lone_surrogate_is_422(client):
    r = client.post("/v1/annotate", content=b'{"text": "L4-L5: bulge \\ud800"}', headers={"content-type": "application/json"})
    err(r, 422, "invalid_text")


# --- POST /v1/appendix -----------------------------------------------------------

def test_appendix_is_plain_text(client, nlp):
    r = client.post("/v1/appendix", json={"text": REPORT, "age": 52})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert r.text == spinecontext.annotate(nlp, REPORT, age=52).appendix
    assert "without back pain" in r.text


def test_appendix_is_empty_without_a_common_finding(client):
    r = client.post("/v1/appendix", json={"text": "FINDINGS: Normal lumbar spine. No disc herniation."})
    assert r.status_code == 200 and r.text == ""


def test_appendix_errors(client):
    err(client.post("/v1/appendix", json={"text": REPORT, "format": "json"}), 422, "invalid_request")
    err(client.post("/v1/appendix", json={"text": "x" * 6000}), 413, "text_too_large")


# --- POST /v1/annotate/file ------------------------------------------------------

def upload(client, name, data, **form):
    return client.post("/v1/annotate/file", files={"file": (name, data)}, data={k: str(v) for k, v in form.items()})


@pytest.mark.parametrize("name,make", [
    ("report.txt", lambda: REPORT.encode()),
    ("report.txt", lambda: b"\xef\xbb\xbf" + REPORT.encode()),  # UTF-8 with BOM
    ("report.pdf", lambda: pdf_bytes(REPORT.split("\n"))),
    ("report.docx", lambda: docx_bytes(REPORT.split("\n"))),
])
def test_file_upload_reads_the_text(client, name, make):
    r = upload(client, name, make(), age=52)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["filename"] == name and body["result"]["id"] == name
    assert " ".join(body["text"].split()) == " ".join(REPORT.split())
    found = {f["finding"] for f in body["result"]["findings"]}
    assert {"disc_bulge", "facet_arthropathy", "disc_protrusion"} <= found
    for f in body["result"]["findings"]:
        assert body["text"][f["start"]:f["end"]] == f["text"]


def test_docx_tables_are_read(client):
    data = docx_bytes(["FINDINGS:"], table=[["L4-L5", "Mild disc bulge."], ["L5-S1", "Disc extrusion."]])
    body = upload(client, "t.docx", data).json()
    assert {("disc_bulge", "L4-L5"), ("disc_extrusion", "L5-S1")} <= {
        (f["finding"], lv) for f in body["result"]["findings"] for lv in f["levels"]}


def test_file_upload_rendered_html(client):
    r = client.post("/v1/annotate/file", files={"file": ("x.txt", XSS.encode())}, data={"format": "html"})
    assert r.status_code == 200 and "&lt;script&gt;" in r.text and "<script>document" not in r.text


@pytest.mark.parametrize("name,data,status,code", [
    ("scan.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 50, 422, "image_unreadable"),  # damaged images
    ("scan.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 50, 422, "image_unreadable"),
    ("scan.gif", b"GIF89a" + b"\0" * 50, 415, "unsupported_file_type"),
    ("report.txt", b"\x89PNG\r\n\x1a\n" + b"\0" * 50, 415, "unsupported_file_type"),
    ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 50, 415, "unsupported_file_type"),
    ("report.exe", b"L4-L5: disc bulge.", 415, "unsupported_file_type"),
    ("report.txt", b"%PDF-1.4 not really", 415, "unsupported_file_type"),
    ("archive.zip", b"PK\x03\x04" + b"\0" * 50, 415, "unsupported_file_type"),
    ("report.txt", b"L4-L5\x00\x01\x02 binary", 415, "binary_file"),
    ("report.txt", "L4-L5: bulge caf\xe9".encode("latin-1"), 422, "not_utf8"),
    ("report.txt", b"", 422, "empty_file"),
    ("report.pdf", b"%PDF-1.4\n1 0 obj garbage", 422, "pdf_unreadable"),
    ("report.docx", b"PK\x03\x04 broken zip", 422, "docx_unreadable"),
])
def test_bad_files(client, name, data, status, code):
    err(upload(client, name, data), status, code)


def test_pdf_problems(client):
    err(upload(client, "scan.pdf", pdf_bytes(["x"], text_layer=False)), 422, "pdf_no_text")
    err(upload(client, "locked.pdf", encrypted_pdf(REPORT.split("\n"))), 422, "pdf_encrypted")


def test_docx_that_is_another_zip(client):
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "not word")
    err(upload(client, "r.docx", buf.getvalue()), 422, "docx_unreadable")


def test_file_over_the_limit_is_413(client):
    err(upload(client, "big.txt", b"disc bulge. " * 9000), 413, "file_too_large")
    err(upload(client, "huge.txt", b"a" * 2_000_000), 413, "request_too_large")


def test_file_text_over_the_text_limit_is_413(client):
    err(upload(client, "long.txt", b"disc bulge. " * 600), 413, "text_too_large")


def test_file_upload_needs_a_file_and_a_valid_age(client):
    err(client.post("/v1/annotate/file", data={"age": "40"}), 422, "invalid_request")
    err(upload(client, "r.txt", b"L4-L5: bulge.", age=200), 422, "invalid_request")


def test_uploads_never_touch_the_disk(nlp, monkeypatch):
    """A large upload stays in memory: creating any temporary file fails the request."""
    settings = Settings(max_file_bytes=3_000_000, max_text_bytes=3_000_000)

    def refuse(*a, **k):
        raise AssertionError("an upload was written to a temporary file")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    data = pdf_bytes(REPORT.split("\n"), padding=2_400_000)  # over Starlette's 1 MB spool default
    with TestClient(create_app(settings, nlp=nlp)) as c:
        r = c.post("/v1/annotate/file", files={"file": ("big.pdf", data)})
    assert r.status_code == 200, r.text[:300]


# --- POST /v1/batch --------------------------------------------------------------

def test_batch_keeps_order_and_isolates_failures(client, nlp):
    reports = [{"id": "a", "text": REPORT, "age": 52}, {"text": "x" * 6000}, {"text": RED_FLAG}]
    r = client.post("/v1/batch", json={"reports": reports})
    assert r.status_code == 200
    body = r.json()
    assert [x["id"] for x in body["results"]] == ["a", "2", "3"]
    assert body["annotated"] == 2 and body["failed"] == 1
    assert body["results"][0]["result"] == spinecontext.annotate(nlp, REPORT, report_id="a", age=52).model_dump(mode="json")
    assert body["results"][1]["result"] is None and body["results"][1]["error"]["code"] == "text_too_large"
    assert body["results"][2]["error"] is None
    assert any(f["group"] == "red_flag" for f in body["results"][2]["result"]["findings"])


def test_batch_limits(client):
    err(client.post("/v1/batch", json={"reports": [{"text": "a"}] * 4}), 422, "too_many_reports")
    assert client.get("/openapi.json").json()["components"]["schemas"]["BatchRequest"]["properties"]["reports"]["maxItems"] == 3
    err(client.post("/v1/batch", json={"reports": []}), 422, "invalid_request")
    err(client.post("/v1/batch", json={"reports": [{"id": "x"}]}), 422, "invalid_request")
    err(client.post("/v1/batch", content=json.dumps({"reports": [{"text": "y" * 70_000}]}),
                    headers={"content-type": "application/json"}), 413, "request_too_large")


# --- meta ------------------------------------------------------------------------

def test_health_and_version(client, nlp):
    assert client.get("/healthz").json() == {"status": "ok"}
    v = client.get("/version").json()
    assert v["spinecontext"] == spinecontext.__version__ and v["pipeline"] == list(nlp.pipe_names)
    assert v["limits"]["max_text_bytes"] == 5_000


def test_openapi_documents_the_contract(client):
    spec = client.get("/openapi.json").json()
    assert {"/v1/annotate", "/v1/appendix", "/v1/annotate/file", "/v1/batch", "/healthz", "/version"} <= set(spec["paths"])
    schemas = spec["components"]["schemas"]
    assert {"ReportResult", "FindingResult", "FindingSummary", "Prevalence", "ErrorResponse"} <= set(schemas)
    ann = spec["paths"]["/v1/annotate"]["post"]
    assert ann["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/ReportResult")
    assert {"413", "422"} <= set(ann["responses"])
    assert "415" in spec["paths"]["/v1/annotate/file"]["post"]["responses"]
    assert "/" not in spec["paths"]  # the pages are not API
    # interactive docs from the package's own Swagger UI files; nothing from another host
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    assert not re.search(r'(src|href)="(https?:)?//', docs.text) and "<script>" not in docs.text
    for asset in re.findall(r'(?:src|href)="(/[^"]+)"', docs.text):
        assert client.get(asset).status_code == 200, asset
    assert client.get("/redoc").status_code == 404


def test_unknown_route_and_method(client):
    err(client.get("/v1/nothing"), 404, "not_found")
    err(client.get("/v1/annotate"), 405, "method_not_allowed")


# --- headers, CORS ---------------------------------------------------------------

@pytest.mark.parametrize("method,path", [("get", "/"), ("get", "/healthz"), ("get", "/static/app.js"),
                                         ("post", "/v1/annotate"), ("get", "/nowhere")])
def test_security_headers_everywhere(client, method, path):
    kwargs = {"json": {"text": REPORT}} if method == "post" else {}
    r = getattr(client, method)(path, **kwargs)
    h = r.headers
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "DENY" and h["cache-control"] == "no-store"
    csp = h["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "server" not in h


def test_cors_is_off_by_default(client):
    r = client.post("/v1/annotate", json={"text": REPORT}, headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    pre = client.options("/v1/annotate", headers={"origin": "https://evil.example", "access-control-request-method": "POST"})
    assert "access-control-allow-origin" not in pre.headers


def test_cors_when_configured(nlp):
    app = create_app(Settings(cors_origins=("https://ris.example",)), nlp=nlp)
    with TestClient(app) as c:
        ok = c.post("/v1/annotate", json={"text": REPORT}, headers={"origin": "https://ris.example"})
        other = c.post("/v1/annotate", json={"text": REPORT}, headers={"origin": "https://evil.example"})
    assert ok.headers["access-control-allow-origin"] == "https://ris.example"
    assert "access-control-allow-origin" not in other.headers


def test_settings_from_env():
    s = Settings.from_env({"SPINECONTEXT_MAX_TEXT_BYTES": "1000", "SPINECONTEXT_CORS_ORIGINS": "https://a, https://b"})
    assert s.max_text_bytes == 1000 and s.cors_origins == ("https://a", "https://b")
    assert Settings.from_env(s.to_env()) == s
    with pytest.raises(ValueError, match="SPINECONTEXT_MAX_FILE_BYTES"):
        Settings.from_env({"SPINECONTEXT_MAX_FILE_BYTES": "lots"})


# --- patient data never in logs or errors -------------------------------------------

def test_report_text_never_logged_or_echoed(nlp, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    text = f"FINDINGS: L4-L5: disc bulge. {MARKER}"
    with TestClient(create_app(SMALL, nlp=nlp), raise_server_exceptions=False) as c:
        bodies = [
            c.post("/v1/annotate", json={"text": text, "age": 50}).text,
            c.post("/v1/annotate", json={"text": text, "age": 500}).text,
            c.post("/v1/annotate", json={"text": text * 200}).text,
            c.post("/v1/annotate", content=(f'{{"text": "{MARKER}').encode(), headers={"content-type": "application/json"}).text,
            c.post("/v1/annotate/file", files={"file": ("r.txt", (text + "\x00").encode())}).text,
            c.post("/v1/annotate/file", files={"file": ("r.pdf", b"%PDF-1.4 " + MARKER.encode())}).text,
            c.post("/", data={"text": text, "age": "abc"}).text,
        ]

        # an unexpected failure inside the pipeline whose message quotes the report
        def explode(*a, **k):
            raise ValueError(f"cannot parse {MARKER}")

        monkeypatch.setattr("spinecontext.api.service.annotate", explode)
        crash = c.post("/v1/annotate", json={"text": text})
        batch = c.post("/v1/batch", json={"reports": [{"text": text}]})
    assert crash.status_code == 500 and crash.json()["error"]["code"] == "internal_error"
    assert batch.status_code == 200 and batch.json()["results"][0]["error"]["code"] == "pipeline_failed"
    bodies += [crash.text, batch.text]
    assert all(MARKER not in b for b in bodies[1:6] + bodies[7:])
    assert MARKER not in caplog.text
    assert "ValueError" in caplog.text  # the failure itself is logged, by type only


# --- pages -------------------------------------------------------------------------

def test_patient_page_form(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    for control in ("report-input", "report-file", "age-input"):
        assert f'for="{control}"' in page and f'id="{control}"' in page  # every control has a label
    assert 'enctype="multipart/form-data"' in page and 'lang="en"' in page and 'name="viewport"' in page
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing from another host
    assert "<script>" not in page and "style=" not in page  # no inline script or style (CSP)


def test_patient_page_result(client):
    r = client.post("/", data={"text": RED_FLAG + "\n" + XSS, "age": "52"})
    assert r.status_code == 200
    page = r.text
    assert "&lt;script&gt;" in page and "<script>document" not in page and "<img" not in page
    assert page.count("<mark") >= 4
    assert 'id="attention"' in page and page.index('id="attention"') < page.index('id="findings"')
    assert 'class="card attention" id="card-fracture" data-finding="fracture"' in page
    assert 'role="img"' in page  # prevalence icon array
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_patient_page_upload(client):
    r = client.post("/", data={"text": "", "age": "45"}, files={"file": ("r.pdf", pdf_bytes(REPORT.split("\n")))})
    assert r.status_code == 200 and 'data-finding="disc_bulge"' in r.text


@pytest.mark.parametrize("data,files,status,fragment", [
    ({"text": "", "age": ""}, None, 422, "paste the report"),
    ({"text": REPORT, "age": "abc"}, None, 422, "Age must be"),
    ({"text": REPORT, "age": "130"}, None, 422, "Age must be"),
    ({"text": "x" * 6000, "age": ""}, None, 413, "the limit is"),
    ({"text": "", "age": ""}, {"file": ("a.png", b"\x89PNG\r\n\x1a\n0000")}, 422, "image could not be read"),
    ({"text": "", "age": ""}, {"file": ("a.gif", b"GIF89a0000")}, 415, "is not read"),
])
def test_patient_page_errors_are_html(client, data, files, status, fragment):
    r = client.post("/", data=data, files=files)
    assert r.status_code == status and r.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in r.text and fragment in r.text
    assert 'id="explain-form"' in r.text  # the form comes back to try again


def test_radiologist_view(client, nlp):
    assert 'id="appendix-form"' in client.get("/radiologist").text
    r = client.post("/radiologist", data={"text": REPORT, "age": "52"})
    assert r.status_code == 200
    appendix = spinecontext.annotate(nlp, REPORT, age=52).appendix
    m = re.search(r'<textarea id="appendix" readonly rows="10">(.*?)</textarea>', r.text, re.S)
    import html

    assert m and html.unescape(m.group(1)) == appendix
    assert 'data-copy-target="appendix"' in r.text and "Findings read from the report" in r.text
    none = client.post("/radiologist", data={"text": "Normal study.", "age": ""})
    assert 'id="no-appendix"' in none.text


def test_static_assets(client):
    js = client.get("/static/app.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert not re.search(r"fetch\(|XMLHttpRequest|https?://|WebSocket|sendBeacon", js.text)
    css = client.get("/assets/report.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "@media print" in css.text and "@media print" in client.get("/static/page.css").text
