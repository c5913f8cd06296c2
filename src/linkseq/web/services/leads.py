"""Leads: the filtered and searched table, and each lead's "why it waits / what's next"."""

from __future__ import annotations

import contextlib
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.campaigns import CampaignSpec, MessageStep, Step, WaitStep
from linkseq.engine.config import EngineConfig
from linkseq.engine.quotas import identity_quotas
from linkseq.engine.steps import load_spec, step_at
from linkseq.errors import InputError, LinkseqError, NotFoundError
from linkseq.planning.hours import is_open, next_open
from linkseq.planning.quota import (
    Action,
)
from linkseq.store.enums import (
    CampaignStatus,
    EnrollmentState,
    IdentityStatus,
)
from linkseq.store.models import (
    AuditEvent,
    Campaign,
    Conversation,
    Enrollment,
    Identity,
    Lead,
)
from linkseq.web.services.campaigns import campaign_steps
from linkseq.web.services.views import AuditRow, EnrollmentView, LeadDetail, LeadPage, LeadRow

__all__ = ["lead_detail", "list_leads", "why_waiting"]


def list_leads(
    session: Session,
    *,
    campaign_id: int | None = None,
    state: str | None = None,
    identity_id: int | None = None,
    search: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> LeadPage:
    """Leads in campaigns (one row per enrollment), filtered, newest change first."""
    page = max(1, page)
    per_page = min(max(1, per_page), 500)
    where: list[sa.ColumnElement[bool]] = []
    if campaign_id is not None:
        where.append(Enrollment.campaign_id == campaign_id)
    if identity_id is not None:
        where.append(Enrollment.identity_id == identity_id)
    if state:
        try:
            where.append(Enrollment.state == EnrollmentState(state))
        except ValueError:
            raise InputError(f"unknown state {state!r}") from None
    text = (search or "").strip()
    # a search is counted and paged differently (see `_lead_matches`)
    counted, paged = list(where), list(where)
    if text:
        match = _lead_matches(session, text)
        counted.append(Enrollment.lead_id.in_(sa.select(Lead.id).where(match)))
        paged.append(match)
    base = sa.select(Enrollment.id).where(*counted)
    total = int(
        session.execute(sa.select(sa.func.count()).select_from(base.subquery())).scalar_one()
    )
    rows = session.execute(
        sa.select(Enrollment, Lead, Campaign.name, Identity.name)
        .join(Lead, Lead.id == Enrollment.lead_id)
        .join(Campaign, Campaign.id == Enrollment.campaign_id)
        .join(Identity, Identity.id == Enrollment.identity_id)
        .where(*paged)
        .order_by(Enrollment.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return LeadPage(
        rows=[
            LeadRow(
                enrollment_id=e.id,
                lead_id=lead.id,
                name=lead.full_name,
                company=lead.company_name,
                profile_url=lead.profile_url,
                campaign=campaign_name,
                identity=identity_name,
                state=e.state.value,
                reason=e.reason,
                next_action_at=e.next_action_at,
                updated_at=e.updated_at,
            )
            for e, lead, campaign_name, identity_name in rows
        ],
        total=total,
        page=page,
        per_page=per_page,
    )


def _lead_matches(session: Session, text: str) -> sa.ColumnElement[bool]:
    """The lead's name, company or profile URL contains `text`, case-insensitively.

    The total counts `lead_id IN (SELECT id FROM leads WHERE <this>)`: one pass over `leads`
    alone, then enrollments by `ix_enrollments_lead_state`. The page puts it on the joined lead
    instead, so that enrollments are walked newest first and the walk stops at the page's last
    row (with the IN list, SQLite joined and sorted every match: 90 ms for a third of 100,000).
    SQLite's LIKE already ignores ASCII case (exactly what `lower()` did, at half the cost);
    PostgreSQL gets ILIKE.
    """
    # lowered here as before: SQLite's LIKE folds ASCII only, so "GARCÍA" must arrive as "garcía"
    pattern = f"%{_escape_like(text.lower())}%"
    columns = (Lead.full_name, Lead.company_name, Lead.profile_url)
    if session.get_bind().dialect.name == "sqlite":
        match = [c.like(pattern, escape="\\") for c in columns]
    else:
        match = [c.ilike(pattern, escape="\\") for c in columns]
    return sa.or_(*match)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _zone(*names: str | None) -> ZoneInfo:
    for name in names:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _fmt(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


def why_waiting(
    session: Session,
    *,
    enrollment: Enrollment,
    campaign: Campaign,
    identity: Identity,
    lead: Lead,
    now: datetime,
    config: EngineConfig,
) -> tuple[str, str]:
    """Why the lead waits and what comes next, in words: `(why, next)`."""
    state = enrollment.state
    steps = campaign_steps(campaign)
    step = step_at(steps, enrollment.step_index)
    label = f"{step.type} ({step.id})" if step is not None else "nothing"
    if state.is_terminal:
        return f"stopped: {enrollment.reason or state.value}", "nothing: automation has ended"
    if state is EnrollmentState.PAUSED:
        back = enrollment.paused_from_state.value if enrollment.paused_from_state else "?"
        return (
            f"identity {identity.name} is disconnected ({identity.status_reason or 'session'})",
            f"resumes as {back} when the LinkedIn session is back",
        )
    if campaign.status is not CampaignStatus.ACTIVE:
        return f"campaign {campaign.name!r} is {campaign.status.value}", f"{label} once started"
    if identity.status is not IdentityStatus.ACTIVE:
        return f"identity {identity.name} is {identity.status.value}", label
    due = enrollment.next_action_at
    if state is EnrollmentState.NEW:
        if due is not None and due > now:
            return f"cooldown until {_fmt(due)}", "admission checks (DNC, duplicates, history)"
        return "waiting for the admission checks", "admission checks on the next pass"
    if state is EnrollmentState.INVITED:
        wait = step if isinstance(step, WaitStep) else None
        after = wait.on_timeout if wait is not None else "withdraw"
        when = _fmt(due) if due is not None else "the timeout"
        return (
            "waiting for the invitation to be accepted",
            f"first message once accepted; {after} at {when}",
        )
    if step is None:
        return "no step left", "completion"
    if due is None:
        return f"held: {enrollment.reason or 'no next action time'}", label
    if due > now:
        return f"the step's delay runs until {_fmt(due)}", label
    spec: CampaignSpec | None = None
    with contextlib.suppress(LinkseqError, ValueError):
        spec = load_spec(campaign.id, campaign.spec)
    action = _action_of(step)
    if action is not None:
        quotas, _ = identity_quotas(
            session, identity=identity, now=now, config=config, campaign_caps={}
        )
        status = quotas[action]
        if status.remaining <= 0:
            when = _fmt(status.next_slot_at) if status.next_slot_at else "never"
            return f"{action.value} limit reached ({status.binding}); next slot {when}", label
    if spec is not None:
        schedule = spec.schedule
        tz = _zone(
            schedule.fixed_timezone if schedule.timezone == "fixed" else None,
            lead.timezone if schedule.timezone == "lead" else None,
            identity.timezone if schedule.timezone != "fixed" else None,
            schedule.default_timezone,
        )
        hours = schedule.working_schedule()
        if not is_open(hours, tz, now):
            return (
                f"outside the lead's working hours ({tz.key}); "
                f"opens {_fmt(next_open(hours, tz, now))}",
                label,
            )
    if state in (EnrollmentState.CONNECTED, EnrollmentState.MESSAGED) and isinstance(
        step, MessageStep
    ):
        return "due now: goes with the next batch of messages (after a conversations sync)", label
    return "due now: goes on the identity's next pass, at its pace", label


def _action_of(step: Step) -> Action | None:
    kind = step.type
    return {
        "visit": Action.visit,
        "connect": Action.connect,
        "message": Action.message,
        "inmail": Action.inmail,
    }.get(kind)


def lead_detail(
    session: Session, *, lead_id: int, now: datetime, config: EngineConfig
) -> LeadDetail:
    """A lead with each enrollment's "why it waits / what's next" and the full audit trail."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFoundError(f"no lead {lead_id}")
    enrollments = []
    for enrollment, campaign, identity in session.execute(
        sa.select(Enrollment, Campaign, Identity)
        .join(Campaign, Campaign.id == Enrollment.campaign_id)
        .join(Identity, Identity.id == Enrollment.identity_id)
        .where(Enrollment.lead_id == lead_id)
        .order_by(Enrollment.id)
    ):
        why, nxt = why_waiting(
            session,
            enrollment=enrollment,
            campaign=campaign,
            identity=identity,
            lead=lead,
            now=now,
            config=config,
        )
        step = step_at(campaign_steps(campaign), enrollment.step_index)
        enrollments.append(
            EnrollmentView(
                id=enrollment.id,
                campaign_id=campaign.id,
                campaign=campaign.name,
                identity=identity.name,
                state=enrollment.state.value,
                reason=enrollment.reason,
                step_id=step.id if step is not None else None,
                next_action_at=enrollment.next_action_at,
                why=why,
                next=nxt,
            )
        )
    audit = [
        AuditRow(
            at=a.at,
            enrollment_id=a.enrollment_id,
            from_state=a.from_state,
            to_state=a.to_state,
            reason=a.reason,
        )
        for a in session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.lead_id == lead_id)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    ]
    keys = [
        cond
        for cond in (
            Conversation.participant_profile_url == lead.profile_url,
            Conversation.participant_profile_id == lead.linkedin_profile_id
            if lead.linkedin_profile_id
            else None,
        )
        if cond is not None
    ]
    threads = list(session.scalars(sa.select(Conversation.id).where(sa.or_(*keys))))
    return LeadDetail(
        id=lead.id,
        name=lead.full_name,
        company=lead.company_name,
        profile_url=lead.profile_url,
        location=lead.location,
        timezone=lead.timezone,
        enrollments=enrollments,
        audit=audit,
        threads=threads,
    )
