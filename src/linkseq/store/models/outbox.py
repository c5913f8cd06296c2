"""The outbox: every outreach action is written as an intent before Edges is called."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from linkseq.store.base import Base, str_enum
from linkseq.store.enums import ActionKind, ActionStatus
from linkseq.store.models._mixins import Timestamps

__all__ = ["OutboxAction"]


class OutboxAction(Timestamps, Base):
    """One outreach action; `idempotency_key` makes a second intent for (lead, step) impossible."""

    __tablename__ = "outbox_actions"
    __table_args__ = (
        # Quota arithmetic: actions of kind K by identity X since T.
        sa.Index("ix_outbox_actions_quota", "identity_id", "kind", "sent_at"),
        # Recovery: intents and uncertain sends to reconcile.
        sa.Index("ix_outbox_actions_status", "status", "identity_id"),
        # What may have reached LinkedIn per enrollment (leads not yet contacted), covered.
        sa.Index("ix_outbox_actions_funnel", "enrollment_id", "status", "kind", "step_id"),
        # The dashboard's sends per message step: a range of the message kinds, covered.
        sa.Index("ix_outbox_actions_steps", "kind", "status", "step_id", "enrollment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("enrollments.id", ondelete="SET NULL"), index=True
    )
    identity_id: Mapped[int] = mapped_column(sa.ForeignKey("identities.id"))
    step_id: Mapped[str | None] = mapped_column(sa.String(64))
    kind: Mapped[ActionKind] = mapped_column(str_enum(ActionKind))
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    status: Mapped[ActionStatus] = mapped_column(
        str_enum(ActionStatus), default=ActionStatus.INTENT
    )
    request: Mapped[dict[str, Any]] = mapped_column(default=dict)
    response: Mapped[dict[str, Any] | None] = mapped_column()
    error_label: Mapped[str | None] = mapped_column(sa.String(64))
    run_uid: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None] = mapped_column()

    def __repr__(self) -> str:
        return f"OutboxAction(id={self.id!r}, kind={self.kind!r}, status={self.status!r})"
