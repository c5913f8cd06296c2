"""Why a lead waits, and where a campaign stands: the one answer of `linkseq leads why`, the web's
lead page and `linkseq campaigns status`.

Both read the database only (no Edges call, nothing written): `explain` rebuilds the plan of the
lead's identity as the next pass would (the same `planner.build_plan`, from the same inputs), so
what it says is what the engine will do; `campaign_status` counts the funnel and forecasts, with
`planning.schedule.forecast_completion`, when the campaign will have contacted everyone (the
funnel itself is `linkseq.engine.funnel`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.campaigns import CampaignSpec, ConnectStep, InmailStep, MessageStep, VisitStep
from linkseq.engine.config import EngineConfig
from linkseq.engine.funnel import campaign_funnel
from linkseq.engine.limits import load_remote_limits
from linkseq.engine.planner import (
    MESSAGE_KINDS,
    PLANNED_STATES,
    CampaignInfo,
    active_campaigns,
    build_plan,
    lead_zone,
)
from linkseq.engine.quotas import identity_quotas
from linkseq.engine.steps import invite_timeout, load_spec, step_at, step_kind
from linkseq.engine.sync import pending_invitations
from linkseq.errors import LinkseqError, NotFoundError
from linkseq.leads.writer import HELD_PREFIX
from linkseq.planning.hours import is_open, next_open
from linkseq.planning.quota import AccountLevel, Action, smart_limit
from linkseq.planning.schedule import Held, HoldReason, Planned, forecast_completion
from linkseq.store.enums import (
    CampaignStatus,
    EnrollmentState,
    IdentityStatus,
)
from linkseq.store.models import (
    AuditEvent,
    Campaign,
    CampaignIdentity,
    Enrollment,
    Identity,
    Lead,
)

__all__ = [
    "HOLDS",
    "CampaignReport",
    "Explanation",
    "Forecast",
    "campaign_forecast",
    "campaign_forecasts",
    "campaign_status",
    "explain",
    "explain_lead",
]

# What can hold a lead, in one vocabulary for `leads why`, the web's lead page and the API:
# the planner's reasons (quota, hours, pacing, delay, cooldown, paused identity), then a campaign
# that is not running, an invitation that waits for the lead's answer, and a step that cannot be
# written for the lead (a template variable its data lacks).
HOLDS = (
    "quota",
    "hours",
    "pacing",
    "delay",
    "cooldown",
    "paused",
    "campaign",
    "acceptance",
    "input",
)


@dataclass(frozen=True, slots=True)
class Explanation:
    """Where one enrollment stands: its state, its next action, when, and what holds it."""

    enrollment_id: int
    lead_id: int
    campaign: str
    campaign_status: str
    identity: str
    state: str
    status: str  # due (goes now, or at `when`), held, waiting (for the lead), done
    next_action: str | None  # visit, invitation, first_message, follow_up, inmail, admission, …
    step_id: str | None  # the enrollment's current step (None once it has finished)
    step_type: str | None
    when: datetime | None  # when it goes (due) or the hold ends (None: not known, or never)
    hold: str | None  # one of HOLDS (None: nothing holds it)
    why: str  # what holds it, in words
    next: str  # what comes next, in words
    detail: str | None = None  # the limit's window for a quota hold (daily, weekly, ramp_up, …)
    fix: str | None = None  # a command that lifts the hold, for the command line
    reason: str | None = None  # the last recorded reason of the enrollment

    @property
    def sentence(self) -> str:
        """`why`, with the instant the hold ends when there is one."""
        if self.hold in _TIMED and self.when is not None:
            return f"{self.why}; until {_fmt(self.when)}"
        if self.hold == "quota":
            return f"{self.why}; no slot known yet"
        return self.why

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601)."""
        out = asdict(self)
        out["when"] = self.when.isoformat() if self.when else None
        return out


_TIMED = {"quota", "hours", "pacing", "delay", "cooldown"}


