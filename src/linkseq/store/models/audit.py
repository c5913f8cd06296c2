"""The audit trail: every state change of an enrollment, with its reason."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from linkseq.store.base import Base

__all__ = ["AuditEvent"]


class AuditEvent(Base):
    """One state change (or notable decision) about an enrollment or a lead."""

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_enrollment", "enrollment_id", "at"),
        sa.Index("ix_audit_events_lead", "lead_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("enrollments.id", ondelete="CASCADE")
    )
    lead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("leads.id", ondelete="CASCADE"))
    from_state: Mapped[str | None] = mapped_column(sa.String(24))
    to_state: Mapped[str | None] = mapped_column(sa.String(24))
    reason: Mapped[str] = mapped_column(sa.String(300))
    at: Mapped[datetime] = mapped_column()
    details: Mapped[dict[str, Any] | None] = mapped_column()
