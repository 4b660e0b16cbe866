"""Run the app on uvicorn, one process per worker, each with its own SO_REUSEPORT socket.

With uvicorn's own ``--workers``, all workers accept from one shared socket and
keep-alive connections end up unevenly spread (one worker may hold 40 of 50
clients while the other idles), which doubles tail latency under load. Here
every worker binds its own socket to the same port with ``SO_REUSEPORT`` and
the kernel spreads new connections across them. The parent only supervises:
it forwards SIGINT/SIGTERM and restarts a worker that dies.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import signal
import socket
import sys
import time
from typing import Optional

log = logging.getLogger("spinecontext.api")

APP = "spinecontext.api:create_app"


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def check_port(host: str, port: int) -> Optional[str]:
    """None if (host, port) can be bound with SO_REUSEPORT, else the reason."""
    s = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind((host, port))  # bound but never listening: it takes no connections
    except OSError as exc:
        return f"cannot listen on {host}:{port} ({exc.strerror or exc})"
    finally:
        s.close()
    return None


def _config(host: str, port: int, *, access_log: bool, log_level: str):
    import uvicorn

    return uvicorn.Config(APP, factory=True, host=host, port=port, access_log=access_log,
                          log_level=log_level, server_header=False, proxy_headers=False)


def _worker(host: str, port: int, access_log: bool, log_level: str) -> None:
    import uvicorn

    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    server = uvicorn.Server(_config(host, port, access_log=access_log, log_level=log_level))
    server.run(sockets=[sock])


def serve(host: str, port: int, *, workers: int = 1, access_log: bool = True, log_level: str = "info") -> int:
    """Serve until SIGINT/SIGTERM; returns an exit status."""
    import uvicorn

    problem = check_port(host, port)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    if workers == 1:
        server = uvicorn.Server(_config(host, port, access_log=access_log, log_level=log_level))
        server.run()
        return 0 if server.started else 1
    ctx = mp.get_context("spawn")
    stopping = False

    def start() -> mp.Process:
        p = ctx.Process(target=_worker, args=(host, port, access_log, log_level), daemon=False)
        p.start()
        return p

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    procs = [start() for _ in range(workers)]
    print(f"spinecontext: serving on http://{host}:{port} with {workers} workers (SO_REUSEPORT)", file=sys.stderr)
    try:
        while not stopping:
            time.sleep(0.2)
            for i, p in enumerate(procs):
                if not p.is_alive() and not stopping:
                    print(f"spinecontext: worker {p.pid} exited ({p.exitcode}); starting another", file=sys.stderr)
                    procs[i] = start()
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()  # SIGTERM: uvicorn finishes in-flight requests, then exits
        deadline = time.time() + 30
        for p in procs:
            p.join(max(0.1, deadline - time.time()))
            if p.is_alive():
                p.kill()
                p.join()
        for s, h in old.items():
            signal.signal(s, h)
    return 0
