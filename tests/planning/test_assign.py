"""Leads given to identities by free capacity; contacted leads keep theirs."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkseq.planning.assign import (
    IdentitySlot,
    LeadAssignment,
    assign_leads,
    rebalance,
    targets,
)


def test_balanced_by_free_capacity() -> None:
    ids = [
        IdentitySlot("a", 25),
        IdentitySlot("b", 50),
        IdentitySlot("c", 25, active=False),
        IdentitySlot("d", 0),
    ]
    got = assign_leads([f"l{i}" for i in range(300)], ids)
    assert Counter(got.values()) == {"a": 100, "b": 200}
    busy = assign_leads(["x", "y", "z"], ids, pending={"b": 10})
    assert Counter(busy.values()) == {"a": 3}
    again = assign_leads(["x", "y", "z"], ids, pending={"b": 2})
    assert Counter(again.values()) == {"a": 2, "b": 1}
    assert assign_leads([], ids) == {}
    with pytest.raises(ValueError):
        assign_leads(["x"], [IdentitySlot("a", 0)])
    with pytest.raises(ValueError):
        IdentitySlot("a", -1)


def test_targets_largest_remainder() -> None:
    assert targets(10, [IdentitySlot("a", 1), IdentitySlot("b", 1), IdentitySlot("c", 1)]) == {
        "a": 4,
        "b": 3,
        "c": 3,
    }


def test_paused_identity_gives_away_only_uncontacted_leads() -> None:
    leads = [LeadAssignment(f"a{i}", "a", contacted=i < 3) for i in range(10)] + [
        LeadAssignment(f"b{i}", "b") for i in range(2)
    ]
    ids = [IdentitySlot("a", 25, active=False), IdentitySlot("b", 25)]
    moves = rebalance(leads, ids)
    assert set(moves) == {f"a{i}" for i in range(3, 10)}
    assert set(moves.values()) == {"b"}


def test_added_identity_takes_a_fair_share_with_few_moves() -> None:
    leads = [LeadAssignment(f"l{i:02}", "a") for i in range(20)]
    moves = rebalance(leads, [IdentitySlot("a", 25), IdentitySlot("b", 25)])
    assert len(moves) == 10
    assert set(moves.values()) == {"b"}
    assert rebalance(leads, [IdentitySlot("a", 25)]) == {}


@given(
    st.lists(st.tuples(st.sampled_from(["a", "b", "c", None]), st.booleans()), max_size=60),
    st.lists(st.tuples(st.integers(0, 50), st.booleans()), min_size=3, max_size=3),
)
def test_rebalance_properties(
    leads: list[tuple[str | None, bool]], slots: list[tuple[int, bool]]
) -> None:
    ids = [IdentitySlot(k, cap, act) for k, (cap, act) in zip("abc", slots, strict=True)]
    assignments = [
        LeadAssignment(f"l{i}", who, contacted=c and who is not None)
        for i, (who, c) in enumerate(leads)
    ]
    if not any(i.usable for i in ids):
        with pytest.raises(ValueError):
            rebalance(assignments, ids)
        return
    moves = rebalance(assignments, ids)
    by_lead = {a.lead: a for a in assignments}
    for lead, target in moves.items():
        assert not by_lead[lead].contacted
        assert target != by_lead[lead].identity
        assert next(i for i in ids if i.key == target).usable
    after = Counter(moves.get(a.lead, a.identity) for a in assignments if not a.contacted)
    assert dict(after) == {
        k: v for k, v in targets(sum(1 for a in assignments if not a.contacted), ids).items() if v
    }
