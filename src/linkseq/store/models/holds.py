"""Holds on an identity's actions: Edges said wait (LIMIT_REACHED, STATUS_429) until a time."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from linkseq.store.base import Base

__all__ = ["ActionHold"]


class ActionHold(Base):
    """No `action` (or `*`: any action) for the identity before `until`, for `reason`."""

    __tablename__ = "action_holds"

    identity_id: Mapped[int] = mapped_column(
        sa.ForeignKey("identities.id", ondelete="CASCADE"), primary_key=True
    )
    action: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    until: Mapped[datetime] = mapped_column()
    reason: Mapped[str] = mapped_column(sa.String(300))
