"""The do-not-contact list: checked at enrollment and again at every send."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from linkseq.store.base import Base

__all__ = ["DoNotContact"]


class DoNotContact(Base):
    """A person never to contact, by canonical profile URL and/or LinkedIn profile id."""

    __tablename__ = "do_not_contact"
    __table_args__ = (
        sa.CheckConstraint(
            "profile_url IS NOT NULL OR linkedin_profile_id IS NOT NULL", name="has_key"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_url: Mapped[str | None] = mapped_column(sa.String(512), unique=True)
    linkedin_profile_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    reason: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column()
