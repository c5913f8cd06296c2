"""Campaigns and the identities that work them. Steps live in the spec, with stable ids."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from linkseq.store.base import Base, str_enum
from linkseq.store.enums import CampaignStatus
from linkseq.store.models._mixins import Timestamps

__all__ = ["Campaign", "CampaignIdentity"]


class Campaign(Timestamps, Base):
    """A validated campaign file: its YAML as written and its spec as parsed JSON."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    spec_yaml: Mapped[str] = mapped_column(sa.Text)
    spec: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[CampaignStatus] = mapped_column(
        str_enum(CampaignStatus), default=CampaignStatus.DRAFT
    )
    # Higher first when several campaigns compete for one identity's quota.
    priority: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime | None] = mapped_column()

    def __repr__(self) -> str:
        return f"Campaign(id={self.id!r}, name={self.name!r}, status={self.status!r})"


class CampaignIdentity(Base):
    """An identity that works a campaign."""

    __tablename__ = "campaign_identities"

    campaign_id: Mapped[int] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    identity_id: Mapped[int] = mapped_column(
        sa.ForeignKey("identities.id", ondelete="CASCADE"), primary_key=True, index=True
    )
