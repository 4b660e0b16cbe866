"""One JSON error shape for every failure, and handlers that never echo report text.

Every error body is ``{"error": {"status": 413, "code": "text_too_large",
"message": "..."}}``. FastAPI's default 422 body repeats the rejected input,
which here would be a patient's report: the handlers below drop it.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("spinecontext.api")


class ErrorDetail(BaseModel):
    loc: list[Any] = Field(description="Where in the request, e.g. ['body', 'age'].")
    msg: str
    type: str


class ErrorBody(BaseModel):
    status: int = Field(description="The HTTP status, repeated.")
    code: str = Field(description="Stable machine-readable code, e.g. 'text_too_large', 'unsupported_file_type', 'invalid_json'.")
    message: str = Field(description="What is wrong, in one sentence. Never contains report text.")
    details: Optional[list[ErrorDetail]] = Field(default=None, description="Field errors of a 422 (without the rejected values).")


class ErrorResponse(BaseModel):
    error: ErrorBody


class ApiError(StarletteHTTPException):
    """An error with a stable code; raised by routes, services and the request guard."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(status_code=status, detail=message)
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str,
                   details: Optional[list[dict]] = None, headers: Optional[dict] = None) -> JSONResponse:
    body = ErrorBody(status=status, code=code, message=message,
                     details=[ErrorDetail(**d) for d in details] if details else None)
    return JSONResponse({"error": body.model_dump(exclude_none=True)}, status_code=status, headers=headers)


#: The error responses every JSON endpoint can give, for the OpenAPI document.
def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {
        413: "Request body, report text or file over the limit.",
        415: "Unsupported file type.",
        422: "Malformed JSON, a field of the wrong type or range, or a file that cannot be read.",
        500: "Unexpected server error (the report is not echoed).",
    }
    return {s: {"model": ErrorResponse, "description": text[s]} for s in statuses}


def documented_json(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Like :func:`documented`, for routes whose success is not JSON (errors still are)."""
    out = documented(*statuses)
    for entry in out.values():
        del entry["model"]
        entry["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
    return out


_STATUS_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 406: "not_acceptable",
                 413: "request_too_large", 415: "unsupported_media_type", 422: "invalid_request"}


async def http_error_handler(request: Request, exc: StarletteHTTPException) -> Response:
    if isinstance(exc, ApiError):
        return error_response(exc.status_code, exc.code, exc.message, headers=exc.headers)
    if exc.status_code == 400:
        # FastAPI's "error parsing the body": bytes that are not UTF-8 JSON. Malformed JSON is a 422 here.
        return error_response(422, "invalid_json", "The request body is not valid JSON (UTF-8).")
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


def _clean(errors: list[dict]) -> list[dict]:
    out = []
    for e in errors:
        msg = str(e.get("msg", "invalid"))
        if e.get("type") == "json_invalid":
            ctx = e.get("ctx") or {}
            msg = f"not valid JSON: {ctx.get('error', 'decode error')}"
        out.append({"loc": [p if isinstance(p, (str, int)) else str(p) for p in e.get("loc", ())],
                    "msg": msg, "type": str(e.get("type", "invalid"))})
    return out


async def validation_error_handler(request: Request, exc: RequestValidationError) -> Response:
    details = _clean(list(exc.errors()))
    if any(d["type"] == "json_invalid" for d in details):
        return error_response(422, "invalid_json", "The request body is not valid JSON.", details)
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"] if p != "body") or "request"
    return error_response(422, "invalid_request", f"{where}: {first['msg']}", details)
