"""`explain` and `campaign_status` on a small simulated campaign: answers that match the engine."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.demo.simulation import Simulation
from linkseq.engine.config import EngineConfig
from linkseq.engine.explain import HOLDS, campaign_status, explain
from linkseq.engine.recovery import pause_identity
from linkseq.engine.steps import load_spec, step_at
from linkseq.engine.sync import pending_invitations
from linkseq.errors import NotFoundError
from linkseq.store.enums import EnrollmentState
from linkseq.store.models import Campaign, Enrollment
from linkseq.web.services.leads import why_waiting


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
            assert answer.status in {"due", "held", "waiting", "done"}
            assert (answer.status == "due") <= (answer.hold is None)
            assert (answer.status == "done") == (answer.step_id is None)
            if answer.hold in {"hours", "pacing", "delay", "cooldown"}:
                assert answer.when is not None
                assert answer.sentence.endswith(" UTC")
            assert "held: held" not in answer.sentence
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
    forecast = status.forecast
    assert 0 < forecast.leads_left <= 40
    # 2 identities, campaign cap 20 invitations a day, weekly cap 100 over 5 working days
    assert forecast.daily_capacity == 2 * 20
    assert forecast.at is not None
    assert forecast.at > now
    assert forecast.at < now + timedelta(days=30)
    assert status.to_json()["forecast"]["at"] == forecast.at.isoformat()


def _first(session: Session, state: EnrollmentState, step_type: str) -> Enrollment:
    """The first enrollment in `state` (messaged too, for connected) at a `step_type` step."""
    states = [state, EnrollmentState.MESSAGED] if state is EnrollmentState.CONNECTED else [state]
    for enrollment in session.scalars(
        sa.select(Enrollment).where(Enrollment.state.in_(states)).order_by(Enrollment.id)
    ):
        campaign = session.get(Campaign, enrollment.campaign_id)
        assert campaign is not None
        step = step_at(load_spec(campaign.id, campaign.spec).steps, enrollment.step_index)
        if step is not None and step.type == step_type:
            return enrollment
    raise AssertionError(f"no {state.value} enrollment at a {step_type} step")


def test_a_used_up_limit_is_named_and_never_planned(sim: Simulation) -> None:
    """With a weekly invitation cap of 0, an invitation is never planned; when the lead's hours
    are open, the answer names the limit and says no slot is known."""
    config = EngineConfig(weekly_invitation_cap=0)
    with sim.sessions() as session:
        enrollment = _first(session, EnrollmentState.READY, "connect")
        answers = [
            explain(session, enrollment.id, sim.clock.now() + timedelta(hours=k), config=config)
            for k in range(0, 72, 3)
        ]
    assert all(a.status != "due" for a in answers)
    quota = [a for a in answers if a.hold == "quota"]
    assert quota, [a.hold for a in answers]
    assert all("connect" in a.why and a.detail and a.detail in a.why for a in quota)
    assert all(a.when is None and a.sentence.endswith("no slot known yet") for a in quota)


def test_a_message_held_for_a_burst_says_so(sim: Simulation) -> None:
    """A due message held back until enough are due for one burst is not "the step's delay"."""
    config = EngineConfig(batch_min=1000, batch_wait=timedelta(hours=6))
    with sim.sessions() as session:
        enrollment = _first(session, EnrollmentState.READY, "connect")
        campaign = session.get(Campaign, enrollment.campaign_id)
        assert campaign is not None
        steps = load_spec(campaign.id, campaign.spec).steps
        # the lead accepted: its first message is due now
        due = sim.clock.now()
        enrollment.state = EnrollmentState.CONNECTED
        enrollment.step_index = next(i for i, st in enumerate(steps) if st.type == "message")
        enrollment.next_action_at = due
        session.flush()
        answers = [
            explain(session, enrollment.id, due + timedelta(minutes=m), config=config)
            for m in range(1, 24 * 60, 30)
        ]
        session.rollback()
    batched = [a for a in answers if a.hold == "delay"]
    assert batched, [(a.status, a.hold) for a in answers]
    assert all("burst" in a.why for a in batched)
    assert all(a.when is not None and a.when > due for a in batched)


def test_a_step_the_lead_lacks_data_for_is_held_for_input(sim: Simulation) -> None:
    with sim.sessions() as session:
        enrollment = _first(session, EnrollmentState.READY, "connect")
        enrollment.next_action_at = None
        enrollment.reason = "held: missing variable 'first_name'"
        session.flush()
        answer = explain(session, enrollment.id, sim.clock.now())
        session.rollback()
    assert (answer.status, answer.hold) == ("held", "input")
    assert answer.why.startswith("missing variable 'first_name'")
    assert "tried again once the lead's data changes" in answer.sentence
    assert answer.fix is not None
    assert "leads import" in answer.fix


def test_the_lead_page_survives_a_campaign_that_no_longer_loads(sim: Simulation) -> None:
    with sim.sessions() as session:
        enrollment = session.scalars(sa.select(Enrollment).order_by(Enrollment.id)).first()
        assert enrollment is not None
        campaign = session.get(Campaign, enrollment.campaign_id)
        assert campaign is not None
        campaign.spec = {"name": "broken"}
        session.flush()
        why, nxt = why_waiting(
            session, enrollment=enrollment, now=sim.clock.now(), config=EngineConfig()
        )
        session.rollback()
    assert why.startswith("the campaign cannot be read")
    assert nxt == "nothing until the campaign is fixed"


def test_the_pending_invitations_cap_holds_as_the_runner_reads_it(sim: Simulation) -> None:
    """The explainer plans from the runner's inputs: the identity's pending invitations too."""
    config = EngineConfig(pending_invitations_cap=1)
    with sim.sessions() as session:
        enrollment = _first(session, EnrollmentState.READY, "connect")
        assert pending_invitations(session, enrollment.identity_id) >= 1
        answers = [
            explain(session, enrollment.id, sim.clock.now() + timedelta(hours=k), config=config)
            for k in range(0, 72, 3)
        ]
    assert all(a.status != "due" for a in answers)
    assert {a.detail for a in answers if a.hold == "quota"} == {"pending_invitations_cap"}
