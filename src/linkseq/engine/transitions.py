"""Moving an enrollment through the lifecycle table, with its audit row and outgoing event.

Every state change of an enrollment goes through `apply_event`: the table of
`linkseq.engine.lifecycle` decides the target (an illegal move raises), the audit trail records
the change and its reason, and the changes a CRM cares about become outgoing events
(`lead.replied`, `lead.connected`, `lead.completed`). The caller commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.engine.funnel import record_transition
from linkseq.engine.lifecycle import Event, Position, State, advance
from linkseq.store import fast
from linkseq.store.enums import EnrollmentState
from linkseq.store.models import AuditEvent, Enrollment, OutgoingEvent

__all__ = ["apply_event", "emit", "note", "position_of"]

_EVENT_KINDS = {
    State.replied: "lead.replied",
    State.connected: "lead.connected",
    State.completed: "lead.completed",
}


def position_of(enrollment: Enrollment) -> Position:
    """The lifecycle position stored on an enrollment."""
    state = State(enrollment.state.value)
    resume_to = enrollment.paused_from_state
    return Position(state, State(resume_to.value) if resume_to is not None else None)


def apply_event(
    session: Session,
    enrollment: Enrollment,
    event: Event,
    *,
    now: datetime,
    reason: str,
    details: dict[str, Any] | None = None,
) -> State:
    """Apply `event` (raises `IllegalTransition`), audit it and return the new state."""
    before = position_of(enrollment)
    after = advance(before, event)
    enrollment.state = EnrollmentState(after.state.value)
    enrollment.paused_from_state = (
        EnrollmentState(after.resume_to.value) if after.resume_to is not None else None
    )
    enrollment.reason = reason[:300]
    enrollment.updated_at = now
    record_transition(enrollment, EnrollmentState(before.state.value), enrollment.state, now)
    _audit(
        session,
        enrollment,
        from_state=before.state.value,
        to_state=after.state.value,
        reason=reason,
        at=now,
        details={"event": event.value, **(details or {})},
    )
    kind = _EVENT_KINDS.get(after.state)
    # a lead resumed after a pause has not newly connected or replied: no event for that
    if kind is not None and after.state is not before.state and event is not Event.resumed:
        emit(
            session,
            kind,
            now=now,
            lead_id=enrollment.lead_id,
            enrollment_id=enrollment.id,
            payload={"campaign_id": enrollment.campaign_id, "reason": reason[:300]},
        )
    return after.state


def note(
    session: Session,
    enrollment: Enrollment,
    *,
    now: datetime,
    reason: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Record a decision about an enrollment that does not change its state (a hold, a dry run)."""
    enrollment.reason = reason[:300]
    state = enrollment.state.value
    _audit(
        session,
        enrollment,
        from_state=state,
        to_state=state,
        reason=reason,
        at=now,
        details=details,
    )


# built once (a statement costs more to construct than to run)
_AUDIT = sa.insert(cast(sa.Table, AuditEvent.__table__))


def _audit(
    session: Session,
    enrollment: Enrollment,
    *,
    from_state: str,
    to_state: str,
    reason: str,
    at: datetime,
    details: dict[str, Any] | None,
) -> None:
    """Write one audit row: a table INSERT on the transaction's connection, not an object for
    the unit of work (nothing reads the row back as an object, and no flush is paid for it).

    When the session holds rows still to insert, the row goes with them in the next flush as an
    object, as before (its ids may point at them; flushing now would write the enrollment twice).
    """
    values: dict[str, Any] = {
        "enrollment_id": enrollment.id,
        "lead_id": enrollment.lead_id,
        "from_state": from_state,
        "to_state": to_state,
        "reason": reason[:300],
        "at": at,
        "details": details,
    }
    if session.new:
        session.add(AuditEvent(**values))
    else:
        fast.insert(session, _AUDIT, values, flush=False)


def emit(
    session: Session,
    kind: str,
    *,
    now: datetime,
    payload: dict[str, Any],
    lead_id: int | None = None,
    enrollment_id: int | None = None,
) -> None:
    """Queue an outgoing event (CRM webhooks read them by cursor)."""
    session.add(
        OutgoingEvent(
            kind=kind,
            lead_id=lead_id,
            enrollment_id=enrollment_id,
            payload={"kind": kind, "at": now.isoformat(), **payload},
            created_at=now,
        )
    )
