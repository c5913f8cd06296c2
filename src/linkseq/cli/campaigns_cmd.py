"""`linkseq campaigns`: preview, create, list, start and pause campaigns."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
import typer
from rich.table import Table
from sqlalchemy.orm import Session

from linkseq.campaigns import CampaignSpec, LeadPreview, load_campaign_file, preview_lead
from linkseq.campaigns.preview import step_texts
from linkseq.cli._common import clock, console, find_identity, open_session, print_json
from linkseq.engine.funnel import STAGES
from linkseq.errors import InputError, NotFoundError
from linkseq.planning.quota import AccountLevel, Action, smart_limit
from linkseq.store.enums import (
    CampaignStatus,
)
from linkseq.store.models import (
    Campaign,
    CampaignIdentity,
    Enrollment,
    Identity,
    Lead,
)

__all__ = ["register"]

campaigns_app = typer.Typer(
    help="Campaigns: preview, create, list, start, pause, status, rebalance.\n\n"
    "Example: linkseq campaigns create campaign.yaml",
    no_args_is_help=True,
)
SHOW_PROBLEMS = 50


@campaigns_app.command("preview")
def preview_cmd(
    file: Annotated[Path, typer.Argument(help="The campaign file (YAML).")],
    leads: Annotated[int, typer.Option("--leads", "-n", help="Show the texts of N leads.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Validate a campaign file and render its texts for N leads of the database; every lead
    whose text cannot be rendered or is too long is listed with the reason.

    Leads are those already in the campaign of the same name, else every lead in the database.

    Example: linkseq campaigns preview campaign.yaml --leads 5
    """
    spec = load_campaign_file(file)
    if leads < 0:
        raise InputError("--leads cannot be negative")
    texts = list(step_texts(spec))
    shown: list[LeadPreview] = []
    problems: list[LeadPreview] = []
    checked = 0
    with open_session(readonly=True) as session:
        for lead in _preview_leads(session, spec):
            checked += 1
            result = preview_lead(spec, lead, texts)
            if len(shown) < leads:
                shown.append(result)
            if result.problems:
                problems.append(result)
    if as_json:
        print_json(
            {
                "campaign": spec.name,
                "leads_checked": checked,
                "leads": [_preview_json(p) for p in shown],
                "problems": [
                    {**_preview_json(p), "texts": [_text_json(t) for t in p.problems]}
                    for p in problems
                ],
            }
        )
        return
    console.print(f"[bold]{spec.name}[/bold]: {len(spec.steps)} steps, file is valid")
    if not texts:
        console.print("This campaign sends no text.")
    if checked == 0:
        console.print("No leads in the database yet: import some with `linkseq leads import`.")
    for item in shown:
        console.print(f"\n[bold]#{item.lead_id} {item.name or item.profile_url}[/bold]")
        for text in item.texts:
            label = f"{text.step_id}.{text.field}"
            if text.held is None:
                console.print(f"[cyan]{label}[/cyan] ({len(text.text or '')} chars)")
                console.print(text.text or "", markup=False)
            else:
                extra = f"; {text.fallback}" if text.fallback else ""
                console.print(f"[red]{label}: held: {text.held}{extra}[/red]")
    console.print(f"\n{checked} leads checked, {len(problems)} with a text that cannot be sent")
    for item in problems[:SHOW_PROBLEMS]:
        for text in item.problems:
            extra = f" ({text.fallback})" if text.fallback else ""
            who = item.name or item.profile_url
            console.print(
                f"  #{item.lead_id} {who}: {text.step_id}.{text.field}: {text.held}{extra}",
                markup=False,
            )
    if len(problems) > SHOW_PROBLEMS:
        console.print(f"  … and {len(problems) - SHOW_PROBLEMS} more leads (see --json)")


def _preview_leads(session: Session, spec: CampaignSpec) -> Any:
    query = sa.select(Lead).where(Lead.forgotten_hash.is_(None)).order_by(Lead.id)
    campaign_id = session.scalar(sa.select(Campaign.id).where(Campaign.name == spec.name))
    if campaign_id is not None:
        enrolled = sa.select(Enrollment.lead_id).where(Enrollment.campaign_id == campaign_id)
        if session.scalar(sa.select(sa.exists(enrolled))):
            query = query.where(Lead.id.in_(enrolled))
    return session.scalars(query.execution_options(yield_per=1000))


