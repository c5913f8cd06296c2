"""funnel milestones on enrollments (visited, invited, accepted, messaged), backfilled

The funnel used to join every sent outbox action and every invited → connected audit row to
its enrollment on each read; the first of each is now kept on the enrollment, so one covered
scan of `ix_enrollments_funnel` counts every stage (see `linkseq.engine.funnel`).

Revision ID: 0006f
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006f"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MILESTONES = ("visited_at", "invited_at", "accepted_at", "messaged_at")
FUNNEL_COLUMNS = ["campaign_id", "state", "message_count", *MILESTONES]

# the outbox kinds behind each milestone; an action counts once it reached LinkedIn
_SENT = {
    "visited_at": "'visit'",
    "invited_at": "'connect'",
    "messaged_at": "'message', 'inmail'",
}
_DONE = "'sent', 'reconciled'"


def _backfill() -> None:
    # the same rows the old aggregate queries counted; the earliest of them is the milestone
    for column, kinds in _SENT.items():
        match = (
            "FROM outbox_actions o WHERE o.enrollment_id = enrollments.id"
            f" AND o.status IN ({_DONE}) AND o.kind IN ({kinds})"
        )
        op.execute(
            f"UPDATE enrollments SET {column} = (SELECT min(coalesce(o.sent_at, o.updated_at)) "
            f"{match}) WHERE EXISTS (SELECT 1 {match})"
        )
    accepted = (
        "FROM audit_events a WHERE a.enrollment_id = enrollments.id"
        " AND a.from_state = 'invited' AND a.to_state = 'connected'"
    )
    op.execute(
        f"UPDATE enrollments SET accepted_at = (SELECT min(a.at) {accepted}) "
        f"WHERE EXISTS (SELECT 1 {accepted})"
    )


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("enrollments") as batch:
        for column in MILESTONES:
            batch.add_column(sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    _backfill()
    op.create_index("ix_enrollments_funnel", "enrollments", FUNNEL_COLUMNS)
    op.drop_index("ix_enrollments_campaign_state", table_name="enrollments")
    op.create_index(
        "ix_outbox_actions_steps", "outbox_actions", ["kind", "status", "step_id", "enrollment_id"]
    )
    # only the funnel's "accepted" stage read it
    op.drop_index("ix_audit_events_transition", table_name="audit_events")


def downgrade() -> None:
    """Revert this revision."""
    op.create_index(
        "ix_audit_events_transition", "audit_events", ["to_state", "from_state", "enrollment_id"]
    )
    op.drop_index("ix_outbox_actions_steps", table_name="outbox_actions")
    op.create_index(
        "ix_enrollments_campaign_state", "enrollments", ["campaign_id", "state", "message_count"]
    )
    op.drop_index("ix_enrollments_funnel", table_name="enrollments")
    # a plain DROP COLUMN (SQLite ≥ 3.35), not a batch rebuild: with foreign keys on, SQLite's
    # DROP TABLE of the rebuild would cascade to the audit trail and the outbox
    for column in MILESTONES:
        op.execute(f"ALTER TABLE enrollments DROP COLUMN {column}")
