"""Progress on standard error: one updating line on a terminal, plain periodic lines otherwise.

Only counts and rates are printed, never report text or ids.
"""

from __future__ import annotations

import sys
import time
from typing import Optional, TextIO


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class Progress:
    """``update(read, processed)``; ``close()`` ends the terminal line."""

    def __init__(self, total: Optional[int] = None, *, stream: Optional[TextIO] = None,
                 tty: Optional[bool] = None, every: float = 10.0, enabled: bool = True):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.total = total
        self.every = 0.25 if self.tty else every
        self.enabled = enabled
        self.start = time.monotonic()
        self.last = self.start
        self.width = 0

    def line(self, read: int, processed: int) -> str:
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = processed / elapsed
        head = f"{read:,}/{self.total:,} reports" if self.total else f"{read:,} reports"
        parts = [head, f"{rate:,.0f} reports/s"]
        if self.total:
            left = max(self.total - read, 0)
            parts.insert(1, f"{100 * min(read / self.total, 1):.0f}%")
            if rate > 0:
                parts.append(f"ETA {_duration(left / rate)}")
        parts.append(f"elapsed {_duration(elapsed)}")
        return "  ".join(parts)

    def update(self, read: int, processed: int, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self.last < self.every:
            return
        self.last = now
        text = self.line(read, processed)
        if self.tty:
            pad = max(self.width - len(text), 0)
            self.width = len(text)
            self.stream.write("\r" + text + " " * pad)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty and self.width:
            self.stream.write("\n")
            self.stream.flush()
            self.width = 0
