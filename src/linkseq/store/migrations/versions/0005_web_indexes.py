"""indexes for the dashboard: the funnel's aggregates read covering indexes, not tables

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_enrollments_campaign_state", "enrollments", ["campaign_id", "state", "message_count"]),
    ("ix_outbox_actions_funnel", "outbox_actions", ["enrollment_id", "status", "kind", "step_id"]),
    ("ix_audit_events_transition", "audit_events", ["to_state", "from_state", "enrollment_id"]),
)


def upgrade() -> None:
    """Apply this revision."""
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    """Revert this revision."""
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)
