"""Alembic environment: always run programmatically by `linkseq.store.migrate`."""

from __future__ import annotations

from alembic import context

from linkseq.store import models  # noqa: F401 - registers every table on the metadata
from linkseq.store.base import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
