"""Sharing one identity's capacity for an action among its campaigns, by priority.

The rule (deterministic, nobody divides limits by hand):

1. If the campaigns together want no more than the capacity, each gets what it wants.
2. Otherwise, no campaign with demand starves: each gets 1 first, in priority order (highest
   priority first, then campaign key), as long as capacity lasts.
3. What is left is shared in proportion to priority (a weight ≥ 1), by water-filling: a
   campaign whose proportional share exceeds what it still wants gets exactly that, and the
   surplus is shared again among the others. The last fractional units go by largest remainder,
   ties to the higher priority, then the campaign key.

So the sum never exceeds the capacity, all of the capacity is used while demand remains, no
allocation exceeds its demand or is negative, and a higher priority never gets less than a lower
one unless it asked for less.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["Demand", "allocate"]


@dataclass(frozen=True, slots=True)
class Demand:
    """What one campaign wants from an identity today, and how much it matters (weight ≥ 1)."""

    wanted: int
    priority: int = 1

    def __post_init__(self) -> None:
        if self.wanted < 0:
            raise ValueError("demand cannot be negative")
        if self.priority < 1:
            raise ValueError("priority is a weight ≥ 1")


def allocate(capacity: int, demands: Mapping[str, Demand]) -> dict[str, int]:
    """Share `capacity` among campaigns by priority; see the module docstring for the rule."""
    if capacity < 0:
        raise ValueError("capacity cannot be negative")
    result = dict.fromkeys(demands, 0)
    wanting = {k: d for k, d in demands.items() if d.wanted > 0}
    if sum(d.wanted for d in wanting.values()) <= capacity:
        result.update({k: d.wanted for k, d in wanting.items()})
        return result
    order = sorted(wanting, key=lambda k: (-wanting[k].priority, k))
    left = capacity
    for key in order:  # step 2: one each, so nobody starves
        if left == 0:
            return result
        result[key] = 1
        left -= 1
    open_keys = [k for k in order if result[k] < wanting[k].wanted]
    while left > 0 and open_keys:  # step 3: water-filling by weight
        weight = sum(wanting[k].priority for k in open_keys)
        shares = {k: Fraction(left * wanting[k].priority, weight) for k in open_keys}
        full = [k for k in open_keys if shares[k] >= wanting[k].wanted - result[k]]
        if full:
            for key in full:
                left -= wanting[key].wanted - result[key]
                result[key] = wanting[key].wanted
            open_keys = [k for k in open_keys if k not in full]
            continue
        floors = {k: int(shares[k]) for k in open_keys}
        for key, whole in floors.items():
            result[key] += whole
            left -= whole
        by_remainder = sorted(
            open_keys, key=lambda k: (-(shares[k] - floors[k]), -wanting[k].priority, k)
        )
        for key in by_remainder[:left]:
            result[key] += 1
        left = 0
    return result
