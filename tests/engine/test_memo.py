"""The plan kept between passes (engine/memo.py): it serves while it holds, and only then."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from linkseq.engine.lifecycle import Event
from linkseq.engine.memo import PlanMemo, high_water
from linkseq.engine.planner import IdentityPlan, active_campaigns, due_candidates
from linkseq.engine.transitions import apply_event
from linkseq.planning.pacing import Pacing, StepKind
from linkseq.planning.schedule import Candidate, Held, HoldReason, Plan, Planned
from linkseq.store.models import Enrollment, Identity, OutboxAction
from tests.engine.harness import Harness, campaign_spec, person
from tests.store.factories import add_inbox_reply

VISITS = [{"id": "look", "type": "visit"}]


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    persons = [person(f"p{i:02d}") for i in range(60)]
    h = Harness(
        f"sqlite:///{tmp_path / 'memo.db'}",
        persons=persons,
        campaigns=[campaign_spec(steps=VISITS)],
    )
    yield h
    h.close()


def _memo(h: Harness) -> PlanMemo | None:
    with h.sessions() as session:
        identity_id = session.scalars(sa.select(Identity.id)).one()
    return h.engine._memos.get(identity_id)


def _to_wake(h: Harness) -> None:
    wake = h.engine.next_wake()
    assert wake is not None
    if wake > h.clock.now():
        h.sandbox.advance(to=wake)


def _first_sending_pass(h: Harness) -> PlanMemo:
    """Run until a pass sends, and return the plan it kept."""
    for _ in range(20):
        if h.run_once().sent:
            memo = _memo(h)
            assert memo is not None
            assert memo.consumed == 1
            return memo
        _to_wake(h)
    raise AssertionError("no pass sent anything")


def test_one_plan_serves_several_paced_sends(harness: Harness) -> None:
    memo = _first_sending_pass(harness)
    planned = len(memo.built.plan.go)
    assert planned >= 3, "an hour of visits at the day's pace holds several"
    for _ in range(planned - 1):
        _to_wake(harness)
        assert harness.run_once().sent == 1
    kept = _memo(harness)
    assert kept is memo
    assert kept.consumed == planned
    # the sends it planned are paced and in hours, as if each pass had planned anew
    assert harness.breaches() == dict.fromkeys(harness.breaches(), 0)
    assert len(harness.calls("linkedin-visit-profile")) == planned


def test_a_message_sent_from_elsewhere_makes_the_next_pass_plan_anew(harness: Harness) -> None:
    memo = _first_sending_pass(harness)
    with harness.sessions() as session:
        enrollment = session.scalars(sa.select(Enrollment)).first()
        assert enrollment is not None
        add_inbox_reply(
            session,
            identity_id=enrollment.identity_id,
            at=harness.clock.now(),
            key="inbox:test",
        )
        session.commit()
    _to_wake(harness)
    harness.run_once()
    assert _memo(harness) is not memo


def test_a_lead_that_moved_since_the_plan_is_not_sent_on_it(harness: Harness) -> None:
    memo = _first_sending_pass(harness)
    following = int(memo.plan().go[0].candidate.key)
    with harness.sessions() as session:
        enrollment = session.get(Enrollment, following)
        assert enrollment is not None
        handle = enrollment.lead_id
        apply_event(session, enrollment, Event.dnc, now=harness.clock.now(), reason="by hand")
        enrollment.next_action_at = None
        session.commit()
    _to_wake(harness)
    harness.run_once()
    # its turn found it moved (read again before the send): nothing went, the plan is dropped
    assert _memo(harness) is not memo
    with harness.sessions() as session:
        sent_to = session.scalars(
            sa.select(OutboxAction.enrollment_id).where(OutboxAction.id > 0)
        ).all()
    assert following not in sent_to, f"lead {handle} was sent to after it left the sequence"


def test_a_late_send_moves_the_rest_of_the_plan_as_late(harness: Harness) -> None:
    memo = _first_sending_pass(harness)
    planned = [p.at for p in memo.plan().go]
    assert len(planned) >= 2
    # the worker comes back ten minutes after the next action's time
    harness.sandbox.advance(to=planned[0] + timedelta(minutes=10))
    assert harness.run_once().sent == 1
    kept = _memo(harness)
    assert kept is memo
    later = [p.at for p in kept.plan().go]
    # the rest of the plan moved as late, so the gap drawn after that send is kept whole
    assert later[0] - planned[1] == timedelta(minutes=10)
    assert later[0] - (planned[0] + timedelta(minutes=10)) == planned[1] - planned[0]
    assert planned[1] - planned[0] >= timedelta(seconds=45)


def test_a_lead_of_the_identity_coming_into_its_sequence_makes_the_next_pass_plan_anew(
    harness: Harness,
) -> None:
    """A lead that becomes someone the plan could send to (here: found connected, so a first
    message is due) is not in the kept plan: the next pass plans anew."""
    memo = _first_sending_pass(harness)
    planned = {int(p.candidate.key) for p in memo.built.plan.go}
    with harness.sessions() as session:
        other = session.scalars(
            sa.select(Enrollment).where(Enrollment.id.not_in(planned)).limit(1)
        ).one()
        apply_event(
            session, other, Event.already_connected, now=harness.clock.now(), reason="by hand"
        )
        session.commit()
    _to_wake(harness)
    assert harness.run_once().sent == 1
    assert _memo(harness) is not memo


def test_a_lead_leaving_its_sequence_leaves_the_kept_plan_to_the_others(
    harness: Harness,
) -> None:
    """A lead that left its sequence (a reply, the do-not-contact list) only loses its place: a
    lead the plan did not count on changes nothing of it, and the next pass sends from it."""
    memo = _first_sending_pass(harness)
    planned = {int(p.candidate.key) for p in memo.built.plan.go}
    following = memo.plan().go[0].candidate.key
    with harness.sessions() as session:
        other = session.scalars(
            sa.select(Enrollment).where(Enrollment.id.not_in(planned)).limit(1)
        ).one()
        apply_event(session, other, Event.dnc, now=harness.clock.now(), reason="by hand")
        other.next_action_at = None
        session.commit()
    _to_wake(harness)
    report = harness.run_once()
    assert report.sent == 1
    assert _memo(harness) is memo  # kept: the plan's next action went from it
    assert memo.consumed == 2
    with harness.sessions() as session:
        sent_to = session.scalars(
            sa.select(OutboxAction.enrollment_id).order_by(OutboxAction.id.desc()).limit(1)
        ).one()
    assert str(sent_to) == following


def test_an_identity_woken_before_its_next_action_keeps_its_plan_and_does_not_wait(
    harness: Harness,
) -> None:
    """A pass waits at most one human gap for a plan's next action (its worker serves no other
    identity while it waits): woken earlier (a sync, a step falling due), it sends nothing,
    keeps the plan and wakes the identity at that action, which then goes from the same plan."""
    memo = _first_sending_pass(harness)
    following = memo.plan().go[0].at
    now = harness.clock.now()
    assert following > now + memo.built.pacing.max_gap  # visits at the day's pace
    with harness.sessions() as session:
        identity_id = session.scalars(sa.select(Identity.id)).one()
    report = harness.engine.work(identity_id)
    assert report.sent == 0
    assert harness.clock.now() == now  # no sleep through the spread gap
    assert report.next_wake == following
    assert _memo(harness) is memo
    _to_wake(harness)
    assert harness.clock.now() == following
    assert harness.run_once().sent == 1
    assert _memo(harness) is memo
    assert memo.consumed == 2


def test_a_kept_plan_waiting_a_spread_gap_is_overtaken_by_what_it_held_once_that_could_go() -> None:
    """Woken while the kept plan's next action is a spread gap away, the pass plans anew when
    something the plan held could go by now (a step fell due), and not otherwise; a next action
    within one human gap is simply sent."""
    now = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
    paris = ZoneInfo("Europe/Paris")

    def lead(key: str, kind: StepKind) -> Candidate:
        return Candidate(key, kind, "c", now - timedelta(hours=1), paris)

    def memo(first_in: timedelta, held_at: datetime) -> PlanMemo:
        plan = Plan(
            (Planned(lead("1", StepKind.invitation), now + first_in),),
            (Held(lead("2", StepKind.first_message), HoldReason.delay, held_at),),
        )
        built = IdentityPlan(plan, {}, Pacing(), (), complete=True)
        return PlanMemo(built, frozenset(), now + timedelta(hours=1), (0, 0), now)

    far, near = timedelta(minutes=30), Pacing().max_gap
    assert memo(far, now - timedelta(minutes=1)).overtaken(now)
    assert not memo(far, now + timedelta(minutes=5)).overtaken(now)
    assert not memo(near, now - timedelta(minutes=1)).overtaken(now)


def test_a_plan_that_sends_nothing_holds_until_a_lead_it_held_could_go(harness: Harness) -> None:
    """Every lead held (hours, say): the plan is kept, and a pass woken meanwhile (a periodic
    sync) uses it instead of planning anew, until the first instant a held lead could go, or a
    lead of the identity comes into its sequence (one that leaves it changes nothing)."""
    now = harness.clock.now()
    opens = now + timedelta(hours=2)
    paris = ZoneInfo("Europe/Paris")
    held = Held(Candidate("1", StepKind.visit, "c", now, paris), HoldReason.hours, opens)
    built = IdentityPlan(
        Plan((), (held,)), {}, Pacing(horizon=timedelta(hours=3)), (), complete=True
    )
    with harness.sessions() as session:
        identity_id = session.scalars(sa.select(Identity.id)).one()
        memo = PlanMemo.keep(built, now=now, campaigns=frozenset(), high_water=high_water(session))
        assert memo.valid_until == opens
        for at, usable in ((now + timedelta(hours=1), True), (opens, False)):
            got = memo.usable(session, identity_id=identity_id, now=at, campaigns=frozenset())
            assert got is usable
        enrollment = session.scalars(sa.select(Enrollment)).first()
        assert enrollment is not None
        # a lead leaving its sequence takes nothing from the plan; one coming into it does
        apply_event(session, enrollment, Event.dnc, now=now, reason="moved by hand")
        session.commit()
        left = memo.usable(
            session, identity_id=identity_id, now=now + timedelta(hours=1), campaigns=frozenset()
        )
        assert left
        other = session.scalars(sa.select(Enrollment).where(Enrollment.id != enrollment.id)).first()
        assert other is not None
        apply_event(session, other, Event.already_connected, now=now, reason="moved by hand")
        session.commit()
        moved = memo.usable(
            session, identity_id=identity_id, now=now + timedelta(hours=1), campaigns=frozenset()
        )
        assert not moved


def test_a_plan_with_nothing_to_send_is_kept_over_the_weekend_and_wakes_for_the_first_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saturday: every lead waits for Monday's hours. The empty plan is kept until the first
    zone opens (Tokyo, Sunday midnight UTC), not rebuilt at every horizon; each lead still goes
    when its own Monday opens."""
    import linkseq.engine.runner as runner

    builds: list[datetime] = []
    build_plan = runner.build_plan

    def counting(*args: object, **kwargs: object) -> object:
        builds.append(kwargs["now"])  # type: ignore[arg-type]
        return build_plan(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "build_plan", counting)
    spec = campaign_spec(steps=VISITS)
    spec["schedule"]["timezone"] = "lead"
    persons = [person(f"lon{i}") for i in range(6)] + [person("tokyo", timezone="Asia/Tokyo")]
    h = Harness(f"sqlite:///{tmp_path / 'weekend.db'}", persons=persons, campaigns=[spec])
    try:
        saturday = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)
        tokyo_opens = datetime(2026, 1, 12, 0, 0, tzinfo=UTC)  # Monday 09:00 in Tokyo
        london_opens = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
        h.sandbox.advance(to=saturday)
        h.run(until=tokyo_opens + timedelta(hours=2))
        weekend = [at for at in builds if at < tokyo_opens]
        # the admission pass plans, and plans again once its leads are ready: then no more
        # (without keeping the empty plan: one every three hours, 14 over the weekend)
        assert len(weekend) <= 3, weekend
        assert tokyo_opens <= _visited_at(h, "tokyo") < tokyo_opens + timedelta(minutes=30)
        assert builds[-1] == tokyo_opens  # woken for it, with a plan made then
        h.run(until=london_opens + timedelta(hours=3))
        london = [_visited_at(h, f"lon{i}") for i in range(6)]
        assert min(london) >= london_opens
    finally:
        h.close()


