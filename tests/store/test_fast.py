"""`linkseq.store.fast`: a built-once statement run on SQLite's driver gives what SQLAlchemy gives.

Each of the engine's statements that goes through it is run both ways on the same data: the
rows (values converted by the same types: aware UTC datetimes, enum members, JSON, booleans),
the rows an UPDATE matched, an INSERT's key, SQLAlchemy's errors, the transaction it joins.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from linkseq.engine import memo, outbox, planner, quotas, runner, sync
from linkseq.engine.transitions import _AUDIT
from linkseq.leads import dnc
from linkseq.planning.quota import Action
from linkseq.store import build_engine, fast, session_factory, upgrade
from linkseq.store.enums import ActionKind, ActionStatus, CampaignStatus, EnrollmentState
from linkseq.store.leases import _CLAIM_FIRST, _RELEASE, ensure_lease_rows
from linkseq.store.models import AuditEvent, DoNotContact, Enrollment, OutboxAction, WorkerLease
from tests.store.factories import (
    T0,
    add_campaign,
    add_enrollment,
    add_identity,
    add_lead,
    add_sent,
)

_STATES = [EnrollmentState.READY, EnrollmentState.NEW, EnrollmentState.INVITED]


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """A database with two identities, a campaign, enrollments in several states and due
    times, sends of every kind and status, audit rows and a do-not-contact entry."""
    make = session_factory(engine)
    with make() as session:
        alice, bob = add_identity(session, "alice"), add_identity(session, "bob")
        campaign = add_campaign(session, identities=(alice, bob))
        campaign.status = CampaignStatus.ACTIVE
        for i in range(24):
            lead = add_lead(session, f"lead-{i}", timezone="Europe/Paris" if i % 3 else None)
            add_enrollment(
                session,
                campaign=campaign,
                lead=lead,
                identity=alice if i % 2 else bob,
                state=_STATES[i % 3],
                next_action_at=T0 + timedelta(hours=i - 12) if i % 5 else None,
            )
        session.flush()
        enrollments = session.scalars(sa.select(Enrollment.id)).all()
        kinds = list(ActionKind)
        for i in range(40):
            row = add_sent(
                session,
                identity_id=alice.id if i % 3 else bob.id,
                kind=kinds[i % len(kinds)],
                at=T0 - timedelta(hours=5 * i),
                key=f"k{i}",
                enrollment_id=enrollments[i % len(enrollments)] if i % 4 else None,
            )
            if i % 7 == 0:
                row.status, row.sent_at = ActionStatus.SENDING, None
            elif i % 11 == 0:
                row.status = ActionStatus.FAILED
        for i, eid in enumerate(enrollments[:10]):
            session.add(
                AuditEvent(
                    enrollment_id=eid,
                    from_state="ready",
                    to_state="replied" if i % 2 else "connected",
                    reason="r",
                    at=T0,
                    details={"i": i},
                )
            )
        session.add(DoNotContact(profile_url="https://www.linkedin.com/in/lead-3", created_at=T0))
        session.commit()
    return make


def _slow(session: Session, statement: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in session.connection().execute(statement, params)]


_HAS_DUE = sa.select(
    sa.exists().where(
        Enrollment.identity_id == sa.bindparam("identity_id"),
        Enrollment.state == EnrollmentState.READY,
        Enrollment.next_action_at <= sa.bindparam("until"),
        Enrollment.campaign_id.in_(sa.bindparam("campaigns", expanding=True)),
    )
)


def _reads(until: datetime, ids: list[int], ours: list[int]) -> list[tuple[Any, dict[str, Any]]]:
    """The engine's reads that go through `fast`, with parameters."""
    sends = quotas._sends_of(frozenset(Action))
    messages = quotas._sends_of(frozenset({Action.message}))
    ago = {"connect_ago": until - timedelta(days=7), "daily_ago": until - timedelta(days=1)}
    flight = {**ago, "inmail_ago": until - timedelta(days=31), "flight_ago": ago["connect_ago"]}
    return [
        (planner._DUE, {"identity_id": 1, "until": until, "campaigns": ids, "n": 50}),
        (planner._ACTIVE_CAMPAIGNS, {"identity_id": 1}),
        (_HAS_DUE, {"identity_id": 2, "until": until, "campaigns": ids}),
        (sends, {"ids": [1, 2], **flight}),
        (messages, {"ids": [1], **flight}),
        (
            memo._CHANGED,
            {"outbox": 3, "audit": 2, "identity_id": 1, "ours": ours, "sent_to": ours},
        ),
        (memo._HIGH_WATER, {}),
        (runner._NEXT_WAKE, {}),
        (runner._LATER_STEPS, {"identity_id": 1, "campaigns": ids, "now": T0, "before": until}),
        (dnc._BY_URL, {"url": "https://www.linkedin.com/in/lead-3"}),
        (outbox._HOLD_TIMES, {"identity_id": 1, "now": until}),
        (sync._INVITED, {"identity_id": 1}),
        (sync._PENDING_CACHED, {"identity_id": 2}),
        (sync._CONNECTS_SINCE, {"identity_id": 1, "since": until - timedelta(days=3)}),
    ]


