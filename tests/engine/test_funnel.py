"""The funnel's milestones on a simulated campaign: what the outbox and the audit trail say.

The milestones are kept on the enrollments as the engine works (`linkseq.engine.funnel`); here
they are recomputed the long way, from every sent outbox action and every invited → connected
audit row, on SQLite and on PostgreSQL. The migration's backfill must find the same values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.demo.simulation import DEFAULT_CAMPAIGN, Simulation
from linkseq.engine.funnel import STAGES, campaign_funnel, campaign_funnels
from linkseq.engine.lifecycle import State
from linkseq.store import downgrade, upgrade
from linkseq.store.enums import ActionKind, ActionStatus, EnrollmentState
from linkseq.store.models import AuditEvent, Enrollment, OutboxAction
from linkseq.web.services import campaign_views
from tests.store.dbfixtures import create_pg_database, drop_pg_database

MILESTONES = ("visited_at", "invited_at", "accepted_at", "messaged_at")
KINDS = {
    "visited_at": (ActionKind.VISIT,),
    "invited_at": (ActionKind.CONNECT,),
    "messaged_at": (ActionKind.MESSAGE, ActionKind.INMAIL),
}


def _campaign() -> dict[str, Any]:
    """The example campaign, with invitations that time out fast into an InMail.

    The InMail is not the last step: a lead who got it is `messaged`, then the messages follow
    (an InMail as the very last step completes the lead: tests/engine/test_timeout_inmail_e2e.py).
    """
    import yaml

    spec: dict[str, Any] = yaml.safe_load(Path(DEFAULT_CAMPAIGN).read_text(encoding="utf-8"))
    visit, invite, wait, thanks, follow_up, _ = spec["steps"]
    wait = {**wait, "timeout_days": 2, "on_timeout": "inmail"}
    thanks = {**thanks, "delay": "4h"}
    follow_up = {**follow_up, "delay": "1d"}
    inmail = {"id": "inmail", "type": "inmail", "subject": "Hello", "text": "Hello again"}
    return {**spec, "steps": [visit, invite, wait, inmail, thanks, follow_up]}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def sim(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Simulation]:
    """Two identities, 40 leads, eight virtual days (invitations time out, InMails go)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('funnel') / 'sim.db'}"
        pg = None
    else:
        pg = create_pg_database()
        url = pg.render_as_string(hide_password=False)
    simulation = Simulation(database_url=url, people=40, identities=2, seed=3, campaign=_campaign())
    try:
        simulation.run(days=8)
        yield simulation
    finally:
        simulation.close()
        if pg is not None:
            drop_pg_database(pg)


def _recount(session: Session) -> dict[int, dict[str, datetime]]:
    """Each enrollment's first visit, invitation, acceptance and message, the long way."""
    first: dict[int, dict[str, datetime]] = {}

    def keep(enrollment_id: int | None, milestone: str, at: datetime) -> None:
        if enrollment_id is None:
            return
        mine = first.setdefault(enrollment_id, {})
        if milestone not in mine or at < mine[milestone]:
            mine[milestone] = at

    for action in session.scalars(
        sa.select(OutboxAction).where(
            OutboxAction.status.in_([ActionStatus.SENT, ActionStatus.RECONCILED])
        )
    ):
        for milestone, kinds in KINDS.items():
            if action.kind in kinds:
                keep(action.enrollment_id, milestone, action.sent_at or action.updated_at)
    for audit in session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.from_state == State.invited.value,
            AuditEvent.to_state == State.connected.value,
        )
    ):
        keep(audit.enrollment_id, "accepted_at", audit.at)
    return first


def _milestones(session: Session) -> dict[int, dict[str, datetime]]:
    out: dict[int, dict[str, datetime]] = {}
    for enrollment in session.scalars(sa.select(Enrollment)):
        marks = {m: getattr(enrollment, m) for m in MILESTONES if getattr(enrollment, m)}
        if marks:
            out[enrollment.id] = marks
    return out


def test_milestones_are_the_first_sends_and_acceptances(sim: Simulation) -> None:
    with sim.sessions() as session:
        truth = _recount(session)
        assert _milestones(session) == truth
    kinds = Counter(m for marks in truth.values() for m in marks)
    assert min(kinds[m] for m in MILESTONES) > 0, kinds  # every stage happened
    with sim.sessions() as session:
        inmailed = session.scalar(
            sa.select(sa.func.count(sa.distinct(OutboxAction.enrollment_id))).where(
                OutboxAction.kind == ActionKind.INMAIL,
                OutboxAction.status.in_([ActionStatus.SENT, ActionStatus.RECONCILED]),
            )
        )
    assert inmailed, "some invitations timed out into an InMail"


def test_funnel_counts_are_the_recount(sim: Simulation) -> None:
    with sim.sessions() as session:
        truth = _recount(session)
        states = Counter(session.scalars(sa.select(Enrollment.state)))
        campaign_id = session.scalars(sa.select(Enrollment.campaign_id)).first()
        assert campaign_id is not None
        counts = campaign_funnel(session, campaign_id)
        every = campaign_funnel(session, None)
        grouped = campaign_funnels(session)
        [view] = campaign_views(session)
    expected = {
        "enrolled": sum(states.values()),
        "visited": sum("visited_at" in m for m in truth.values()),
        "invited": sum("invited_at" in m for m in truth.values()),
        "accepted": sum("accepted_at" in m for m in truth.values()),
        "messaged": sum("messaged_at" in m for m in truth.values()),
        "replied": states[EnrollmentState.REPLIED],
        **{f"state:{s.value}": n for s, n in states.items()},
    }
    assert counts == expected
    assert every == expected
    assert grouped == {campaign_id: expected}
    assert {stage.stage: stage.count for stage in view.funnel} == {s: expected[s] for s in STAGES}
    assert view.states == {s.value: n for s, n in states.items()}


def test_the_migration_backfills_what_the_engine_recorded(sim: Simulation) -> None:
    with sim.sessions() as session:
        recorded = _milestones(session)
    downgrade(sim.db, "0005")
    upgrade(sim.db)
    with sim.sessions() as session:
        assert _milestones(session) == recorded
