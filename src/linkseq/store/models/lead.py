"""Leads: one row per person, keyed by the canonical profile URL."""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from linkseq.store.base import Base, str_enum
from linkseq.store.enums import TimezoneSource
from linkseq.store.models._mixins import Timestamps

__all__ = ["Lead", "profile_url_hash"]


def profile_url_hash(canonical_url: str) -> str:
    """SHA-256 of a canonical profile URL: what remains of a forgotten lead."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()


class Lead(Timestamps, Base):
    """A person to reach. `profile_url` is canonical (see `linkseq.leads.urls`)."""

    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_url: Mapped[str] = mapped_column(sa.String(512), unique=True)
    linkedin_profile_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    sales_navigator_id: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    full_name: Mapped[str | None] = mapped_column(sa.String(300))
    first_name: Mapped[str | None] = mapped_column(sa.String(200))
    last_name: Mapped[str | None] = mapped_column(sa.String(200))
    company_name: Mapped[str | None] = mapped_column(sa.String(300))
    email: Mapped[str | None] = mapped_column(sa.String(320))
    location: Mapped[str | None] = mapped_column(sa.String(300))
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    timezone_source: Mapped[TimezoneSource] = mapped_column(
        str_enum(TimezoneSource), default=TimezoneSource.UNKNOWN
    )
    # Every CSV column linkseq does not know, kept for templates.
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(sa.String(32), default="csv")
    # Set when the person asked to be forgotten: personal fields are wiped, `profile_url` becomes
    # "forgotten:<hash>", and the hash of the old URL lets a re-import recognise them.
    forgotten_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)

    def __repr__(self) -> str:
        return f"Lead(id={self.id!r}, profile_url={self.profile_url!r})"
