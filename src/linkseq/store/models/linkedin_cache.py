"""What linkseq last read from LinkedIn for each identity: connections, threads, invitations."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from linkseq.store.base import Base

__all__ = ["Connection", "Conversation", "Message", "SentInvitation"]


class Connection(Base):
    """A 1st-degree connection of an identity, as last seen by a connections sync."""

    __tablename__ = "connections"
    __table_args__ = (sa.UniqueConstraint("identity_id", "linkedin_profile_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(sa.ForeignKey("identities.id", ondelete="CASCADE"))
    linkedin_profile_id: Mapped[str] = mapped_column(sa.String(64))
    profile_url: Mapped[str | None] = mapped_column(sa.String(512), index=True)
    full_name: Mapped[str | None] = mapped_column(sa.String(300))
    connected_at: Mapped[datetime | None] = mapped_column()
    seen_at: Mapped[datetime] = mapped_column()


class Conversation(Base):
    """A 1:1 thread of an identity; `last_message_sender_id` tells a reply (guide §8)."""

    __tablename__ = "conversations"
    __table_args__ = (
        sa.UniqueConstraint("identity_id", "thread_id"),
        sa.Index("ix_conversations_participant", "identity_id", "participant_profile_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(sa.ForeignKey("identities.id", ondelete="CASCADE"))
    thread_id: Mapped[str] = mapped_column(sa.String(200))
    thread_url: Mapped[str | None] = mapped_column(sa.String(512))
    participant_profile_id: Mapped[str | None] = mapped_column(sa.String(64))
    participant_profile_url: Mapped[str | None] = mapped_column(sa.String(512))
    last_message_sender_id: Mapped[str | None] = mapped_column(sa.String(64))
    last_message_at: Mapped[datetime | None] = mapped_column()
    last_message_text: Mapped[str | None] = mapped_column(sa.Text)
    unread: Mapped[bool] = mapped_column(default=False)
    # messages received from the participant, as last seen (`total_received_messages`): a rise
    # is a reply even when our own later message hides it from `last_message`
    received_count: Mapped[int | None] = mapped_column()
    synced_at: Mapped[datetime] = mapped_column()


class Message(Base):
    """One message of a cached thread (read with extract-messages, for the inbox)."""

    __tablename__ = "messages"
    __table_args__ = (sa.UniqueConstraint("conversation_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE")
    )
    message_id: Mapped[str] = mapped_column(sa.String(200))
    sender_profile_id: Mapped[str | None] = mapped_column(sa.String(64))
    text: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[datetime | None] = mapped_column()


class SentInvitation(Base):
    """A pending invitation of an identity, as last seen by a sent-invitations sync."""

    __tablename__ = "sent_invitations"
    __table_args__ = (
        sa.UniqueConstraint("identity_id", "invitation_urn"),
        sa.Index("ix_sent_invitations_profile", "identity_id", "linkedin_profile_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(sa.ForeignKey("identities.id", ondelete="CASCADE"))
    invitation_id: Mapped[str | None] = mapped_column(sa.String(64))
    invitation_urn: Mapped[str] = mapped_column(sa.String(200))
    linkedin_profile_id: Mapped[str | None] = mapped_column(sa.String(64))
    profile_url: Mapped[str | None] = mapped_column(sa.String(512))
    sent_at: Mapped[datetime | None] = mapped_column()
    seen_at: Mapped[datetime] = mapped_column()
    withdrawn_at: Mapped[datetime | None] = mapped_column()