def _visited_at(h: Harness, handle: str) -> datetime:
    [at] = [event.at for event in h.audit(handle) if event.reason.startswith("visited")]
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def test_an_empty_plan_is_held_past_its_horizon_once_and_only_with_known_ends() -> None:
    """A hold with no known end (a cap that frees only when a sync sees an answer) keeps the
    plan's horizon: it is planned anew then, not a day later; an extension is made once."""
    now = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)
    paris = ZoneInfo("Europe/Paris")
    monday = datetime(2026, 1, 12, 8, 0, tzinfo=UTC)

    def kept(earliest: datetime | None) -> PlanMemo:
        held = Held(
            Candidate("1", StepKind.invitation, "c", now, paris), HoldReason.quota, earliest
        )
        built = IdentityPlan(
            Plan((), (held,)), {}, Pacing(horizon=timedelta(hours=3)), (), complete=True
        )
        return PlanMemo.keep(built, now=now, campaigns=frozenset(), high_water=(0, 0))

    known = kept(monday)
    assert known.valid_until == now + timedelta(hours=3)  # as built: its horizon
    assert known.extensible()
    known.hold_empty_until(now + timedelta(days=1))
    assert known.valid_until == now + timedelta(days=1)  # the step due after its horizon
    assert not known.extensible()  # once
    unknown = kept(None)
    assert not unknown.extensible()
    assert unknown.valid_until == now + timedelta(hours=3)


