"""Per-identity bookkeeping for workers: sync state and work leases."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from linkseq.store.base import Base, str_enum
from linkseq.store.enums import SyncKind

__all__ = ["SyncState", "WorkerLease"]


class SyncState(Base):
    """When a kind of data was last synced for an identity, and where paging stopped."""

    __tablename__ = "sync_state"

    identity_id: Mapped[int] = mapped_column(
        sa.ForeignKey("identities.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[SyncKind] = mapped_column(str_enum(SyncKind), primary_key=True)
    last_synced_at: Mapped[datetime | None] = mapped_column()
    cursor: Mapped[str | None] = mapped_column(sa.Text)


class WorkerLease(Base):
    """Which worker works an identity until when; free when `owner` is null or expired."""

    __tablename__ = "worker_leases"
    __table_args__ = (sa.Index("ix_worker_leases_expires_at", "expires_at"),)

    identity_id: Mapped[int] = mapped_column(
        sa.ForeignKey("identities.id", ondelete="CASCADE"), primary_key=True
    )
    owner: Mapped[str | None] = mapped_column(sa.String(200))
    expires_at: Mapped[datetime | None] = mapped_column()
