"""Giving a campaign's leads to its identities, balanced by free capacity.

- At enrollment each new lead goes to the active identity with the lowest load per unit of free
  capacity, counting the not-yet-contacted leads it already holds (ties: identity key). So an
  identity with twice the capacity gets about twice the leads.
- Once contacted, a lead keeps its identity for good (one lead, one voice), even when that
  identity is paused: its leads wait for it.
- `rebalance` (an identity added, paused or removed) moves only leads not yet contacted, and as
  few of them as it can: targets are the not-yet-contacted total shared by free capacity
  (largest remainder); leads leave identities above target or inactive, newest-keyed last.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["IdentitySlot", "LeadAssignment", "assign_leads", "rebalance", "targets"]


@dataclass(frozen=True, slots=True)
class IdentitySlot:
    """An identity of the campaign: its free daily capacity and whether it may take leads."""

    key: str
    capacity: int
    active: bool = True

    def __post_init__(self) -> None:
        if self.capacity < 0:
            raise ValueError("capacity cannot be negative")

    @property
    def usable(self) -> bool:
        """True when the identity can take new leads."""
        return self.active and self.capacity > 0


@dataclass(frozen=True, slots=True)
class LeadAssignment:
    """A lead of the campaign, the identity holding it (if any), and whether it was contacted."""

    lead: str
    identity: str | None
    contacted: bool = False


def _usable(identities: Sequence[IdentitySlot]) -> list[IdentitySlot]:
    usable = [i for i in identities if i.usable]
    if not usable:
        raise ValueError("no active identity with free capacity")
    return usable


def assign_leads(
    new_leads: Sequence[str],
    identities: Sequence[IdentitySlot],
    pending: Mapping[str, int] | None = None,
) -> dict[str, str]:
    """Give each new lead an identity; `pending` counts uncontacted leads each already holds."""
    if not new_leads:
        return {}
    load = dict(pending or {})
    heap = [
        (Fraction(load.get(i.key, 0) + 1, i.capacity), i.key, i.capacity)
        for i in _usable(identities)
    ]
    heapq.heapify(heap)
    result: dict[str, str] = {}
    for lead in new_leads:
        _, key, capacity = heapq.heappop(heap)
        result[lead] = key
        load[key] = load.get(key, 0) + 1
        heapq.heappush(heap, (Fraction(load[key] + 1, capacity), key, capacity))
    return result


def targets(total: int, identities: Sequence[IdentitySlot]) -> dict[str, int]:
    """`total` leads shared by free capacity among usable identities (largest remainder)."""
    usable = _usable(identities)
    weight = sum(i.capacity for i in usable)
    shares = {i.key: Fraction(total * i.capacity, weight) for i in usable}
    result = {k: int(v) for k, v in shares.items()}
    spare = total - sum(result.values())
    for key in sorted(shares, key=lambda k: (-(shares[k] - result[k]), k))[:spare]:
        result[key] += 1
    return result


def rebalance(
    leads: Sequence[LeadAssignment], identities: Sequence[IdentitySlot]
) -> dict[str, str]:
    """The moves (lead → new identity) that rebalance uncontacted leads; contacted ones stay."""
    movable = [a for a in leads if not a.contacted]
    goal = targets(len(movable), identities)
    holding: dict[str, list[str]] = {}
    for a in movable:
        if a.identity is not None:
            holding.setdefault(a.identity, []).append(a.lead)
    leaving: list[str] = [a.lead for a in movable if a.identity is None]
    for key, held in sorted(holding.items()):
        keep = goal.get(key, 0)
        ordered = sorted(held)
        leaving.extend(ordered[keep:])
    room = {k: goal[k] - min(goal[k], len(holding.get(k, []))) for k in sorted(goal)}
    moves: dict[str, str] = {}
    slots = [k for k in sorted(room) for _ in range(room[k])]
    for lead, key in zip(sorted(leaving), slots, strict=True):
        moves[lead] = key
    return moves
