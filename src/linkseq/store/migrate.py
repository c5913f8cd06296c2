"""Schema migrations, run from Python (no alembic.ini): `upgrade(url)`, `downgrade(url, rev)`.

The Alembic scripts live in `linkseq/store/migrations`, inside the package, so an installed
linkseq can migrate its database with `linkseq db upgrade` from any directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from linkseq.store.engine import build_engine

__all__ = ["alembic_config", "current_revision", "downgrade", "head_revision", "upgrade"]


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migration scripts."""
    config = Config()
    config.set_main_option("script_location", "linkseq.store:migrations")
    return config


@contextmanager
def _connection(engine_or_url: Engine | str) -> Iterator[sa.Connection]:
    engine = build_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    try:
        with engine.connect() as connection:
            yield connection
            connection.commit()
    finally:
        if isinstance(engine_or_url, str):
            engine.dispose()


def upgrade(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Migrate the database up to `revision` (default: the newest)."""
    config = alembic_config()
    with _connection(engine_or_url) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine_or_url: Engine | str, revision: str) -> None:
    """Migrate the database down to `revision` (`base` removes every table)."""
    config = alembic_config()
    with _connection(engine_or_url) as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def head_revision() -> str | None:
    """The newest revision shipped with this linkseq."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine_or_url: Engine | str) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    with _connection(engine_or_url) as connection:
        return MigrationContext.configure(connection).get_current_revision()
