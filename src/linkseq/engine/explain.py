"""Why a lead waits, and where a campaign stands: the answers of `leads why` and `campaigns status`.

Both read the database only (no Edges call, nothing written): `explain` rebuilds the plan of the
lead's identity exactly as the next pass would (the same `planner.build_plan`), so what it says
is what the engine will do; `campaign_status` counts the funnel and forecasts, with
`planning.schedule.forecast_completion`, when the campaign will have contacted everyone (the
funnel itself is `linkseq.engine.funnel`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.campaigns import CampaignSpec, ConnectStep, InmailStep, MessageStep, VisitStep
from linkseq.engine.config import EngineConfig
from linkseq.engine.funnel import campaign_funnel
from linkseq.engine.planner import (
    PLANNED_STATES,
    CampaignInfo,
    active_campaigns,
    build_plan,
    lead_zone,
)
from linkseq.engine.quotas import identity_quotas
from linkseq.engine.steps import invite_timeout, load_spec, step_at, step_kind
from linkseq.errors import NotFoundError
from linkseq.planning.hours import is_open, next_open
from linkseq.planning.quota import AccountLevel, Action, ramp_up_limit, smart_limit
from linkseq.planning.schedule import Held, HoldReason, Planned, forecast_completion
from linkseq.store.enums import (
    CampaignStatus,
    EnrollmentState,
    IdentityStatus,
)
from linkseq.store.models import (
    Campaign,
    CampaignIdentity,
    Enrollment,
    Identity,
    Lead,
)

__all__ = ["CampaignReport", "Explanation", "campaign_status", "explain"]

_TERMINAL = {
    EnrollmentState.REPLIED,
    EnrollmentState.COMPLETED,
    EnrollmentState.WITHDRAWN,
    EnrollmentState.SKIPPED,
    EnrollmentState.FAILED,
}


@dataclass(frozen=True, slots=True)
class Explanation:
    """Where one enrollment stands: its state, its next action, when, and what holds it."""

    enrollment_id: int
    lead_id: int
    campaign: str
    identity: str
    state: str
    next_action: str | None  # visit, invitation, first_message, follow_up, inmail, admission, …
    step_id: str | None
    when: datetime | None  # None: nothing planned (finished, or waiting for an unknown time)
    hold: str | None  # quota, hours, pacing, delay, cooldown, paused (None: goes at `when`)
    detail: str
    reason: str | None = None  # the last recorded reason of the enrollment

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601)."""
        out = asdict(self)
        out["when"] = self.when.isoformat() if self.when else None
        return out


def _step_name(spec: CampaignSpec, index: int, message_count: int) -> tuple[str | None, str | None]:
    step = step_at(spec.steps, index)
    if step is None:
        return None, None
    kind = step_kind(step, message_count)
    return (kind.value if kind is not None else "wait"), step.id


def explain(
    session: Session,
    enrollment_id: int,
    now: datetime,
    *,
    config: EngineConfig | None = None,
) -> Explanation:
    """Explain one enrollment at `now`; raises `NotFoundError` when it does not exist."""
    cfg = config or EngineConfig()
    enrollment = session.get(Enrollment, enrollment_id)
    if enrollment is None:
        raise NotFoundError(f"no enrollment #{enrollment_id}")
    campaign = session.get(Campaign, enrollment.campaign_id)
    identity = session.get(Identity, enrollment.identity_id)
    assert campaign is not None
    assert identity is not None
    spec = load_spec(campaign.id, campaign.spec)
    kind, step_id = _step_name(spec, enrollment.step_index, enrollment.message_count)

    def answer(
        next_action: str | None, when: datetime | None, hold: str | None, detail: str
    ) -> Explanation:
        return Explanation(
            enrollment_id=enrollment.id,
            lead_id=enrollment.lead_id,
            campaign=campaign.name,
            identity=identity.name,
            state=enrollment.state.value,
            next_action=next_action,
            step_id=step_id if next_action == kind else None,
            when=when,
            hold=hold,
            detail=detail,
            reason=enrollment.reason,
        )

    state = enrollment.state
    if state in _TERMINAL:
        return answer(None, None, None, f"finished ({state.value}): {enrollment.reason or ''}")
    if identity.status is not IdentityStatus.ACTIVE:
        why = identity.status_reason or identity.status.value
        return answer(kind, None, HoldReason.paused.value, f"identity {identity.name} is {why}")
    if state is EnrollmentState.PAUSED:
        return answer(kind, None, HoldReason.paused.value, enrollment.reason or "paused")
    if campaign.status is not CampaignStatus.ACTIVE:
        return answer(kind, None, HoldReason.paused.value, f"campaign is {campaign.status.value}")
    due = enrollment.next_action_at
    if state is EnrollmentState.NEW:
        if due is not None and due > now:
            return answer(
                "admission",
                due,
                HoldReason.cooldown.value,
                "a conversation in the last 3 days: checked again when the cooldown ends",
            )
        return answer("admission", due or now, None, "checked at the identity's next pass")
    if state is EnrollmentState.INVITED:
        _, on_timeout = invite_timeout(spec.steps, enrollment.step_index)
        return answer(
            f"invitation_timeout:{on_timeout}",
            due,
            HoldReason.delay.value,
            "waiting for the invitation to be accepted"
            + (f"; times out ({on_timeout}) at {due:%Y-%m-%d %H:%M}Z" if due else ""),
        )
    if state not in PLANNED_STATES or due is None or kind is None:
        return answer(kind, due, None, enrollment.reason or "nothing planned")
    campaigns = active_campaigns(session, identity.id)
    built = build_plan(session, identity, campaigns, now=now, config=cfg)
    verdict = built.plan.why(str(enrollment.id))
    if isinstance(verdict, Planned):
        if verdict.at <= now:
            return answer(kind, verdict.at, None, "goes now")
        return answer(
            kind,
            verdict.at,
            HoldReason.pacing.value,
            "planned: waiting for the gap after the identity's previous action",
        )
    if isinstance(verdict, Held):
        return answer(kind, verdict.earliest, verdict.reason.value, _held_detail(verdict))
    # due beyond this pass's horizon: the step's delay, then the hours of the lead's zone
    info = campaigns.get(campaign.id)
    when = due
    if info is not None:
        lead = session.get(Lead, enrollment.lead_id)
        tz = _zone_of(info, lead, identity)
        if not is_open(info.schedule, tz, due):
            when = next_open(info.schedule, tz, due)
    return answer(
        kind, when, HoldReason.delay.value, f"the step's delay ends at {due:%Y-%m-%d %H:%M}Z"
    )