def _preview_json(item: LeadPreview) -> dict[str, Any]:
    return {
        "lead_id": item.lead_id,
        "name": item.name,
        "profile_url": item.profile_url,
        "texts": [_text_json(t) for t in item.texts],
    }


def _text_json(text: Any) -> dict[str, Any]:
    return {
        "step_id": text.step_id,
        "field": text.field,
        "text": text.text,
        "held": text.held,
        "fallback": text.fallback,
    }


def _identities(session: Session, spec: CampaignSpec, source: str) -> list[Identity]:
    found: list[Identity] = []
    for index, name in enumerate(spec.identities):
        matches = list(
            session.scalars(
                sa.select(Identity).where(sa.or_(Identity.name == name, Identity.uid == name))
            )
        )
        by_uid = [m for m in matches if m.uid == name]
        if by_uid:
            matches = by_uid
        if not matches:
            raise NotFoundError(
                f"{source}: identities[{index}]: unknown identity {name!r} "
                "(see `linkseq identities list`)"
            )
        if len(matches) > 1:
            raise InputError(
                f"{source}: identities[{index}]: {len(matches)} identities are named {name!r}; "
                "use the uid instead"
            )
        found.append(matches[0])
    return found


def _check_caps(spec: CampaignSpec, identities: list[Identity], source: str) -> None:
    """Caps above the Smart Limit of an identity's level (Classic or Sales Navigator)."""
    for identity in identities:
        level = AccountLevel.parse(identity.level.value)
        for action_name, cap in spec.caps.as_dict().items():
            action = Action(action_name)
            if action is Action.message:
                continue  # the same for every level; already bounded by the spec
            limit, window = smart_limit(action, level)
            if cap > limit:
                per = "per day" if window.days <= 1 else f"per {window.days} days"
                raise InputError(
                    f"{source}: caps.{action_name}: {cap} is above the Smart Limit of identity "
                    f"{identity.name!r} ({level.value}: {limit} {per})"
                )


@campaigns_app.command("create")
def create_cmd(
    file: Annotated[Path, typer.Argument(help="The campaign file (YAML).")],
) -> None:
    """Validate a campaign file and store it as a draft (start it with `campaigns start`).

    Example: linkseq campaigns create campaign.yaml
    """
    spec = load_campaign_file(file)
    text = file.read_text(encoding="utf-8-sig")
    now = clock().now()
    with open_session() as session:
        identities = _identities(session, spec, file.name)
        _check_caps(spec, identities, file.name)
        if session.scalar(sa.select(Campaign.id).where(Campaign.name == spec.name)) is not None:
            raise InputError(f"{file.name}: name: a campaign named {spec.name!r} already exists")
        campaign = Campaign(
            name=spec.name,
            spec_yaml=text,
            spec=spec.to_json(),
            status=CampaignStatus.DRAFT,
            priority=spec.priority,
            created_at=now,
            updated_at=now,
        )
        session.add(campaign)
        session.flush()
        session.add_all(
            CampaignIdentity(campaign_id=campaign.id, identity_id=identity.id)
            for identity in identities
        )
        session.commit()
    names = ", ".join(i.name for i in identities)
    console.print(
        f"Created campaign {spec.name!r} (draft, {len(spec.steps)} steps, identities: {names}). "
        f"Add leads with `linkseq leads import FILE --campaign {spec.name!r}`, "
        f"then `linkseq campaigns start {spec.name!r}`."
    )


