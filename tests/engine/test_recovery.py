from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.engine.recovery import pause_identity, resume_identity
from linkseq.store.enums import EnrollmentState, IdentityStatus
from linkseq.store.models import AuditEvent, Enrollment, OutgoingEvent
from tests.store.factories import T0, add_campaign, add_identity, add_lead


def _enroll(
    session: Session, campaign_id: int, lead_id: int, identity_id: int, state: str
) -> Enrollment:
    enrollment = Enrollment(
        campaign_id=campaign_id,
        lead_id=lead_id,
        identity_id=identity_id,
        state=EnrollmentState(state),
        created_at=T0,
        updated_at=T0,
    )
    session.add(enrollment)
    session.flush()
    return enrollment


def test_pause_then_resume_returns_each_lead_to_its_state(session: Session) -> None:
    alice = add_identity(session, "alice")
    bob = add_identity(session, "bob")
    # alice alone works her campaign: her uncontacted leads have nobody to move to, and wait
    # (tests/engine/test_assign_e2e.py: with another identity, they move to it)
    campaign = add_campaign(session, identities=(alice,))
    bobs = add_campaign(session, "c2", identities=(bob,))
    states = ["new", "ready", "invited", "connected", "messaged", "replied", "completed"]
    ours = [
        _enroll(session, campaign.id, add_lead(session, f"lead-{s}").id, alice.id, s)
        for s in states
    ]
    other = _enroll(session, bobs.id, add_lead(session, "bobs").id, bob.id, "invited")
    session.commit()

    paused = pause_identity(session, identity_id=alice.id, reason="AUTH_EXPIRED", now=T0)
    session.commit()
    assert paused == 5
    assert alice.status is IdentityStatus.DISCONNECTED
    assert [e.state.value for e in ours] == ["paused"] * 5 + ["replied", "completed"]
    assert other.state is EnrollmentState.INVITED
    # pausing twice changes nothing and emits one event only
    assert pause_identity(session, identity_id=alice.id, reason="AUTH_EXPIRED", now=T0) == 0
    session.commit()

    resumed = resume_identity(session, identity_id=alice.id, now=T0 + timedelta(hours=1))
    session.commit()
    assert resumed == 5
    assert [e.state.value for e in ours] == states
    assert all(e.paused_from_state is None for e in ours)
    kinds = session.scalars(sa.select(OutgoingEvent.kind).order_by(OutgoingEvent.id)).all()
    assert kinds == ["identity.paused", "identity.resumed"]
    audit = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.enrollment_id == ours[2].id).order_by(AuditEvent.id)
    ).all()
    assert [(a.from_state, a.to_state) for a in audit] == [
        ("invited", "paused"),
        ("paused", "invited"),
    ]
