"""Service settings, read from the environment so every uvicorn worker sees the same ones.

``spinecontext serve`` sets these variables from its options before starting
uvicorn; tests pass a :class:`Settings` to :func:`spinecontext.api.create_app`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional

ENV_PREFIX = "SPINECONTEXT_"


@dataclass(frozen=True)
class Settings:
    #: Largest report text accepted, in bytes of UTF-8 (the issue's "e.g. 200 KB").
    max_text_bytes: int = 200_000
    #: Largest uploaded file (.txt, .pdf, .docx, photo), in bytes: 15 MB holds a phone
    #: photo (often 3-8 MB, up to about 12 MB for 48-megapixel cameras) and a scanned PDF
    #: of a few pages.
    max_file_bytes: int = 15_000_000
    #: Most reports in one POST /v1/batch.
    max_batch_reports: int = 100
    #: Largest request body for JSON endpoints; a batch of large reports needs more.
    max_json_body_bytes: int = 1_500_000
    max_batch_body_bytes: int = 8_000_000
    #: Most pages read from a PDF, and the largest unpacked size of a .docx (zip bombs).
    max_pdf_pages: int = 200
    #: Most pages of a scanned PDF read by OCR (each takes a few seconds).
    max_ocr_pages: int = 10
    #: An over-limit request body is read and thrown away up to this many bytes before
    #: the 413 is sent, so the client is not reset mid-upload; past it the connection closes.
    max_drain_bytes: int = 64_000_000
    max_docx_unpacked_bytes: int = 50_000_000
    #: Reports longer than this (characters) are processed in a worker thread so the
    #: event loop keeps answering other requests; shorter ones run inline (faster).
    inline_max_chars: int = 20_000
    #: Origins allowed by CORS; empty means CORS is off (no Access-Control headers).
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    #: A folder of edited rule files instead of the packaged ones.
    patterns_dir: Optional[str] = None

    @classmethod
    def from_env(cls, environ: Optional[dict] = None) -> "Settings":
        env = os.environ if environ is None else environ
        kwargs: dict = {}
        for name, f in cls.__dataclass_fields__.items():
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is None or raw == "":
                continue
            if name == "cors_origins":
                kwargs[name] = tuple(o.strip() for o in raw.split(",") if o.strip())
            elif name == "patterns_dir":
                kwargs[name] = raw
            else:
                try:
                    value = int(raw)
                except ValueError:
                    raise ValueError(f"{ENV_PREFIX + name.upper()} must be a whole number, got {raw!r}") from None
                if value <= 0:
                    raise ValueError(f"{ENV_PREFIX + name.upper()} must be positive, got {value}")
                kwargs[name] = value
        return cls(**kwargs)

    def to_env(self) -> dict[str, str]:
        """The environment variables that give these settings (for uvicorn workers)."""
        out = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value is None:
                continue
            out[ENV_PREFIX + name.upper()] = ",".join(value) if isinstance(value, tuple) else str(value)
        return out
