"""What the dashboard pages and the JSON API share: read models, and the actions a person takes.

Every function is keyword-only and takes its session (and `now`) explicitly. Read models are
pydantic models, so the API returns them as they are (and documents them in OpenAPI) and the
templates render the same objects.

Inbox replies are live messages sent by a person, not by the engine, but they obey the same rules:
sync-before-send (the identity's conversations are synced first, and a reply is refused when the
lead wrote something newer than what the person saw), the message Smart Limit, and the outbox (an
intent keyed by a one-time token of the reply form is written before Edges is called, so a double
submit cannot send twice).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from linkseq.campaigns import CampaignSpec, InmailStep, MessageStep, Step, WaitStep
from linkseq.edges import EdgesClient, EdgesError, UncertainSend
from linkseq.engine import outbox
from linkseq.engine.config import EngineConfig
from linkseq.engine.lifecycle import ACTIVE, Event, IllegalTransition, State
from linkseq.engine.people import PersonKey, leads_for
from linkseq.engine.quotas import identity_quotas
from linkseq.engine.steps import load_spec, step_at
from linkseq.engine.sync import sync_conversations
from linkseq.engine.transitions import apply_event, note
from linkseq.errors import ConfigError, InputError, LinkseqError, NotFoundError
from linkseq.planning.hours import is_open, next_open
from linkseq.planning.quota import (
    DAY,
    INMAIL_WINDOW,
    RAMP_UP_DAYS,
    AccountLevel,
    Action,
    ramp_up_limit,
)
from linkseq.planning.quota import smart_limit as full_limit
from linkseq.settings import Settings
from linkseq.store.enums import (
    ActionKind,
    ActionStatus,
    CampaignStatus,
    EnrollmentState,
    IdentityStatus,
    SyncKind,
)
from linkseq.store.models import (
    AuditEvent,
    Campaign,
    CampaignIdentity,
    Conversation,
    Enrollment,
    Identity,
    Lead,
    Message,
    OutboxAction,
    SentInvitation,
    SyncState,
)

__all__ = [
    "FUNNEL_STAGES",
    "INBOX_STEP",
    "AuditRow",
    "CampaignView",
    "Conflict",
    "EnrollmentView",
    "FunnelStage",
    "IdentityView",
    "ImportResult",
    "LeadDetail",
    "LeadPage",
    "LeadRow",
    "MessageView",
    "QuotaUse",
    "ReplyResult",
    "StepRate",
    "ThreadDetail",
    "ThreadPage",
    "ThreadRow",
    "ago",
    "campaign_list",
    "campaign_views",
    "edges_client",
    "identity_list",
    "identity_views",
    "import_leads",
    "lead_detail",
    "lead_of_thread",
    "list_leads",
    "list_threads",
    "mark_lead",
    "open_thread",
    "reply",
    "set_campaign_status",
    "thread_of_lead",
    "why_waiting",
]

FUNNEL_STAGES = ("enrolled", "visited", "invited", "accepted", "messaged", "replied")
_DONE = [ActionStatus.SENT, ActionStatus.RECONCILED]
INBOX_STEP = "inbox"


class Conflict(LinkseqError):
    """The action no longer fits what the person saw (the lead wrote meanwhile)."""


# --- read models -------------------------------------------------------------------------------


class FunnelStage(BaseModel):
    """One stage of a campaign's funnel: how many leads reached it, and the rate from the last."""

    stage: str
    count: int
    rate: float | None = Field(None, description="count / count of the previous stage")


class StepRate(BaseModel):
    """A message step: how many got it, and how many replied with it as the last message."""

    step_id: str
    sent: int
    replied: int
    rate: float | None


class CampaignView(BaseModel):
    """A campaign with its funnel."""

    id: int
    name: str
    status: str
    priority: int
    identities: list[str]
    started_at: datetime | None
    funnel: list[FunnelStage]
    states: dict[str, int]
    steps: list[StepRate]

    def count(self, stage: str) -> int:
        """The count of one funnel stage."""
        return next((s.count for s in self.funnel if s.stage == stage), 0)


class QuotaUse(BaseModel):
    """Today's use of one Smart Limit of an identity (the rolling 24 h, or 31 days for InMail)."""

    action: str
    used: int
    limit: int
    full_limit: int
    remaining: int
    binding: str
    next_slot_at: datetime | None


