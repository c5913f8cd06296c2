"""`linkseq init`: create (or bring up to date) the database, and say where it is."""

from __future__ import annotations

import typer

from linkseq.cli._common import console, database_label, open_engine, sqlite_path
from linkseq.errors import ConfigError
from linkseq.settings import Settings
from linkseq.store import current_revision, upgrade

__all__ = ["register"]


def init() -> None:
    """Create the linkseq database from LINKSEQ_DATABASE_URL (default ./linkseq.db), or upgrade it.

    Example: linkseq init
    """
    settings = Settings()
    path = sqlite_path(settings.database_url)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create {path.parent}: {exc.strerror or exc}") from None
    created = path is not None and not path.exists()
    with open_engine(settings, check=False) as engine:
        upgrade(engine)
        revision = current_revision(engine)
    label = database_label(settings.database_url)
    verb = "Created" if created else "Ready"
    console.print(f"{verb}: linkseq database at {label} (schema {revision})")


def register(app: typer.Typer) -> None:
    """Add `linkseq init`."""
    app.command("init")(init)
