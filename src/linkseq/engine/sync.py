"""Reading LinkedIn state into the caches, and advancing the leads it concerns (guide §8, §14).

- Connections (`extract-connections`, incremental after the first full sync): a lead that
  appears there was accepted: `invited` → `connected`, its first message becomes due.
- Conversations (`extract-conversations` with the `last_message` optimisation): a thread whose last
  message is not from the identity is a reply → `replied`, whatever the enrollment's state (a
  late reply after the sequence ended is recorded too; a `new` lead who wrote first is `replied`).
- Sent invitations: what is pending, for admission (§10) and for withdrawing stale invitations.

The `apply_*` functions take rows already fetched (live, or from an async run's callback) so the
same code serves the live pass and the webhook receiver. The caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from linkseq.edges import Connection as EdgesConnection
from linkseq.edges import Conversation as EdgesConversation
from linkseq.edges import EdgesClient
from linkseq.edges import SentInvitation as EdgesSentInvitation
from linkseq.engine.lifecycle import Event, State
from linkseq.engine.people import PersonKey, canonical_url, leads_for
from linkseq.engine.quotas import COUNTED
from linkseq.engine.steps import after_acceptance, load_spec, next_due
from linkseq.engine.transitions import apply_event
from linkseq.store import fast
from linkseq.store.enums import ActionKind, EnrollmentState, SyncKind
from linkseq.store.models import (
    Campaign,
    Connection,
    Conversation,
    Enrollment,
    Identity,
    Lead,
    OutboxAction,
    SentInvitation,
    SyncState,
)

__all__ = [
    "advance_synced",
    "apply_connections",
    "apply_conversations",
    "apply_sent_invitations",
    "connect_lead",
    "ensure_profile_id",
    "hold_sync_rows",
    "last_synced",
    "mark_synced",
    "pending_invitations",
    "put_sync_row",
    "sync_connections",
    "sync_conversations",
    "sync_row",
    "sync_sent_invitations",
]

_MARGIN = timedelta(minutes=10)
_NOT_REPLYABLE = {EnrollmentState.REPLIED, EnrollmentState.SKIPPED, EnrollmentState.FAILED}


def _str(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


_SYNC_ROWS = sa.select(SyncState).where(SyncState.identity_id == sa.bindparam("identity_id"))


def _sync_rows(session: Session, identity_id: int) -> dict[SyncKind, SyncState]:
    """The identity's sync_state rows, read once per session and held (the identity map is weak,
    and a missing row would otherwise cost a query at every look)."""
    cache: dict[int, dict[SyncKind, SyncState]] = session.info.setdefault("linkseq.sync", {})
    rows = cache.get(identity_id)
    if rows is None:
        rows = {row.kind: row for row in session.scalars(_SYNC_ROWS, {"identity_id": identity_id})}
        cache[identity_id] = rows
    return rows


def hold_sync_rows(session: Session, identity_id: int, rows: Iterable[SyncState]) -> None:
    """Hold the identity's sync_state rows, read by the caller with another query (every one
    of them), so that the session does not read them again."""
    cache: dict[int, dict[SyncKind, SyncState]] = session.info.setdefault("linkseq.sync", {})
    cache[identity_id] = {row.kind: row for row in rows}


def sync_row(session: Session, identity_id: int, kind: SyncKind) -> SyncState | None:
    """The sync_state row of `kind` for the identity, if any."""
    return _sync_rows(session, identity_id).get(kind)


def put_sync_row(
    session: Session, identity_id: int, kind: SyncKind, now: datetime, cursor: str | None = None
) -> SyncState:
    """Record a sync of `kind` at `now` (and its cursor), creating the row when needed."""
    rows = _sync_rows(session, identity_id)
    row = rows.get(kind)
    if row is None:
        row = SyncState(identity_id=identity_id, kind=kind, last_synced_at=now, cursor=cursor)
        session.add(row)
        rows[kind] = row
    else:
        row.last_synced_at = now
        if cursor is not None:
            row.cursor = cursor
    return row


def last_synced(session: Session, identity_id: int, kind: SyncKind) -> datetime | None:
    """When `kind` was last synced for the identity (None: never)."""
    row = sync_row(session, identity_id, kind)
    return row.last_synced_at if row is not None else None


def mark_synced(session: Session, identity_id: int, kind: SyncKind, now: datetime) -> None:
    """Record that `kind` was synced for the identity at `now`."""
    put_sync_row(session, identity_id, kind, now)


_SYNC: sa.Table = SyncState.__table__  # type: ignore[assignment]
_NOW = sa.bindparam("at", type_=_SYNC.c.last_synced_at.type)
_ADVANCE_SYNC = (
    sa.update(_SYNC)
    .where(
        _SYNC.c.identity_id == sa.bindparam("of"),
        _SYNC.c.kind == sa.bindparam("what"),
        sa.or_(_SYNC.c.last_synced_at.is_(None), _SYNC.c.last_synced_at < _NOW),
    )
    .values(last_synced_at=_NOW)
)
_SYNC_EXISTS = sa.select(_SYNC.c.identity_id).where(
    _SYNC.c.identity_id == sa.bindparam("of"), _SYNC.c.kind == sa.bindparam("what")
)


def advance_synced(session: Session, identity_id: int, kind: SyncKind, now: datetime) -> None:
    """Record a sync of `kind` at `now` unless a later one is recorded (a late callback)."""
    held = identity_key(SyncState, (identity_id, kind)) in session.identity_map
    if held or identity_id in session.info.get("linkseq.sync", {}):
        last = last_synced(session, identity_id, kind)  # the rows the session holds
        if last is None or last < now:
            mark_synced(session, identity_id, kind, now)
        return
    # the usual case (a webhook batch): one UPDATE, no row loaded
    connection = _connection(session)
    params = {"of": identity_id, "what": kind, "at": now}
    advanced = connection.execute(_ADVANCE_SYNC, params).rowcount
    if not advanced and connection.execute(_SYNC_EXISTS, params).first() is None:
        connection.execute(
            sa.insert(_SYNC), {"identity_id": identity_id, "kind": kind, "last_synced_at": now}
        )


def ensure_profile_id(
    session: Session, client: EdgesClient, identity: Identity, *, now: datetime
) -> str:
    """The identity's own LinkedIn profile id (linkedin-me, guide §3), fetched once."""
    if identity.linkedin_profile_id is None:
        me = client.me(identity.uid)
        if me.linkedin_profile_id is None:
            raise RuntimeError(f"linkedin-me gave no profile id for identity {identity.name!r}")
        identity.linkedin_profile_id = str(me.linkedin_profile_id)
        mark_synced(session, identity.id, SyncKind.PROFILE, now)
    if identity.first_sync_at is None:
        identity.first_sync_at = now  # day 1 of the Smart Limits ramp-up
    return identity.linkedin_profile_id


