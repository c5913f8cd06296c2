"""`linkseq leads why`: what holds a lead, recomputed with the engine's own planner.

For a lead due now (ready, connected, messaged) the answer is the engine's plan for the
identity at this instant (`linkseq.engine.planner.build_plan` → `Plan.why`): it goes, or it
is held by quota, hours, pacing, delay or cooldown, with the earliest time it could go. The
other states are explained from what is stored: a paused identity or campaign, admission
pending, an invitation waiting.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.engine.config import EngineConfig
from linkseq.engine.steps import load_spec, step_at
from linkseq.planning.schedule import Held, Planned
from linkseq.store.enums import CampaignStatus, EnrollmentState, IdentityStatus
from linkseq.store.models import AuditEvent, Campaign, Enrollment, Identity, Lead

__all__ = ["explain_lead"]

_PLANNED = (EnrollmentState.READY, EnrollmentState.CONNECTED, EnrollmentState.MESSAGED)


def _verdict(status: str, why: str, *, hold: str | None = None, at: datetime | None = None,
             detail: str | None = None) -> dict[str, Any]:  # fmt: skip
    return {"status": status, "hold": hold, "why": why, "at": at, "detail": detail}


def _plan_verdict(
    session: Session, identity: Identity, enrollment: Enrollment, now: datetime,
    config: EngineConfig,
) -> dict[str, Any]:  # fmt: skip
    from linkseq.engine.planner import active_campaigns, build_plan

    plan = build_plan(
        session, identity, active_campaigns(session, identity.id), now=now, config=config
    ).plan
    answer = plan.why(str(enrollment.id))
    if isinstance(answer, Planned):
        when = "now" if answer.at <= now else f"at {answer.at:%Y-%m-%d %H:%M} UTC"
        return _verdict("due", f"goes {when} (the next pass of the worker)", at=answer.at)
    if isinstance(answer, Held):
        reasons = {
            "quota": "a limit is used up",
            "hours": "outside the lead's working hours",
            "pacing": "the pause between two actions of the identity",
            "delay": "the step's delay has not elapsed",
            "cooldown": "a recent conversation (3-day cooldown)",
            "paused": "the identity is paused",
        }
        return _verdict(
            "held",
            reasons.get(answer.reason.value, answer.reason.value),
            hold=answer.reason.value,
            at=answer.earliest,
            detail=answer.detail or None,
        )
    at = enrollment.next_action_at
    if at is not None and at > now:
        return _verdict("held", "the step's delay has not elapsed", hold="delay", at=at)
    return _verdict("held", "not planned in this pass", hold="unknown", at=at)


class _Fixed:
    """A clock stopped at one instant: the plan is computed for `now`."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


def _explain(
    session: Session, enrollment: Enrollment, now: datetime, config: EngineConfig
) -> dict[str, Any]:
    campaign = session.get(Campaign, enrollment.campaign_id)
    identity = session.get(Identity, enrollment.identity_id)
    assert campaign is not None
    assert identity is not None
    spec = load_spec(campaign.id, campaign.spec)
    step = step_at(spec.steps, enrollment.step_index)
    state = enrollment.state
    if state.is_terminal:
        verdict = _verdict("done", f"{state.value}: {enrollment.reason or 'finished'}")
    elif state is EnrollmentState.PAUSED or identity.status is not IdentityStatus.ACTIVE:
        why = f"identity {identity.name!r} is {identity.status.value}"
        if identity.status_reason:
            why += f" ({identity.status_reason})"
        verdict = _verdict(
            "held", why + f"; `linkseq identities reconnect {identity.name!r}`", hold="paused"
        )
    elif campaign.status is not CampaignStatus.ACTIVE:
        verdict = _verdict(
            "held",
            f"campaign {campaign.name!r} is {campaign.status.value}; "
            f"`linkseq campaigns start {campaign.name!r}`",
            hold="campaign",
        )
    elif state is EnrollmentState.NEW:
        at = enrollment.next_action_at
        if at is not None and at > now:
            verdict = _verdict(
                "held", "a recent conversation (3-day cooldown)", hold="cooldown", at=at
            )
        else:
            verdict = _verdict("due", "checked (DNC, duplicates, network) at the next pass")
    elif state is EnrollmentState.INVITED:
        verdict = _verdict(
            "waiting",
            "the invitation waits for an answer; without one it times out",
            hold="acceptance",
            at=enrollment.next_action_at,
        )
    elif state in _PLANNED:
        verdict = _plan_verdict(session, identity, enrollment, now, config)
    else:
        verdict = _verdict("held", enrollment.reason or state.value, hold=state.value)
    history = session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.enrollment_id == enrollment.id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(5)
    ).all()
    return {
        "campaign": campaign.name,
        "campaign_status": campaign.status.value,
        "identity": identity.name,
        "state": state.value,
        "reason": enrollment.reason,
        "next_step": (
            {"id": step.id, "type": step.type}
            if step is not None and not state.is_terminal
            else None
        ),
        "next_action_at": enrollment.next_action_at,
        "verdict": verdict,
        "history": [
            {"at": a.at, "from": a.from_state, "to": a.to_state, "reason": a.reason}
            for a in history
        ],
    }


def explain_lead(
    session: Session, lead: Lead, *, now: datetime, config: EngineConfig | None = None
) -> list[dict[str, Any]]:
    """One explanation per enrollment of the lead (state, next step, what holds it, history)."""
    enrollments = session.scalars(
        sa.select(Enrollment).where(Enrollment.lead_id == lead.id).order_by(Enrollment.id)
    ).all()
    return [_explain(session, e, now, config or EngineConfig()) for e in enrollments]
