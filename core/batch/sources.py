"""Where a batch reads its reports: folders of .txt files, .jsonl, .csv, SQL databases.

Every source streams: it holds one report (or one database page) at a time,
whatever the archive size. Each yields :class:`spinecontext.io.Report`
objects; a report that cannot be used (undecodable, empty, too large, a bad
age, a line that is not JSON, ...) carries a one-line reason that never quotes
its text.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from typing import Iterator, Optional

from ..io import JSONL_SUFFIXES, TEXT_SUFFIXES, Report, check_age, check_text, decode

#: the batch refuses empty reports (the annotate command gives them an empty finding list)
EMPTY = "empty report (no text)"


class SourceError(Exception):
    """A source that cannot be read at all (missing file, bad query, unknown column)."""


def make_report(rid: str, text: Optional[str], age: object = None) -> Report:
    """A Report, or one that carries why it cannot be annotated."""
    if not isinstance(text, str):
        return Report(rid, error="no text" if text is None else f"text is not a string ({type(text).__name__})")
    if not text.strip():
        return Report(rid, error=EMPTY)
    age, err = check_age(age)
    err = err or check_text(text)
    return Report(rid, error=err) if err else Report(rid, text=text, age=age)


class Source:
    """An iterable of Reports; ``total()`` is the number expected when cheap to know."""

    name = "source"

    def __iter__(self) -> Iterator[Report]:  # pragma: no cover - interface
        raise NotImplementedError

    def total(self) -> Optional[int]:
        return None


class FolderSource(Source):
    """Every .txt (.text, .report) file under a folder, recursively, in sorted path order.

    The id is the path relative to the folder (``sub/report1.txt``). Only one
    directory listing is held at a time.
    """

    SUFFIXES = TEXT_SUFFIXES - {""}

    def __init__(self, root: Path):
        if not root.is_dir():
            raise SourceError(f"{root}: not a folder")
        self.root = root
        self.name = str(root)

    def _files(self) -> Iterator[Path]:
        def walk(d: Path) -> Iterator[Path]:
            try:
                entries = sorted(os.scandir(d), key=lambda e: e.name)
            except OSError as exc:
                raise SourceError(f"{d}: cannot list the folder ({exc.strerror})") from None
            for e in entries:
                if e.is_dir(follow_symlinks=False):
                    yield from walk(Path(e.path))
                elif e.is_file() and os.path.splitext(e.name)[1].lower() in self.SUFFIXES:
                    yield Path(e.path)
        return walk(self.root)

    def total(self) -> int:
        return sum(1 for _ in self._files())

    def __iter__(self) -> Iterator[Report]:
        for path in self._files():
            rid = path.relative_to(self.root).as_posix()
            try:
                data = path.read_bytes()
            except OSError as exc:
                yield Report(rid, error=f"cannot read file ({exc.strerror or exc.__class__.__name__})")
                continue
            text, err = decode(data)
            yield Report(rid, error=err) if err else make_report(rid, text)


def _count_lines(path: Path) -> int:
    n = 0
    last = b"\n"
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            n += block.count(b"\n")
            last = block[-1:]
    return n + (last != b"\n")


class JsonlSource(Source):
    """A .jsonl file: one JSON object a line with id, text and optional age.

    A line without an id gets ``FILE:LINE``; blank lines are ignored.
    """

    def __init__(self, path: Path, id_col: str = "id", text_col: str = "text", age_col: str = "age"):
        if not path.is_file():
            raise SourceError(f"{path}: no such file")
        self.path, self.cols = path, (id_col, text_col, age_col)
        self.name = str(path)

    def total(self) -> int:
        return _count_lines(self.path)

    def __iter__(self) -> Iterator[Report]:
        id_col, text_col, age_col = self.cols
        with self.path.open("rb") as fh:
            for n, raw in enumerate(fh, 1):
                where = f"{self.path.name}:{n}"
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
                rid = row.get(id_col)
                rid = str(rid) if rid is not None and rid != "" else where
                if text_col not in row:
                    yield Report(rid, error=f"line {n} has no '{text_col}'")
                    continue
                yield make_report(rid, row[text_col], row.get(age_col))


def _csv_age(value: str) -> object:
    value = value.strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return value  # check_age names the type


class CsvSource(Source):
    """A .csv file with a header row; columns chosen by name (age optional)."""

    def __init__(self, path: Path, id_col: str = "id", text_col: str = "text", age_col: str = "age"):
        if not path.is_file():
            raise SourceError(f"{path}: no such file")
        self.path, self.cols = path, (id_col, text_col, age_col)
        self.name = str(path)
        csv.field_size_limit(sys.maxsize)
        with self._open() as fh:
            header = next(csv.reader(fh), None)
        if not header:
            raise SourceError(f"{path}: empty CSV file (no header row)")
        missing = [c for c in (id_col, text_col) if c not in header]
        if missing:
            raise SourceError(f"{path}: no column {', '.join(map(repr, missing))} in the header "
                              f"(columns: {', '.join(header[:20])}); choose with --id-col / --text-col")
        self.header = header

    def _open(self):
        return self.path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="")

    def total(self) -> int:
        with self._open() as fh:
            return max(0, sum(1 for _ in csv.reader(fh)) - 1)

    def __iter__(self) -> Iterator[Report]:
        id_col, text_col, age_col = self.cols
        with self._open() as fh:
            reader = csv.DictReader(fh)
            for n, row in enumerate(reader, 2):
                where = f"{self.path.name}:{n}"
                rid = row.get(id_col) or where
                text = row.get(text_col)
                if _has_surrogates(rid):
                    rid = where
                if text is not None and _has_surrogates(text):
                    yield Report(rid, error="not UTF-8 text")
                    continue
                yield make_report(rid, text, _csv_age(row.get(age_col) or "") if age_col in row else None)


def _has_surrogates(s: str) -> bool:
    try:
        s.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


class SqlSource(Source):
    """Rows of a SQL query through SQLAlchemy, streamed with a server-side cursor."""

    def __init__(self, url: str, query: str, id_col: str = "id", text_col: str = "text",
                 age_col: str = "age", page: int = 1000):
        from .db import engine_for

        self.engine = engine_for(url)
        self.query, self.cols, self.page = query, (id_col, text_col, age_col), page
        self.name = self.engine.url.render_as_string(hide_password=True)

    def __iter__(self) -> Iterator[Report]:
        from sqlalchemy import text as sql
        from sqlalchemy.exc import SQLAlchemyError

        id_col, text_col, age_col = self.cols
        try:
            with self.engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=self.page).execute(sql(self.query))
                keys = list(result.keys())
                missing = [c for c in (id_col, text_col) if c not in keys]
                if missing:
                    raise SourceError(f"the query gives no column {', '.join(map(repr, missing))} "
                                      f"(columns: {', '.join(keys[:20])}); choose with --id-col / --text-col")
                i_id, i_text = keys.index(id_col), keys.index(text_col)
                i_age = keys.index(age_col) if age_col in keys else None
                for n, row in enumerate(result, 1):
                    rid = row[i_id]
                    rid = str(rid) if rid is not None and rid != "" else f"row {n}"
                    text = row[i_text]
                    if isinstance(text, (bytes, bytearray, memoryview)):
                        text, err = decode(bytes(text))
                        if err:
                            yield Report(rid, error=err)
                            continue
                    age = row[i_age] if i_age is not None else None
                    if age is not None and not isinstance(age, (int, float)):
                        try:
                            age = float(age)  # Decimal
                        except (TypeError, ValueError):
                            pass
                    yield make_report(rid, text, age)
        except SQLAlchemyError as exc:
            raise SourceError(f"database query failed: {_one_line(exc)}") from None

    def total(self) -> Optional[int]:
        return None


def _one_line(exc: BaseException) -> str:
    msg = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return msg[0] if msg else exc.__class__.__name__


def open_source(path: Optional[Path] = None, *, db: Optional[str] = None, query: Optional[str] = None,
                id_col: str = "id", text_col: str = "text", age_col: str = "age") -> Source:
    """The source for a CLI input: a folder, a .jsonl or .csv file, or ``db`` + ``query``."""
    if db is not None or query is not None:
        if path is not None:
            raise SourceError("give either an INPUT path or --db with --query, not both")
        if not db or not query:
            raise SourceError("--db and --query go together")
        return SqlSource(db, query, id_col, text_col, age_col)
    if path is None:
        raise SourceError("no input: give a folder, a .jsonl or .csv file, or --db URL --query SQL")
    if path.is_dir():
        return FolderSource(path)
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return JsonlSource(path, id_col, text_col, age_col)
    if suffix == ".csv":
        return CsvSource(path, id_col, text_col, age_col)
    raise SourceError(f"{path}: unknown input type (expected a folder, .jsonl or .csv)")