def connect_lead(
    session: Session, enrollment: Enrollment, event: Event, *, now: datetime, reason: str
) -> None:
    """Move an enrollment to `connected` and make its first message due (or complete it)."""
    steps = load_spec(enrollment.campaign_id, _spec_json(session, enrollment.campaign_id)).steps
    apply_event(session, enrollment, event, now=now, reason=reason)
    enrollment.step_index = after_acceptance(steps, enrollment.step_index)
    due = next_due(steps, enrollment.step_index, now)
    if due is None:
        apply_event(session, enrollment, Event.last_step_done, now=now, reason="no steps left")
        enrollment.next_action_at = None
    else:
        enrollment.next_action_at = due
        enrollment.current_step_id = steps[enrollment.step_index].id


def _spec_json(session: Session, campaign_id: int) -> dict[str, object]:
    campaign = session.get(Campaign, campaign_id)
    return campaign.spec if campaign is not None else {}


# --- the caches, written with bulk statements (a sync brings hundreds of rows at a time) -----

_CONNECTIONS: sa.Table = Connection.__table__  # type: ignore[assignment]
_THREADS: sa.Table = Conversation.__table__  # type: ignore[assignment]
_KNOWN_CONNECTIONS = sa.select(_CONNECTIONS.c.linkedin_profile_id).where(
    _CONNECTIONS.c.identity_id == sa.bindparam("identity_id"),
    _CONNECTIONS.c.linkedin_profile_id.in_(sa.bindparam("ids", expanding=True)),
)
_INSERT_CONNECTION = sa.insert(_CONNECTIONS)
# the identity's enrollments of leads a sync saw: those an acceptance moves, those a reply stops
_OF_LEADS = sa.select(Enrollment).where(
    Enrollment.identity_id == sa.bindparam("identity_id"),
    Enrollment.lead_id.in_(sa.bindparam("leads", expanding=True)),
)
_CONNECTABLE = _OF_LEADS.where(
    Enrollment.state.in_([EnrollmentState.INVITED, EnrollmentState.READY])
)
_REPLYABLE = _OF_LEADS.where(Enrollment.state.not_in(sorted(_NOT_REPLYABLE)))
_CACHED_THREADS = sa.select(_THREADS.c.id, _THREADS.c.thread_id, _THREADS.c.received_count).where(
    _THREADS.c.identity_id == sa.bindparam("identity_id"),
    _THREADS.c.thread_id.in_(sa.bindparam("threads", expanding=True)),
)
_INSERT_THREAD = sa.insert(_THREADS)
_UPDATE_THREAD = sa.update(_THREADS).where(_THREADS.c.id == sa.bindparam("row_id"))