def _fmt(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


_HELD_WORDS = {
    HoldReason.quota: "a limit is used up",
    HoldReason.hours: "outside the working hours in the lead's time zone",
    HoldReason.pacing: "after the identity's other planned actions (pacing)",
    HoldReason.delay: "the step's delay has not elapsed",
    HoldReason.cooldown: "a recent conversation (3-day cooldown)",
    HoldReason.paused: "the identity is paused",
}


def _held_words(held: Held, *, batched: bool, due: bool = True) -> str:
    if batched:  # a message held back until a burst of them can go (`batch_messages`)
        if not due:
            return (
                "waits for the step's delay, then to go in a burst of messages, "
                "after one conversations sync"
            )
        return "due: waits to go in a burst of messages, after one conversations sync"
    words = _HELD_WORDS.get(held.reason, held.reason.value)
    zone = getattr(held.candidate.tz, "key", None)
    if held.reason is HoldReason.hours and zone:
        return f"{words} ({zone})"
    if held.reason is HoldReason.quota:
        limit = held.candidate.action.value
        return f"{words}: {limit} ({held.detail})" if held.detail else f"{words}: {limit}"
    return words


def explain(
    session: Session,
    enrollment_id: int,
    now: datetime,
    *,
    config: EngineConfig | None = None,
) -> Explanation:
    """Explain one enrollment at `now`; raises `NotFoundError` when it does not exist.

    A lead the engine plans (ready, connected, messaged) is explained by the plan the identity's
    next pass would build, from the same inputs (`planner.build_plan` with Edges' own counts and
    the pending invitations): what it says is what the engine will do.
    """
    cfg = config or EngineConfig()
    enrollment = session.get(Enrollment, enrollment_id)
    if enrollment is None:
        raise NotFoundError(f"no enrollment #{enrollment_id}")
    campaign = session.get(Campaign, enrollment.campaign_id)
    identity = session.get(Identity, enrollment.identity_id)
    assert campaign is not None
    assert identity is not None
    spec = load_spec(campaign.id, campaign.spec)
    state = enrollment.state
    step = step_at(spec.steps, enrollment.step_index) if not state.is_terminal else None
    found = step_kind(step, enrollment.message_count) if step is not None else None
    kind = found.value if found is not None else ("wait" if step is not None else None)
    label = f"{step.type} ({step.id})" if step is not None else "nothing"

    def answer(
        status: str,
        why: str,
        *,
        hold: str | None = None,
        when: datetime | None = None,
        nxt: str = label,
        action: str | None = kind,
        detail: str | None = None,
        fix: str | None = None,
    ) -> Explanation:
        return Explanation(
            enrollment_id=enrollment.id,
            lead_id=enrollment.lead_id,
            campaign=campaign.name,
            campaign_status=campaign.status.value,
            identity=identity.name,
            state=state.value,
            status=status,
            next_action=action,
            step_id=step.id if step is not None else None,
            step_type=step.type if step is not None else None,
            when=when,
            hold=hold,
            why=why,
            next=nxt,
            detail=detail,
            fix=fix,
            reason=enrollment.reason,
        )

    if state.is_terminal:
        return answer(
            "done",
            f"{state.value}: {enrollment.reason or 'finished'}",
            nxt="nothing: automation has ended",
            action=None,
        )
    if identity.status is not IdentityStatus.ACTIVE or state is EnrollmentState.PAUSED:
        fix = None
        if identity.status is IdentityStatus.ACTIVE:
            why = enrollment.reason or "paused"
        else:
            why = f"identity {identity.name!r} is {identity.status.value}"
            if identity.status_reason:
                why += f" ({identity.status_reason})"
            fix = f"linkseq identities reconnect {identity.name!r}"
        back = enrollment.paused_from_state
        nxt = (
            f"resumes as {back.value} when the LinkedIn session is back"
            if state is EnrollmentState.PAUSED and back is not None
            else label
        )
        return answer("held", why, hold=HoldReason.paused.value, nxt=nxt, fix=fix)
    if campaign.status is not CampaignStatus.ACTIVE:
        return answer(
            "held",
            f"campaign {campaign.name!r} is {campaign.status.value}",
            hold="campaign",
            nxt=f"{label} once started",
            fix=f"linkseq campaigns start {campaign.name!r}",
        )
    due = enrollment.next_action_at
    if state is EnrollmentState.NEW:
        checks = "admission checks (DNC, duplicates, history)"
        if due is not None and due > now:
            return answer(
                "held",
                "a recent conversation (3-day cooldown)",
                hold=HoldReason.cooldown.value,
                when=due,
                nxt=checks,
                action="admission",
            )
        return answer("due", f"{checks} at the identity's next pass", action="admission")
    if state is EnrollmentState.INVITED:
        _, on_timeout = invite_timeout(spec.steps, enrollment.step_index)
        return answer(
            "waiting",
            "waiting for the invitation to be accepted",
            hold="acceptance",
            when=due,
            nxt=f"first message once accepted; {on_timeout} at "
            + (_fmt(due) if due is not None else "the timeout"),
            action=f"invitation_timeout:{on_timeout}",
        )
    if state not in PLANNED_STATES or found is None:  # a wait step: the lead's move is awaited
        return answer("waiting", enrollment.reason or state.value, when=due)
    if due is None:  # `perform` could not write the step for this lead (`actions._request`)
        why = (enrollment.reason or "the step cannot be written").removeprefix(HELD_PREFIX)
        return answer(
            "held",
            f"{why}; the step is tried again once the lead's data changes",
            hold="input",
            nxt="nothing planned until the lead gains the missing data",
            fix="import the lead again with the missing field: linkseq leads import FILE",
        )
    campaigns = active_campaigns(session, identity.id)
    built = build_plan(
        session,
        identity,
        campaigns,
        now=now,
        config=cfg,
        pending_invitations=pending_invitations(session, identity.id),
        ahead=cfg.replan_every,
    )
    verdict = built.plan.why(str(enrollment.id))
    burst = found in MESSAGE_KINDS
    if isinstance(verdict, Planned):
        if verdict.at > now:
            why = f"planned for {_fmt(verdict.at)}, at the identity's pace"
        elif burst:
            why = "due now: goes in the identity's next burst of messages, after a sync"
        else:
            why = "due now: goes at the identity's next pass"
        return answer("due", why, when=verdict.at)
    if isinstance(verdict, Held):
        # (`batch_messages` moved the candidate's due time to when its burst goes)
        batched = burst and verdict.reason is HoldReason.delay and verdict.candidate.due_at > due
        return answer(
            "held",
            _held_words(verdict, batched=batched, due=due <= now),
            hold=verdict.reason.value,
            when=verdict.earliest,
            detail=verdict.detail or None,
        )
    if due <= now:  # due, yet beyond the candidates one pass reads: behind the others
        return answer("held", "in the queue behind the identity's other due leads", hold="pacing")
    # due beyond this pass's horizon: the step's delay, then the hours of the lead's zone
    info = campaigns.get(campaign.id)
    when = due
    if info is not None:
        lead = session.get(Lead, enrollment.lead_id)
        tz = _zone_of(info, lead, identity)
        if not is_open(info.schedule, tz, due):
            when = next_open(info.schedule, tz, due)
    return answer("held", _HELD_WORDS[HoldReason.delay], hold=HoldReason.delay.value, when=when)


def _zone_of(info: CampaignInfo, lead: Lead | None, identity: Identity) -> Any:
    return info.zone(lead.timezone if lead is not None else None, identity.timezone)


def explain_lead(
    session: Session, lead: Lead, *, now: datetime, config: EngineConfig | None = None
) -> list[dict[str, Any]]:
    """`leads why`: each enrollment of the lead explained, with its last five audit events."""
    enrollments = session.scalars(
        sa.select(Enrollment).where(Enrollment.lead_id == lead.id).order_by(Enrollment.id)
    ).all()
    out = []
    for enrollment in enrollments:
        e = explain(session, enrollment.id, now, config=config)
        history = session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.enrollment_id == enrollment.id)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(5)
        ).all()
        out.append(
            {
                "campaign": e.campaign,
                "campaign_status": e.campaign_status,
                "identity": e.identity,
                "state": e.state,
                "reason": e.reason,
                "next_step": (
                    {"id": e.step_id, "type": e.step_type} if e.step_id is not None else None
                ),
                "fix": e.fix,
                "next_action": e.next_action,
                "next_action_at": enrollment.next_action_at,
                "verdict": {
                    "status": e.status,
                    "hold": e.hold,
                    "why": e.why,
                    "at": e.when,
                    "detail": e.detail,
                },
                "next": e.next,
                "sentence": e.sentence,
                "history": [
                    {"at": a.at, "from": a.from_state, "to": a.to_state, "reason": a.reason}
                    for a in history
                ],
            }
        )
    return out


