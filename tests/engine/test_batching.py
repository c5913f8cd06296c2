"""Messages go in bursts (`planner.batch_messages`): when each one's burst goes, told ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from linkseq.engine.config import EngineConfig
from linkseq.engine.planner import batch_messages
from linkseq.planning.pacing import StepKind
from linkseq.planning.schedule import Candidate

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CONFIG = EngineConfig()  # batch_min 3, batch_wait 3 h


def _candidate(key: int, kind: StepKind, minutes: int) -> Candidate:
    return Candidate(str(key), kind, "c", NOW + timedelta(minutes=minutes), UTC)


def _released(messages: list[Candidate], config: EngineConfig) -> dict[str, datetime]:
    """The runner's rule, instant by instant: at `t` every message due by `t` and not gone yet
    goes once `batch_min` of them are due, or the oldest of them has waited `batch_wait`."""
    instants = sorted(
        {NOW}
        | {c.due_at for c in messages if c.due_at > NOW}
        | {c.due_at + config.batch_wait for c in messages if c.due_at + config.batch_wait > NOW}
    )
    gone: dict[str, datetime] = {}
    for t in instants:
        waiting = sorted(
            (c for c in messages if c.due_at <= t and c.key not in gone), key=lambda c: c.due_at
        )
        if waiting and (
            len(waiting) >= config.batch_min or waiting[0].due_at + config.batch_wait <= t
        ):
            for c in waiting:
                gone[c.key] = t
    return gone


@settings(max_examples=300, deadline=None)
@given(
    dues=st.lists(st.integers(min_value=-600, max_value=900), max_size=9),
    visits=st.lists(st.integers(min_value=-60, max_value=60), max_size=3),
)
def test_each_message_is_due_when_its_burst_goes(dues: list[int], visits: list[int]) -> None:
    kinds = [StepKind.first_message, StepKind.follow_up]
    messages = [_candidate(i, kinds[i % 2], m) for i, m in enumerate(dues)]
    others = [_candidate(100 + i, StepKind.visit, m) for i, m in enumerate(visits)]
    out = {c.key: c for c in batch_messages([*messages, *others], NOW, CONFIG)}
    for c in others:
        assert out[c.key] == c  # only messages wait for a burst
    gone = _released(messages, CONFIG)
    for c in messages:
        expected = c.due_at if gone[c.key] <= NOW else gone[c.key]
        assert out[c.key].due_at == expected, (c, gone[c.key])
        assert c.due_at <= out[c.key].due_at <= max(NOW, c.due_at + CONFIG.batch_wait)


def test_a_lone_follow_up_is_held_from_its_due_time_to_its_burst() -> None:
    """One follow-up due in an hour, nothing else: it goes three hours after its due time, and
    the plan says so now (the identity is not woken at its due time to hold it then)."""
    [out] = batch_messages([_candidate(1, StepKind.follow_up, 60)], NOW, CONFIG)
    assert out.due_at == NOW + timedelta(minutes=60) + CONFIG.batch_wait


def test_the_third_message_due_releases_the_two_before_it() -> None:
    candidates = [_candidate(i, StepKind.follow_up, m) for i, m in enumerate((-30, 20, 50, 400))]
    out = [c.due_at for c in batch_messages(candidates, NOW, CONFIG)]
    third = NOW + timedelta(minutes=50)
    assert out[:3] == [third, third, third]
    assert out[3] == NOW + timedelta(minutes=400) + CONFIG.batch_wait
