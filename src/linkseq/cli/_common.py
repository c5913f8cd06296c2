"""What every command group shares: the console, JSON output, and a session on the database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import typer
from rich.console import Console
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from linkseq.clock import Clock, SystemClock
from linkseq.errors import ConfigError, InputError, NotFoundError
from linkseq.settings import Settings
from linkseq.store import build_engine, current_revision, head_revision, session_factory

__all__ = [
    "clock",
    "console",
    "database_label",
    "edges_client",
    "find_identity",
    "find_lead",
    "json_default",
    "open_engine",
    "open_session",
    "print_json",
    "sqlite_path",
]

if TYPE_CHECKING:
    from linkseq.edges import EdgesClient
    from linkseq.store.models import Identity, Lead

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


def json_default(value: Any) -> Any:
    """JSON for dates, enums and paths (the `default=` of `json.dumps`)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def print_json(obj: Any) -> None:
    """Print `obj` as JSON on stdout (plain text: no colours, no wrapping)."""
    print(json.dumps(obj, default=json_default, ensure_ascii=False, indent=2))


def edges_client(settings: Settings, ctx: typer.Context | None = None) -> EdgesClient:
    """The Edges client for a command: `LINKSEQ_EDGES_*`, or the factory a caller passed in.

    The seam: `CliRunner().invoke(app, args, obj={"edges": factory})` runs a command against
    another Edges (the sandbox in the tests); `factory(settings)` returns the client.
    """
    from linkseq.edges import EdgesClient

    obj = ctx.find_root().obj if ctx is not None else None
    if isinstance(obj, dict) and obj.get("edges") is not None:
        client: EdgesClient = obj["edges"](settings)
        return client
    return EdgesClient.from_settings(settings)


def find_identity(session: Session, ref: str) -> Identity:
    """An identity by name or uid (a uid wins; two of the same name must be told by uid)."""
    from linkseq.store.models import Identity

    ref = ref.strip()
    matches = list(
        session.scalars(
            sa.select(Identity).where(sa.or_(Identity.name == ref, Identity.uid == ref))
        )
    )
    by_uid = [m for m in matches if m.uid == ref]
    if by_uid:
        return by_uid[0]
    if not matches:
        raise NotFoundError(f"no identity named {ref!r} (see `linkseq identities list`)")
    if len(matches) > 1:
        raise InputError(f"{len(matches)} identities are named {ref!r}; use the uid instead")
    return matches[0]


def find_lead(session: Session, ref: str) -> Lead:
    """A lead by id (`42`), profile URL or LinkedIn profile id; never a forgotten one."""
    from linkseq.leads.urls import InvalidProfileUrl, normalize_profile_url
    from linkseq.store.models import Lead

    ref = ref.strip()
    lead: Lead | None = None
    if ref.isdigit():
        lead = session.get(Lead, int(ref))
    elif "/" in ref or "linkedin" in ref.lower():
        try:
            url = normalize_profile_url(ref).url
        except InvalidProfileUrl as exc:
            raise InputError(f"{ref!r} is not a lead id or a LinkedIn profile URL: {exc}") from None
        lead = session.scalars(sa.select(Lead).where(Lead.profile_url == url)).first()
    else:
        lead = session.scalars(sa.select(Lead).where(Lead.linkedin_profile_id == ref)).first()
    if lead is None or lead.forgotten_hash is not None:
        raise NotFoundError(f"no lead {ref!r} (see `linkseq leads list`)")
    return lead