# --- campaign status --------------------------------------------------------------------------


def _first_contact(spec: CampaignSpec) -> Action:
    for step in spec.steps:
        if isinstance(step, ConnectStep):
            return Action.connect
        if isinstance(step, MessageStep):
            return Action.message
        if isinstance(step, InmailStep):
            return Action.inmail
    return Action.visit if any(isinstance(s, VisitStep) for s in spec.steps) else Action.connect


@dataclass(frozen=True, slots=True)
class Forecast:
    """When a campaign will have contacted every lead, and the capacity that says so."""

    leads_left: int  # enrolled, still active, not yet contacted (no invitation or message)
    first_contact: str  # the action that first contacts a lead: connect, message, inmail
    daily_capacity: int  # first contacts per working day, all identities together
    today_left: int  # first contacts still possible in the current (or next) window
    at: datetime | None  # None: no capacity (paused identities, caps at 0), or not running
    open_now: bool  # the campaign's working hours are open now (in its own zone)
    identities: dict[str, str]  # name → status


@dataclass(frozen=True, slots=True)
class CampaignReport:
    """A campaign's funnel and the forecast of when every lead will have been contacted."""

    campaign_id: int
    name: str
    status: str
    funnel: dict[str, int]
    forecast: Forecast

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601)."""
        out = asdict(self)
        at = self.forecast.at
        out["forecast"]["at"] = at.isoformat() if at else None
        return out


def campaign_forecast(
    session: Session, campaign: Campaign, now: datetime, *, config: EngineConfig | None = None
) -> Forecast:
    """One campaign's forecast (`campaign_forecasts`); raises `InputError` when its stored spec
    no longer loads."""
    load_spec(campaign.id, campaign.spec)
    return campaign_forecasts(session, [campaign], now, config=config)[campaign.id]


def campaign_forecasts(
    session: Session,
    campaigns: Sequence[Campaign],
    now: datetime,
    *,
    config: EngineConfig | None = None,
) -> dict[int, Forecast]:
    """Each campaign's forecast at `now` (by id; one whose stored spec no longer loads has none):
    its leads not yet contacted, at the daily capacity of its active identities (the lowest of
    the Smart Limit, the campaign's cap and the weekly invitation cap over the working days),
    today's room counted as the planner reads it. Each identity's quotas are read once, for
    every campaign it serves."""
    cfg = config or EngineConfig()
    specs: dict[int, CampaignSpec] = {}
    for campaign in campaigns:
        with contextlib.suppress(LinkseqError):
            specs[campaign.id] = load_spec(campaign.id, campaign.spec)
    if not specs:
        return {}
    ids = list(specs)
    first = {cid: _first_contact(spec) for cid, spec in specs.items()}
    cap = {cid: getattr(specs[cid].caps, first[cid].value) for cid in ids}
    # not contacted: no invitation, message or InMail reached LinkedIn (the funnel's milestones)
    left: dict[int, int] = {
        cid: int(n)
        for cid, n in session.execute(
            sa.select(Enrollment.campaign_id, sa.func.count())
            .where(
                Enrollment.campaign_id.in_(ids),
                Enrollment.state.in_([EnrollmentState.NEW, EnrollmentState.READY]),
                Enrollment.invited_at.is_(None),
                Enrollment.messaged_at.is_(None),
            )
            .group_by(Enrollment.campaign_id)
        )
    }
    served: dict[int, list[Identity]] = {}
    for cid, identity in session.execute(
        sa.select(CampaignIdentity.campaign_id, Identity)
        .join(Identity, Identity.id == CampaignIdentity.identity_id)
        .where(CampaignIdentity.campaign_id.in_(ids))
        .order_by(Identity.id)
    ):
        served.setdefault(cid, []).append(identity)
    # what each active identity may still send today for each campaign: its limits (ramp-up,
    # weekly cap, Edges' own count, pending invitations) and the campaign's own cap
    room: dict[tuple[int, int], int] = {}
    active = {
        i.id: i for group in served.values() for i in group if i.status is IdentityStatus.ACTIVE
    }
    for identity in active.values():
        mine = [cid for cid, group in served.items() if identity in group]
        quotas, caps = identity_quotas(
            session,
            identity=identity,
            now=now,
            config=cfg,
            campaign_caps={cid: {first[cid]: cap[cid]} for cid in mine},
            remote=load_remote_limits(session, identity.id),
            pending_invitations=pending_invitations(session, identity.id),
        )
        for cid in mine:
            limit, own = quotas[first[cid]].remaining, caps.get((cid, first[cid]))
            room[(identity.id, cid)] = limit if own is None else min(limit, own.remaining)
    out: dict[int, Forecast] = {}
    for campaign in campaigns:
        cid = campaign.id
        if cid not in specs:
            continue
        spec, action = specs[cid], first[cid]
        daily = today = 0
        for identity in served.get(cid, []):
            if identity.id not in active:
                continue
            level = AccountLevel.parse(identity.level.value)
            full, _ = smart_limit(action, level, messages_per_day=cfg.messages_per_day)
            per_day = full if cap[cid] is None else min(full, cap[cid])
            if action is Action.connect:
                working_days = max(1, len(spec.schedule.days))
                per_day = min(per_day, cfg.weekly_invitation_cap // working_days)
            daily += per_day
            today += max(0, min(room[(identity.id, cid)], per_day))
        schedule = spec.schedule
        tz = lead_zone(
            "fixed" if schedule.timezone == "fixed" else "default",
            None,
            None,
            schedule.fixed_timezone,
            schedule.default_timezone,
        )
        at = None
        if campaign.status is CampaignStatus.ACTIVE or left.get(cid, 0) == 0:
            at = forecast_completion(
                now=now,
                leads_left=left.get(cid, 0),
                daily_capacity=daily,
                schedule=schedule.working_schedule(),
                tz=tz,
                today_left=today,
            )
        out[cid] = Forecast(
            leads_left=left.get(cid, 0),
            first_contact=action.value,
            daily_capacity=daily,
            today_left=today,
            at=at,
            open_now=is_open(schedule.working_schedule(), tz, now),
            identities={i.name: i.status.value for i in served.get(cid, [])},
        )
    return out


def campaign_status(
    session: Session,
    campaign_id: int,
    now: datetime,
    *,
    config: EngineConfig | None = None,
) -> CampaignReport:
    """The campaign's funnel and forecast at `now`; raises `NotFoundError`."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFoundError(f"no campaign #{campaign_id}")
    return CampaignReport(
        campaign_id=campaign.id,
        name=campaign.name,
        status=campaign.status.value,
        funnel=campaign_funnel(session, campaign_id),
        forecast=campaign_forecast(session, campaign, now, config=config),
    )
