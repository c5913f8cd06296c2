"""Engine tests reuse the store's database fixtures (SQLite and PostgreSQL)."""

from __future__ import annotations

from tests.store.dbfixtures import engine, pg_url, session, sqlite_engine
from tests.web.conftest import world

__all__ = ["engine", "pg_url", "session", "sqlite_engine", "world"]
