"""Identities: the LinkedIn accounts that act, as Edges knows them.

Credentials: linkseq never stores LinkedIn cookies or passwords. They are passed straight to
Edges' connect-integration call and dropped; Edges holds the live session. An expired session
needs *fresh* credentials anyway, so a stored copy would only be a liability. Hence there is no
credentials column, encrypted or not.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from linkseq.store.base import Base, str_enum
from linkseq.store.enums import IdentityLevel, IdentityStatus
from linkseq.store.models._mixins import Timestamps

__all__ = ["Identity"]


class Identity(Timestamps, Base):
    """One LinkedIn account acting through Edges (an Edges identity)."""

    __tablename__ = "identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    is_engagement: Mapped[bool] = mapped_column(default=True)
    level: Mapped[IdentityLevel] = mapped_column(
        str_enum(IdentityLevel), default=IdentityLevel.CLASSIC
    )
    status: Mapped[IdentityStatus] = mapped_column(
        str_enum(IdentityStatus), default=IdentityStatus.ACTIVE
    )
    status_reason: Mapped[str | None] = mapped_column(sa.String(200))
    linkedin_profile_id: Mapped[str | None] = mapped_column(sa.String(64))
    # Day 1 of the Smart Limits ramp-up is counted from here.
    first_sync_at: Mapped[datetime | None] = mapped_column()

    def __repr__(self) -> str:
        return f"Identity(id={self.id!r}, uid={self.uid!r}, status={self.status!r})"