class IdentityView(BaseModel):
    """An identity's health: session status, quota use, ramp-up day, pending invitations."""

    id: int
    uid: str
    name: str
    level: str
    status: str
    status_reason: str | None
    timezone: str
    ramp_up_day: int | None = Field(description="1..5 during the ramp-up, None before a sync")
    ramping: bool
    quotas: list[QuotaUse]
    pending_invitations: int
    invited_leads: int
    last_synced: dict[str, datetime | None]


class LeadRow(BaseModel):
    """One lead in a campaign (one enrollment), for the leads table."""

    enrollment_id: int
    lead_id: int
    name: str | None
    company: str | None
    profile_url: str
    campaign: str
    identity: str
    state: str
    reason: str | None
    next_action_at: datetime | None
    updated_at: datetime


class LeadPage(BaseModel):
    """A page of the leads table."""

    rows: list[LeadRow]
    total: int
    page: int
    per_page: int


class AuditRow(BaseModel):
    """One line of a lead's audit trail."""

    at: datetime
    enrollment_id: int | None
    from_state: str | None
    to_state: str | None
    reason: str


class EnrollmentView(BaseModel):
    """A lead in one campaign: where it stands and why it waits."""

    id: int
    campaign_id: int
    campaign: str
    identity: str
    state: str
    reason: str | None
    step_id: str | None
    next_action_at: datetime | None
    why: str
    next: str


class LeadDetail(BaseModel):
    """A lead, its campaigns (with why each waits) and its audit trail."""

    id: int
    name: str | None
    company: str | None
    profile_url: str
    location: str | None
    timezone: str | None
    enrollments: list[EnrollmentView]
    audit: list[AuditRow]
    threads: list[int]


class ThreadRow(BaseModel):
    """One thread of the unified inbox."""

    id: int
    identity: str
    identity_id: int
    lead_id: int | None
    name: str | None
    profile_url: str | None
    last_message_at: datetime | None
    last_message_text: str | None
    unread: bool
    lead_wrote_last: bool
    replied: bool
    label: str | None


class ThreadPage(BaseModel):
    """A page of the inbox."""

    rows: list[ThreadRow]
    total: int
    page: int
    per_page: int


class MessageView(BaseModel):
    """One message of a thread."""

    id: str
    from_identity: bool
    text: str | None
    sent_at: datetime | None


class ThreadDetail(BaseModel):
    """A thread with its messages, and what the reply form needs."""

    thread: ThreadRow
    messages: list[MessageView]
    seen_at: datetime | None = Field(description="newest message shown; send it back on reply")
    reply_token: str = Field(description="one-time token; send it back on reply")
    loaded_from: str = Field(description="'edges' when just read with extract-messages, or 'cache'")


class ReplyResult(BaseModel):
    """What a reply from the inbox did."""

    status: str
    outbox_id: int
    thread: ThreadDetail


class ImportResult(BaseModel):
    """A CSV upload's report (the same as `linkseq leads import --json`)."""

    rows: int
    created: int
    updated: int
    unchanged: int
    duplicates_in_file: int
    forgotten: int
    enrolled: int
    already_enrolled: int
    on_dnc: int
    bad_rows: list[dict[str, Any]]
    dry_run: bool


