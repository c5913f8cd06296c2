"""`linkseq dnc`: the do-not-contact list (never enrolled, checked again at every send)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from linkseq.cli._common import clock, console, open_session, print_json
from linkseq.errors import InputError
from linkseq.leads.dnc import add_to_dnc, list_dnc, remove_from_dnc
from linkseq.leads.urls import InvalidProfileUrl, normalize_profile_url

__all__ = ["register"]

dnc_app = typer.Typer(
    help="The do-not-contact list.\n\nExample: linkseq dnc add https://www.linkedin.com/in/jane",
    no_args_is_help=True,
)
_URL_HEADERS = ("linkedin_profile_url", "linkedin_url", "profile_url", "linkedin", "url")


def _entries_from_file(path: Path) -> list[str]:
    """Profile URLs or ids from a file: one per line, or a CSV with a URL column."""
    from linkseq.leads.csv_source import read_csv

    table = read_csv(path)
    column = next((table.header.index(h) for h in _URL_HEADERS if h in table.header), None)
    entries: list[tuple[int, str]] = []
    if column is not None:
        for row in table.rows():
            if column < len(row.cells) and row.cells[column].strip():
                entries.append((row.line, row.cells[column].strip()))
    else:
        for number, line in enumerate(table.text.splitlines(), start=1):
            text = line.strip().strip(",;").strip()
            if text and not text.startswith("#"):
                entries.append((number, text))
    problems = []
    for number, entry in entries:
        if "linkedin.com" in entry.lower() or "/" in entry:
            try:
                normalize_profile_url(entry)
            except InvalidProfileUrl as exc:
                problems.append(f"line {number}: {exc}")
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise InputError(f"{path}: nothing added: {'; '.join(problems[:5])}{more}")
    if not entries:
        raise InputError(f"{path}: no profile URLs in it")
    return [entry for _, entry in entries]


@dnc_app.command("add")
def add_cmd(
    url: Annotated[str | None, typer.Argument(help="A profile URL or LinkedIn profile id.")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="A file of profile URLs (or a CSV).")
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (kept with the entry).")
    ] = None,
) -> None:
    """Add people to the do-not-contact list, by profile URL or from a file.

    Example: linkseq dnc add https://www.linkedin.com/in/jane-doe --reason "asked us to stop"
    """
    if (url is None) == (file is None):
        raise InputError("give either a profile URL or --file FILE")
    entries = [url] if url is not None else _entries_from_file(file)  # type: ignore[arg-type]
    if reason is not None and len(reason) > 300:
        raise InputError("--reason is longer than 300 characters")
    with open_session() as session:
        added = add_to_dnc(session, entries, now=clock().now(), reason=reason)
        session.commit()
    known = len(set(entries)) - added
    tail = f" ({known} already on it)" if known > 0 else ""
    console.print(f"Added {added} to the do-not-contact list{tail}")


@dnc_app.command("list")
def list_cmd(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Show the do-not-contact list.

    Example: linkseq dnc list --json
    """
    with open_session(readonly=True) as session:
        rows = [
            {
                "profile_url": e.profile_url,
                "linkedin_profile_id": e.linkedin_profile_id,
                "reason": e.reason,
                "added_at": e.created_at,
            }
            for e in list_dnc(session)
        ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("The do-not-contact list is empty.")
        return
    table = Table("profile", "reason", "added")
    for row in rows:
        table.add_row(
            str(row["profile_url"] or row["linkedin_profile_id"]),
            str(row["reason"] or ""),
            f"{row['added_at']:%Y-%m-%d}",
        )
    console.print(table)


@dnc_app.command("remove")
def remove_cmd(
    url: Annotated[str, typer.Argument(help="The profile URL or id to remove.")],
) -> None:
    """Remove one person from the do-not-contact list.

    Example: linkseq dnc remove https://www.linkedin.com/in/jane-doe
    """
    with open_session() as session:
        remove_from_dnc(session, url)
        session.commit()
    console.print(f"Removed {url.strip()} from the do-not-contact list")


def register(app: typer.Typer) -> None:
    """Add `linkseq dnc`."""
    app.add_typer(dnc_app, name="dnc")
