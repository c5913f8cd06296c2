"""Background execution and outgoing-event delivery: async runs, Edges schedules, deliveries."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from linkseq.store.base import Base

__all__ = ["BackgroundRun", "EdgesSchedule", "EventDelivery"]


class BackgroundRun(Base):
    """An async run linkseq started on Edges; polled when no final callback came in time."""

    __tablename__ = "background_runs"
    __table_args__ = (sa.Index("ix_background_runs_open", "finished_at", "poll_at"),)

    run_uid: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    # connections, conversations or visits
    purpose: Mapped[str] = mapped_column(sa.String(32))
    identity_id: Mapped[int] = mapped_column(sa.ForeignKey("identities.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column()
    # when the run is polled if it has not called back with a final status by then
    poll_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class EdgesSchedule(Base):
    """A recurring sync linkseq created on Edges for an identity (schedule mode)."""

    __tablename__ = "edges_schedules"
    __table_args__ = (sa.UniqueConstraint("identity_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(sa.ForeignKey("identities.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(sa.String(32))
    schedule_uid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    cron: Mapped[str] = mapped_column(sa.String(64))
    timezone: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column()


class EventDelivery(Base):
    """Where the delivery of one outgoing event to the CRM webhook stands."""

    __tablename__ = "event_deliveries"
    __table_args__ = (sa.Index("ix_event_deliveries_due", "status", "next_attempt_at"),)

    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("outgoing_events.id", ondelete="CASCADE"), primary_key=True
    )
    # pending (will be tried at next_attempt_at), delivered, or failed (gave up)
    status: Mapped[str] = mapped_column(sa.String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    last_status: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    delivered_at: Mapped[datetime | None] = mapped_column()
