"""Over-limit uploads always get their 413 answer, never a reset (a real uvicorn server).

Before the request guard drained over-limit bodies, about half of plain 3 MB
POSTs to /v1/annotate ended in "connection reset" or a broken pipe: the server
answered and closed while the client was still sending, and closing a socket
with unread data makes the kernel send a reset.
"""

from __future__ import annotations

import http.client
import json
import time

import pytest

from apihelp import Server

N = 200
FILE_LIMIT = 1_000_000  # the server below: files up to 1 MB, so an upload body over 2 MB is refused


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(workers=1, env={"SPINECONTEXT_MAX_FILE_BYTES": str(FILE_LIMIT)},
                 log_path=tmp_path_factory.mktemp("limits") / "server.log")
    yield srv
    srv.stop()


def post(server, path: str, body: bytes, content_type: str) -> tuple[int, bytes, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request("POST", path, body=body, headers={"content-type": content_type})
        response = conn.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        conn.close()


def multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = "spinecontext-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def run_many(server, path, body, ctype) -> dict:
    outcomes: dict[str, int] = {}
    t0 = time.perf_counter()
    for _ in range(N):
        try:
            status, payload, headers = post(server, path, body, ctype)
            key = str(status)
            if status == 413 and "json" in headers.get("content-type", ""):
                assert json.loads(payload)["error"]["code"] == "request_too_large"
        except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected) as exc:
            key = type(exc).__name__
        outcomes[key] = outcomes.get(key, 0) + 1
    outcomes["seconds"] = round(time.perf_counter() - t0, 1)
    return outcomes


def test_json_over_the_limit_always_answers_413(server, capsys):
    body = json.dumps({"text": "L4-L5: disc bulge. " * 160_000}).encode()  # about 3 MB; the limit is 1.5 MB
    out = run_many(server, "/v1/annotate", body, "application/json")
    with capsys.disabled():
        print(f"\n{N} JSON POSTs of {len(body):,} bytes to /v1/annotate: {out}")
    assert out.get("413") == N, out


def test_multipart_over_the_limit_always_answers_413(server, capsys):
    body, ctype = multipart("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x01" * 3_000_000)
    out = run_many(server, "/v1/annotate/file", body, ctype)
    with capsys.disabled():
        print(f"\n{N} multipart POSTs of {len(body):,} bytes to /v1/annotate/file: {out}")
    assert out.get("413") == N, out


def test_page_upload_over_the_limit_gets_the_page_with_a_message(server):
    body, ctype = multipart("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x01" * 3_000_000)
    for _ in range(20):
        status, payload, headers = post(server, "/", body, ctype)
        assert status == 413 and headers["content-type"].startswith("text/html")
        page = payload.decode()
        assert "too large to upload" in page and "1 MB" in page and 'id="explain-form"' in page


def test_file_just_over_the_file_limit_names_the_limit(server):
    body, ctype = multipart("report.txt", b"disc bulge. " * (FILE_LIMIT // 12 + 100))
    status, payload, _ = post(server, "/v1/annotate/file", body, ctype)
    assert status == 413 and json.loads(payload)["error"]["code"] == "file_too_large"
