"""`linkseq leads`: import a CSV, source from a LinkedIn search, list what is known."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from linkseq.cli._common import clock, console, find_lead, open_session, print_json
from linkseq.errors import InputError, NotFoundError
from linkseq.settings import Settings
from linkseq.store.enums import EnrollmentState, IdentityStatus
from linkseq.store.models import Campaign, Enrollment, Identity, Lead

__all__ = ["register"]

leads_app = typer.Typer(
    help="Leads: import, search, list, why, export, forget.\n\n"
    "Example: linkseq leads import leads.csv --campaign q1",
    no_args_is_help=True,
)

# Files with more rows than this get a progress bar.
PROGRESS_FROM_ROWS = 5_000
SHOW_BAD_ROWS = 100


@leads_app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="CSV with a linkedin_profile_url column.")],
    campaign: Annotated[
        str | None, typer.Option("--campaign", "-c", help="Enroll the leads in this campaign.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and count, write nothing.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Refuse the whole file if any row is bad.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    allow_forgotten: Annotated[
        bool,
        typer.Option(
            "--allow-forgotten", help="Import people who asked to be forgotten (they asked back)."
        ),
    ] = False,
) -> None:
    """Import leads from a CSV file (UTF-8, comma, semicolon or tab); bad rows are reported.

    Example: linkseq leads import leads.csv --campaign "Founders Q1" --dry-run
    """
    from linkseq.leads.importer import import_csv

    with open_session() as session, _progress(file, quiet=as_json) as progress:
        report = import_csv(
            session,
            file,
            now=clock().now(),
            campaign=campaign,
            dry_run=dry_run,
            strict=strict,
            progress=progress,
            allow_forgotten=allow_forgotten,
        )
    if as_json:
        print_json(report.as_dict())
        return
    prefix = "Dry run, nothing written: would import" if dry_run else "Imported"
    console.print(
        f"{prefix} {report.rows} rows: {report.created} new, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.duplicates_in_file} duplicates in the file, "
        f"{len(report.bad_rows)} bad"
    )
    if report.forgotten:
        console.print(
            f"{report.forgotten} skipped: they asked to be forgotten (--allow-forgotten to import)"
        )
    if report.retried:
        console.print(
            f"{report.retried} held step(s) of the updated leads will be tried again "
            "(they were waiting for data the file now gives)"
        )
    if campaign:
        console.print(
            f"Campaign {campaign!r}: {report.enrolled} enrolled, "
            f"{report.already_enrolled} already in it, {report.on_dnc} on the do-not-contact list"
        )
    for bad in report.bad_rows[:SHOW_BAD_ROWS]:
        console.print(f"  line {bad.line}: {bad.reason}")
    if len(report.bad_rows) > SHOW_BAD_ROWS:
        console.print(f"  … and {len(report.bad_rows) - SHOW_BAD_ROWS} more (see --json)")


class _Bar:
    """A Rich progress bar that appears only for large files."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self._progress is None:
            return
        if self._task is None:
            self._task = self._progress.add_task("Importing", total=total)
        self._progress.update(self._task, completed=done, total=total)


class _progress:
    def __init__(self, file: Path, *, quiet: bool) -> None:
        self._show = not quiet and _large(file)
        self._progress: Progress | None = None

    def __enter__(self) -> _Bar:
        if self._show:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            self._progress.start()
        return _Bar(self._progress)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def _large(file: Path) -> bool:
    try:
        size = file.stat().st_size
    except OSError:
        return False
    return size > PROGRESS_FROM_ROWS * 80  # ~80 bytes a row


