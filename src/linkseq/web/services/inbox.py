"""The unified inbox, read side: threads newest first, a thread's messages (cached)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.edges import EdgesClient
from linkseq.engine.people import PersonKey, leads_for
from linkseq.errors import ConfigError, NotFoundError
from linkseq.settings import Settings
from linkseq.store.enums import (
    EnrollmentState,
)
from linkseq.store.models import (
    Conversation,
    Enrollment,
    Identity,
    Lead,
    Message,
)
from linkseq.web.services.views import LABELS, MessageView, ThreadDetail, ThreadPage, ThreadRow

__all__ = [
    "cached_messages",
    "conversation",
    "edges_client",
    "lead_of",
    "lead_of_thread",
    "list_threads",
    "open_thread",
    "thread_detail",
    "thread_of_lead",
]


def _me_ids(session: Session) -> dict[int, str | None]:
    return dict(session.execute(sa.select(Identity.id, Identity.linkedin_profile_id)).all())


def _thread_rows(session: Session, convs: Sequence[tuple[Conversation, str]]) -> list[ThreadRow]:
    """Inbox rows for conversations, with their leads (two indexed lookups for the whole page)."""
    keys = {c.id: PersonKey(c.participant_profile_id, c.participant_profile_url) for c, _ in convs}
    leads = leads_for(session, set(keys.values())) if keys else {}
    me = _me_ids(session)
    lead_ids = {lead.id for lead in leads.values()}
    enrollments: dict[tuple[int, int], Enrollment] = {}
    if lead_ids:
        for e in session.scalars(
            sa.select(Enrollment).where(Enrollment.lead_id.in_(lead_ids)).order_by(Enrollment.id)
        ):
            enrollments[(e.lead_id, e.identity_id)] = e
    rows = []
    for conv, identity_name in convs:
        lead = leads.get(keys[conv.id])
        enrollment = enrollments.get((lead.id, conv.identity_id)) if lead else None
        wrote_last = (
            conv.last_message_sender_id is not None
            and conv.last_message_sender_id != me.get(conv.identity_id)
        )
        label = None
        if enrollment is not None and enrollment.reason in LABELS:
            label = LABELS[enrollment.reason]
        rows.append(
            ThreadRow(
                id=conv.id,
                identity=identity_name,
                identity_id=conv.identity_id,
                lead_id=lead.id if lead else None,
                name=(lead.full_name if lead else None) or conv.participant_profile_url,
                profile_url=conv.participant_profile_url,
                last_message_at=conv.last_message_at,
                last_message_text=conv.last_message_text,
                unread=conv.unread,
                lead_wrote_last=wrote_last,
                replied=enrollment is not None and enrollment.state is EnrollmentState.REPLIED,
                label=label,
            )
        )
    return rows


def list_threads(
    session: Session,
    *,
    identity_id: int | None = None,
    unread_only: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> ThreadPage:
    """Every thread of every identity, newest first."""
    page = max(1, page)
    per_page = min(max(1, per_page), 200)
    where: list[sa.ColumnElement[bool]] = []
    if identity_id is not None:
        where.append(Conversation.identity_id == identity_id)
    if unread_only:
        where.append(Conversation.unread.is_(True))
    total = int(
        session.execute(sa.select(sa.func.count(Conversation.id)).where(*where)).scalar_one()
    )
    convs = session.execute(
        sa.select(Conversation, Identity.name)
        .join(Identity, Identity.id == Conversation.identity_id)
        .where(*where)
        .order_by(Conversation.last_message_at.desc().nulls_last(), Conversation.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return ThreadPage(rows=_thread_rows(session, convs), total=total, page=page, per_page=per_page)


@contextlib.contextmanager
def edges_client(factory: Callable[[], Any] | None, settings: Settings) -> Iterator[EdgesClient]:
    """The Edges client for a request: the injected factory's, or one built from the settings."""
    if factory is not None:
        yield factory()  # owned by whoever injected it (the demo, a test): left open
        return
    if settings.edges_api_key is None:
        raise ConfigError("no Edges API key: set LINKSEQ_EDGES_API_KEY")
    client = EdgesClient.from_settings(settings)
    try:
        yield client
    finally:
        client.close()