def _connection(session: Session) -> sa.Connection:
    """The session's connection, its pending ORM changes flushed first (statements below
    bypass the unit of work: one executemany instead of an object per row)."""
    session.flush()
    return session.connection()


def _cache_threads(
    session: Session,
    identity_id: int,
    threads: Mapping[str, tuple[PersonKey, EdgesConversation]],
    now: datetime,
) -> set[str]:
    """Insert or update the cached threads; those whose participant wrote since last seen."""
    connection = _connection(session)
    cached = {
        row.thread_id: row
        for row in connection.execute(
            _CACHED_THREADS, {"identity_id": identity_id, "threads": list(threads)}
        )
    }
    risen: set[str] = set()
    new: list[dict[str, object]] = []
    changed: list[dict[str, object]] = []
    for thread_id, (key, conv) in threads.items():
        last = conv.last_message
        values: dict[str, object] = {
            "thread_url": conv.linkedin_thread_url,
            "participant_profile_id": key.profile_id,
            "participant_profile_url": key.url,
            "last_message_sender_id": _str(last.linkedin_profile_id) if last else None,
            "last_message_at": (last.delivered_at if last else None) or conv.last_activity_at,
            "last_message_text": last.content if last else None,
            "unread": bool(conv.unread_count) or conv.read is False,
            "received_count": conv.total_received_messages,
            "synced_at": now,
        }
        old = cached.get(thread_id)
        if old is None:
            new.append({"identity_id": identity_id, "thread_id": thread_id, **values})
            continue
        received = conv.total_received_messages
        if received is None:
            values["received_count"] = old.received_count
        elif old.received_count is not None and received > old.received_count:
            risen.add(thread_id)
        changed.append({"row_id": old.id, **values})
    if new:
        connection.execute(_INSERT_THREAD, new)
    if changed:
        connection.execute(_UPDATE_THREAD, changed)
        for values in changed:  # rows the session may hold: read again when next used
            held = session.identity_map.get(identity_key(Conversation, values["row_id"]))
            if held is not None:
                session.expire(held)
    return risen


# --- connections -----------------------------------------------------------------------------


def apply_connections(
    session: Session, *, identity: Identity, rows: Iterable[EdgesConnection], now: datetime
) -> int:
    """Cache connections and move accepted leads to `connected`; how many leads moved."""
    people: dict[PersonKey, EdgesConnection] = {}
    for row in rows:
        key = PersonKey(_str(row.linkedin_profile_id), canonical_url(row.linkedin_profile_url))
        if key.profile_id is not None:
            people[key] = row
    if not people:
        return 0
    connection = _connection(session)
    known = set(
        connection.execute(
            _KNOWN_CONNECTIONS,
            {"identity_id": identity.id, "ids": list({k.profile_id for k in people})},
        ).scalars()
    )
    new: dict[str | None, dict[str, object]] = {}
    for key, row in people.items():
        if key.profile_id not in known and key.profile_id not in new:
            new[key.profile_id] = {
                "identity_id": identity.id,
                "linkedin_profile_id": key.profile_id,
                "profile_url": key.url,
                "full_name": row.full_name,
                "connected_at": row.connected_at,
                "seen_at": now,
            }
    if new:
        connection.execute(_INSERT_CONNECTION, list(new.values()))
    moved = 0
    leads = leads_for(session, people)
    if not leads:
        return 0
    enrollments = session.scalars(
        _CONNECTABLE,
        {"identity_id": identity.id, "leads": sorted(lead.id for lead in leads.values())},
    ).all()
    for enrollment in enrollments:
        if enrollment.state is EnrollmentState.INVITED:
            connect_lead(session, enrollment, Event.accepted, now=now, reason="invitation accepted")
        else:
            connect_lead(
                session, enrollment, Event.already_connected, now=now, reason="already connected"
            )
        moved += 1
    return moved


