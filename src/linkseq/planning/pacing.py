"""Human pacing: random gaps between one identity's actions, the day spread, a shuffled order.

Every random choice comes from an injected `random.Random`. A gap drawn after an action must be
the same gap each time the planner looks at it, or replanning every minute would shorten it (the
minimum of many draws): `pass_rng` seeds a generator from the identity and its last action.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from linkseq.planning.quota import Action

__all__ = [
    "ACTION_OF_KIND",
    "DEFAULT_PRIORITY",
    "Pacing",
    "StepKind",
    "draw_gap",
    "order_candidates",
    "pass_rng",
    "spread",
    "spread_gap",
]

T = TypeVar("T")


class StepKind(StrEnum):
    """The kinds of outreach step, in the words of the priority order."""

    follow_up = "follow_up"  # message k ≥ 2 of the sequence
    first_message = "first_message"  # first message to a new connection
    inmail = "inmail"
    invitation = "invitation"
    visit = "visit"


# due follow-ups, then first messages to new connections, then invitations, then visits
DEFAULT_PRIORITY: tuple[StepKind, ...] = (
    StepKind.follow_up,
    StepKind.first_message,
    StepKind.inmail,
    StepKind.invitation,
    StepKind.visit,
)

ACTION_OF_KIND: Mapping[StepKind, Action] = {
    StepKind.follow_up: Action.message,
    StepKind.first_message: Action.message,
    StepKind.inmail: Action.inmail,
    StepKind.invitation: Action.connect,
    StepKind.visit: Action.visit,
}


@dataclass(frozen=True, slots=True)
class Pacing:
    """Gaps between two outreach actions of one identity, and how far ahead a pass plans."""

    min_gap: timedelta = timedelta(seconds=45)
    max_gap: timedelta = timedelta(seconds=120)
    horizon: timedelta = timedelta(minutes=15)
    spread: bool = True  # space each action's sends so its day's quota fills its open window

    def __post_init__(self) -> None:
        if not timedelta(0) <= self.min_gap <= self.max_gap:
            raise ValueError("need 0 ≤ min_gap ≤ max_gap")
        if self.horizon < timedelta(0):
            raise ValueError("horizon cannot be negative")


def pass_rng(identity: str, last_action_at: datetime | None) -> random.Random:
    """A generator seeded by the identity and its last action: stable across replanning."""
    stamp = last_action_at.isoformat() if last_action_at else "-"
    return random.Random(f"{identity}|{stamp}")


def draw_gap(pacing: Pacing, rng: random.Random) -> timedelta:
    """A random gap in [min_gap, max_gap], to the millisecond."""
    low = int(pacing.min_gap / timedelta(milliseconds=1))
    high = int(pacing.max_gap / timedelta(milliseconds=1))
    return timedelta(milliseconds=rng.randint(low, high))


def spread_gap(now: datetime, window_end: datetime, left: int, rng: random.Random) -> timedelta:
    """A gap that spreads `left` actions over what remains of the window: a random fraction
    (½ to 1) of the even share, so the last one still lands before the window closes."""
    if left <= 0 or window_end <= now:
        return timedelta(0)
    share = (window_end - now) / left
    return share * rng.uniform(0.5, 1.0)


def spread(
    n_actions: int,
    window_start: datetime,
    window_end: datetime,
    rng: random.Random,
    *,
    min_gap: timedelta = timedelta(0),
) -> list[datetime]:
    """`n_actions` sorted instants in [start, end), one in each equal slice, at least `min_gap`
    apart; fewer when the window cannot hold that many at that gap."""
    if n_actions <= 0 or window_end <= window_start:
        return []
    length = window_end - window_start
    if min_gap > timedelta(0):
        n_actions = min(n_actions, int(length / min_gap))
        if n_actions == 0:
            return []
    slot = length / n_actions
    # instant i lies in [i·slot, i·slot + slot − min_gap]: consecutive ones are ≥ min_gap apart
    play = slot - min_gap
    micro = timedelta(microseconds=1)
    times = []
    for i in range(n_actions):
        offset = slot * i + play * rng.random()
        times.append(min(window_start + offset, window_end - micro))
    return times


def order_candidates(
    candidates: Sequence[T],
    priority: Sequence[str],
    rng: random.Random,
    *,
    kind: Callable[[T], str],
    weight: Callable[[T], int] = lambda _: 1,
    closes: Callable[[T], datetime] | None = None,
    rank: Callable[[T], int] | None = None,
) -> list[T]:
    """Order candidates by step kind (`priority` first to last; unknown kinds last; `rank`,
    when given, is a candidate's place instead: its own campaign's order), then by campaign
    weight (higher first), then, with `closes`, by when the lead's working window closes (the
    first to close first: a lead whose day ends later can take a slot that frees later),
    shuffled within each group by `rng`."""
    if rank is None:
        places = {k: i for i, k in enumerate(priority)}

        def rank(c: T) -> int:
            return places.get(kind(c), len(places))

    shuffled = list(candidates)
    rng.shuffle(shuffled)
    # sorted() is stable: the shuffle survives inside each (kind, weight, close) group
    if closes is None:
        return sorted(shuffled, key=lambda c: (rank(c), -weight(c)))
    return sorted(shuffled, key=lambda c: (rank(c), -weight(c), closes(c)))