@leads_app.command("search")
def search_cmd(
    url: Annotated[str, typer.Argument(help="A LinkedIn people-search URL.")],
    max_results: Annotated[int, typer.Option("--max", help="At most this many leads.")] = 100,
    campaign: Annotated[
        str | None, typer.Option("--campaign", "-c", help="Enroll the leads in this campaign.")
    ] = None,
    identity: Annotated[
        str | None,
        typer.Option("--identity", help="Identity that searches (default: first active)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Source leads from a LinkedIn people search (through Edges' linkedin-search-people).

    Example:
    linkseq leads search "https://www.linkedin.com/search/results/people/?keywords=cto" --max 50
    """
    from linkseq.leads.search import SEARCH_URL, source_from_search

    if not SEARCH_URL.match(url.strip()):
        raise InputError(
            f"{url!r} is not a LinkedIn people search URL "
            "(https://www.linkedin.com/search/results/people/?keywords=...)"
        )
    if max_results < 1:
        raise InputError("--max must be at least 1")
    settings = Settings()
    with open_session(settings) as session:
        searcher = _pick_identity(session, identity)

        def search(search_url: str, limit: int) -> Iterator[Mapping[str, Any]]:
            from linkseq.edges import EdgesClient

            with EdgesClient.from_settings(settings) as client:
                for person in client.search_people(searcher.uid, search_url, max_results=limit):
                    yield person.model_dump()

        report = source_from_search(session, search, url, max_results, campaign, now=clock().now())
    bad = report.bad or []
    if as_json:
        print_json(
            {
                "found": report.found,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "duplicates": report.duplicates,
                "enrolled": report.enrolled,
                "retried": report.retried,
                "bad_rows": [{"line": b.line, "reason": b.reason} for b in bad],
            }
        )
        return
    console.print(
        f"Found {report.found} people as {searcher.name}: {report.created} new, "
        f"{report.updated} updated, {report.unchanged} unchanged, {len(bad)} unusable"
    )
    if report.retried:
        console.print(f"{report.retried} held step(s) of the updated leads will be tried again")
    if campaign:
        console.print(f"Campaign {campaign!r}: {report.enrolled} enrolled")
    for row in bad[:SHOW_BAD_ROWS]:
        console.print(f"  result {row.line}: {row.reason}")


def _pick_identity(session: sa.orm.Session, name: str | None) -> Identity:
    query = sa.select(Identity).order_by(Identity.id)
    if name is not None:
        found = session.scalars(
            query.where(sa.or_(Identity.name == name, Identity.uid == name))
        ).first()
        if found is None:
            raise NotFoundError(f"no identity named {name!r} (see `linkseq identities list`)")
        return found
    active = session.scalars(query.where(Identity.status == IdentityStatus.ACTIVE)).first()
    if active is None:
        raise NotFoundError("no active identity to search with; add one with `linkseq identities`")
    return active


@leads_app.command("list")
def list_cmd(
    campaign: Annotated[
        str | None, typer.Option("--campaign", "-c", help="Only leads in this campaign.")
    ] = None,
    state: Annotated[
        str | None,
        typer.Option("--state", help="Only leads in this state (e.g. invited, replied)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many rows.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List leads, optionally those of one campaign and/or in one lifecycle state.

    Example: linkseq leads list --campaign "Founders Q1" --state invited --json
    """
    wanted: EnrollmentState | None = None
    if state is not None:
        try:
            wanted = EnrollmentState(state.strip().lower())
        except ValueError:
            names = ", ".join(s.value for s in EnrollmentState)
            raise InputError(f"unknown state {state!r} (one of {names})") from None
    with open_session(readonly=True) as session:
        query = sa.select(Lead, Enrollment.state, Campaign.name).where(
            Lead.forgotten_hash.is_(None)
        )
        if campaign is not None or wanted is not None:
            query = query.join(Enrollment, Enrollment.lead_id == Lead.id).join(
                Campaign, Campaign.id == Enrollment.campaign_id
            )
        else:
            query = query.outerjoin(Enrollment, Enrollment.lead_id == Lead.id).outerjoin(
                Campaign, Campaign.id == Enrollment.campaign_id
            )
        if campaign is not None:
            if session.scalar(sa.select(Campaign.id).where(Campaign.name == campaign)) is None:
                raise NotFoundError(
                    f"no campaign named {campaign!r} (see `linkseq campaigns list`)"
                )
            query = query.where(Campaign.name == campaign)
        if wanted is not None:
            query = query.where(Enrollment.state == wanted)
        rows = session.execute(query.order_by(Lead.id, Campaign.name).limit(max(0, limit))).all()
    items: list[dict[str, Any]] = [
        {
            "id": lead.id,
            "profile_url": lead.profile_url,
            "full_name": lead.full_name,
            "company_name": lead.company_name,
            "location": lead.location,
            "timezone": lead.timezone,
            "timezone_source": lead.timezone_source.value,
            "campaign": campaign_name,
            "state": lead_state.value if lead_state is not None else None,
        }
        for lead, lead_state, campaign_name in rows
    ]
    if as_json:
        print_json(items)
        return
    if not items:
        console.print("No leads.")
        return
    table = Table("id", "name", "company", "time zone", "campaign", "state", "profile")
    for item in items:
        table.add_row(
            str(item["id"]),
            item["full_name"] or "",
            item["company_name"] or "",
            f"{item['timezone'] or '-'} ({item['timezone_source']})",
            item["campaign"] or "",
            item["state"] or "",
            item["profile_url"],
        )
    console.print(table)


@leads_app.command("why")
def why_cmd(
    lead: Annotated[str, typer.Argument(help="Lead id, profile URL or LinkedIn profile id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Say where a lead stands in each campaign, its next action and when, and what holds it:
    quota, hours, pacing, delay, cooldown, a paused identity or campaign, or an invitation
    waiting for an answer (the engine's own plan, now).

    Example: linkseq leads why https://www.linkedin.com/in/jane-doe
    """
    from linkseq.engine.config import EngineConfig
    from linkseq.engine.explain import explain_lead

    settings = Settings()
    config = EngineConfig.from_settings(settings)
    with open_session(settings, readonly=True) as session:
        found = find_lead(session, lead)
        who = {"id": found.id, "name": found.full_name, "profile_url": found.profile_url}
        items = explain_lead(session, found, now=clock().now(), config=config)
    if as_json:
        print_json({"lead": who, "enrollments": items})
        return
    console.print(f"[bold]#{who['id']} {who['name'] or who['profile_url']}[/bold]")
    if not items:
        console.print("Not in any campaign: `linkseq leads import FILE --campaign NAME`.")
    for item in items:
        verdict = item["verdict"]
        step = item["next_step"]
        console.print(
            f"\n{item['campaign']} ({item['campaign_status']}), identity {item['identity']}: "
            f"[bold]{item['state']}[/bold]"
        )
        if step is not None:
            at = item["next_action_at"]
            when = f", due {at:%Y-%m-%d %H:%M} UTC" if at is not None else ""
            console.print(f"  next: {step['id']} ({step['type']}){when}", markup=False)
        label = f"{step['type']} ({step['id']})" if step is not None else None
        if item["next"] != label:
            console.print(f"  then: {item['next']}", markup=False)
        console.print(f"  {verdict['status']}: {item['sentence']}", markup=False)
        if item["fix"]:
            console.print(f"  fix: {item['fix']}", markup=False)
        for event in item["history"][:3]:
            console.print(
                f"  {event['at']:%Y-%m-%d %H:%M} {event['from']} → {event['to']}: "
                f"{event['reason']}",
                markup=False,
            )


@leads_app.command("export")
def export_cmd(
    lead: Annotated[str, typer.Argument(help="Lead id, profile URL or LinkedIn profile id.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
) -> None:
    """Export everything linkseq holds about one person, as JSON (a subject access request).

    Example: linkseq leads export 42 --output jane-doe.json
    """
    import json

    from linkseq.cli._common import json_default
    from linkseq.privacy import export_person

    with open_session(readonly=True) as session:
        data = export_person(session, find_lead(session, lead))
    if output is None:
        print_json(data)
        return
    text = json.dumps(data, default=json_default, ensure_ascii=False, indent=2)
    try:
        output.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {output}: {exc.strerror or exc}") from None
    console.print(f"Wrote everything held about lead #{data['lead']['id']} to {output}")


@leads_app.command("forget")
def forget_cmd(
    lead: Annotated[str, typer.Argument(help="Lead id, profile URL or LinkedIn profile id.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Erase a person: their lead, cached messages and personal data in the audit trail. Only a
    hash of the profile URL stays, so a later import skips them (unless --allow-forgotten).

    Example: linkseq leads forget https://www.linkedin.com/in/jane-doe --yes
    """
    from dataclasses import asdict

    from linkseq.privacy import forget_person

    with open_session() as session:
        found = find_lead(session, lead)
        who = found.full_name or found.profile_url
        if not yes and not typer.confirm(f"Erase everything held about {who}?", default=False):
            raise typer.Exit(1)
        report = forget_person(session, found, now=clock().now())
        session.commit()
    if as_json:
        print_json(asdict(report))
        return
    console.print(
        f"Forgotten lead #{report.lead_id}: {report.enrollments_ended} enrollment(s) ended, "
        f"{report.audit_scrubbed} audit rows and {report.outbox_scrubbed} actions scrubbed, "
        f"{report.threads_deleted} thread(s) and {report.messages_deleted} message(s) deleted. "
        f"Kept: hash {report.hash[:12]}…"
    )


def register(app: typer.Typer) -> None:
    """Add `linkseq leads`."""
    app.add_typer(leads_app, name="leads")
