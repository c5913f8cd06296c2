"""Migrations: up, down, and the schema from migrations is the schema of the models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from linkseq.store import build_engine, current_revision, downgrade, head_revision, upgrade
from linkseq.store.base import Base
from tests.store.dbfixtures import create_pg_database, drop_pg_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def blank_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database, never migrated."""
    if request.param == "sqlite":
        engine = build_engine(f"sqlite:///{tmp_path / 'blank.db'}")
        yield engine
        engine.dispose()
    else:
        url = create_pg_database()
        engine = build_engine(url)
        yield engine
        engine.dispose()
        drop_pg_database(url)


def _tables(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_gives_exactly_the_models_schema(blank_engine: Engine) -> None:
    assert current_revision(blank_engine) is None
    upgrade(blank_engine)
    assert current_revision(blank_engine) == head_revision()
    with blank_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    assert _tables(blank_engine) == set(Base.metadata.tables)


def test_downgrade_to_base_and_up_again(blank_engine: Engine) -> None:
    upgrade(blank_engine)
    downgrade(blank_engine, "base")
    assert _tables(blank_engine) == set()
    assert current_revision(blank_engine) is None
    upgrade(blank_engine)
    assert _tables(blank_engine) == set(Base.metadata.tables)


def test_upgrade_accepts_a_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'by-url.db'}"
    upgrade(url)
    upgrade(url)  # idempotent at head
    assert current_revision(url) == head_revision()