# --- campaigns ---------------------------------------------------------------------------------


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def campaign_views(session: Session, *, campaign_id: int | None = None) -> list[CampaignView]:
    """Every campaign (or one) with its funnel, states and reply rate per message step.

    Stages count leads (enrollments): visited / invited / messaged = an action of that kind
    reached LinkedIn; accepted = moved invited → connected; replied = in state replied.
    """
    where = [] if campaign_id is None else [Campaign.id == campaign_id]
    campaigns = list(session.scalars(sa.select(Campaign).where(*where).order_by(Campaign.id)))
    if not campaigns:
        return []
    ids = [c.id for c in campaigns]
    names: dict[int, list[str]] = {}
    for cid, name in session.execute(
        sa.select(CampaignIdentity.campaign_id, Identity.name)
        .join(Identity, Identity.id == CampaignIdentity.identity_id)
        .where(CampaignIdentity.campaign_id.in_(ids))
    ):
        names.setdefault(cid, []).append(name)
    states: dict[int, dict[str, int]] = {}
    for cid, state, n in session.execute(
        sa.select(Enrollment.campaign_id, Enrollment.state, sa.func.count())
        .where(Enrollment.campaign_id.in_(ids))
        .group_by(Enrollment.campaign_id, Enrollment.state)
    ):
        states.setdefault(cid, {})[EnrollmentState(state).value] = n
    # leads that reached each kind of action: one grouped scan of the sent outbox rows
    did: dict[tuple[int, str], int] = {}
    for cid, kind, n in session.execute(
        sa.select(
            Enrollment.campaign_id,
            OutboxAction.kind,
            sa.func.count(sa.distinct(OutboxAction.enrollment_id)),
        )
        .join(Enrollment, Enrollment.id == OutboxAction.enrollment_id)
        .where(OutboxAction.status.in_(_DONE), Enrollment.campaign_id.in_(ids))
        .group_by(Enrollment.campaign_id, OutboxAction.kind)
    ):
        did[(cid, ActionKind(kind).value)] = n
    per_step: dict[tuple[int, str | None], int] = {}
    for cid, step_id, n in session.execute(
        sa.select(Enrollment.campaign_id, OutboxAction.step_id, sa.func.count())
        .join(Enrollment, Enrollment.id == OutboxAction.enrollment_id)
        .where(
            OutboxAction.status.in_(_DONE),
            OutboxAction.kind.in_([ActionKind.MESSAGE, ActionKind.INMAIL]),
            Enrollment.campaign_id.in_(ids),
        )
        .group_by(Enrollment.campaign_id, OutboxAction.step_id)
    ):
        per_step[(cid, step_id)] = n
    # a reply is credited to the last message the lead had received: message_count
    replied_after: dict[tuple[int, int], int] = {}
    for cid, count, n in session.execute(
        sa.select(Enrollment.campaign_id, Enrollment.message_count, sa.func.count())
        .where(Enrollment.state == EnrollmentState.REPLIED, Enrollment.campaign_id.in_(ids))
        .group_by(Enrollment.campaign_id, Enrollment.message_count)
    ):
        replied_after[(cid, count)] = n
    accepted = dict(
        session.execute(
            sa.select(Enrollment.campaign_id, sa.func.count(sa.distinct(AuditEvent.enrollment_id)))
            .join(Enrollment, Enrollment.id == AuditEvent.enrollment_id)
            .where(
                AuditEvent.to_state == EnrollmentState.CONNECTED.value,
                AuditEvent.from_state == EnrollmentState.INVITED.value,
                Enrollment.campaign_id.in_(ids),
            )
            .group_by(Enrollment.campaign_id)
        ).all()
    )
    views = []
    for campaign in campaigns:
        cid = campaign.id
        by_state = states.get(cid, {})
        counts = {
            "enrolled": sum(by_state.values()),
            "visited": did.get((cid, "visit"), 0),
            "invited": did.get((cid, "connect"), 0),
            "accepted": int(accepted.get(cid, 0)),
            "messaged": did.get((cid, "message"), 0) + did.get((cid, "inmail"), 0),
            "replied": by_state.get("replied", 0),
        }
        funnel = [
            FunnelStage(
                stage=stage,
                count=counts[stage],
                rate=None if i == 0 else _rate(counts[stage], counts[FUNNEL_STAGES[i - 1]]),
            )
            for i, stage in enumerate(FUNNEL_STAGES)
        ]
        steps: list[StepRate] = []
        message_steps = [s for s in _steps(campaign) if isinstance(s, MessageStep | InmailStep)]
        for k, step in enumerate(message_steps, start=1):
            sent = per_step.get((cid, step.id), 0)
            replied = replied_after.get((cid, k), 0)
            steps.append(
                StepRate(step_id=step.id, sent=sent, replied=replied, rate=_rate(replied, sent))
            )
        views.append(
            CampaignView(
                id=cid,
                name=campaign.name,
                status=campaign.status.value,
                priority=campaign.priority,
                identities=sorted(names.get(cid, [])),
                started_at=campaign.started_at,
                funnel=funnel,
                states=dict(sorted(by_state.items())),
                steps=steps,
            )
        )
    return views


