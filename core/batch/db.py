"""SQL databases through SQLAlchemy: the batch's database sink (the source is in sources.py).

``-o URL --table NAME`` writes two tables, created when missing:

- ``NAME``: one row per finding mention x level (the CSV columns);
- ``NAME_reports``: one row per input id: ``status`` (``annotated`` or
  ``failed``), ``reason`` for a failure, age, number of finding mentions and
  ``duplicates`` (how many later reports repeated the id and were not annotated).

Each chunk of reports is one transaction, so a crash leaves whole chunks;
``--resume`` takes the done ids from ``NAME_reports``.
"""

from __future__ import annotations

import re

from .encode import COLUMNS
from .sinks import BatchError, Outcome, Sink, _in_chunks

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,50}$")


def is_url(value: str) -> bool:
    return bool(_URL.match(value))


def engine_for(url: str):
    from sqlalchemy import create_engine
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        return create_engine(url)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise BatchError(f"bad database URL: {exc}") from None
    except ImportError as exc:
        raise BatchError(f"the database driver is not installed ({exc.name}); for PostgreSQL: "
                         "pip install 'spinecontext[postgres]'") from None


def tables(metadata, name: str):
    from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text

    types = {"mention": Integer, "start": Integer, "end": Integer, "attention": Boolean,
             "prevalence_percent": Integer, "prevalence_age": Integer, "age": Integer,
             "text": Text, "attributes": Text, "note": Text, "report_id": String()}
    findings = Table(name, metadata, *[Column(c, types.get(c, String(64)), nullable=c not in ("report_id", "mention", "finding"))
                                       for c in COLUMNS])
    Index(f"ix_{name}_report_id", findings.c.report_id)
    reports = Table(
        f"{name}_reports", metadata,
        Column("report_id", String(), primary_key=True),
        Column("status", String(16), nullable=False),
        Column("reason", Text),
        Column("age", Integer),
        Column("age_source", String(16)),
        Column("n_findings", Integer),
        Column("duplicates", Integer, nullable=False, default=0),
    )
    return findings, reports


class DbSink(Sink):
    encoder = "db"
    format = "db"

    def __init__(self, url: str, table: str):
        if not _NAME.match(table):
            raise BatchError(f"--table {table!r}: use letters, digits and _ (at most 51 characters)")
        self.engine = engine_for(url)
        self.table = table
        from sqlalchemy import MetaData

        self.metadata = MetaData()
        self.findings, self.reports = tables(self.metadata, table)

    def describe(self) -> str:
        return f"tables {self.table}, {self.table}_reports in {self.engine.url.render_as_string(hide_password=True)}"

    def _db(self, what: str, fn):
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return fn()
        except SQLAlchemyError as exc:
            msg = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            raise BatchError(f"database {what} failed: {msg[0] if msg else exc.__class__.__name__}") from None

    def prepare(self, *, resume: bool, overwrite: bool) -> None:
        from sqlalchemy import inspect

        def run():
            names = set(inspect(self.engine).get_table_names())
            existing = [t.name for t in (self.findings, self.reports) if t.name in names]
            if existing and not resume:
                if not overwrite:
                    raise BatchError(f"table {existing[0]} exists: add --resume to continue that batch "
                                     "or --overwrite to replace it")
                self.metadata.drop_all(self.engine, checkfirst=True)
            if resume and existing and self.reports.name not in existing:
                raise BatchError(f"table {self.findings.name} exists without {self.reports.name}, so it "
                                 "cannot be resumed (use --overwrite to start again)")
            self.metadata.create_all(self.engine, checkfirst=True)

        self._db("setup", run)

    def committed(self, ids: list[str]) -> dict[str, int]:
        from sqlalchemy import select

        out: dict[str, int] = {}
        r = self.reports.c

        def run():
            with self.engine.connect() as conn:
                for part in _in_chunks(list(dict.fromkeys(ids))):
                    out.update(conn.execute(select(r.report_id, r.duplicates).where(r.report_id.in_(part))).all())

        self._db("read", run)
        return out

    def commit(self, outcomes: list[Outcome]) -> None:
        from sqlalchemy import bindparam

        reports, findings, dups = [], [], []
        for o in outcomes:
            if o.dup:
                dups.append({"rid": o.id, "n": o.dup})
            elif o.error is not None:
                reports.append({"report_id": o.id, "status": "failed", "reason": o.error, "age": None,
                                "age_source": None, "n_findings": None, "duplicates": 0})
            else:
                (rid, age, age_source, n), rows = o.payload
                reports.append({"report_id": rid, "status": "annotated", "reason": None, "age": age,
                                "age_source": age_source, "n_findings": n, "duplicates": 0})
                findings.extend(dict(zip(COLUMNS, row)) for row in rows)

        def run():
            with self.engine.begin() as conn:
                if reports:
                    conn.execute(self.reports.insert(), reports)
                if findings:
                    conn.execute(self.findings.insert(), findings)
                if dups:
                    conn.execute(self.reports.update().where(self.reports.c.report_id == bindparam("rid"))
                                 .values(duplicates=bindparam("n")), dups)

        self._db("write", run)

    def close(self) -> None:
        self.engine.dispose()
