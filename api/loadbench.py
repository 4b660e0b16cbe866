"""Load benchmark: start ``spinecontext serve`` on 127.0.0.1 and drive it with many clients.

    spinecontext bench-api --clients 50 --seconds 20 --workers 2

Each client is a keep-alive HTTP/1.1 connection that sends ``POST /v1/annotate``
with the next report of the corpus (the project's own synthetic reports by
default) as soon as the previous answer arrives (a closed loop, no think time),
so the latency includes any queueing in the server. A short warm-up is not
counted. The client is a small asyncio loop in this process; the server runs in
its own processes. Printed: requests/s, p50/p95/p99/max latency, errors (any
status other than 200, or a broken connection), and the server's memory (RSS of
the uvicorn parent and its workers) after start-up, after the warm-up and at
the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / "corpora" / "reports.jsonl"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            out.append(int(entry.name))
    return out


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MiB (Linux /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
        todo += _children(p)
    return total / 1024


def load_texts(corpus: Path, limit: int = 1000) -> list[tuple[str, Optional[int]]]:
    from ..io import iter_reports

    out = []
    for r in iter_reports([corpus]):
        if r.error is None and r.text.strip():
            out.append((r.text, r.age))
        if len(out) >= limit:
            break
    if not out:
        raise ValueError(f"{corpus}: no readable reports")
    return out


def request_bytes(port: int, text: str, age: Optional[int]) -> bytes:
    body = json.dumps({"text": text, "age": age if age is not None else 55}).encode()
    head = (f"POST /v1/annotate HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    return head + body


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


async def _client(port: int, requests: list[bytes], offset: int, stop_at: float, count_from: float, tally: Tally) -> None:
    reader = writer = None
    i = offset
    while time.perf_counter() < stop_at:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            t0 = time.perf_counter()
            writer.write(requests[i % len(requests)])
            i += 1
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            t1 = time.perf_counter()
            if t0 >= count_from:
                tally.statuses[status] = tally.statuses.get(status, 0) + 1
                if status == 200:
                    tally.latencies.append(t1 - t0)
                else:
                    tally.errors += 1
            if b"connection: close" in head.lower():
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError, ValueError):
            if time.perf_counter() >= count_from:
                tally.errors += 1
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


async def _drive(port: int, requests: list[bytes], clients: int, warmup: float, seconds: float) -> tuple[Tally, float]:
    start = time.perf_counter()
    count_from = start + warmup
    stop_at = count_from + seconds
    tally = Tally()
    await asyncio.gather(*(_client(port, requests, k * 7, stop_at, count_from, tally) for k in range(clients)))
    return tally, time.perf_counter() - count_from


def _pct(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    import urllib.request

    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not become ready in time")


def start_server(port: int, workers: int, extra_env: Optional[dict] = None) -> subprocess.Popen:
    env = {**os.environ, **(extra_env or {})}
    cmd = [sys.executable, "-m", "spinecontext.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run(*, clients: int = 50, seconds: float = 20.0, warmup: float = 3.0, workers: int = 2,
        corpus: Path = DEFAULT_CORPUS, port: Optional[int] = None) -> dict:
    texts = load_texts(corpus)
    port = port or free_port()
    proc = start_server(port, workers)
    try:
        wait_ready(port, proc)
        time.sleep(0.5)
        mem_start = tree_rss_mib(proc.pid)
        requests = [request_bytes(port, t, a) for t, a in texts]
        try:
            import uvloop  # type: ignore

            runner = uvloop.run
        except ImportError:  # pragma: no cover
            runner = asyncio.run
        # the warm-up runs as part of the same drive; memory "after warm-up" is read by a short separate drive
        warm, _ = runner(_drive(port, requests, clients, 0.0, warmup))
        mem_warm = tree_rss_mib(proc.pid)
        tally, elapsed = runner(_drive(port, requests, clients, 0.0, seconds))
        mem_end = tree_rss_mib(proc.pid)
    finally:
        stop_server(proc)
    lat = sorted(tally.latencies)
    ms = lambda v: round(v * 1000, 2)  # noqa: E731
    sizes = sorted(len(t) for t, _ in texts)
    return {
        "clients": clients, "workers": workers, "seconds": round(elapsed, 2), "warmup_seconds": warmup,
        "corpus": str(corpus), "reports": len(texts), "median_report_chars": sizes[len(sizes) // 2],
        "requests": len(lat) + tally.errors, "ok": len(lat), "errors": tally.errors, "statuses": tally.statuses,
        "requests_per_s": round(len(lat) / elapsed, 1) if elapsed else 0.0,
        "latency_ms": {"p50": ms(_pct(lat, 50)), "p95": ms(_pct(lat, 95)), "p99": ms(_pct(lat, 99)),
                       "max": ms(lat[-1]) if lat else None, "mean": ms(sum(lat) / len(lat)) if lat else None},
        "server_rss_mib": {"after_start": round(mem_start, 1), "after_warmup": round(mem_warm, 1),
                           "end": round(mem_end, 1)},
        "rss_growth_pct": round(100 * (mem_end - mem_warm) / mem_warm, 1) if mem_warm else None,
    }


def format_result(r: dict) -> str:
    lat = r["latency_ms"]
    mem = r["server_rss_mib"]
    return "\n".join([
        f"load: {r['clients']} clients, {r['workers']} server workers, {r['seconds']} s measured "
        f"(after {r['warmup_seconds']} s warm-up); {r['reports']} reports rotated, median {r['median_report_chars']} chars",
        f"  requests/s  {r['requests_per_s']}   ({r['ok']} ok, {r['errors']} errors, statuses {r['statuses']})",
        f"  latency ms  p50 {lat['p50']}  p95 {lat['p95']}  p99 {lat['p99']}  max {lat['max']}  mean {lat['mean']}",
        f"  server RSS  after start {mem['after_start']} MiB, after warm-up {mem['after_warmup']} MiB, "
        f"end {mem['end']} MiB (growth {r['rss_growth_pct']}% over the run)",
    ])
