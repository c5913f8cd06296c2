"""Events in (the webhook inbox, deduplicated) and out (for CRM webhooks, read by cursor)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from linkseq.store.base import Base

__all__ = ["OutgoingEvent", "WebhookInbox"]


class WebhookInbox(Base):
    """A callback or integration webhook, stored before it is processed; a redelivery is a no-op."""

    __tablename__ = "webhook_inbox"
    __table_args__ = (sa.Index("ix_webhook_inbox_pending", "processed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(32))
    # `callback_ref_uid`, `event_uid`, or a hash of the body when neither is given.
    dedupe_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column()
    received_at: Mapped[datetime] = mapped_column()
    processed_at: Mapped[datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(sa.Text)


class OutgoingEvent(Base):
    """Something that happened, for CRM webhooks and the API; consumers page by `id` (a cursor)."""

    __tablename__ = "outgoing_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(64), index=True)
    lead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("leads.id", ondelete="SET NULL"))
    enrollment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("enrollments.id", ondelete="SET NULL")
    )
    payload: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
