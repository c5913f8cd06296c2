"""Database fixtures shared by the store, leads and campaigns tests.

`engine` is parametrised over SQLite (a temporary file per test) and PostgreSQL (one fresh
database per test session, created from LINKSEQ_TEST_POSTGRES_URL and dropped afterwards; every
test starts from empty tables).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from linkseq.store import build_engine, session_factory, upgrade
from linkseq.store.base import Base

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_server_url() -> sa.URL:
    """The PostgreSQL server the tests use."""
    return sa.make_url(os.environ.get("LINKSEQ_TEST_POSTGRES_URL", DEFAULT_PG))


def create_pg_database() -> sa.URL:
    """Create an empty, uniquely named database on the test server; return its URL."""
    server = postgres_server_url()
    name = f"linkseq_t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return server.set(database=name)


def drop_pg_database(url: sa.URL) -> None:
    """Drop a database made by `create_pg_database`, closing its other connections first."""
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[sa.URL]:
    """A migrated PostgreSQL database for this test session."""
    url = create_pg_database()
    engine = build_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    drop_pg_database(url)


def _truncate_all(engine: Engine) -> None:
    names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database: SQLite file or PostgreSQL."""
    if request.param == "sqlite":
        eng = build_engine(f"sqlite:///{tmp_path / 'linkseq.db'}")
        upgrade(eng)
        yield eng
        eng.dispose()
    else:
        url: sa.URL = request.getfixturevalue("pg_url")
        eng = build_engine(url)
        _truncate_all(eng)
        yield eng
        eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite database only (for tests about files and the CLI)."""
    eng = build_engine(f"sqlite:///{tmp_path / 'linkseq.db'}")
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on `engine`."""
    with session_factory(engine)() as s:
        yield s