def _steps(campaign: Campaign) -> Sequence[Step]:
    try:
        return load_spec(campaign.id, campaign.spec).steps
    except (LinkseqError, ValueError):
        return []


def set_campaign_status(
    session: Session, *, campaign_id: int, status: CampaignStatus, now: datetime
) -> CampaignView:
    """Start (active) or pause a campaign, as `linkseq campaigns start|pause` do; commits."""
    if status not in (CampaignStatus.ACTIVE, CampaignStatus.PAUSED):
        raise InputError("a campaign can only be started or paused here")
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFoundError(f"no campaign {campaign_id}")
    if campaign.status is CampaignStatus.FINISHED:
        raise InputError(f"campaign {campaign.name!r} is finished")
    if campaign.status is not status:
        campaign.status = status
        campaign.updated_at = now
        if status is CampaignStatus.ACTIVE and campaign.started_at is None:
            campaign.started_at = now
        session.commit()
    return campaign_views(session, campaign_id=campaign_id)[0]


# --- identities --------------------------------------------------------------------------------


def identity_views(session: Session, *, now: datetime, config: EngineConfig) -> list[IdentityView]:
    """Every identity with today's quota use against its limits."""
    identities = list(session.scalars(sa.select(Identity).order_by(Identity.name, Identity.id)))
    pending = dict(
        session.execute(
            sa.select(SentInvitation.identity_id, sa.func.count())
            .where(SentInvitation.withdrawn_at.is_(None))
            .group_by(SentInvitation.identity_id)
        ).all()
    )
    invited = dict(
        session.execute(
            sa.select(Enrollment.identity_id, sa.func.count())
            .where(Enrollment.state == EnrollmentState.INVITED)
            .group_by(Enrollment.identity_id)
        ).all()
    )
    synced: dict[int, dict[str, datetime | None]] = {}
    for row in session.scalars(sa.select(SyncState)):
        synced.setdefault(row.identity_id, {})[SyncKind(row.kind).value] = row.last_synced_at
    used = _used_in_windows(session, now)
    views = []
    for identity in identities:
        quotas, _ = identity_quotas(
            session, identity=identity, now=now, config=config, campaign_caps={}
        )
        level = AccountLevel.parse(identity.level.value)
        uses = []
        for action in Action:
            full, _window = full_limit(action, level, messages_per_day=config.messages_per_day)
            # InMail credits do not ramp up; every other Smart Limit does (days 1..5)
            limit = (
                full
                if action is Action.inmail
                else ramp_up_limit(full, identity.first_sync_at, now)
            )
            status = quotas[action]
            uses.append(
                QuotaUse(
                    action=action.value,
                    used=used.get((identity.id, action), 0),
                    limit=limit,
                    full_limit=full,
                    remaining=status.remaining,
                    binding=status.binding,
                    next_slot_at=status.next_slot_at,
                )
            )
        day = None
        if identity.first_sync_at is not None:
            day = max(1, (now - identity.first_sync_at) // DAY + 1)
        views.append(
            IdentityView(
                id=identity.id,
                uid=identity.uid,
                name=identity.name,
                level=identity.level.value,
                status=identity.status.value,
                status_reason=identity.status_reason,
                timezone=identity.timezone,
                ramp_up_day=day,
                ramping=day is None or day < RAMP_UP_DAYS,
                quotas=uses,
                pending_invitations=int(pending.get(identity.id, 0)),
                invited_leads=int(invited.get(identity.id, 0)),
                last_synced=synced.get(identity.id, {}),
            )
        )
    return views


def _used_in_windows(session: Session, now: datetime) -> dict[tuple[int, Action], int]:
    """Sends per (identity, action) in each action's rolling window, as the quotas count them."""
    stamp = sa.func.coalesce(OutboxAction.sent_at, OutboxAction.created_at)
    counted = [*_DONE, ActionStatus.SENDING, ActionStatus.UNCERTAIN]
    kinds = {
        ActionKind.VISIT: Action.visit,
        ActionKind.CONNECT: Action.connect,
        ActionKind.MESSAGE: Action.message,
        ActionKind.INMAIL: Action.inmail,
    }
    used: dict[tuple[int, Action], int] = {}
    for window_kinds, window in (
        ([ActionKind.VISIT, ActionKind.CONNECT, ActionKind.MESSAGE], DAY),
        ([ActionKind.INMAIL], INMAIL_WINDOW),
    ):
        for identity_id, kind, n in session.execute(
            sa.select(OutboxAction.identity_id, OutboxAction.kind, sa.func.count())
            .where(
                OutboxAction.kind.in_(window_kinds),
                OutboxAction.status.in_(counted),
                stamp > now - window,
            )
            .group_by(OutboxAction.identity_id, OutboxAction.kind)
        ):
            used[(identity_id, kinds[ActionKind(kind)])] = n
    return used


# --- leads -------------------------------------------------------------------------------------


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
    if text:
        pattern = f"%{_escape_like(text.lower())}%"
        where.append(
            sa.or_(
                sa.func.lower(Lead.full_name).like(pattern, escape="\\"),
                sa.func.lower(Lead.company_name).like(pattern, escape="\\"),
                Lead.profile_url.like(pattern, escape="\\"),
            )
        )
    base = sa.select(Enrollment.id).where(*where)
    if text:
        base = base.join(Lead, Lead.id == Enrollment.lead_id)
    total = int(
        session.execute(sa.select(sa.func.count()).select_from(base.subquery())).scalar_one()
    )
    rows = session.execute(
        sa.select(Enrollment, Lead, Campaign.name, Identity.name)
        .join(Lead, Lead.id == Enrollment.lead_id)
        .join(Campaign, Campaign.id == Enrollment.campaign_id)
        .join(Identity, Identity.id == Enrollment.identity_id)
        .where(*where)
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
    steps = _steps(campaign)
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
        step = step_at(_steps(campaign), enrollment.step_index)
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


def import_leads(
    session: Session,
    *,
    path: Path,
    now: datetime,
    campaign: str | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Import a CSV with exactly the CLI's checks (`linkseq.leads.importer.import_csv`)."""
    from linkseq.leads.importer import import_csv

    report = import_csv(session, path, now=now, campaign=campaign or None, dry_run=dry_run)
    return ImportResult.model_validate(report.as_dict())


# --- inbox -------------------------------------------------------------------------------------


def _me_ids(session: Session) -> dict[int, str | None]:
    return dict(session.execute(sa.select(Identity.id, Identity.linkedin_profile_id)).all())


def _thread_rows(session: Session, convs: Sequence[tuple[Conversation, str]]) -> list[ThreadRow]:
    """Inbox rows for conversations, with their leads (two indexed lookups for the whole page)."""
    keys = {c.id: PersonKey(c.participant_profile_id, c.participant_profile_url) for c, _ in convs}
    leads = leads_for(session, set(keys.values())) if keys else {}
    me = _me_ids(session)
    lead_ids = {lead.id for lead in leads.values()}
    enrollments: dict[tuple[int, int], Enrollment] = {}
    if lead_ids:
        for e in session.scalars(
            sa.select(Enrollment).where(Enrollment.lead_id.in_(lead_ids)).order_by(Enrollment.id)
        ):
            enrollments[(e.lead_id, e.identity_id)] = e
    rows = []
    for conv, identity_name in convs:
        lead = leads.get(keys[conv.id])
        enrollment = enrollments.get((lead.id, conv.identity_id)) if lead else None
        wrote_last = (
            conv.last_message_sender_id is not None
            and conv.last_message_sender_id != me.get(conv.identity_id)
        )
        label = None
        if enrollment is not None and enrollment.reason in _LABELS:
            label = _LABELS[enrollment.reason]
        rows.append(
            ThreadRow(
                id=conv.id,
                identity=identity_name,
                identity_id=conv.identity_id,
                lead_id=lead.id if lead else None,
                name=(lead.full_name if lead else None) or conv.participant_profile_url,
                profile_url=conv.participant_profile_url,
                last_message_at=conv.last_message_at,
                last_message_text=conv.last_message_text,
                unread=conv.unread,
                lead_wrote_last=wrote_last,
                replied=enrollment is not None and enrollment.state is EnrollmentState.REPLIED,
                label=label,
            )
        )
    return rows


def list_threads(
    session: Session,
    *,
    identity_id: int | None = None,
    unread_only: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> ThreadPage:
    """Every thread of every identity, newest first."""
    page = max(1, page)
    per_page = min(max(1, per_page), 200)
    where: list[sa.ColumnElement[bool]] = []
    if identity_id is not None:
        where.append(Conversation.identity_id == identity_id)
    if unread_only:
        where.append(Conversation.unread.is_(True))
    total = int(
        session.execute(sa.select(sa.func.count(Conversation.id)).where(*where)).scalar_one()
    )
    convs = session.execute(
        sa.select(Conversation, Identity.name)
        .join(Identity, Identity.id == Conversation.identity_id)
        .where(*where)
        .order_by(Conversation.last_message_at.desc().nulls_last(), Conversation.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return ThreadPage(rows=_thread_rows(session, convs), total=total, page=page, per_page=per_page)


@contextlib.contextmanager
def edges_client(factory: Callable[[], Any] | None, settings: Settings) -> Iterator[EdgesClient]:
    """The Edges client for a request: the injected factory's, or one built from the settings."""
    if factory is not None:
        yield factory()  # owned by whoever injected it (the demo, a test): left open
        return
    if settings.edges_api_key is None:
        raise ConfigError("no Edges API key: set LINKSEQ_EDGES_API_KEY")
    client = EdgesClient.from_settings(settings)
    try:
        yield client
    finally:
        client.close()


def _conversation(session: Session, thread_id: int) -> tuple[Conversation, Identity]:
    row = session.execute(
        sa.select(Conversation, Identity)
        .join(Identity, Identity.id == Conversation.identity_id)
        .where(Conversation.id == thread_id)
    ).first()
    if row is None:
        raise NotFoundError(f"no thread {thread_id}")
    return row


def _cached_messages(session: Session, conv: Conversation) -> list[Message]:
    return list(
        session.scalars(
            sa.select(Message)
            .where(Message.conversation_id == conv.id)
            .order_by(sa.func.coalesce(Message.sent_at, conv.synced_at), Message.id)
        )
    )


def _load_messages(
    session: Session, client: EdgesClient, conv: Conversation, identity: Identity
) -> None:
    """Read the thread with extract-messages and cache what is new."""
    ref = conv.thread_url or conv.thread_id
    known = set(
        session.scalars(sa.select(Message.message_id).where(Message.conversation_id == conv.id))
    )
    for position, m in enumerate(client.extract_messages(identity.uid, ref)):
        key = m.message_id or f"{m.linkedin_thread_id or conv.thread_id}:{m.position or position}"
        if key in known:
            continue
        known.add(key)
        session.add(
            Message(
                conversation_id=conv.id,
                message_id=key,
                sender_profile_id=None
                if m.linkedin_profile_id is None
                else str(m.linkedin_profile_id),
                text=m.content,
                sent_at=m.delivered_at or m.created_at,
            )
        )
    session.flush()


def open_thread(
    session: Session,
    *,
    thread_id: int,
    client_factory: Callable[[], Any] | None,
    settings: Settings,
    refresh: bool = False,
) -> ThreadDetail:
    """A thread's messages: from the cache when it is current, else read with extract-messages.

    Opening a thread marks it read (locally: LinkedIn is not told). Commits.
    """
    conv, identity = _conversation(session, thread_id)
    cached = _cached_messages(session, conv)
    newest = max((m.sent_at for m in cached if m.sent_at is not None), default=None)
    stale = (
        refresh
        or not cached
        or (conv.last_message_at is not None and (newest is None or newest < conv.last_message_at))
    )
    loaded_from = "cache"
    if stale:
        with edges_client(client_factory, settings) as client:
            _load_messages(session, client, conv, identity)
        cached = _cached_messages(session, conv)
        loaded_from = "edges"
    conv.unread = False
    session.commit()
    return _detail(session, conv, identity, cached, loaded_from)


def _detail(
    session: Session,
    conv: Conversation,
    identity: Identity,
    messages: Sequence[Message],
    loaded_from: str,
) -> ThreadDetail:
    row = _thread_rows(session, [(conv, identity.name)])[0]
    views = [
        MessageView(
            id=m.message_id,
            from_identity=m.sender_profile_id is not None
            and m.sender_profile_id == identity.linkedin_profile_id,
            text=m.text,
            sent_at=m.sent_at,
        )
        for m in messages
    ]
    seen = max(
        [t for t in (conv.last_message_at, *(m.sent_at for m in messages)) if t is not None],
        default=None,
    )
    return ThreadDetail(
        thread=row,
        messages=views,
        seen_at=seen,
        reply_token=secrets.token_urlsafe(12),
        loaded_from=loaded_from,
    )


def reply(
    session: Session,
    *,
    thread_id: int,
    text: str,
    seen_at: datetime | None,
    token: str,
    client_factory: Callable[[], Any] | None,
    settings: Settings,
    now: Callable[[], datetime],
    config: EngineConfig,
) -> ReplyResult:
    """Send a person's reply in a thread: sync first, refuse on news, outbox, then Edges.

    Raises `Conflict` when the lead wrote after `seen_at` (the person must read it first) and
    `InputError` for an empty text or an exhausted message limit.
    """
    body = text.strip()
    if not body:
        raise InputError("the reply is empty")
    if len(body) > 8000:
        raise InputError("a message is at most 8,000 characters")
    if not token or len(token) > 64:
        raise InputError("missing reply token: reload the thread")
    conv, identity = _conversation(session, thread_id)
    if identity.status is not IdentityStatus.ACTIVE:
        raise InputError(f"identity {identity.name} is {identity.status.value}: it cannot send")
    lead_url = conv.participant_profile_url
    if not lead_url:
        raise InputError("this thread has no profile URL to reply to")
    with edges_client(client_factory, settings) as client:
        # sync-before-send (guide §15): what the lead wrote since the page was shown stops us
        sync_conversations(session, client, identity, now=now())
        session.commit()
        session.refresh(conv)
        me = identity.linkedin_profile_id
        lead_wrote = conv.last_message_sender_id is not None and conv.last_message_sender_id != me
        if (
            lead_wrote
            and conv.last_message_at is not None
            and (seen_at is None or conv.last_message_at > seen_at)
        ):
            conv.unread = True
            session.commit()
            raise Conflict(
                "the lead wrote something new since you opened the thread: read it first"
            )
        quotas, _ = identity_quotas(
            session, identity=identity, now=now(), config=config, campaign_caps={}
        )
        if quotas[Action.message].remaining <= 0:
            raise InputError(
                f"identity {identity.name} reached its message limit; "
                f"next slot {quotas[Action.message].next_slot_at}"
            )
        at = now()
        action = OutboxAction(
            enrollment_id=None,
            identity_id=identity.id,
            step_id=INBOX_STEP,
            kind=ActionKind.MESSAGE,
            idempotency_key=f"inbox:{identity.id}:{token}",
            status=ActionStatus.SENDING,
            request={"profile_url": lead_url, "message": body, "thread_id": conv.id},
            attempts=1,
            created_at=at,
            updated_at=at,
        )
        session.add(action)
        try:
            session.commit()
        except sa.exc.IntegrityError:
            session.rollback()
            raise Conflict("this reply was already sent (the form was submitted twice)") from None
        try:
            result = client.message_profile(
                identity.uid, lead_url, body, custom_data={"linkseq_origin": "inbox"}
            )
        except UncertainSend as exc:
            outbox.mark_uncertain(session, action, detail=str(exc), now=now())
            session.commit()
            raise InputError(
                f"the reply may or may not have gone ({exc}): check the thread"
            ) from None
        except EdgesError as exc:
            outbox.mark_failed(session, action, label=exc.label, detail=str(exc), now=now())
            session.commit()
            raise InputError(f"Edges refused the reply: {exc.label or exc}") from None
        outbox.mark_sent(session, action, response=result.model_dump(mode="json"), now=now())
        sent_at = result.delivered_at or now()
        message_id = result.linkedin_message_id or f"outbox:{action.id}"
        session.add(
            Message(
                conversation_id=conv.id,
                message_id=message_id,
                sender_profile_id=me,
                text=body,
                sent_at=sent_at,
            )
        )
        conv.last_message_sender_id = me
        conv.last_message_at = sent_at
        conv.last_message_text = body
        conv.unread = False
        _audit_inbox(session, conv, now=now(), reason="reply sent from the inbox")
        session.commit()
    messages = _cached_messages(session, conv)
    return ReplyResult(
        status="sent",
        outbox_id=action.id,
        thread=_detail(session, conv, identity, messages, "cache"),
    )


def _lead_of(session: Session, conv: Conversation) -> Lead | None:
    key = PersonKey(conv.participant_profile_id, conv.participant_profile_url)
    return leads_for(session, [key]).get(key)


def _audit_inbox(session: Session, conv: Conversation, *, now: datetime, reason: str) -> None:
    lead = _lead_of(session, conv)
    if lead is None:
        return
    for enrollment in session.scalars(
        sa.select(Enrollment).where(
            Enrollment.lead_id == lead.id, Enrollment.identity_id == conv.identity_id
        )
    ):
        session.add(
            AuditEvent(
                enrollment_id=enrollment.id,
                lead_id=lead.id,
                from_state=enrollment.state.value,
                to_state=enrollment.state.value,
                reason=reason,
                at=now,
                details={"thread": conv.thread_id},
            )
        )


_INTERESTED = "marked interested"
_NOT_INTERESTED = "marked not interested"
_LABELS = {_INTERESTED: "interested", _NOT_INTERESTED: "not interested"}
_STOPPABLE = {State(s) for s in ACTIVE} | {State.paused, State.completed, State.withdrawn}


def mark_lead(
    session: Session, *, lead_id: int, interested: bool, now: datetime
) -> list[EnrollmentView]:
    """Mark a lead interested (→ replied) or not interested (→ skipped); automation stops. Commits.

    A lead already stopped keeps its state and gets the mark in its audit trail.
    """
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFoundError(f"no lead {lead_id}")
    reason = _INTERESTED if interested else _NOT_INTERESTED
    enrollments = list(session.scalars(sa.select(Enrollment).where(Enrollment.lead_id == lead_id)))
    if not enrollments:
        raise InputError("this lead is in no campaign")
    for enrollment in enrollments:
        state = State(enrollment.state.value)
        event: Event | None = None
        if interested and state in _STOPPABLE:
            event = Event.replied
        elif not interested and state in {State(s) for s in ACTIVE}:
            event = Event.dnc  # the lifecycle's way into `skipped` from any active state
        try:
            if event is None:
                raise IllegalTransition(state, Event.replied)
            apply_event(
                session,
                enrollment,
                event,
                now=now,
                reason=reason,
                details={"by": "inbox", "label": _LABELS[reason]},
            )
        except IllegalTransition:
            note(session, enrollment, now=now, reason=reason, details={"label": _LABELS[reason]})
        enrollment.next_action_at = None
    session.commit()
    return [
        EnrollmentView(
            id=e.id,
            campaign_id=e.campaign_id,
            campaign=str(e.campaign_id),
            identity=str(e.identity_id),
            state=e.state.value,
            reason=e.reason,
            step_id=e.current_step_id,
            next_action_at=e.next_action_at,
            why=f"stopped: {reason}",
            next="nothing: a person takes over",
        )
        for e in enrollments
    ]


def thread_of_lead(session: Session, *, lead_id: int) -> int | None:
    """The newest thread with a lead, if any."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        return None
    conds = [Conversation.participant_profile_url == lead.profile_url]
    if lead.linkedin_profile_id:
        conds.append(Conversation.participant_profile_id == lead.linkedin_profile_id)
    return session.scalars(
        sa.select(Conversation.id)
        .where(sa.or_(*conds))
        .order_by(Conversation.last_message_at.desc().nulls_last())
        .limit(1)
    ).first()


def ago(delta: timedelta) -> str:
    """A short human duration ("3 h", "2 d")."""
    seconds = int(delta.total_seconds())
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{seconds // 60} min"
    if seconds < 129600:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def campaign_list(session: Session) -> list[Campaign]:
    """Campaigns by id (for filters)."""
    return list(session.scalars(sa.select(Campaign).order_by(Campaign.id)))


def identity_list(session: Session) -> list[tuple[int, str]]:
    """(id, name) of every identity (for filters)."""
    return list(session.execute(sa.select(Identity.id, Identity.name).order_by(Identity.name)))


def lead_of_thread(session: Session, *, thread_id: int) -> int | None:
    """The lead a thread is with, if that person is a lead."""
    conv, _ = _conversation(session, thread_id)
    lead = _lead_of(session, conv)
    return lead.id if lead is not None else None
