"""Where a batch writes: JSONL, CSV, Parquet, FHIR R4B NDJSON, brat folders (and databases, in db.py).

Crash safety. Each file output has two companions:

- ``OUTPUT.errors.jsonl``: one line per report that failed, ``{"id", "reason"}``
  (never the text);
- ``OUTPUT.state``: a small SQLite file holding the ids already written and
  how many bytes of the output and of the errors file are committed.

A chunk of reports is committed in this order: its bytes are appended to the
output and the errors file (one ``write`` each) and synced, then its ids and
the new lengths are committed to the state in one transaction. After a crash
(even ``kill -9``) the files hold whole committed chunks, plus at most the
chunk being written; ``--resume`` cuts each file back to its committed length
and skips the committed ids, so every id ends up exactly once, in the same
order and bytes as an uninterrupted run.

Parquet cannot be appended to, so its rows go to the same kind of crash-safe
journal (``OUTPUT.rows.jsonl``) and the Parquet file is built from it at the
end (written beside and renamed into place, so it is whole or absent). The
brat folder gets ``ID.txt``/``ID.ann`` pairs, each file written beside and
renamed into place; a pair rewritten on resume is the same pair.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

from .encode import csv_header, error_line, parquet_schema

STATE_VERSION = "1"


class BatchError(Exception):
    """A batch that cannot start or go on (existing output, bad state, unwritable path)."""


@dataclass
class Outcome:
    """What happened to one report of the input, ready to commit."""

    id: str
    payload: Any = None          # the sink's encoding of the result when annotated
    error: Optional[str] = None  # why it failed
    dup: int = 0                 # n > 0: the n-th repeat of an id seen earlier in the input


class Sink:
    """Receives committed chunks of outcomes; knows which ids are already done."""

    encoder = "jsonl"
    format = "jsonl"

    def prepare(self, *, resume: bool, overwrite: bool) -> None:
        raise NotImplementedError

    def committed(self, ids: list[str]) -> dict[str, int]:
        """The ids among ``ids`` already done, with the number of their repeats already reported."""
        raise NotImplementedError

    def commit(self, outcomes: list[Outcome]) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """Called once the whole input is committed."""

    def close(self) -> None:
        """Release files and connections (also after an error)."""

    def describe(self) -> str:
        return self.format


def _in_chunks(seq: list, n: int = 500) -> Iterable[list]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


class State:
    """The committed ids and file lengths of one file output (SQLite, WAL)."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.conn = sqlite3.connect(str(path), isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            # the data files are synced before each commit, so a commit lost to a
            # power cut only means that chunk is done again
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self.conn.execute("CREATE TABLE IF NOT EXISTS done (id TEXT PRIMARY KEY, dups INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID")
        except sqlite3.DatabaseError as exc:
            raise BatchError(f"{path}: not a usable batch state file ({exc})") from None

    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM meta"))

    def set_meta(self, values: dict[str, Any]) -> None:
        self.conn.executemany("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                              [(k, str(v)) for k, v in values.items()])

    def committed(self, ids: list[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for part in _in_chunks(list(dict.fromkeys(ids))):
            q = f"SELECT id, dups FROM done WHERE id IN ({','.join('?' * len(part))})"
            out.update(self.conn.execute(q, part))
        return out

    def commit(self, outcomes: list[Outcome], meta: dict[str, Any]) -> None:
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            c.executemany("INSERT INTO done (id, dups) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET dups = excluded.dups",
                          [(o.id, o.dup) for o in outcomes])
            self.set_meta(meta)
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.conn.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class FileSink(Sink):
    """An append-only output file with its errors file and state (see the module docs)."""

    def __init__(self, path: Path, *, sync: bool = True):
        self.path = Path(path)
        self.errors_path = Path(f"{path}.errors.jsonl")
        self.state_path = Path(f"{path}.state")
        self.sync = sync
        self.state: Optional[State] = None
        self.fds: dict[str, int] = {}

    # --- files -----------------------------------------------------------------
    def data_path(self) -> Optional[Path]:
        """The append-only file of encoded results (None: the sink writes files itself)."""
        return self.path

    def owned(self) -> list[Path]:
        """Every file this output consists of (removed by --overwrite)."""
        paths = [self.path, self.errors_path, self.state_path,
                 Path(f"{self.state_path}-wal"), Path(f"{self.state_path}-shm"), Path(f"{self.state_path}-journal")]
        data = self.data_path()
        if data is not None and data not in paths:
            paths.append(data)
        return paths

    def header(self) -> bytes:
        return b""

    def describe(self) -> str:
        return f"{self.format} {self.path} (errors: {self.errors_path})"

    def prepare(self, *, resume: bool, overwrite: bool) -> None:
        existing = [p for p in self.owned() if p.exists()]
        if self.path.parent and not self.path.parent.exists():
            raise BatchError(f"{self.path.parent}: no such folder")
        if existing and not resume:
            if not overwrite:
                raise BatchError(f"{existing[0]} exists: add --resume to continue that batch or --overwrite to replace it")
            for p in existing:
                self._remove(p)
            existing = []
        if resume and existing and not self.state_path.exists():
            raise BatchError(f"{existing[0]} exists but {self.state_path} does not, so it cannot be resumed "
                             "(use --overwrite to start again)")
        fresh = not self.state_path.exists()
        self.state = State(self.state_path)
        meta = self.state.meta()
        if fresh or not meta:
            self._create()
        else:
            if meta.get("format") != self.format:
                raise BatchError(f"{self.path} was started as {meta.get('format')!r} output, not {self.format!r}")
            self._reopen(meta)

    def _remove(self, p: Path) -> None:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()

    def _open(self, path: Path) -> int:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def _create(self) -> None:
        for key, path in (("out", self.data_path()), ("err", self.errors_path)):
            if path is None:
                continue
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            self.fds[key] = fd
        head = self.header()
        if head:
            _write_all(self.fds["out"], head)
        self._sync()
        _fsync_dir(self.path.parent)
        self.state.commit([], {"format": self.format, "version": STATE_VERSION,
                               "out": len(head), "err": 0})

    def _reopen(self, meta: dict[str, str]) -> None:
        for key, path in (("out", self.data_path()), ("err", self.errors_path)):
            if path is None:
                continue
            length = int(meta.get(key, 0))
            if not path.exists() or path.stat().st_size < length:
                raise BatchError(f"{path} is shorter than its state says: it was changed or removed "
                                 "since the batch stopped (use --overwrite to start again)")
            os.truncate(path, length)  # drop a chunk that was written but not committed
            self.fds[key] = self._open(path)

    def _sync(self) -> None:
        if self.sync:
            for fd in self.fds.values():
                os.fsync(fd)

    # --- chunks ----------------------------------------------------------------
    def committed(self, ids: list[str]) -> dict[str, int]:
        return self.state.committed(ids)

    def write_results(self, outcomes: list[Outcome]) -> None:
        data = b"".join(o.payload for o in outcomes if o.error is None)
        if data:
            _write_all(self.fds["out"], data)

    def commit(self, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        self.write_results(outcomes)
        errs = b"".join(error_line(o.id, o.error) for o in outcomes if o.error is not None)
        if errs:
            _write_all(self.fds["err"], errs)
        self._sync()
        lengths = {key: os.fstat(fd).st_size for key, fd in self.fds.items()}
        self.state.commit(outcomes, lengths)

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()
        if self.state is not None:
            self.state.close()
            self.state = None


class JsonlSink(FileSink):
    """One JSON contract object per line (as ``annotate --format jsonl``)."""

    encoder = format = "jsonl"


class CsvSink(FileSink):
    """One row per finding mention x level (columns: spinecontext.batch.encode.COLUMNS)."""

    encoder = format = "csv"

    def header(self) -> bytes:
        return csv_header()


class FhirSink(FileSink):
    """FHIR R4B as NDJSON: one Bundle (a DiagnosticReport and its Observations) per line."""

    encoder = "fhir"
    format = "fhir"


class ParquetSink(FileSink):
    """Parquet (same rows as CSV), built at the end from the journal OUTPUT.rows.jsonl."""

    encoder = "rows-json"
    format = "parquet"
    ROW_GROUP = 50_000

    def data_path(self) -> Path:
        return Path(f"{self.path}.rows.jsonl")

    def finish(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = parquet_schema()
        tmp = Path(f"{self.path}.tmp")
        try:
            with pq.ParquetWriter(tmp, schema, compression="zstd") as writer, self.data_path().open("rb") as fh:
                batch: list = []

                def flush():
                    cols = list(zip(*batch)) if batch else [[] for _ in schema]
                    writer.write_table(pa.Table.from_arrays(
                        [pa.array(c, type=f.type) for c, f in zip(cols, schema)], schema=schema))
                    batch.clear()

                for line in fh:
                    batch.append(json.loads(line))
                    if len(batch) >= self.ROW_GROUP:
                        flush()
                if batch:
                    flush()
            if self.sync:
                fd = os.open(tmp, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            os.replace(tmp, self.path)
            _fsync_dir(self.path.parent)
        finally:
            if tmp.exists():
                tmp.unlink()


_SAFE = re.compile(r"[A-Za-z0-9_\-.]")
MAX_NAME = 200


def safe_name(report_id: str) -> str:
    """A file name for a report id: injective (distinct ids, distinct names).

    Letters, digits, ``_``, ``-`` and ``.`` stay (a leading ``.`` does not);
    every other character becomes ``%XX`` per UTF-8 byte, ``%`` included, so
    the name decodes back to the id. Very long names end in a hash instead.
    """
    out = []
    for i, ch in enumerate(report_id):
        if _SAFE.match(ch) and not (i == 0 and ch == "."):
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
    name = "".join(out) or "%"
    if len(name) > MAX_NAME:
        import hashlib

        name = name[:MAX_NAME - 34] + "~" + hashlib.sha256(report_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return name


class BratSink(FileSink):
    """A folder of ID.txt/ID.ann pairs (ids made safe by :func:`safe_name`) and annotation.conf."""

    encoder = "brat"
    format = "brat"

    def __init__(self, path: Path, *, sync: bool = True, patterns_dir: Optional[Path] = None):
        super().__init__(path, sync=sync)
        self.patterns_dir = patterns_dir

    def data_path(self) -> None:
        return None

    def prepare(self, *, resume: bool, overwrite: bool) -> None:
        if self.path.exists() and not self.path.is_dir():
            raise BatchError(f"{self.path} is a file; brat output is a folder")
        if self.path.is_dir() and not any(self.path.iterdir()) and not self.state_path.exists():
            self.path.rmdir()  # an empty folder is no output yet
        super().prepare(resume=resume, overwrite=overwrite)

    def _create(self) -> None:
        from ..brat import brat_annotation_conf

        self.path.mkdir(parents=False, exist_ok=True)
        self._put(self.path / "annotation.conf", brat_annotation_conf(self.patterns_dir))
        super()._create()

    def _reopen(self, meta: dict[str, str]) -> None:
        if not self.path.is_dir():
            raise BatchError(f"{self.path}: the brat folder is missing (use --overwrite to start again)")
        super()._reopen(meta)

    def _put(self, path: Path, content: str) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(content)
            if self.sync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)

    def write_results(self, outcomes: list[Outcome]) -> None:
        wrote = False
        for o in outcomes:
            if o.error is None:
                txt, ann = o.payload
                name = safe_name(o.id)
                self._put(self.path / f"{name}.txt", txt)
                self._put(self.path / f"{name}.ann", ann)
                wrote = True
        if wrote and self.sync:
            _fsync_dir(self.path)


def sink_for(output: str, fmt: Optional[str] = None, *, table: Optional[str] = None,
             sync: bool = True, patterns_dir: Optional[Path] = None) -> Sink:
    """The sink for ``-o OUTPUT`` (format from ``fmt`` or the extension; a database URL gives a table)."""
    from .db import DbSink, is_url

    if is_url(output):
        if fmt not in (None, "db"):
            raise BatchError(f"--format {fmt} does not go with a database URL output")
        return DbSink(output, table or "spine_findings")
    if table is not None:
        raise BatchError("--table is for a database URL output")
    path = Path(output)
    if fmt is None:
        name = path.name.lower()
        if name.endswith((".jsonl", ".ndjson")):
            fmt = "fhir" if name.endswith((".fhir.jsonl", ".fhir.ndjson")) else "jsonl"
        elif name.endswith(".csv"):
            fmt = "csv"
        elif name.endswith(".parquet"):
            fmt = "parquet"
        elif path.is_dir() or not path.suffix:
            raise BatchError(f"{output}: cannot tell the format from the name; give --format "
                             "(a folder is brat output: --format brat)")
        else:
            raise BatchError(f"{output}: unknown output type {path.suffix!r}; give --format "
                             "jsonl, csv, parquet, fhir or brat")
    classes = {"jsonl": JsonlSink, "csv": CsvSink, "parquet": ParquetSink, "fhir": FhirSink}
    if fmt == "brat":
        return BratSink(path, sync=sync, patterns_dir=patterns_dir)
    if fmt == "db":
        raise BatchError("--format db needs a database URL as OUTPUT (e.g. sqlite:///out.db)")
    if fmt not in classes:
        raise BatchError(f"unknown format {fmt!r}")
    return classes[fmt](path, sync=sync)
