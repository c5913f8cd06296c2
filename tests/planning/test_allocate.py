"""Sharing an identity's capacity among campaigns by priority."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkseq.planning.allocate import Demand, allocate


def test_enough_for_everyone() -> None:
    assert allocate(25, {"a": Demand(10, 3), "b": Demand(5, 1), "c": Demand(0, 9)}) == {
        "a": 10,
        "b": 5,
        "c": 0,
    }


def test_shared_by_weight() -> None:
    assert allocate(25, {"a": Demand(100, 3), "b": Demand(100, 1)}) == {
        "a": 18,
        "b": 7,
    }  # 1 each, then 23 by 3:1
    assert allocate(10, {"a": Demand(100, 1), "b": Demand(100, 1)}) == {"a": 5, "b": 5}


def test_surplus_of_a_small_demand_goes_to_the_others() -> None:
    assert allocate(30, {"a": Demand(2, 10), "b": Demand(100, 1), "c": Demand(100, 1)}) == {
        "a": 2,
        "b": 14,
        "c": 14,
    }


def test_nobody_starves_and_scarcity_goes_to_priority() -> None:
    got = allocate(25, {"big": Demand(500, 100), "small": Demand(500, 1)})
    assert got["small"] >= 1
    assert allocate(2, {"a": Demand(5, 1), "b": Demand(5, 3), "c": Demand(5, 2)}) == {
        "a": 0,
        "b": 1,
        "c": 1,
    }


def test_validation() -> None:
    with pytest.raises(ValueError):
        allocate(-1, {})
    with pytest.raises(ValueError):
        Demand(-1)
    with pytest.raises(ValueError):
        Demand(1, 0)


demands = st.dictionaries(
    st.text("abcdefgh", min_size=1, max_size=3),
    st.builds(Demand, st.integers(0, 60), st.integers(1, 10)),
    max_size=8,
)


@given(st.integers(0, 200), demands)
def test_allocation_properties(capacity: int, wanted: dict[str, Demand]) -> None:
    got = allocate(capacity, wanted)
    assert set(got) == set(wanted)
    assert all(0 <= got[k] <= wanted[k].wanted for k in wanted)
    total = sum(d.wanted for d in wanted.values())
    assert sum(got.values()) == min(capacity, total)  # ≤ capacity, and nothing left unused
    demanding = [k for k, d in wanted.items() if d.wanted > 0]
    if capacity >= len(demanding):
        assert all(got[k] >= 1 for k in demanding)
    for a in wanted:
        for b in wanted:
            if wanted[a].priority > wanted[b].priority:
                assert got[a] >= min(wanted[a].wanted, got[b])
