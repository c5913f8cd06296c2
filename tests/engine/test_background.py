"""Async runs and schedules on the sandbox, their callbacks received by a real server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from linkseq.demo.simulation import Simulation
from linkseq.engine.background import SCHEDULES, Background
from linkseq.engine.config import EngineConfig
from linkseq.store.enums import ActionStatus, EnrollmentState, SyncKind
from linkseq.store.models import (
    BackgroundRun,
    EdgesSchedule,
    Enrollment,
    Identity,
    OutboxAction,
    SyncState,
    WebhookInbox,
)
from tests.web.conftest import World
from tests.web.live import SECRET

__all__ = ["World"]


def _ready(world: World, count: int) -> list[int]:
    now = world.sim.clock.now()
    with world.sim.sessions() as session:
        rows = session.scalars(sa.select(Enrollment).order_by(Enrollment.id).limit(count)).all()
        for row in rows:
            row.state = EnrollmentState.READY
            row.next_action_at = now
        session.commit()
        return [r.id for r in rows]


def test_bulk_visits_run_async_and_each_lead_advances_once(world: World) -> None:
    ids = _ready(world, 5)
    [run_uid] = world.background.start_visits(ids)
    assert world.background.start_visits(ids) == []  # the outbox refuses a second intent
    world.sim.sandbox.advance(by=timedelta(hours=1))
    with world.sim.sessions() as session:
        actions = session.scalars(sa.select(OutboxAction)).all()
        assert len(actions) == 5
        assert {a.status for a in actions} == {ActionStatus.SENT}
        assert {a.run_uid for a in actions} == {run_uid}
        rows = [session.get(Enrollment, i) for i in ids]
        # a visit is a step, not a state (lifecycle.py): the lead is ready for the next step
        assert {(r.state, r.step_index, r.current_step_id) for r in rows if r} == {
            (EnrollmentState.READY, 1, "invite")
        }
        run = session.get(BackgroundRun, run_uid)
        assert run is not None
        assert run.status == "SUCCEEDED"
    assert world.sim.sandbox.report()["totals"]["visits"] == 5  # LinkedIn saw each once


def test_a_run_that_never_calls_back_is_polled_after_the_timeout(tmp_path: Path) -> None:
    sim = Simulation(database_url=f"sqlite:///{tmp_path / 'p.db'}", people=40, identities=1)
    try:
        background = Background(
            sessions=sim.sessions,
            client=sim.client,
            clock=sim.clock,
            public_url="http://127.0.0.1:9",  # nothing listens: every callback is lost
            secret=SecretStr(SECRET),
            poll_after=timedelta(hours=1),
        )
        with sim.sessions() as session:
            identity = session.scalars(sa.select(Identity)).one()
        [run_uid] = background.start_syncs("conversations", [identity.id])
        sim.sandbox.advance(by=timedelta(minutes=30))
        assert background.poll_overdue() == 0  # not overdue yet
        sim.sandbox.advance(by=timedelta(minutes=31))
        assert background.poll_overdue() == 1
        with sim.sessions() as session:
            run = session.get(BackgroundRun, run_uid)
            assert run is not None
            assert run.status == "SUCCEEDED"
            synced = session.get(SyncState, (identity.id, SyncKind.CONVERSATIONS))
            assert synced is not None
        assert background.poll_overdue() == 0
    finally:
        sim.close()


def test_schedules_follow_the_identities_and_their_callbacks_sync(world: World) -> None:
    invited = world.invite_connected()
    report = world.background.ensure_schedules()
    assert len(report.created) == len(SCHEDULES)
    assert world.background.ensure_schedules().created == []  # in step already
    with world.sim.sessions() as session:
        rows = session.scalars(sa.select(EdgesSchedule)).all()
        assert {(r.purpose, r.cron) for r in rows} == set(SCHEDULES.items())
        identity = session.scalars(sa.select(Identity)).one()
        identity.timezone = "America/New_York"
        session.commit()
    moved = world.background.ensure_schedules()
    assert len(moved.deleted) == len(SCHEDULES)
    assert len(moved.created) == len(SCHEDULES)
    remote = list(world.sim.client.schedules.list())
    assert sorted(s.uid or "" for s in remote if s.status == "SCHEDULED") == sorted(moved.created)
    # the daily 09:00 connections run fires, calls back, and the accepted leads move (those
    # who also wrote are found by the 4-hourly conversations run)
    world.sim.sandbox.advance(by=timedelta(days=1, hours=1))
    with world.sim.sessions() as session:
        states = {session.get(Enrollment, i).state for i in invited}  # type: ignore[union-attr]
        purposes = {
            p["custom_data"]["purpose"] for p in session.scalars(sa.select(WebhookInbox.payload))
        }
    assert EnrollmentState.CONNECTED in states
    assert states <= {EnrollmentState.CONNECTED, EnrollmentState.REPLIED}
    assert purposes == set(SCHEDULES)


@pytest.fixture
def scheduled_sim(tmp_path: Path) -> Iterator[Simulation]:
    sim = Simulation(
        database_url=f"sqlite:///{tmp_path / 's.db'}",
        people=20,
        identities=1,
        config=EngineConfig(periodic_syncs="scheduled"),
    )
    yield sim
    sim.close()


def test_scheduled_mode_leaves_the_periodic_syncs_to_edges(scheduled_sim: Simulation) -> None:
    sim = scheduled_sim
    sim.engine.run_once()  # the first pass admits the new leads: it syncs before that
    sim.sandbox.advance(by=timedelta(hours=26))
    with sim.sessions() as session:
        session.execute(sa.update(Enrollment).values(next_action_at=None))
        session.commit()
        before = dict(session.execute(sa.select(SyncState.kind, SyncState.last_synced_at)).all())
    report = sim.engine.run_once()
    syncs = [s for r in report.identities for s in r.syncs]
    assert "connections" not in syncs
    assert "conversations" not in syncs
    with sim.sessions() as session:
        after = dict(session.execute(sa.select(SyncState.kind, SyncState.last_synced_at)).all())
    assert after[SyncKind.CONNECTIONS] == before[SyncKind.CONNECTIONS]
