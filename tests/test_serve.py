"""`spinecontext serve`: real processes on loopback, several workers, restarts, clean shutdown."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from apihelp import Server, free_port


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                out.append(int(entry.name))
    return out


def workers_of(proc) -> list[int]:
    """The supervisor's worker processes (multiprocessing spawn children, not its resource tracker)."""
    out = []
    for pid in children(proc.pid):
        try:
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                out.append(pid)
        except OSError:
            continue
    return out


def post(url: str, payload: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url + "/v1/annotate", data=json.dumps(payload).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, json.loads(r.read())


def test_two_workers_serve_restart_and_stop():
    srv = Server(workers=2)
    try:
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda i: post(srv.url, {"text": f"L{4}-L5: disc bulge. id {i}", "age": 40 + i % 30}),
                                    range(64)))
        assert all(status == 200 for status, _ in results)
        assert all(body["findings"][0]["finding"] == "disc_bulge" for _, body in results)
        spawned = workers_of(srv.proc)
        assert len(spawned) == 2, spawned
        os.kill(spawned[0], signal.SIGKILL)  # a worker dies: the supervisor starts another
        deadline = time.time() + 60
        while time.time() < deadline:
            now = workers_of(srv.proc)
            if len(now) == 2 and spawned[0] not in now:
                break
            time.sleep(0.3)
        else:
            raise AssertionError("the dead worker was not replaced")
        ok = 0
        for i in range(20):
            try:
                ok += post(srv.url, {"text": "L5-S1: disc protrusion."})[0] == 200
            except OSError:
                time.sleep(0.5)  # the new worker may still be loading
        assert ok >= 10
    finally:
        srv.proc.send_signal(signal.SIGTERM)
        srv.proc.wait(timeout=60)
        srv.stop()
    assert srv.proc.returncode == 0
    assert not children(srv.proc.pid)


def test_port_in_use_is_a_clear_error():
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen(1)
        out = subprocess.run([sys.executable, "-m", "spinecontext.cli", "serve", "--port", str(port)],
                             capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr and "Traceback" not in out.stderr


def test_serve_bad_options():
    out = subprocess.run([sys.executable, "-m", "spinecontext.cli", "serve", "--log-level", "loud"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "--log-level" in out.stderr and "Traceback" not in out.stderr
    env = {**os.environ, "SPINECONTEXT_MAX_TEXT_BYTES": "big"}
    out = subprocess.run([sys.executable, "-m", "spinecontext.cli", "serve"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "SPINECONTEXT_MAX_TEXT_BYTES" in out.stderr and "Traceback" not in out.stderr
    helptext = subprocess.run([sys.executable, "-m", "spinecontext.cli", "serve", "--help"],
                              capture_output=True, text=True, timeout=120).stdout
    assert "--workers" in helptext and "127.0.0.1" in helptext