def test_an_empty_plan_that_did_not_read_every_due_enrollment_is_not_held_past_its_horizon(
    harness: Harness,
) -> None:
    """The read of due enrollments stops at a row limit: a plan built from part of them does
    not know what the rest hold, so it is planned anew at its horizon, however few candidates
    the rows it read gave."""
    for _ in range(3):  # admission, then the leads are ready
        harness.run_once()
    now = harness.clock.now()
    with harness.sessions() as session:
        identity = session.scalars(sa.select(Identity)).one()
        campaigns = active_campaigns(session, identity.id)
        due = session.scalar(
            sa.select(sa.func.count())
            .select_from(Enrollment)
            .where(Enrollment.next_action_at <= now + timedelta(hours=3))
        )
        assert due is not None
        assert due > 10
        part, complete = due_candidates(
            session, identity, campaigns, now + timedelta(hours=3), limit=10
        )
        assert (len(part), complete) == (10, False)
        every, complete = due_candidates(
            session, identity, campaigns, now + timedelta(hours=3), limit=due + 1
        )
        assert (len(every), complete) == (due, True)
    paris = ZoneInfo("Europe/Paris")
    held = Held(
        Candidate("1", StepKind.visit, "c", now, paris), HoldReason.hours, now + timedelta(hours=9)
    )
    pacing = Pacing(horizon=timedelta(hours=3))
    for complete, extensible in ((True, True), (False, False)):
        built = IdentityPlan(Plan((), (held,)), {}, pacing, (held.candidate,), complete)
        memo = PlanMemo.keep(built, now=now, campaigns=frozenset(), high_water=(0, 0))
        assert memo.extensible() is extensible