@campaigns_app.command("list")
def list_cmd(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List campaigns with their status, identities and leads by state.

    Example: linkseq campaigns list --json
    """
    with open_session(readonly=True) as session:
        campaigns = list(session.scalars(sa.select(Campaign).order_by(Campaign.id)))
        identity_rows = session.execute(
            sa.select(CampaignIdentity.campaign_id, Identity.name).join(
                Identity, Identity.id == CampaignIdentity.identity_id
            )
        ).all()
        state_rows = session.execute(
            sa.select(Enrollment.campaign_id, Enrollment.state, sa.func.count()).group_by(
                Enrollment.campaign_id, Enrollment.state
            )
        ).all()
    names: dict[int, list[str]] = {}
    for campaign_id, name in identity_rows:
        names.setdefault(campaign_id, []).append(name)
    states: dict[int, Counter[str]] = {}
    for campaign_id, state, count in state_rows:
        states.setdefault(campaign_id, Counter())[state.value] = count
    items: list[dict[str, Any]] = [
        {
            "name": c.name,
            "status": c.status.value,
            "priority": c.priority,
            "identities": sorted(names.get(c.id, [])),
            "steps": len(c.spec.get("steps", [])),
            "leads": sum(states.get(c.id, Counter()).values()),
            "states": dict(sorted(states.get(c.id, Counter()).items())),
            "started_at": c.started_at,
            "created_at": c.created_at,
        }
        for c in campaigns
    ]
    if as_json:
        print_json(items)
        return
    if not items:
        console.print("No campaigns yet: `linkseq campaigns create campaign.yaml`.")
        return
    table = Table("name", "status", "priority", "identities", "steps", "leads", "by state")
    for item in items:
        by_state = ", ".join(f"{k} {v}" for k, v in item["states"].items())
        table.add_row(
            item["name"],
            item["status"],
            str(item["priority"]),
            ", ".join(item["identities"]),
            str(item["steps"]),
            str(item["leads"]),
            by_state,
        )
    console.print(table)


def _set_status(name: str, status: CampaignStatus) -> tuple[CampaignStatus, CampaignStatus]:
    now = clock().now()
    with open_session() as session:
        campaign = session.scalars(sa.select(Campaign).where(Campaign.name == name)).first()
        if campaign is None:
            raise NotFoundError(f"no campaign named {name!r} (see `linkseq campaigns list`)")
        before = campaign.status
        if before is CampaignStatus.FINISHED:
            raise InputError(f"campaign {name!r} is finished")
        if before is not status:
            campaign.status = status
            campaign.updated_at = now
            if status is CampaignStatus.ACTIVE and campaign.started_at is None:
                campaign.started_at = now
            session.commit()
    return before, status


@campaigns_app.command("start")
def start_cmd(name: Annotated[str, typer.Argument(help="The campaign's name.")]) -> None:
    """Start (or resume) a campaign: `linkseq run` works its leads from now on.

    Example: linkseq campaigns start "Founders Q1"
    """
    before, _ = _set_status(name, CampaignStatus.ACTIVE)
    if before is CampaignStatus.ACTIVE:
        console.print(f"Campaign {name!r} is already running")
    else:
        console.print(f"Campaign {name!r} is running (was {before.value})")


@campaigns_app.command("pause")
def pause_cmd(name: Annotated[str, typer.Argument(help="The campaign's name.")]) -> None:
    """Pause a campaign: nothing is sent for it until `campaigns start`.

    Example: linkseq campaigns pause "Founders Q1"
    """
    before, _ = _set_status(name, CampaignStatus.PAUSED)
    if before is CampaignStatus.PAUSED:
        console.print(f"Campaign {name!r} is already paused")
    else:
        console.print(f"Campaign {name!r} is paused (was {before.value})")


_STAGES = STAGES


def campaign_funnel(counts: dict[str, int]) -> dict[str, Any]:
    """One campaign's funnel (enrolled → visited → invited → accepted → messaged → replied)
    and its leads by state, from `linkseq.engine.funnel.campaign_funnel`'s counts."""
    states = {k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("state:")}
    return {**{stage: counts[stage] for stage in _STAGES}, "states": dict(sorted(states.items()))}


@campaigns_app.command("status")
def status_cmd(
    name: Annotated[str, typer.Argument(help="The campaign's name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a campaign's funnel and when every lead will have been contacted.

    Example: linkseq campaigns status "Founders Q1" --json
    """
    from linkseq.engine.config import EngineConfig
    from linkseq.engine.explain import campaign_status
    from linkseq.settings import Settings

    settings = Settings()
    config = EngineConfig.from_settings(settings)
    now = clock().now()
    with open_session(settings, readonly=True) as session:
        campaign = session.scalars(sa.select(Campaign).where(Campaign.name == name)).first()
        if campaign is None:
            raise NotFoundError(f"no campaign named {name!r} (see `linkseq campaigns list`)")
        report = campaign_status(session, campaign.id, now, config=config)
    funnel = campaign_funnel(report.funnel)
    f = report.forecast
    forecast = {
        "leads_not_contacted": f.leads_left,
        "first_contact": f.first_contact,
        "per_day": f.daily_capacity,
        "today_left": f.today_left,
        "everyone_contacted_by": f.at,
        "identities": f.identities,
    }
    data = {"name": name, "status": report.status, "funnel": funnel, "forecast": forecast}
    if as_json:
        print_json(data)
        return
    console.print(f"[bold]{name}[/bold] ({report.status})")
    table = Table("stage", "leads")
    for stage in _STAGES:
        table.add_row(stage, str(funnel[stage]))
    console.print(table)
    states = ", ".join(f"{k} {v}" for k, v in funnel["states"].items()) or "no leads"
    console.print(f"By state: {states}")
    left, by = f.leads_left, f.at
    noun = _CONTACTS.get(f.first_contact, f.first_contact)
    if left == 0:
        console.print("Every lead has been contacted.")
    elif by is None:
        if report.status != "active":
            why = "the campaign is not running"
        elif "active" not in f.identities.values():
            why = "no active identity"
        else:
            why = f"the limits and caps allow no {noun} a day"
        console.print(f"{left} leads not contacted yet; no forecast: {why}.")
    else:
        window = "today" if f.open_now else "in the next working window"
        console.print(
            f"{left} leads not contacted yet at {f.daily_capacity} {noun} a day "
            f"({f.today_left} more {window}): everyone contacted by "
            f"{by:%Y-%m-%d %H:%M} UTC (estimate)."
        )


_CONTACTS = {
    "connect": "invitations",
    "message": "messages",
    "inmail": "InMails",
    "visit": "visits",
}


@campaigns_app.command("rebalance")
def rebalance_cmd(
    name: Annotated[str, typer.Argument(help="The campaign's name.")],
    add: Annotated[
        list[str] | None,
        typer.Option("--add", help="First add this identity (name or uid) to the campaign."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Share the campaign's leads not yet contacted among its active identities by free
    capacity; contacted leads keep their identity. `--add` brings a new identity in first.

    Only the fewest leads move, each back to `new` under its new identity, with an audit row.
    A paused or disconnected identity's uncontacted leads go to the others (this is also done
    automatically when an identity pauses or comes back).

    Example: linkseq campaigns rebalance "Founders Q1" --add Bob
    """
    from linkseq.engine.rebalance import rebalance_campaign
    from linkseq.engine.steps import load_spec

    now = clock().now()
    with open_session() as session:
        campaign = session.scalars(sa.select(Campaign).where(Campaign.name == name)).first()
        if campaign is None:
            raise NotFoundError(f"no campaign named {name!r} (see `linkseq campaigns list`)")
        if campaign.status is CampaignStatus.FINISHED:
            raise InputError(f"campaign {name!r} is finished")
        added: list[str] = []
        for ref in add or []:
            identity = find_identity(session, ref)
            _check_caps(load_spec(campaign.id, campaign.spec), [identity], name)
            link = session.get(CampaignIdentity, (campaign.id, identity.id))
            if link is None:
                session.add(CampaignIdentity(campaign_id=campaign.id, identity_id=identity.id))
                session.flush()
                added.append(identity.name)
        moves = rebalance_campaign(session, campaign_id=campaign.id, now=now)
        session.commit()
    by_pair = Counter((m.from_identity, m.to_identity) for m in moves)
    if as_json:
        print_json(
            {
                "campaign": name,
                "added": added,
                "moved": len(moves),
                "moves": [
                    {"from": a, "to": b, "leads": n} for (a, b), n in sorted(by_pair.items())
                ],
            }
        )
        return
    for identity_name in added:
        console.print(f"Identity {identity_name!r} now works campaign {name!r}")
    if not moves:
        console.print(f"Campaign {name!r} is balanced: no lead moved")
        return
    for (a, b), n in sorted(by_pair.items()):
        console.print(f"{n} leads not yet contacted moved from {a} to {b}", markup=False)


def register(app: typer.Typer) -> None:
    """Add `linkseq campaigns`."""
    app.add_typer(campaigns_app, name="campaigns")
