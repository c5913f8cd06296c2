"""Human pacing: gaps, the day spread, the shuffled priority order."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkseq.planning.pacing import (
    DEFAULT_PRIORITY,
    Pacing,
    StepKind,
    draw_gap,
    order_candidates,
    pass_rng,
    spread,
    spread_gap,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@given(st.integers(0, 2**32))
def test_gap_within_bounds(seed: int) -> None:
    gap = draw_gap(Pacing(), random.Random(seed))
    assert timedelta(seconds=45) <= gap <= timedelta(seconds=120)


def test_gaps_vary_and_are_reproducible() -> None:
    gaps = [draw_gap(Pacing(), random.Random(1)) for _ in range(3)]
    assert len(set(gaps)) == 1
    rng = random.Random(1)
    assert len({draw_gap(Pacing(), rng) for _ in range(20)}) > 10
    a = draw_gap(Pacing(), pass_rng("id-1", T0))
    assert a == draw_gap(Pacing(), pass_rng("id-1", T0))
    assert pass_rng("id-1", T0).random() != pass_rng("id-2", T0).random()


def test_pacing_validation() -> None:
    with pytest.raises(ValueError):
        Pacing(min_gap=timedelta(seconds=10), max_gap=timedelta(seconds=5))
    with pytest.raises(ValueError):
        Pacing(horizon=timedelta(seconds=-1))


@given(
    st.integers(0, 200),
    st.integers(1, 12 * 60),
    st.integers(0, 300),
    st.integers(0, 2**32),
)
def test_spread_properties(n: int, minutes: int, min_gap_s: int, seed: int) -> None:
    end = T0 + timedelta(minutes=minutes)
    min_gap = timedelta(seconds=min_gap_s)
    times = spread(n, T0, end, random.Random(seed), min_gap=min_gap)
    assert times == sorted(times)
    assert all(T0 <= t < end for t in times)
    assert len(times) <= n
    for a, b in itertools.pairwise(times):
        assert b - a >= min_gap - timedelta(microseconds=1)
    if min_gap_s == 0:
        assert len(times) == n


def test_spread_covers_the_window_instead_of_bursting() -> None:
    end = T0 + timedelta(hours=8)
    times = spread(25, T0, end, random.Random(7))
    assert times[0] < T0 + timedelta(hours=1)
    assert times[-1] > end - timedelta(hours=1)
    per_hour = [
        sum(1 for t in times if T0 + timedelta(hours=h) <= t < T0 + timedelta(hours=h + 1))
        for h in range(8)
    ]
    assert max(per_hour) <= 5


def test_spread_gap_fits_what_is_left() -> None:
    end = T0 + timedelta(hours=5)
    rng = random.Random(3)
    for _ in range(50):
        gap = spread_gap(T0, end, 10, rng)
        assert timedelta(minutes=15) <= gap <= timedelta(minutes=30)
    assert spread_gap(T0, end, 0, rng) == timedelta(0)
    assert spread_gap(end, T0, 5, rng) == timedelta(0)


def test_order_by_kind_then_weight_shuffled_within() -> None:
    items = [
        (k, w, i)
        for i, (k, w) in enumerate(
            [
                (StepKind.visit, 1),
                (StepKind.invitation, 1),
                (StepKind.follow_up, 1),
                (StepKind.first_message, 1),
                (StepKind.invitation, 5),
                (StepKind.follow_up, 1),
            ]
            * 5
        )
    ]
    ordered = order_candidates(
        items, DEFAULT_PRIORITY, random.Random(1), kind=lambda c: c[0], weight=lambda c: c[1]
    )
    kinds = [c[0] for c in ordered]
    rank = {k: i for i, k in enumerate(DEFAULT_PRIORITY)}
    assert [rank[k] for k in kinds] == sorted(rank[k] for k in kinds)
    invitations = [c for c in ordered if c[0] is StepKind.invitation]
    assert [c[1] for c in invitations] == [5] * 5 + [1] * 5
    other = order_candidates(
        items, DEFAULT_PRIORITY, random.Random(2), kind=lambda c: c[0], weight=lambda c: c[1]
    )
    assert sorted(other) == sorted(ordered)
    assert other != ordered  # shuffled within groups
    assert ordered == order_candidates(
        items, DEFAULT_PRIORITY, random.Random(1), kind=lambda c: c[0], weight=lambda c: c[1]
    )
    visits_first = order_candidates(
        items, [StepKind.visit], random.Random(1), kind=lambda c: c[0], weight=lambda c: c[1]
    )
    assert all(c[0] is StepKind.visit for c in visits_first[:5])


def test_order_puts_the_window_that_closes_first_first_within_a_group() -> None:
    """With `closes`, a group's leads whose working window closes first come first (a lead whose
    day ends later can take a slot freed later), still shuffled among those that close together."""
    closes = {"paris": T0 + timedelta(hours=8), "new_york": T0 + timedelta(hours=14)}
    items = [(zone, i) for i in range(6) for zone in ("new_york", "paris")]

    def ordered(seed: int) -> list[tuple[str, int]]:
        return order_candidates(
            items,
            DEFAULT_PRIORITY,
            random.Random(seed),
            kind=lambda _: StepKind.invitation,
            closes=lambda c: closes[c[0]],
        )

    assert [zone for zone, _ in ordered(1)] == ["paris"] * 6 + ["new_york"] * 6
    assert ordered(1) != ordered(2)  # shuffled within each zone
