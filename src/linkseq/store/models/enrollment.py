"""Enrollments: one lead in one campaign, worked by one identity, in one lifecycle state."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from linkseq.store.base import Base, str_enum
from linkseq.store.enums import EnrollmentState
from linkseq.store.models._mixins import Timestamps

__all__ = ["Enrollment"]


class Enrollment(Timestamps, Base):
    """A lead's progress through a campaign. `version` guards concurrent updates."""

    __tablename__ = "enrollments"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "lead_id"),
        # "What is due for identity X now": an index range scan on
        # (identity_id = X, state IN (...), next_action_at <= now), covering what a plan
        # reads of each due enrollment (no table lookup per row).
        sa.Index(
            "ix_enrollments_due",
            "identity_id",
            "state",
            "next_action_at",
            "campaign_id",
            "step_index",
            "message_count",
            "lead_id",
        ),
        sa.Index("ix_enrollments_lead_state", "lead_id", "state"),
        # The funnel: states, replies per message count and milestones per campaign, covered
        # (one scan of this index counts every stage; see linkseq.engine.funnel).
        sa.Index(
            "ix_enrollments_funnel",
            "campaign_id",
            "state",
            "message_count",
            "visited_at",
            "invited_at",
            "accepted_at",
            "messaged_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("leads.id", ondelete="CASCADE"))
    identity_id: Mapped[int] = mapped_column(sa.ForeignKey("identities.id"))
    state: Mapped[EnrollmentState] = mapped_column(
        str_enum(EnrollmentState), default=EnrollmentState.NEW
    )
    current_step_id: Mapped[str | None] = mapped_column(sa.String(64))
    step_index: Mapped[int] = mapped_column(default=0)
    message_count: Mapped[int] = mapped_column(default=0)
    next_action_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(sa.String(300))
    # The state to return to when an identity's session comes back (guide §16).
    paused_from_state: Mapped[EnrollmentState | None] = mapped_column(str_enum(EnrollmentState))
    version: Mapped[int] = mapped_column(default=1)
    # Funnel milestones, each set once (linkseq.engine.funnel): the first visit, invitation and
    # message or InMail that reached LinkedIn, and the invitation's acceptance.
    visited_at: Mapped[datetime | None] = mapped_column()
    invited_at: Mapped[datetime | None] = mapped_column()
    accepted_at: Mapped[datetime | None] = mapped_column()
    messaged_at: Mapped[datetime | None] = mapped_column()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declarative hook

    def __repr__(self) -> str:
        return (
            f"Enrollment(id={self.id!r}, lead_id={self.lead_id!r}, "
            f"campaign_id={self.campaign_id!r}, state={self.state!r})"
        )
