"""The outbox: an intent is committed before Edges is called, the result after (promise 1).

An action for (enrollment, step) has one idempotency key; a second intent for it cannot be
written (UNIQUE). If a worker dies between the call and the result, or the answer was lost
(`UncertainSend`), the row stays `sending` / `uncertain` and is reconciled on the identity's next
pass by *reading LinkedIn* (sent invitations and connections for a connect, the thread for a
message): marked sent when LinkedIn shows it went, voided (and so sendable again) only when
LinkedIn shows it did not. Nothing is ever resent blindly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from linkseq.engine.funnel import record_sent
from linkseq.store import fast
from linkseq.store.enums import ActionKind, ActionStatus
from linkseq.store.models import ActionHold, Enrollment, OutboxAction

__all__ = [
    "IN_FLIGHT",
    "begin",
    "hold",
    "hold_times",
    "idempotency_key",
    "in_flight",
    "mark_failed",
    "mark_sent",
    "mark_uncertain",
    "void",
]

_SENT_COLUMNS = ("status", "response", "sent_at", "updated_at")
IN_FLIGHT = (ActionStatus.INTENT, ActionStatus.SENDING, ActionStatus.UNCERTAIN)


def idempotency_key(enrollment_id: int, step_id: str, kind: ActionKind) -> str:
    """One key per (enrollment, step, kind): the outbox's guarantee of at most one send."""
    return f"e{enrollment_id}:{step_id}:{kind.value}"


def begin(
    session: Session,
    *,
    enrollment_id: int,
    identity_id: int,
    step_id: str,
    kind: ActionKind,
    request: dict[str, Any],
    now: datetime,
) -> OutboxAction | None:
    """Write and commit the intent (`sending`); None when an action for that step exists.

    One table INSERT (the UNIQUE key refuses a second intent), not a unit-of-work flush; the
    row's object joins the session as loaded, so the result is written to it as an UPDATE.
    """
    values: dict[str, Any] = {
        "enrollment_id": enrollment_id,
        "identity_id": identity_id,
        "step_id": step_id,
        "kind": kind,
        "idempotency_key": idempotency_key(enrollment_id, step_id, kind),
        "status": ActionStatus.SENDING,
        "request": request,
        "error_label": None,
        "run_uid": None,
        "attempts": 1,
        "sent_at": None,
        "created_at": now,
        "updated_at": now,
    }
    try:
        session.flush()  # what the session holds goes first, as it did in one flush
        key = fast.insert(session, _INSERT, values, flush=False)
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    # `response` is left out of the INSERT (SQL NULL, as the ORM wrote it; a JSON None is 'null')
    action = OutboxAction(id=key, response=None, **values)
    make_transient_to_detached(action)  # every column set: nothing is loaded again
    session.add(action)
    return action


def mark_sent(
    session: Session,
    action: OutboxAction,
    *,
    response: dict[str, Any] | None,
    now: datetime,
    enrollment: Enrollment | None = None,
) -> None:
    """The action reached LinkedIn (and its enrollment the matching funnel milestone; pass the
    `enrollment` when it is loaded and written in the same transaction).

    The action is written (`begin` or a query gave it): one table UPDATE now rather than its
    turn in the unit of work's flush; its object is given the values as loaded.
    """
    values: dict[str, Any] = {
        "status": (
            ActionStatus.SENT if action.status is ActionStatus.SENDING else ActionStatus.RECONCILED
        ),
        "response": response,
        "sent_at": action.sent_at or now,
        "updated_at": now,
    }
    statement, params = _SENT, values
    if response is None:  # no response (a send reconcile found): SQL NULL, not JSON 'null'
        statement = _SENT_NO_RESPONSE
        params = {k: v for k, v in values.items() if k != "response"}
    done = fast.execute(session, statement, {"b_id": action.id, **params}, flush=False)
    if done != 1:  # as the flush would have said
        raise StaleDataError(f"{action!r} was not found to be marked sent")
    for key, value in values.items():
        set_committed_value(action, key, value)
    record_sent(session, action, enrollment)


def mark_failed(
    session: Session, action: OutboxAction, *, label: str | None, detail: str, now: datetime
) -> None:
    """Edges answered that the action was not performed: its key is freed for a later retry.

    The key guards against a second send of something that may have gone; a refused action did
    not go, and the step it belongs to may be tried again (after LIMIT_REACHED, STATUS_429, a
    reconnection, or a return to the connect step).
    """
    action.status = ActionStatus.FAILED
    action.error_label = label
    action.idempotency_key = f"{action.idempotency_key}:failed:{action.id}"
    action.response = {"error": detail[:500]}
    action.updated_at = now


def mark_uncertain(session: Session, action: OutboxAction, *, detail: str, now: datetime) -> None:
    """No answer says whether LinkedIn acted: reconcile before anything else."""
    action.status = ActionStatus.UNCERTAIN
    action.response = {"uncertain": detail[:500]}
    action.updated_at = now


def void(session: Session, action: OutboxAction, *, reason: str, now: datetime) -> None:
    """LinkedIn shows the action did not happen: free its key so the step can be sent again."""
    action.status = ActionStatus.FAILED
    action.error_label = "NOT_DELIVERED"
    action.idempotency_key = f"{action.idempotency_key}:void:{action.id}"
    action.response = {"reconciled": reason}
    action.updated_at = now


# built once: constructing a statement costs more than running it
_TABLE = cast(sa.Table, OutboxAction.__table__)
_INSERT = sa.insert(_TABLE)


def _sent_update(*, response: bool) -> sa.Update:
    """`mark_sent`'s UPDATE; without a response the column is SQL NULL (not JSON 'null')."""
    values: dict[str, Any] = {
        name: sa.bindparam(name, type_=_TABLE.c[name].type) for name in _SENT_COLUMNS
    }
    if not response:
        values["response"] = sa.null()
    return sa.update(_TABLE).where(_TABLE.c.id == sa.bindparam("b_id")).values(values)


_SENT = _sent_update(response=True)
_SENT_NO_RESPONSE = _sent_update(response=False)
_IN_FLIGHT = (
    sa.select(OutboxAction)
    .where(
        OutboxAction.identity_id == sa.bindparam("identity_id"),
        OutboxAction.status.in_(IN_FLIGHT),
    )
    .order_by(OutboxAction.id)
)
_HOLD_TIMES = sa.select(ActionHold.action, ActionHold.until).where(
    ActionHold.identity_id == sa.bindparam("identity_id"), ActionHold.until > sa.bindparam("now")
)


def hold_times(session: Session, identity_id: int, now: datetime) -> dict[str, datetime]:
    """Until when each of the identity's holds in force at `now` holds, by action."""
    params = {"identity_id": identity_id, "now": now}
    return {str(row[0]): row[1] for row in fast.rows(session, _HOLD_TIMES, params)}


def in_flight(session: Session, identity_id: int) -> list[OutboxAction]:
    """Actions of the identity whose outcome is unknown, oldest first."""
    return list(session.scalars(_IN_FLIGHT, {"identity_id": identity_id}))


def hold(session: Session, *, identity_id: int, action: str, until: datetime, reason: str) -> None:
    """Hold `action` (or `*`) of the identity until `until` (the later of two holds wins)."""
    row = session.get(ActionHold, (identity_id, action))
    if row is None:
        session.add(ActionHold(identity_id=identity_id, action=action, until=until, reason=reason))
    elif until > row.until:
        row.until = until
        row.reason = reason[:300]