def sync_connections(
    session: Session, client: EdgesClient, identity: Identity, *, now: datetime
) -> int:
    """Fetch connections (incremental after the first sync), apply them; leads moved."""
    incremental = last_synced(session, identity.id, SyncKind.CONNECTIONS) is not None
    rows = list(client.extract_connections(identity.uid, incremental=incremental))
    moved = apply_connections(session, identity=identity, rows=rows, now=now)
    mark_synced(session, identity.id, SyncKind.CONNECTIONS, now)
    return moved


# --- conversations ---------------------------------------------------------------------------


def apply_conversations(
    session: Session, *, identity: Identity, rows: Iterable[EdgesConversation], now: datetime
) -> int:
    """Cache threads and stop the leads who wrote (guide §8); how many leads moved to replied."""
    me = identity.linkedin_profile_id
    threads: dict[str, tuple[PersonKey, EdgesConversation]] = {}
    for conv in rows:
        if not conv.linkedin_thread_id:
            continue
        other = next(
            (p for p in conv.participants if _str(p.linkedin_profile_id) != me),
            None,
        )
        if other is None:
            continue
        key = PersonKey(_str(other.linkedin_profile_id), canonical_url(other.linkedin_profile_url))
        threads[conv.linkedin_thread_id] = (key, conv)
    if not threads:
        return 0
    risen = _cache_threads(session, identity.id, threads, now)
    wrote = {
        key: conv
        for thread_id, (key, conv) in threads.items()
        if thread_id in risen
        or (
            conv.last_message is not None
            and conv.last_message.linkedin_profile_id is not None
            and _str(conv.last_message.linkedin_profile_id) != me
        )
    }
    if not wrote:
        return 0
    leads = leads_for(session, wrote)
    if not leads:
        return 0
    enrollments = session.scalars(
        _REPLYABLE,
        {"identity_id": identity.id, "leads": sorted(lead.id for lead in leads.values())},
    ).all()
    for enrollment in enrollments:
        first = enrollment.state is EnrollmentState.NEW
        event = Event.lead_wrote_first if first else Event.replied
        late = State(enrollment.state.value) in {State.completed, State.withdrawn}
        reason = "lead wrote first" if first else ("late reply" if late else "lead replied")
        apply_event(session, enrollment, event, now=now, reason=reason)
        enrollment.next_action_at = None
    return len(enrollments)


def sync_conversations(
    session: Session, client: EdgesClient, identity: Identity, *, now: datetime
) -> int:
    """Fetch the conversations active since the last sync and apply them; leads who replied.

    The listing is newest first, so paging stops at the first thread untouched since the last
    sync (with a margin): a sync costs one page in the usual case, not the whole inbox.
    """
    since = last_synced(session, identity.id, SyncKind.CONVERSATIONS)
    rows: list[EdgesConversation] = []
    for conv in client.extract_conversations(identity.uid):
        rows.append(conv)
        activity = conv.last_activity_at
        if since is not None and activity is not None and activity < since - _MARGIN:
            break
    replied = apply_conversations(session, identity=identity, rows=rows, now=now)
    mark_synced(session, identity.id, SyncKind.CONVERSATIONS, now)
    return replied


# --- sent invitations ------------------------------------------------------------------------


def apply_sent_invitations(
    session: Session, *, identity: Identity, rows: Iterable[EdgesSentInvitation], now: datetime
) -> int:
    """Cache the identity's pending invitations; those no longer listed are marked gone."""
    seen: dict[str, EdgesSentInvitation] = {
        r.linkedin_invitation_urn: r for r in rows if r.linkedin_invitation_urn
    }
    cached = {
        s.invitation_urn: s
        for s in session.scalars(
            sa.select(SentInvitation).where(
                SentInvitation.identity_id == identity.id, SentInvitation.withdrawn_at.is_(None)
            )
        )
    }
    for urn, row in seen.items():
        entry = cached.get(urn)
        if entry is None:
            session.add(
                SentInvitation(
                    identity_id=identity.id,
                    invitation_id=row.linkedin_invitation_id,
                    invitation_urn=urn,
                    linkedin_profile_id=_str(row.linkedin_profile_id),
                    profile_url=canonical_url(row.linkedin_profile_url),
                    sent_at=row.sent_date,
                    seen_at=now,
                )
            )
        else:
            entry.seen_at = now
    for urn, entry in cached.items():
        if urn not in seen:
            entry.withdrawn_at = now  # accepted, declined or withdrawn: no longer pending
    return len(seen)


