"""The campaign funnel, enrolled → visited → invited → accepted → messaged → replied.

One definition, read by the CLI (`campaigns status`), the demo and the dashboard.

Every stage counts leads (enrollments), whatever their state now:

- visited / invited / messaged: a visit, an invitation, a message or an InMail of the
  enrollment reached LinkedIn (its outbox action is `sent` or `reconciled`);
- accepted: the enrollment moved from invited to connected;
- replied: the enrollment is in state `replied`.

The first of each milestone is kept on the enrollment when it happens (`record_sent`, called
by `outbox.mark_sent`; `record_transition`, called by `transitions.apply_event`), so counting is
one scan of the covering index `ix_enrollments_funnel`, whatever the size of the outbox:

    SELECT campaign_id, state, count(*), count(visited_at), count(invited_at),
           count(accepted_at), count(messaged_at)
    FROM enrollments WHERE campaign_id IN (...) GROUP BY campaign_id, state
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.store.enums import ActionKind, ActionStatus, EnrollmentState
from linkseq.store.models import Enrollment, OutboxAction

__all__ = ["STAGES", "campaign_funnel", "campaign_funnels", "record_sent", "record_transition"]

STAGES = ("enrolled", "visited", "invited", "accepted", "messaged", "replied")

# the outreach kinds behind each milestone column
_SENT_MILESTONE = {
    ActionKind.VISIT: "visited_at",
    ActionKind.CONNECT: "invited_at",
    ActionKind.MESSAGE: "messaged_at",
    ActionKind.INMAIL: "messaged_at",
}
_REACHED = (ActionStatus.SENT, ActionStatus.RECONCILED)
_TABLE = cast(sa.Table, Enrollment.__table__)
_MILESTONE = {  # built once: a statement costs more to construct than to run
    name: sa.update(_TABLE)
    .where(_TABLE.c.id == sa.bindparam("b_id"), _TABLE.c[name].is_(None))
    .values({name: sa.bindparam("at", type_=_TABLE.c[name].type)})
    for name in set(_SENT_MILESTONE.values())
}


def record_sent(
    session: Session, action: OutboxAction, enrollment: Enrollment | None = None
) -> None:
    """Mark the milestone of an action that reached LinkedIn on its enrollment (the first wins).

    `enrollment`: the action's enrollment, loaded and about to be written by the caller (the
    engine's send): the milestone goes with that write instead of a statement of its own.
    """
    name = _SENT_MILESTONE.get(action.kind)
    if name is None or action.enrollment_id is None or action.status not in _REACHED:
        return
    if enrollment is not None and enrollment.id == action.enrollment_id:
        if getattr(enrollment, name) is None:
            setattr(enrollment, name, action.sent_at or action.updated_at)
        return
    # a table UPDATE, not an ORM one: the enrollment's version is not bumped (no concurrent
    # change of its state can conflict with a milestone) and the identity map is not searched
    session.execute(
        _MILESTONE[name], {"b_id": action.enrollment_id, "at": action.sent_at or action.updated_at}
    )


def record_transition(
    enrollment: Enrollment, before: EnrollmentState, after: EnrollmentState, now: datetime
) -> None:
    """Mark the acceptance of the invitation when the enrollment moves invited → connected."""
    if (
        before is EnrollmentState.INVITED
        and after is EnrollmentState.CONNECTED
        and enrollment.accepted_at is None
    ):
        enrollment.accepted_at = now


def campaign_funnels(
    session: Session, campaign_ids: Collection[int] | None = None
) -> dict[int, dict[str, int]]:
    """Each campaign's funnel (every campaign with leads, or those of `campaign_ids`).

    Per campaign: the `STAGES`, then its leads per state as `state:<state>`.
    """
    where = [] if campaign_ids is None else [Enrollment.campaign_id.in_(list(campaign_ids))]
    rows = session.execute(
        sa.select(
            Enrollment.campaign_id,
            Enrollment.state,
            sa.func.count(),
            sa.func.count(Enrollment.visited_at),
            sa.func.count(Enrollment.invited_at),
            sa.func.count(Enrollment.accepted_at),
            sa.func.count(Enrollment.messaged_at),
        )
        .where(*where)
        .group_by(Enrollment.campaign_id, Enrollment.state)
    ).all()
    out: dict[int, dict[str, int]] = {}
    for campaign_id, state, *counts in rows:
        funnel = out.setdefault(campaign_id, dict.fromkeys(STAGES, 0))
        for stage, n in zip(STAGES[:5], counts, strict=True):
            funnel[stage] += int(n)
        value = EnrollmentState(state).value
        funnel[f"state:{value}"] = int(counts[0])
        if value == EnrollmentState.REPLIED.value:
            funnel["replied"] = int(counts[0])
    return {
        campaign_id: {
            **{stage: funnel[stage] for stage in STAGES},
            **{k: v for k, v in sorted(funnel.items()) if k.startswith("state:")},
        }
        for campaign_id, funnel in out.items()
    }


def campaign_funnel(session: Session, campaign_id: int | None) -> dict[str, int]:
    """One campaign's funnel (None: every campaign together), then its leads per state."""
    funnels = campaign_funnels(session, None if campaign_id is None else [campaign_id])
    total: dict[str, int] = dict.fromkeys(STAGES, 0)
    for funnel in funnels.values():
        for key, n in funnel.items():
            total[key] = total.get(key, 0) + n
    return {
        **{stage: total[stage] for stage in STAGES},
        **{k: v for k, v in sorted(total.items()) if k.startswith("state:")},
    }
