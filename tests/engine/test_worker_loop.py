"""The worker's loop around the passes: its claims, its lease rows and the wake it reports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from linkseq.store.enums import IdentityLevel
from linkseq.store.leases import ensure_lease_rows
from linkseq.store.models import Identity, WorkerLease
from tests.engine.harness import NO_NETWORK, Harness, campaign_spec, person


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(
        f"sqlite:///{tmp_path / 'loop.db'}",
        persons=[person(f"p{i:02d}") for i in range(20)],
        campaigns=[campaign_spec(steps=[{"id": "look", "type": "visit"}])],
    )
    yield h
    h.close()


def _add_identity(h: Harness, name: str) -> int:
    now = h.clock.now()
    uid = h.sandbox.add_identity(name=name, timezone="Europe/London", network=NO_NETWORK)
    with h.sessions() as session:
        identity = Identity(
            uid=uid,
            name=name,
            timezone="Europe/London",
            is_engagement=True,
            level=IdentityLevel.CLASSIC,
            created_at=now,
            updated_at=now,
        )
        session.add(identity)
        session.commit()
        return identity.id


def _leases(h: Harness) -> dict[int, object]:
    with h.sessions() as session:
        rows = session.execute(sa.select(WorkerLease.identity_id, WorkerLease.expires_at))
        return {row[0]: row[1] for row in rows}


def test_an_identity_added_between_runs_is_worked_at_the_next_run(harness: Harness) -> None:
    report = harness.run_once()
    assert report.wake_read
    assert report.next_wake is not None
    assert report.next_wake > harness.clock.now()
    added = _add_identity(harness, "bob")
    assert added not in _leases(harness)
    # the next run (no other read in between: the worker takes the wake from the report)
    report = harness.run_once()
    assert [r.identity for r in report.identities] == ["bob"]
    assert added in _leases(harness)
    # bob has no campaign: both identities now wait, and the wake says until when
    assert report.next_wake is not None
    assert report.next_wake > harness.clock.now()


def test_a_lease_row_missing_or_never_claimed_wakes_the_worker_now(harness: Harness) -> None:
    harness.run_once()
    later = harness.engine.next_wake()
    assert later is not None
    assert later > harness.clock.now()
    _add_identity(harness, "carol")  # no lease row yet
    assert harness.engine.next_wake() == harness.clock.now()
    with harness.sessions() as session:  # a row made, never claimed (no time)
        ensure_lease_rows(session)
    assert harness.engine.next_wake() == harness.clock.now()


def test_after_its_pass_a_run_makes_no_claim_that_finds_nothing(harness: Harness) -> None:
    statements: list[str] = []

    @sa.event.listens_for(harness.db, "before_cursor_execute")
    def record(conn, cursor, statement, params, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()))

    report = harness.run_once()
    assert [r.identity for r in report.identities] == ["alice"]
    leases = [s for s in statements if s.startswith("UPDATE worker_leases SET owner=?")]
    claims = [s for s in leases if "identity_id = (SELECT" in s]
    releases = [s for s in leases if "identity_id = ? AND worker_leases.owner = ?" in s]
    # the one claim that found alice; her release, then the wake read says no lease is free
    assert len(claims) == 1
    assert len(releases) == 1
    assert report.wake_read
    assert report.next_wake is not None
    assert report.next_wake > harness.clock.now()


def test_a_pass_refuses_a_connection_already_in_a_transaction(harness: Harness) -> None:
    """The pass's commits (the outbox's intent before each call) must be commits: on a
    connection in someone's transaction its session would only join it."""
    with harness.sessions() as session:
        identity_id = session.scalars(sa.select(Identity.id)).one()
    with harness.db.connect() as connection:
        connection.execute(sa.select(1))  # a transaction begins
        with pytest.raises(ValueError, match="outside any transaction"):
            harness.engine.work(identity_id, connection=connection)
    assert not harness.calls("linkedin-visit-profile")  # nothing was sent meanwhile
