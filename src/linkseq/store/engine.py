"""Engines and sessions for SQLite (the embedded default) and PostgreSQL.

SQLite is set up for one writer at a time without surprises:
- `journal_mode=WAL`: readers never block the writer, and the writer never blocks readers;
- `busy_timeout`: a second writer waits for the lock instead of failing at once;
- `foreign_keys=ON`: SQLite ignores foreign keys unless asked;
- `BEGIN IMMEDIATE`: a writing transaction takes the write lock at its start, so two writers never
  both read, then both try to upgrade to a write lock and deadlock (`database is locked`).
  Read-only sessions (`session_factory(engine, readonly=True)`) begin DEFERRED instead.

PostgreSQL is reached through psycopg 3: `postgresql+psycopg://user@host:5432/db`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from linkseq.store import fast

__all__ = ["READONLY_OPTION", "build_engine", "is_sqlite", "session_factory"]

READONLY_OPTION = "linkseq_readonly"


def is_sqlite(engine: Engine) -> bool:
    """True when `engine` talks to SQLite."""
    return engine.dialect.name == "sqlite"


def build_engine(url: str | sa.URL, *, busy_timeout_ms: int = 30_000, echo: bool = False) -> Engine:
    """An engine for `url`, with linkseq's SQLite settings when it is a SQLite URL."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(parsed, echo=echo)
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    return sa.create_engine(parsed, echo=echo, pool_pre_ping=True)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module, so "begin" below decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        readonly = connection.get_execution_options().get(READONLY_OPTION, False)
        # straight on the driver's connection: a statement through SQLAlchemy (events, a
        # cursor, a result) costs more than the BEGIN itself, at every transaction
        fast.driver_execute(connection, "BEGIN" if readonly else "BEGIN IMMEDIATE")


def session_factory(engine: Engine, *, readonly: bool = False) -> sessionmaker[Session]:
    """A session maker bound to `engine`; `readonly=True` gives SQLite sessions a DEFERRED begin."""
    bind = engine.execution_options(**{READONLY_OPTION: True}) if readonly else engine
    return sessionmaker(bind=bind, expire_on_commit=False)