def _zone_of(info: CampaignInfo, lead: Lead | None, identity: Identity) -> Any:
    return info.zone(lead.timezone if lead is not None else None, identity.timezone)


def _held_detail(held: Held) -> str:
    words = {
        HoldReason.quota: f"a limit is used up ({held.detail or 'quota'})",
        HoldReason.hours: "outside the working hours in the lead's time zone",
        HoldReason.pacing: "after the identity's other planned actions (pacing)",
        HoldReason.delay: "the step's delay has not elapsed",
        HoldReason.cooldown: "a conversation in the last 3 days",
        HoldReason.paused: "the identity is paused",
    }
    return words.get(held.reason, held.reason.value)


# --- campaign status --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CampaignReport:
    """A campaign's funnel and the forecast of when every lead will have been contacted."""

    campaign_id: int
    name: str
    status: str
    funnel: dict[str, int]
    leads_left: int  # enrolled, still active, not yet contacted (no invitation or message)
    daily_capacity: int  # first contacts per working day, all identities together
    today_left: int  # first contacts still possible in the current (or next) window
    forecast: datetime | None  # None: no capacity (paused identities, caps at 0)
    identities: dict[str, str] = field(default_factory=dict)  # name → status

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601)."""
        out = asdict(self)
        out["forecast"] = self.forecast.isoformat() if self.forecast else None
        return out


def _first_contact(spec: CampaignSpec) -> Action:
    for step in spec.steps:
        if isinstance(step, ConnectStep):
            return Action.connect
        if isinstance(step, MessageStep):
            return Action.message
        if isinstance(step, InmailStep):
            return Action.inmail
    return Action.visit if any(isinstance(s, VisitStep) for s in spec.steps) else Action.connect


def campaign_status(
    session: Session,
    campaign_id: int,
    now: datetime,
    *,
    config: EngineConfig | None = None,
) -> CampaignReport:
    """The campaign's funnel and forecast at `now`; raises `NotFoundError`."""
    cfg = config or EngineConfig()
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFoundError(f"no campaign #{campaign_id}")
    spec = load_spec(campaign.id, campaign.spec)
    funnel = campaign_funnel(session, campaign_id)
    action = _first_contact(spec)
    # not contacted: no invitation, message or InMail reached LinkedIn (the funnel's milestones)
    leads_left = int(
        session.execute(
            sa.select(sa.func.count()).where(
                Enrollment.campaign_id == campaign_id,
                Enrollment.state.in_([EnrollmentState.NEW, EnrollmentState.READY]),
                Enrollment.invited_at.is_(None),
                Enrollment.messaged_at.is_(None),
            )
        ).scalar_one()
    )
    identities = list(
        session.scalars(
            sa.select(Identity)
            .join(CampaignIdentity, CampaignIdentity.identity_id == Identity.id)
            .where(CampaignIdentity.campaign_id == campaign_id)
            .order_by(Identity.id)
        )
    )
    cap = getattr(spec.caps, action.value)
    daily = today = 0
    for identity in identities:
        if identity.status is not IdentityStatus.ACTIVE:
            continue
        level = AccountLevel.parse(identity.level.value)
        full, _ = smart_limit(action, level, messages_per_day=cfg.messages_per_day)
        per_day = full if cap is None else min(full, cap)
        if action is Action.connect:
            working_days = max(1, len(spec.schedule.days))
            per_day = min(per_day, cfg.weekly_invitation_cap // working_days)
        daily += per_day
        quotas, _ = identity_quotas(
            session, identity=identity, now=now, config=cfg, campaign_caps={}
        )
        ramped = ramp_up_limit(full, identity.first_sync_at, now)
        today += min(quotas[action].remaining, ramped, per_day)
    schedule = spec.schedule
    tz = lead_zone(
        "fixed" if schedule.timezone == "fixed" else "default",
        None,
        None,
        schedule.fixed_timezone,
        schedule.default_timezone,
    )
    forecast = None
    if campaign.status is CampaignStatus.ACTIVE or leads_left == 0:
        forecast = forecast_completion(
            now=now,
            leads_left=leads_left,
            daily_capacity=daily,
            schedule=schedule.working_schedule(),
            tz=tz,
            today_left=today,
        )
    return CampaignReport(
        campaign_id=campaign.id,
        name=campaign.name,
        status=campaign.status.value,
        funnel=funnel,
        leads_left=leads_left,
        daily_capacity=daily,
        today_left=today,
        forecast=forecast,
        identities={i.name: i.status.value for i in identities},
    )
