"""Reading reports from .txt files, folders and .jsonl files, safely.

Every problem with one report (binary data, bad encoding, a .jsonl line that is
not JSON or has no text, a report too large) becomes a one-line reason attached
to that report; the other reports are still read. Report text never appears in
a reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional

from .nlp import MAX_CHARS

MIN_AGE, MAX_AGE = 0, 120
TEXT_SUFFIXES = {".txt", ".text", ".report", ""}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}


@dataclass
class Report:
    """One report to annotate, or the reason it cannot be."""

    id: str
    text: Optional[str] = None
    age: Optional[int] = None
    error: Optional[str] = None


def decode(data: bytes) -> tuple[Optional[str], Optional[str]]:
    """(text, None) or (None, reason)."""
    if b"\x00" in data:
        return None, "binary data (NUL bytes), not a text report"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text (invalid byte at offset {exc.start})"
    return text, None


def check_text(text: str) -> Optional[str]:
    if len(text) > MAX_CHARS:
        return f"report is {len(text):,} characters; the limit is {MAX_CHARS:,}"
    return None


def check_age(age: object) -> tuple[Optional[int], Optional[str]]:
    if age is None:
        return None, None
    if isinstance(age, bool) or not isinstance(age, (int, float)) or age != int(age):
        return None, f"age must be a whole number of years, got {type(age).__name__}"
    age = int(age)
    if not MIN_AGE <= age <= MAX_AGE:
        return None, f"age {age} is outside {MIN_AGE}-{MAX_AGE}"
    return age, None


def read_text_file(path: Path, report_id: Optional[str] = None) -> Report:
    rid = report_id or path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Report(rid, error=f"cannot read file ({exc.strerror or exc.__class__.__name__})")
    text, err = decode(data)
    if err:
        return Report(rid, error=err)
    err = check_text(text)
    return Report(rid, error=err) if err else Report(rid, text=text)


def read_jsonl(path: Path) -> Iterator[Report]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        yield Report(path.name, error=f"cannot read file ({exc.strerror or exc.__class__.__name__})")
        return
    with handle:
        for n, raw in enumerate(handle, 1):
            where = f"{path.name}:{n}"
            line, err = decode(raw)
            if err:
                yield Report(where, error=err)
                continue
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Report(where, error=f"line {n} is not valid JSON ({exc.msg})")
                continue
            if not isinstance(row, dict):
                yield Report(where, error=f"line {n} is not a JSON object")
                continue
            rid = row.get("id")
            rid = str(rid) if rid is not None and rid != "" else where
            text = row.get("text")
            if not isinstance(text, str):
                yield Report(rid, error=f"line {n} has no 'text' string")
                continue
            age, err = check_age(row.get("age"))
            err = err or check_text(text)
            yield Report(rid, error=err) if err else Report(rid, text=text, age=age)


def iter_reports(paths: Iterable[Path]) -> Iterator[Report]:
    """Reports from files and folders, in a stable order."""
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (TEXT_SUFFIXES | JSONL_SUFFIXES) - {""})
            if not files:
                yield Report(str(path), error="folder holds no .txt or .jsonl files")
            for f in files:
                yield from _one(f, rel=str(f.relative_to(path)))
        elif path.exists():
            yield from _one(path, rel=path.name)
        else:
            yield Report(str(path), error="no such file or folder")


def _one(path: Path, rel: str) -> Iterator[Report]:
    if path.suffix.lower() in JSONL_SUFFIXES:
        yield from read_jsonl(path)
    else:
        yield read_text_file(path, report_id=rel)
