"""Rebalancing a campaign's leads when an identity joins it, pauses or comes back.

Only leads not yet contacted move (`linkseq.leads.assignment.NOT_CONTACTED`: `new` or `ready`,
or paused from one of them, with no outbox action that may have reached LinkedIn); a contacted
lead keeps its identity for good, even paused (one lead, one voice). `planning.assign.rebalance`
picks as few moves as it can: the not-yet-contacted total is shared by free invitation
capacity, and only identities above their share (or inactive) give leads away.

A moved lead goes back to `new`, due now, under its new identity: admission's checks (wrote
first, cooldown, already connected, invitation pending) are about one identity, and must run
again for the new one. A paused lead moves the same way (it no longer waits for its old
identity). The lifecycle table has no "reassigned" event (it is not a step of the lead's
life), so the move is written here, with one audit row: "rebalanced from X to Y".

Races: the enrollment's `version` column makes a move and a concurrent change of the same
enrollment exclusive (one of the two flushes fails). An intent written by the old identity
after the move was read still cannot lead to a second send: the outbox's idempotency key is
(enrollment, step), so the new identity's intent for that step is refused.

The identities that receive leads are woken (their lease's next-wake time is moved to now), so
an idle identity does not sleep through its new work. The caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.leads.assignment import NOT_CONTACTED, identity_key, identity_slots
from linkseq.planning.assign import IdentitySlot, LeadAssignment, rebalance
from linkseq.store.enums import CampaignStatus, EnrollmentState
from linkseq.store.models import (
    AuditEvent,
    Campaign,
    CampaignIdentity,
    Enrollment,
    Identity,
    WorkerLease,
)

__all__ = ["Move", "rebalance_campaign", "rebalance_identity_campaigns"]


@dataclass(frozen=True, slots=True)
class Move:
    """One lead given to another identity of its campaign."""

    enrollment_id: int
    lead_id: int
    from_identity: str
    to_identity: str
    from_state: str


def _key(enrollment_id: int) -> str:
    # zero-padded so that `planning.assign` (string order) keeps the oldest enrollments in place
    return f"{enrollment_id:012d}"


def rebalance_campaign(
    session: Session,
    *,
    campaign_id: int,
    now: datetime,
    weekly_invitation_cap: int = 100,
) -> list[Move]:
    """Move the campaign's not-yet-contacted leads so identities hold them by free capacity.

    Nothing moves in a finished campaign, or when no identity of it is active (the leads wait
    for one). Each move has an audit row; the caller commits.
    """
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.status is CampaignStatus.FINISHED:
        return []
    slots = identity_slots(session, campaign, now=now, weekly_invitation_cap=weekly_invitation_cap)
    if not any(s.active for s in slots):
        return []  # nobody to take them: the leads wait for an identity to come back
    if not any(s.usable for s in slots):
        # active, but no invitation room anywhere (a campaign cap of 0, weekly caps used up)
        slots = [IdentitySlot(s.key, 1, s.active) for s in slots]
    enrollments = {
        _key(e.id): e
        for e in session.scalars(
            sa.select(Enrollment)
            .where(Enrollment.campaign_id == campaign_id, NOT_CONTACTED)
            .order_by(Enrollment.id)
        )
    }
    leads = [LeadAssignment(key, identity_key(e.identity_id)) for key, e in enrollments.items()]
    plan = rebalance(leads, slots)
    if not plan:
        return []
    names = dict(
        session.execute(
            sa.select(Identity.id, Identity.name)
            .join(CampaignIdentity, CampaignIdentity.identity_id == Identity.id)
            .where(CampaignIdentity.campaign_id == campaign_id)
        ).all()
    )
    moves: list[Move] = []
    for key, target in sorted(plan.items()):
        enrollment = enrollments[key]
        to_id = int(target)
        move = Move(
            enrollment_id=enrollment.id,
            lead_id=enrollment.lead_id,
            from_identity=names.get(enrollment.identity_id, str(enrollment.identity_id)),
            to_identity=names.get(to_id, str(to_id)),
            from_state=enrollment.state.value,
        )
        _move(session, enrollment, to_id, move, now)
        moves.append(move)
    _wake(session, {int(t) for t in plan.values()}, now)
    return moves


def _move(session: Session, enrollment: Enrollment, to_id: int, move: Move, now: datetime) -> None:
    reason = f"rebalanced from {move.from_identity} to {move.to_identity}"[:300]
    from_id = enrollment.identity_id
    enrollment.identity_id = to_id
    enrollment.state = EnrollmentState.NEW
    enrollment.paused_from_state = None
    enrollment.step_index = 0
    enrollment.current_step_id = None
    enrollment.next_action_at = now
    enrollment.reason = reason
    enrollment.updated_at = now
    session.add(
        AuditEvent(
            enrollment_id=enrollment.id,
            lead_id=enrollment.lead_id,
            from_state=move.from_state,
            to_state=EnrollmentState.NEW.value,
            reason=reason,
            at=now,
            details={"event": "rebalanced", "from_identity_id": from_id, "to_identity_id": to_id},
        )
    )


def _wake(session: Session, identity_ids: set[int], now: datetime) -> None:
    # a free lease whose next wake is later than now: wake it now (a held lease is left alone:
    # its worker sets the next wake when it releases it, after looking at its leads again)
    session.execute(
        sa.update(WorkerLease)
        .where(
            WorkerLease.identity_id.in_(sorted(identity_ids)),
            WorkerLease.owner.is_(None),
            WorkerLease.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )


def rebalance_identity_campaigns(
    session: Session, *, identity_id: int, now: datetime, weekly_invitation_cap: int = 100
) -> list[Move]:
    """Rebalance every unfinished campaign the identity works (it joined, paused or is back)."""
    campaign_ids = session.scalars(
        sa.select(CampaignIdentity.campaign_id)
        .where(CampaignIdentity.identity_id == identity_id)
        .order_by(CampaignIdentity.campaign_id)
    ).all()
    moves: list[Move] = []
    for campaign_id in campaign_ids:
        moves += rebalance_campaign(
            session,
            campaign_id=campaign_id,
            now=now,
            weekly_invitation_cap=weekly_invitation_cap,
        )
    return moves
