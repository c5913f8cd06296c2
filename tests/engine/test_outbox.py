from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.engine import outbox
from linkseq.store.enums import ActionKind, ActionStatus, EnrollmentState
from linkseq.store.models import Enrollment, OutboxAction
from tests.store.factories import T0, add_campaign, add_identity, add_lead


def _enrollment(session: Session) -> Enrollment:
    identity = add_identity(session, "alice")
    campaign = add_campaign(session, identities=(identity,))
    enrollment = Enrollment(
        campaign_id=campaign.id,
        lead_id=add_lead(session).id,
        identity_id=identity.id,
        state=EnrollmentState.READY,
        created_at=T0,
        updated_at=T0,
    )
    session.add(enrollment)
    session.commit()
    return enrollment


def _begin(
    session: Session,
    enrollment: Enrollment,
    step_id: str = "invite",
    kind: ActionKind = ActionKind.CONNECT,
) -> OutboxAction | None:
    return outbox.begin(
        session,
        enrollment_id=enrollment.id,
        identity_id=enrollment.identity_id,
        step_id=step_id,
        kind=kind,
        request={},
        now=T0,
    )


def test_one_intent_per_step_until_edges_says_it_was_not_performed(session: Session) -> None:
    enrollment = _enrollment(session)
    first = _begin(session, enrollment)
    assert first is not None
    # a second intent for the same (enrollment, step) is impossible while the first stands
    assert _begin(session, enrollment) is None
    outbox.mark_sent(session, first, response={}, now=T0)
    session.commit()
    assert _begin(session, enrollment) is None


def test_a_refused_or_voided_action_frees_its_step(session: Session) -> None:
    enrollment = _enrollment(session)
    refused = _begin(session, enrollment)
    assert refused is not None
    outbox.mark_failed(session, refused, label="LIMIT_REACHED", detail="", now=T0)
    session.commit()
    uncertain = _begin(session, enrollment)
    assert uncertain is not None
    outbox.mark_uncertain(session, uncertain, detail="read timeout", now=T0)
    session.commit()
    assert _begin(session, enrollment) is None  # uncertain: reconcile first, never resend
    outbox.void(session, uncertain, reason="not on LinkedIn", now=T0)
    session.commit()
    again = _begin(session, enrollment)
    assert again is not None
    assert again.status is ActionStatus.SENDING


def test_a_send_without_a_response_stores_sql_null(session: Session) -> None:
    """Reconcile marks a send it found with no response: the column is NULL, not JSON 'null'."""
    enrollment = _enrollment(session)
    action = _begin(session, enrollment)
    assert action is not None
    outbox.mark_uncertain(session, action, detail="read timeout", now=T0)
    session.commit()
    outbox.mark_sent(session, action, response=None, now=T0)
    session.commit()
    status, is_null = session.execute(
        sa.select(OutboxAction.status, OutboxAction.response.is_(None)).where(
            OutboxAction.id == action.id
        )
    ).one()
    assert (status, is_null) == (ActionStatus.RECONCILED, True)
    assert action.response is None
    answered = _begin(session, enrollment, "visit", ActionKind.VISIT)
    assert answered is not None
    outbox.mark_sent(session, answered, response={"ok": True}, now=T0)
    session.commit()
    stored = session.scalar(sa.select(OutboxAction.response).where(OutboxAction.id == answered.id))
    assert stored == {"ok": True}
