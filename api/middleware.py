"""The request guard: body-size limits, security headers, and a last-resort 500.

A pure ASGI middleware (no buffering of bodies it does not need to see):

* A request whose body is over the limit for its path gets 413 (``Content-Length``
  over the limit, or a streamed body that passes it). The rest of the body is
  read and thrown away first (up to ``drain_limit`` bytes), so the client has
  sent everything when the answer comes and its connection is not reset
  mid-upload (closing a socket that still has unread data makes the kernel send
  a reset, which browsers show as "connection reset" instead of our message).
  A client that asked ``Expect: 100-continue`` gets the 413 at once and never
  sends the body. Page paths get the page with a friendly message instead of JSON.
* Every response gets the security headers; a response that sets its own
  Content-Security-Policy (the self-contained HTML rendering) keeps it.
* An unexpected exception becomes a JSON 500 that says nothing about the
  request; the log line names only the exception type and the path, never the
  message (it could quote report text) and never the body.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

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


async def drain(receive: Receive, limit: int) -> bool:
    """Read and discard the rest of a request body; False if it went past ``limit`` bytes
    (or the client went away) before its end."""
    seen = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return False
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return True
        if seen > limit:
            return False


class RequestGuard:
    def __init__(self, app: ASGIApp, *, body_limit: Callable[[str], int], drain_limit: int = 64_000_000,
                 too_large_page: Optional[Callable[[str, int], Optional[ASGIApp]]] = None):
        self.app = app
        self.body_limit = body_limit
        self.drain_limit = drain_limit
        #: (path, limit) -> an HTML response for page paths, or None for the JSON error
        self.too_large_page = too_large_page

    def _too_large(self, path: str, limit: int, *, close: bool) -> ASGIApp:
        headers = {"connection": "close"} if close else None
        page = self.too_large_page(path, limit) if self.too_large_page else None
        if page is not None:
            if close:
                page.headers["connection"] = "close"
            return page
        return error_response(413, "request_too_large", f"The request body is over {limit:,} bytes.", headers=headers)

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
        expect_continue = False
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = -1
            elif key == b"expect" and value.lower() == b"100-continue":
                expect_continue = True
        if length is not None and length < 0:
            await error_response(400, "bad_request", "Content-Length is not a number.")(scope, receive, send_with_headers)
            return
        path = scope.get("path", "")
        if length is not None and length > limit:
            if not expect_continue:  # the body is on its way: take it in, then answer
                await drain(receive, self.drain_limit)
            await self._too_large(path, limit, close=True)(scope, receive, send_with_headers)
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
        except BodyTooLarge:
            if not started:
                await drain(receive, self.drain_limit)
                await self._too_large(path, limit, close=True)(scope, receive, send_with_headers)
        except Exception as exc:  # noqa: BLE001 - last resort; the message may quote the report
            log.error("unexpected %s on %s %s", type(exc).__name__, scope.get("method"), scope.get("path"))
            if not started:
                await error_response(500, "internal_error", "Unexpected server error; the report was not kept.")(
                    scope, receive, send_with_headers)