def test_every_read_gives_what_sqlalchemy_gives(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        ensure_lease_rows(session)
        for statement, params in _reads(T0 + timedelta(hours=3), [1], [1, 2]):
            assert fast.rows(session, statement, params) == _slow(session, statement, params)
        # not vacuous: the reads found rows, converted as SQLAlchemy converts them
        due = fast.rows(session, planner._DUE, _reads(T0 + timedelta(days=1), [1], [])[0][1])
        assert due
        assert all(row[4].tzinfo is UTC for row in due)
        sent = fast.rows(session, *_reads(T0, [1], [])[3])
        assert {row[1] for row in sent} >= {ActionKind.VISIT, ActionKind.CONNECT}
        assert all(isinstance(row[2], ActionStatus) for row in sent)
        changed, params = _reads(T0, [1], [])[5]
        probes = {fast.rows(session, changed, {**params, "identity_id": i})[0] for i in (1, 2)}
        assert probes == {(True, True), (True, False)}  # a lead came into alice's or bob's


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    hours=st.integers(min_value=-48, max_value=48),
    ids=st.lists(st.integers(min_value=0, max_value=3), max_size=4),
    ours=st.lists(st.integers(min_value=0, max_value=50), max_size=6),
)
def test_reads_agree_for_any_time_and_any_lists(
    sessions: sessionmaker[Session], hours: int, ids: list[int], ours: list[int]
) -> None:
    """Expanding lists of any length (empty ones too) and any instant."""
    with sessions() as session:
        for statement, params in _reads(T0 + timedelta(hours=hours), ids, ours):
            assert fast.rows(session, statement, params) == _slow(session, statement, params)


def test_writes_match_and_join_the_transaction(sessions: sessionmaker[Session]) -> None:
    values = {
        "enrollment_id": None,
        "lead_id": None,
        "from_state": "ready",
        "to_state": "visited",
        "reason": "fast",
        "at": T0,
        "details": {"step": "visit", "n": [1, 2]},
    }
    with sessions() as session:
        key = fast.insert(session, _AUDIT, values)
        row = session.get(AuditEvent, key)
        assert row is not None
        assert (row.to_state, row.at, row.details) == ("visited", T0, values["details"])
        session.rollback()  # the INSERT ran in the session's transaction: it goes with it
        assert session.get(AuditEvent, key) is None
    with sessions() as session:
        ensure_lease_rows(session)
        params = {"now": T0, "b_owner": "w1", "until": T0 + timedelta(minutes=10)}
        claimed = fast.scalar(session, _CLAIM_FIRST, params)
        assert claimed is not None
        released = {"id": claimed, "b_owner": "w1", "until": T0}
        assert fast.execute(session, _RELEASE, released) == 1
        assert fast.execute(session, _RELEASE, {**released, "b_owner": "w2"}) == 0
        session.commit()


