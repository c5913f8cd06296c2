"""What every command group shares: the console, JSON output, and a session on the database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rich.console import Console
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from linkseq.clock import Clock, SystemClock
from linkseq.errors import ConfigError
from linkseq.settings import Settings
from linkseq.store import build_engine, current_revision, head_revision, session_factory

__all__ = [
    "clock",
    "console",
    "database_label",
    "open_engine",
    "open_session",
    "print_json",
    "sqlite_path",
]

console = Console(highlight=False, soft_wrap=True)


def clock() -> Clock:
    """The clock commands run on (the real one; the engine and tests inject their own)."""
    return SystemClock()


def database_label(url: str) -> str:
    """The database URL as it may be shown: the password hidden, SQLite as its file path."""
    parsed = sa.make_url(url)
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    return parsed.render_as_string(hide_password=True)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory SQLite)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


@contextmanager
def open_engine(settings: Settings | None = None, *, check: bool = True) -> Iterator[Engine]:
    """An engine on `Settings().database_url`; with `check`, refuses a database not migrated."""
    url = (settings or Settings()).database_url
    label = database_label(url)
    path = sqlite_path(url)
    if check and path is not None and not path.exists():
        raise ConfigError(f"no linkseq database at {label}; run `linkseq init` first")
    try:
        engine = build_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise ConfigError(f"LINKSEQ_DATABASE_URL is not usable: {exc}") from None
    try:
        if check:
            try:
                revision = current_revision(engine)
            except sa.exc.OperationalError as exc:
                raise ConfigError(f"cannot open the database at {label}: {exc.orig}") from None
            if revision is None:
                raise ConfigError(f"the database at {label} is empty; run `linkseq init` first")
            if revision != head_revision():
                raise ConfigError(
                    f"the database at {label} is at revision {revision}; "
                    "run `linkseq db upgrade` first"
                )
        yield engine
    finally:
        engine.dispose()


@contextmanager
def open_session(settings: Settings | None = None, *, readonly: bool = False) -> Iterator[Session]:
    """A session on the configured database (migrated to this linkseq's schema), then closed.

    The session does not commit by itself: a command commits what it means to keep.
    """
    with open_engine(settings) as engine, session_factory(engine, readonly=readonly)() as session:
        yield session


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def print_json(obj: Any) -> None:
    """Print `obj` as JSON on stdout (plain text: no colours, no wrapping)."""
    print(json.dumps(obj, default=_default, ensure_ascii=False, indent=2))
