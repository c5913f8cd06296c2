"""The LinkedIn caches written with bulk statements: threads, connections and sync times."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.edges import Connection as EdgesConnection
from linkseq.edges import Conversation as EdgesConversation
from linkseq.engine.sync import advance_synced, apply_connections, apply_conversations, sync_row
from linkseq.store.enums import EnrollmentState, SyncKind
from linkseq.store.models import Connection, Conversation, Identity, SyncState
from tests.store.factories import T0, add_campaign, add_enrollment, add_identity, add_lead

ME = "900000001"
LEAD = "777"


def me(session: Session) -> Identity:
    identity = add_identity(session)
    identity.linkedin_profile_id = ME
    session.flush()
    return identity


def thread(
    thread_id: str, *, sender: str = ME, text: str = "hi", received: int | None = None
) -> EdgesConversation:
    row: dict[str, Any] = {
        "linkedin_thread_id": thread_id,
        "linkedin_thread_url": f"https://www.linkedin.com/messaging/thread/{thread_id}/",
        "participants": [{"linkedin_profile_id": ME}, {"linkedin_profile_id": LEAD}],
        "last_message": {"linkedin_profile_id": sender, "content": text},
    }
    if received is not None:
        row["total_received_messages"] = received
    return EdgesConversation.parse(row)


def cached(session: Session) -> dict[str, Conversation]:
    return {c.thread_id: c for c in session.scalars(sa.select(Conversation))}


def test_threads_are_inserted_then_updated_in_place(session: Session) -> None:
    identity = me(session)
    first = [thread("t1", text="first", received=1), thread("t2")]
    assert apply_conversations(session, identity=identity, rows=first, now=T0) == 0
    later = T0 + timedelta(hours=1)
    second = [thread("t1", text="second")]  # no count given: the one known is kept
    assert apply_conversations(session, identity=identity, rows=second, now=later) == 0
    rows = cached(session)
    assert sorted(rows) == ["t1", "t2"]
    assert (rows["t1"].last_message_text, rows["t1"].received_count) == ("second", 1)
    assert (rows["t1"].synced_at, rows["t2"].synced_at) == (later, T0)
    assert rows["t1"].participant_profile_id == LEAD
    assert rows["t1"].last_message_sender_id == ME


def test_a_rise_in_received_messages_is_a_reply_even_behind_our_own_message(
    session: Session,
) -> None:
    identity = me(session)
    campaign = add_campaign(session, identities=(identity,))
    lead = add_lead(session, "replier", linkedin_profile_id=LEAD)
    enrollment = add_enrollment(
        session, campaign=campaign, lead=lead, identity=identity, state=EnrollmentState.MESSAGED
    )
    rows = [thread("t1", received=1)]
    assert apply_conversations(session, identity=identity, rows=rows, now=T0) == 0
    assert enrollment.state is EnrollmentState.MESSAGED
    # the lead wrote, then we answered: our message is the last one, the count rose
    rows = [thread("t1", received=2, text="our answer")]
    later = T0 + timedelta(hours=1)
    assert apply_conversations(session, identity=identity, rows=rows, now=later) == 1
    assert enrollment.state is EnrollmentState.REPLIED


def test_a_thread_the_session_holds_is_read_fresh_after_an_update(session: Session) -> None:
    identity = me(session)
    apply_conversations(session, identity=identity, rows=[thread("t1", text="first")], now=T0)
    held = session.scalars(sa.select(Conversation)).one()
    assert held.last_message_text == "first"
    rows = [thread("t1", text="second")]
    apply_conversations(session, identity=identity, rows=rows, now=T0 + timedelta(hours=1))
    assert held.last_message_text == "second"


def last_synced_at(session: Session, identity_id: int) -> object:
    return session.execute(
        sa.select(SyncState.last_synced_at).where(
            SyncState.identity_id == identity_id, SyncState.kind == SyncKind.CONVERSATIONS
        )
    ).scalar_one()


def test_advance_synced_creates_advances_and_never_moves_back(session: Session) -> None:
    identity = me(session)
    kind = SyncKind.CONVERSATIONS
    advance_synced(session, identity.id, kind, T0)
    assert last_synced_at(session, identity.id) == T0
    advance_synced(session, identity.id, kind, T0 - timedelta(hours=1))  # a late callback
    assert last_synced_at(session, identity.id) == T0
    advance_synced(session, identity.id, kind, T0 + timedelta(hours=1))
    assert last_synced_at(session, identity.id) == T0 + timedelta(hours=1)


def test_advance_synced_keeps_a_row_the_session_holds_in_step(session: Session) -> None:
    identity = me(session)
    kind = SyncKind.CONVERSATIONS
    advance_synced(session, identity.id, kind, T0)
    row = sync_row(session, identity.id, kind)  # the engine's cache now holds the row
    assert row is not None
    advance_synced(session, identity.id, kind, T0 + timedelta(hours=2))
    assert row.last_synced_at == T0 + timedelta(hours=2)
    advance_synced(session, identity.id, kind, T0 + timedelta(hours=1))
    assert row.last_synced_at == T0 + timedelta(hours=2)
    assert last_synced_at(session, identity.id) == T0 + timedelta(hours=2)


def test_connections_are_cached_once_per_person(session: Session) -> None:
    identity = me(session)
    rows = [
        EdgesConnection.parse({"linkedin_profile_id": 1, "linkedin_profile_url": url})
        for url in ("https://www.linkedin.com/in/one", "https://www.linkedin.com/in/one-old")
    ]
    rows.append(EdgesConnection.parse({"linkedin_profile_id": 2, "full_name": "Two"}))
    apply_connections(session, identity=identity, rows=rows, now=T0)
    apply_connections(session, identity=identity, rows=rows, now=T0 + timedelta(hours=1))
    cached_rows = session.scalars(sa.select(Connection).order_by(Connection.id)).all()
    assert [(c.linkedin_profile_id, c.seen_at) for c in cached_rows] == [("1", T0), ("2", T0)]
    assert cached_rows[1].full_name == "Two"