def test_a_refused_write_raises_sqlalchemys_error(sessions: sessionmaker[Session]) -> None:
    from linkseq.engine.outbox import _INSERT

    with sessions() as session:
        existing = session.scalars(sa.select(OutboxAction)).first()
        assert existing is not None
        values = {
            "enrollment_id": existing.enrollment_id,
            "identity_id": existing.identity_id,
            "step_id": "s",
            "kind": ActionKind.VISIT,
            "idempotency_key": existing.idempotency_key,  # UNIQUE
            "status": ActionStatus.SENDING,
            "request": {},
            "error_label": None,
            "run_uid": None,
            "attempts": 1,
            "sent_at": None,
            "created_at": T0,
            "updated_at": T0,
        }
        with pytest.raises(sa.exc.IntegrityError):
            fast.insert(session, _INSERT, values)


def test_a_watched_connection_runs_through_sqlalchemy(
    sessions: sessionmaker[Session], engine: Engine
) -> None:
    """A `before_cursor_execute` listener sees every statement (tests count them, `echo` logs
    them): while one listens, the statements go through SQLAlchemy."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        with sessions() as session:
            fast.rows(session, memo._HIGH_WATER, {})
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert any("max(outbox_actions.id)" in statement for statement in seen)


def test_a_session_read_sees_its_pending_changes(sessions: sessionmaker[Session]) -> None:
    """As a session's own statement does: what it holds is flushed first (unless asked not)."""
    with sessions() as session:
        enrollment = session.scalars(
            sa.select(Enrollment).where(Enrollment.state == EnrollmentState.READY)
        ).first()
        assert enrollment is not None
        enrollment.next_action_at = datetime(2000, 1, 1, tzinfo=UTC)
        found = fast.rows(
            session,
            sa.select(Enrollment.id).where(Enrollment.next_action_at < T0 - timedelta(days=365)),
            {},
        )
        assert found == [(enrollment.id,)]


def test_sqlite_reads_go_straight_to_the_driver(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not vacuous: on SQLite (nobody watching) SQLAlchemy's execution is not used at all."""
    with session_factory(sqlite_engine)() as session:
        session.connection()  # the transaction begins (its BEGIN is a driver call too)

        def refuse(*_: Any, **__: Any) -> None:
            raise AssertionError("went through SQLAlchemy's execution")

        monkeypatch.setattr(sa.Connection, "execute", refuse)
        assert fast.rows(session, memo._HIGH_WATER, {}) == [(None, None)]


def test_an_update_given_a_column_it_does_not_set_sets_it_as_sqlalchemy_does(
    sessions: sessionmaker[Session],
) -> None:
    """SQLAlchemy adds a parameter named like a column to an UPDATE's SET: so does `fast` (it
    lets SQLAlchemy run such a call)."""
    statement = (
        sa.update(WorkerLease)
        .where(WorkerLease.identity_id == sa.bindparam("b_id"))
        .values(owner=sa.bindparam("b_owner"))
    )
    until = T0 + timedelta(hours=2)
    with sessions() as session:
        ensure_lease_rows(session)
        params = {"b_id": 1, "b_owner": "w9", "expires_at": until}
        assert fast.execute(session, statement, params) == 1
        row = session.get(WorkerLease, 1)
        assert row is not None
        session.refresh(row)
        assert (row.owner, row.expires_at) == ("w9", until)


def test_a_locked_database_raises_sqlalchemys_error(tmp_path: Any) -> None:
    """The BEGIN IMMEDIATE that waits for another writer and gives up is SQLAlchemy's
    `OperationalError` (the CLI tells a locked database from a bug by it)."""
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    upgrade(build_engine(url))
    engine = build_engine(url, busy_timeout_ms=20)
    try:
        with engine.connect() as holder, engine.connect() as other:
            holder.begin()  # BEGIN IMMEDIATE: the write lock, held
            with pytest.raises(sa.exc.OperationalError):
                other.begin()
    finally:
        engine.dispose()