def sync_sent_invitations(
    session: Session, client: EdgesClient, identity: Identity, *, now: datetime
) -> int:
    """Fetch the pending invitations and cache them; how many are pending."""
    rows = list(client.extract_sent_invitations(identity.uid))
    count = apply_sent_invitations(session, identity=identity, rows=rows, now=now)
    mark_synced(session, identity.id, SyncKind.SENT_INVITATIONS, now)
    return count


# `pending_invitations`: the invitations the sent-invitations cache holds pending, those sent
# since it was synced, and the enrollments invited (before a first sync)
def _connected(
    identity_id: Any, profile_id: Any, profile_url: Any, since: Any
) -> sa.ColumnElement[bool]:
    """A connection of the identity with this profile id or URL, first seen at or after `since`
    (one seen before is no answer to a later invitation: a former connection invited again).
    Two probes, each a search of one index (one OR inside a single probe scans every
    connection of the identity)."""
    return sa.or_(
        sa.exists().where(
            Connection.identity_id == identity_id,
            Connection.linkedin_profile_id == profile_id,
            Connection.seen_at >= since,
        ),
        sa.exists().where(
            Connection.profile_url == profile_url,
            # (read as an expression: the planner searches the URL's index, not the identity's)
            Connection.identity_id + 0 == identity_id,
            Connection.seen_at >= since,
        ),
    )


# an invitation of the cache (pending when a sync saw it) the connections sync has seen
# accepted since is no longer pending
_ACCEPTED = _connected(
    SentInvitation.identity_id,
    SentInvitation.linkedin_profile_id,
    SentInvitation.profile_url,
    SentInvitation.seen_at,
)
_PENDING_CACHED = sa.select(sa.func.count()).where(
    SentInvitation.identity_id == sa.bindparam("identity_id"),
    SentInvitation.withdrawn_at.is_(None),
    ~_ACCEPTED,
)
# an invitation sent since is pending until its lead is seen connected (a connection of the
# identity seen since it was sent, or the lead moved on as connected); one withdrawn since
# counts until the next sent-invitations sync says so (a withdrawal can fail or be skipped)
_ANSWERED = (EnrollmentState.CONNECTED, EnrollmentState.MESSAGED)


def _connects_since(*, sent: bool) -> sa.ScalarSelect[int]:
    """Invitations of the identity still pending, sent since `since` (`sent`) or in flight
    since then (no `sent_at` yet, by their intent's time): each a range of the quota index."""
    stamp = OutboxAction.sent_at if sent else OutboxAction.created_at
    return (
        sa.select(sa.func.count())
        .select_from(OutboxAction)
        .outerjoin(Enrollment, Enrollment.id == OutboxAction.enrollment_id)
        .outerjoin(Lead, Lead.id == Enrollment.lead_id)
        .where(
            OutboxAction.identity_id == sa.bindparam("identity_id"),
            OutboxAction.kind == ActionKind.CONNECT,
            OutboxAction.sent_at > sa.bindparam("since")
            if sent
            else OutboxAction.sent_at.is_(None),
            stamp > sa.bindparam("since"),
            OutboxAction.status.in_(COUNTED),
            sa.or_(Enrollment.state.is_(None), Enrollment.state.not_in(_ANSWERED)),
            ~_connected(
                OutboxAction.identity_id, Lead.linkedin_profile_id, Lead.profile_url, stamp
            ),
        )
        .scalar_subquery()
    )


_CONNECTS_SINCE = sa.select(_connects_since(sent=True) + _connects_since(sent=False))
_INVITED = sa.select(sa.func.count()).where(
    Enrollment.identity_id == sa.bindparam("identity_id"),
    Enrollment.state == EnrollmentState.INVITED,
)


def pending_invitations(session: Session, identity_id: int) -> int:
    """Invitations of the identity still pending, from the sent-invitations cache and the
    invitations sent since that cache was last synced (before a first sync: the enrollments
    invited), less those the connections sync has seen accepted since (an identity at the cap
    invites again after an acceptance, not only after the next sent-invitations sync)."""
    since = last_synced(session, identity_id, SyncKind.SENT_INVITATIONS)
    if since is None:
        return int(fast.scalar(session, _INVITED, {"identity_id": identity_id}))
    cached = fast.scalar(session, _PENDING_CACHED, {"identity_id": identity_id})
    sent = fast.scalar(session, _CONNECTS_SINCE, {"identity_id": identity_id, "since": since})
    return max(int(cached), 0) + int(sent)
