"""`linkseq db`: the database schema (upgrade, current revision)."""

from __future__ import annotations

from typing import Annotated

import typer

from linkseq.cli._common import console, database_label, open_engine, print_json
from linkseq.settings import Settings
from linkseq.store import current_revision, head_revision, upgrade

__all__ = ["register"]

db_app = typer.Typer(
    help="The database schema.\n\nExample: linkseq db upgrade", no_args_is_help=True
)


@db_app.command("upgrade")
def upgrade_cmd() -> None:
    """Migrate the database to this linkseq's schema (safe to run again).

    Example: LINKSEQ_DATABASE_URL=postgresql+psycopg://me@db/linkseq linkseq db upgrade
    """
    settings = Settings()
    with open_engine(settings, check=False) as engine:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    label = database_label(settings.database_url)
    if before == after:
        console.print(f"{label} is up to date (schema {after})")
    else:
        console.print(f"{label} upgraded from {before or 'empty'} to {after}")


@db_app.command("current")
def current_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the database's schema revision and the newest one this linkseq has.

    Example: linkseq db current --json
    """
    settings = Settings()
    with open_engine(settings, check=False) as engine:
        revision = current_revision(engine)
    head = head_revision()
    data = {
        "database": database_label(settings.database_url),
        "revision": revision,
        "head": head,
        "up_to_date": revision == head,
    }
    if as_json:
        print_json(data)
    else:
        state = "up to date" if revision == head else "run `linkseq db upgrade`"
        console.print(f"{data['database']}: schema {revision or 'empty'} (newest {head}; {state})")


def register(app: typer.Typer) -> None:
    """Add `linkseq db`."""
    app.add_typer(db_app, name="db")
