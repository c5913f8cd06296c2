"""`explain` and `campaign_status` on a small simulated campaign: answers that match the engine."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from linkseq.demo.simulation import Simulation
from linkseq.engine.explain import HOLDS, campaign_status, explain
from linkseq.engine.recovery import pause_identity
from linkseq.errors import NotFoundError
from linkseq.store.enums import EnrollmentState
from linkseq.store.models import Campaign, Enrollment


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Simulation:
    path: Path = tmp_path_factory.mktemp("explain") / "sim.db"
    simulation = Simulation(database_url=f"sqlite:///{path}", people=40, identities=2)
    simulation.run(days=2)
    return simulation


def test_every_enrollment_is_explained(sim: Simulation) -> None:
    now = sim.clock.now()
    holds = set()
    with sim.sessions() as session:
        ids = list(session.scalars(sa.select(Enrollment.id)))
        for enrollment_id in ids:
            answer = explain(session, enrollment_id, now)
            assert answer.enrollment_id == enrollment_id
            assert answer.hold is None or answer.hold in HOLDS
            if answer.state in {"ready", "connected", "messaged"}:
                assert answer.when is not None
                assert answer.next_action in {
                    "visit",
                    "invitation",
                    "first_message",
                    "follow_up",
                    "inmail",
                }
            holds.add(answer.hold)
            assert answer.to_json()["enrollment_id"] == enrollment_id
    assert holds - {None}, "after two days some leads wait for something"


def test_explain_names_a_paused_identity(sim: Simulation) -> None:
    now = sim.clock.now()
    with sim.sessions() as session:
        enrollment = session.scalars(
            sa.select(Enrollment).where(Enrollment.state == EnrollmentState.READY)
        ).first()
        assert enrollment is not None
        pause_identity(session, identity_id=enrollment.identity_id, reason="AUTH_EXPIRED", now=now)
        session.flush()
        answer = explain(session, enrollment.id, now)
        assert answer.hold == "paused"
        session.rollback()


def test_unknown_enrollment_is_a_clear_error(sim: Simulation) -> None:
    with sim.sessions() as session, pytest.raises(NotFoundError):
        explain(session, 10**9, sim.clock.now())


def test_campaign_status_funnel_and_forecast(sim: Simulation) -> None:
    now = sim.clock.now()
    with sim.sessions() as session:
        campaign_id = session.scalars(sa.select(Campaign.id)).one()
        status = campaign_status(session, campaign_id, now)
    assert status.funnel["enrolled"] == 40
    assert status.funnel["visited"] > 0
    assert 0 < status.leads_left <= 40
    # 2 identities, campaign cap 20 invitations a day, weekly cap 100 over 5 working days
    assert status.daily_capacity == 2 * 20
    assert status.forecast is not None
    assert status.forecast > now
    assert status.forecast < now + timedelta(days=30)
    assert status.to_json()["forecast"] == status.forecast.isoformat()