def conversation(session: Session, thread_id: int) -> tuple[Conversation, Identity]:
    """A thread and its identity; `NotFoundError` when there is no such thread."""
    row = session.execute(
        sa.select(Conversation, Identity)
        .join(Identity, Identity.id == Conversation.identity_id)
        .where(Conversation.id == thread_id)
    ).first()
    if row is None:
        raise NotFoundError(f"no thread {thread_id}")
    return row


def cached_messages(session: Session, conv: Conversation) -> list[Message]:
    """A thread's cached messages, oldest first."""
    return list(
        session.scalars(
            sa.select(Message)
            .where(Message.conversation_id == conv.id)
            .order_by(sa.func.coalesce(Message.sent_at, conv.synced_at), Message.id)
        )
    )


def _load_messages(
    session: Session, client: EdgesClient, conv: Conversation, identity: Identity
) -> None:
    """Read the thread with extract-messages and cache what is new."""
    ref = conv.thread_url or conv.thread_id
    known = set(
        session.scalars(sa.select(Message.message_id).where(Message.conversation_id == conv.id))
    )
    for position, m in enumerate(client.extract_messages(identity.uid, ref)):
        key = m.message_id or f"{m.linkedin_thread_id or conv.thread_id}:{m.position or position}"
        if key in known:
            continue
        known.add(key)
        session.add(
            Message(
                conversation_id=conv.id,
                message_id=key,
                sender_profile_id=None
                if m.linkedin_profile_id is None
                else str(m.linkedin_profile_id),
                text=m.content,
                sent_at=m.delivered_at or m.created_at,
            )
        )
    session.flush()


def open_thread(
    session: Session,
    *,
    thread_id: int,
    client_factory: Callable[[], Any] | None,
    settings: Settings,
    refresh: bool = False,
) -> ThreadDetail:
    """A thread's messages: from the cache when it is current, else read with extract-messages.

    Opening a thread marks it read (locally: LinkedIn is not told). Commits.
    """
    conv, identity = conversation(session, thread_id)
    cached = cached_messages(session, conv)
    newest = max((m.sent_at for m in cached if m.sent_at is not None), default=None)
    stale = (
        refresh
        or not cached
        or (conv.last_message_at is not None and (newest is None or newest < conv.last_message_at))
    )
    loaded_from = "cache"
    if stale:
        with edges_client(client_factory, settings) as client:
            _load_messages(session, client, conv, identity)
        cached = cached_messages(session, conv)
        loaded_from = "edges"
    conv.unread = False
    session.commit()
    return thread_detail(session, conv, identity, cached, loaded_from)


def thread_detail(
    session: Session,
    conv: Conversation,
    identity: Identity,
    messages: Sequence[Message],
    loaded_from: str,
) -> ThreadDetail:
    """A thread's rows and messages as the reply form needs them (with a fresh token)."""
    row = _thread_rows(session, [(conv, identity.name)])[0]
    views = [
        MessageView(
            id=m.message_id,
            from_identity=m.sender_profile_id is not None
            and m.sender_profile_id == identity.linkedin_profile_id,
            text=m.text,
            sent_at=m.sent_at,
        )
        for m in messages
    ]
    seen = max(
        [t for t in (conv.last_message_at, *(m.sent_at for m in messages)) if t is not None],
        default=None,
    )
    return ThreadDetail(
        thread=row,
        messages=views,
        seen_at=seen,
        reply_token=secrets.token_urlsafe(12),
        loaded_from=loaded_from,
    )


def lead_of(session: Session, conv: Conversation) -> Lead | None:
    """The lead a thread is with (by profile id or URL), if that person is a lead."""
    key = PersonKey(conv.participant_profile_id, conv.participant_profile_url)
    return leads_for(session, [key]).get(key)


def thread_of_lead(session: Session, *, lead_id: int) -> int | None:
    """The newest thread with a lead, if any."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        return None
    conds = [Conversation.participant_profile_url == lead.profile_url]
    if lead.linkedin_profile_id:
        conds.append(Conversation.participant_profile_id == lead.linkedin_profile_id)
    return session.scalars(
        sa.select(Conversation.id)
        .where(sa.or_(*conds))
        .order_by(Conversation.last_message_at.desc().nulls_last())
        .limit(1)
    ).first()


def lead_of_thread(session: Session, *, thread_id: int) -> int | None:
    """The lead a thread is with, if that person is a lead."""
    conv, _ = conversation(session, thread_id)
    lead = lead_of(session, conv)
    return lead.id if lead is not None else None
