"""Identity failure recovery (guide §16): pause an identity's leads, resume them where they were.

An identity whose LinkedIn session expired (AUTH_EXPIRED from any call, or the integration
webhooks AUTH_EXPIRED / AUTH_FAILED / DELETED) is marked `disconnected` and every active
enrollment it works is paused, remembering its state. When the session is back (AUTH_SUCCESS, or
`linkseq identities reconnect`), each paused enrollment returns to exactly the state it had: no
step is skipped, and nothing already sent is sent again (the outbox remembers it).
Both functions are idempotent; the caller commits.

Several identities per campaign: a paused lead that its identity never contacted does not wait
for it. At the end of a pause, each campaign of the identity is rebalanced
(`linkseq.engine.rebalance`): those leads go back to `new` under the campaign's other active
identities (when there are any; otherwise they wait, paused, like the contacted ones, which
never change identity). A resumed identity is rebalanced the same way, so that it takes back
its share of the leads not yet contacted instead of coming back to an empty backlog.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.engine.lifecycle import ACTIVE, Event
from linkseq.engine.rebalance import rebalance_identity_campaigns
from linkseq.engine.transitions import apply_event, emit
from linkseq.store.enums import EnrollmentState, IdentityStatus
from linkseq.store.models import Enrollment, Identity

__all__ = ["pause_identity", "resume_identity"]

_ACTIVE_STATES = [EnrollmentState(s.value) for s in ACTIVE]


def pause_identity(session: Session, *, identity_id: int, reason: str, now: datetime) -> int:
    """Disconnect an identity and pause its active leads; the number of leads paused."""
    identity = session.get(Identity, identity_id)
    if identity is None:
        return 0
    was_active = identity.status is not IdentityStatus.DISCONNECTED
    identity.status = IdentityStatus.DISCONNECTED
    identity.status_reason = reason[:200]
    identity.updated_at = now
    enrollments = session.scalars(
        sa.select(Enrollment).where(
            Enrollment.identity_id == identity_id, Enrollment.state.in_(_ACTIVE_STATES)
        )
    ).all()
    for enrollment in enrollments:
        apply_event(session, enrollment, Event.auth_expired, now=now, reason=f"paused: {reason}")
    if was_active:
        emit(
            session,
            "identity.paused",
            now=now,
            payload={"identity_uid": identity.uid, "reason": reason, "leads": len(enrollments)},
        )
    rebalance_identity_campaigns(session, identity_id=identity_id, now=now)
    return len(enrollments)


def resume_identity(session: Session, *, identity_id: int, now: datetime) -> int:
    """Reactivate an identity and return its paused leads to where they were; how many."""
    identity = session.get(Identity, identity_id)
    if identity is None:
        return 0
    was_down = identity.status is not IdentityStatus.ACTIVE
    identity.status = IdentityStatus.ACTIVE
    identity.status_reason = None
    identity.updated_at = now
    enrollments = session.scalars(
        sa.select(Enrollment).where(
            Enrollment.identity_id == identity_id, Enrollment.state == EnrollmentState.PAUSED
        )
    ).all()
    for enrollment in enrollments:
        apply_event(session, enrollment, Event.resumed, now=now, reason="resumed: session back")
    if was_down:
        emit(
            session,
            "identity.resumed",
            now=now,
            payload={"identity_uid": identity.uid, "leads": len(enrollments)},
        )
    if was_down:
        rebalance_identity_campaigns(session, identity_id=identity_id, now=now)
    return len(enrollments)
