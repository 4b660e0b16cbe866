"""The FastAPI application: ``create_app()``, used by ``spinecontext serve`` (uvicorn factory)."""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Optional

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from spacy.language import Language
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartParser

from .. import __version__
from .errors import http_error_handler, validation_error_handler
from .middleware import RequestGuard
from .routes import meta, pages, v1
from .settings import Settings

STATIC = Path(__file__).parent / "static"

DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>spinecontext API · interactive documentation</title>
<link rel="stylesheet" href="/docs-assets/swagger-ui.css">
</head><body>
<div id="swagger-ui"></div>
<script src="/docs-assets/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body></html>
"""


def swagger_ui_dir() -> Path:
    """Swagger UI's files inside the installed swagger-ui-bundle-v2 package."""
    import swagger_ui_bundle

    path = Path(swagger_ui_bundle.swagger_ui_path)
    if not (path / "swagger-ui-bundle.js").is_file():
        raise RuntimeError(f"Swagger UI files missing from {path}")
    return path

DESCRIPTION = """\
Finds degenerative findings in lumbar spine MRI reports and adds plain-language,
age-matched context: how common each finding is in people **without** back pain
(figures only from the project's evidence table, with citations). Red-flag
findings are never reassured.

Nothing is stored and report text never appears in logs or error messages.
Every error has the body `{"error": {"status", "code", "message"}}`.
"""


def create_app(settings: Optional[Settings] = None, *, nlp: Optional[Language] = None) -> FastAPI:
    """The app. The pipeline is loaded once, in the lifespan (or given, for tests)."""
    settings = settings or Settings.from_env()
    # Uploads stay in memory (never spooled to a temporary file on disk); the
    # request guard already bounds their size.
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, settings.max_file_bytes + 1_000_000)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if getattr(app.state, "nlp", None) is None:
            from .. import load

            app.state.nlp = load(settings.patterns_dir)
            app.state.nlp("L4-L5: mild disc bulge.")  # warm the rule caches before the first request
        # The pipeline's objects live as long as the process: move them out of the
        # garbage collector's view, so full collections stay short (p99 latency).
        gc.collect()
        gc.freeze()
        yield

    app = FastAPI(
        title="spinecontext", version=__version__, description=DESCRIPTION, lifespan=lifespan,
        # FastAPI's own docs pages load Swagger UI from a CDN and start it with an inline
        # script (both refused by our CSP): /docs is served below from the package instead
        docs_url=None, redoc_url=None,
        openapi_tags=[{"name": "annotate", "description": "Annotate reports (JSON API)."},
                      {"name": "meta", "description": "Health and version."}],
    )
    app.state.settings = settings

    def openapi() -> dict:
        """The generated schema, with the limits in force where a schema can say them."""
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            spec = get_openapi(title=app.title, version=app.version, description=app.description,
                               routes=app.routes, tags=app.openapi_tags)
            spec["components"]["schemas"]["BatchRequest"]["properties"]["reports"]["maxItems"] = settings.max_batch_reports
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi
    app.state.nlp = nlp
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.include_router(v1.router)
    app.include_router(meta.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    swagger = swagger_ui_dir()
    app.mount("/docs-assets", StaticFiles(directory=swagger), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        """Swagger UI: try the API from the browser (assets from the installed package, no CDN)."""
        return HTMLResponse(DOCS_PAGE)

    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST"], allow_headers=["content-type"])

    def body_limit(path: str) -> int:
        if path == "/v1/batch":
            return settings.max_batch_body_bytes
        if path in ("/v1/annotate/file", "/"):
            return settings.max_file_bytes + 1_000_000  # room for the multipart framing and form fields
        if path == "/compare":
            return 2 * settings.max_file_bytes + 1_000_000  # a file for each of the two reports
        return settings.max_json_body_bytes

    def too_large_page(path: str, limit: int):
        """Over-limit form posts to the pages get the page back with a plain message."""
        if path not in ("/", "/radiologist", "/compare"):
            return None
        from .routes.pages import compare_error_page, patient_error_page, radiologist_error_page

        mb = settings.max_file_bytes / 1_000_000
        if path == "/":
            return patient_error_page(
                f"The file is too large to upload: the limit is {mb:g} MB. Try a smaller file, or take the "
                "photo again at a lower size, or paste the text instead.", 413, settings.max_file_bytes)
        if path == "/compare":
            return compare_error_page(
                f"The files are too large to upload: the limit is {mb:g} MB for each report. Try a smaller "
                "file, or take the photo again at a lower size, or paste the text instead.", 413,
                settings.max_file_bytes)
        return radiologist_error_page(f"The report is too large: the limit is {limit:,} bytes.", 413)

    app.add_middleware(RequestGuard, body_limit=body_limit, drain_limit=settings.max_drain_bytes,
                       too_large_page=too_large_page)
    logging.getLogger("spinecontext.api").addHandler(logging.NullHandler())
    return app
