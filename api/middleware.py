"""The request guard: body-size limits, security headers, and a last-resort 500.

A pure ASGI middleware (no buffering of bodies it does not need to see):

* A request whose body is over the limit for its path gets 413 before the body
  is read (``Content-Length``) or as soon as the streamed body passes it.
* Every response gets the security headers; a response that sets its own
  Content-Security-Policy (the self-contained HTML rendering) keeps it.
* An unexpected exception becomes a JSON 500 that says nothing about the
  request; the log line names only the exception type and the path, never the
  message (it could quote report text) and never the body.
"""

from __future__ import annotations

import logging
from typing import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ApiError, error_response

log = logging.getLogger("spinecontext.api")

#: Pages and API: scripts and styles only from this server, nothing framed, forms post here.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    # medical text: no browser or proxy keeps a copy
    (b"cache-control", b"no-store"),
]


class BodyTooLarge(ApiError):
    def __init__(self, limit: int):
        super().__init__(413, "request_too_large", f"The request body is over {limit:,} bytes.")


class RequestGuard:
    def __init__(self, app: ASGIApp, *, body_limit: Callable[[str], int]):
        self.app = app
        self.body_limit = body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.body_limit(scope.get("path", ""))
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in names]
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        length = None
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = -1
        if length is not None and length < 0:
            await error_response(400, "bad_request", "Content-Length is not a number.")(scope, receive, send_with_headers)
            return
        if length is not None and length > limit:
            await error_response(413, "request_too_large", f"The request body is over {limit:,} bytes.",
                                 headers={"connection": "close"})(scope, receive, send_with_headers)
            return

        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, counting_receive, send_with_headers)
        except BodyTooLarge as exc:
            if not started:
                await error_response(413, exc.code, exc.message)(scope, receive, send_with_headers)
        except Exception as exc:  # noqa: BLE001 - last resort; the message may quote the report
            log.error("unexpected %s on %s %s", type(exc).__name__, scope.get("method"), scope.get("path"))
            if not started:
                await error_response(500, "internal_error", "Unexpected server error; the report was not kept.")(
                    scope, receive, send_with_headers)
