"""One planning pass for one identity: what goes now, in what order, and why the rest waits.

`plan_identity_pass` is the pure core of step 4 of an engine pass (DESIGN.md) and the answer
`linkseq leads why` explains. The checks run in a fixed order and the first one that holds a
candidate names the reason: paused identity, cooldown, delay, hours (now), quota, pacing, hours
(at the paced instant).
"""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import StrEnum

from linkseq.planning.hours import WorkingSchedule, is_open, next_close, next_open
from linkseq.planning.pacing import (
    ACTION_OF_KIND,
    DEFAULT_PRIORITY,
    Pacing,
    StepKind,
    draw_gap,
    order_candidates,
    spread_gap,
)
from linkseq.planning.quota import Action, QuotaStatus

__all__ = [
    "Candidate",
    "Held",
    "HoldReason",
    "Plan",
    "Planned",
    "forecast_completion",
    "plan_identity_pass",
]


class HoldReason(StrEnum):
    """Why a due lead does not go now."""

    paused = "paused"  # the identity's LinkedIn session expired
    cooldown = "cooldown"  # a conversation in the last 3 days
    delay = "delay"  # the step's delay has not elapsed
    hours = "hours"  # outside the lead's working hours
    quota = "quota"  # a Smart Limit, the weekly cap, a campaign cap or postponed_until
    pacing = "pacing"  # the gap between two actions of the identity


@dataclass(frozen=True, slots=True)
class Candidate:
    """One enrollment whose next step may be due, with its resolved time zone."""

    key: str
    kind: StepKind
    campaign: str
    due_at: datetime
    tz: tzinfo
    priority: int = 1
    cooldown_until: datetime | None = None

    @property
    def action(self) -> Action:
        """The Smart Limit this step spends."""
        return ACTION_OF_KIND[self.kind]


@dataclass(frozen=True, slots=True)
class Planned:
    """A candidate that goes at `at` (≥ now, within the pass's horizon)."""

    candidate: Candidate
    at: datetime


@dataclass(frozen=True, slots=True)
class Held:
    """A candidate that waits, why, and the earliest instant it could go (None: unknown)."""

    candidate: Candidate
    reason: HoldReason
    earliest: datetime | None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    """The outcome of one pass: actions in sending order, and everything held."""

    go: tuple[Planned, ...]
    held: tuple[Held, ...]

    def why(self, key: str) -> Planned | Held | None:
        """What this plan says about one enrollment."""
        for planned in self.go:
            if planned.candidate.key == key:
                return planned
        for held in self.held:
            if held.candidate.key == key:
                return held
        return None


class _Hours:
    """Per-pass cache of hours by (campaign, zone): many leads share a few zones."""

    def __init__(self, schedules: Mapping[str, WorkingSchedule], default: WorkingSchedule) -> None:
        self.schedules, self.default = schedules, default
        self._open: dict[tuple[str, tzinfo], bool] = {}
        self._next: dict[tuple[str, tzinfo], datetime] = {}
        self._close: dict[tuple[str, tzinfo], datetime] = {}

    def schedule(self, c: Candidate) -> WorkingSchedule:
        return self.schedules.get(c.campaign, self.default)

    def open_now(self, c: Candidate, now: datetime) -> bool:
        key = (c.campaign, c.tz)
        if key not in self._open:
            self._open[key] = is_open(self.schedule(c), c.tz, now)
        return self._open[key]

    def close_now(self, c: Candidate, now: datetime) -> datetime:
        key = (c.campaign, c.tz)
        if key not in self._close:
            self._close[key] = next_close(self.schedule(c), c.tz, now)
        return self._close[key]

    def next_open_at(self, c: Candidate, at: datetime) -> datetime:
        return next_open(self.schedule(c), c.tz, at)

    def next_open_now(self, c: Candidate, now: datetime) -> datetime:
        key = (c.campaign, c.tz)
        if key not in self._next:
            self._next[key] = next_open(self.schedule(c), c.tz, now)
        return self._next[key]


def _spread_end(closes: Counter[datetime], sends: int) -> datetime:
    """The end of the window an action's `sends` are spread over: the last close of its ready
    leads' windows, or sooner, the latest instant until which as many leads as sends stay open
    (each send needs a lead still open when it goes: a few leads in a zone that closes late
    do not draw the day's sends past the close of the zone that holds the rest)."""
    open_until = 0
    for close in sorted(closes, reverse=True):
        open_until += closes[close]
        if open_until >= sends:
            return close
    return min(closes)


_NO_QUOTA = QuotaStatus(0, None, "no_quota")  # an action without a quota entry never goes


def _quota_hold(
    c: Candidate,
    statuses: Iterable[QuotaStatus | None],
    used: Iterable[int],
    paced: datetime,
) -> Held | None:
    """Held for a limit this pass used up (or found used up), with the next slot it frees: no
    earlier than `paced`, the action's own cadence (None: the limit never frees a slot)."""
    for status, spent in zip(statuses, used, strict=True):
        if status is None:
            continue
        if status.remaining - spent <= 0:
            extra = spent - status.remaining  # this pass's sends beyond what was left
            if status.remaining == 0:
                slot = status.next_slot_at
            else:  # used up by this very pass: the window's next freed slot is the next one
                slot = status.frees[extra] if extra < len(status.frees) else None
            earliest = None if slot is None else max(slot, paced)
            return Held(c, HoldReason.quota, earliest, status.binding)
    return None


def plan_identity_pass(
    *,
    now: datetime,
    candidates: Sequence[Candidate],
    quotas: Mapping[Action, QuotaStatus],
    schedules: Mapping[str, WorkingSchedule],
    last_action_at: datetime | None,
    pacing: Pacing,
    rng: random.Random,
    campaign_quotas: Mapping[tuple[str, Action], QuotaStatus] | None = None,
    identity_paused: bool = False,
    priority: Sequence[StepKind] = DEFAULT_PRIORITY,
    default_schedule: WorkingSchedule | None = None,
    last_sent: Mapping[Action, datetime] | None = None,
    orders: Mapping[str, Sequence[StepKind]] | None = None,
) -> Plan:
    """Plan one pass for one identity. An action without a quota entry never goes (quota).

    `last_action_at` is the identity's last action of any kind (the human gap runs from it),
    `last_sent` each action's own last send (its spread runs from it; an action missing from it
    has none; not given at all: `last_action_at` for every action). `orders`: a campaign's own
    order of step kinds (by campaign name; `priority` for the others).
    """
    if identity_paused:
        return Plan((), tuple(Held(c, HoldReason.paused, None) for c in candidates))
    hours = _Hours(schedules, default_schedule or WorkingSchedule())
    held: list[Held] = []
    ready: list[Candidate] = []
    for c in candidates:
        if c.cooldown_until is not None and c.cooldown_until > now:
            held.append(Held(c, HoldReason.cooldown, max(c.cooldown_until, c.due_at)))
        elif c.due_at > now:
            # it could go once due and within its hours: not at a due time that falls at night
            held.append(Held(c, HoldReason.delay, hours.next_open_at(c, c.due_at)))
        elif not hours.open_now(c, now):
            held.append(Held(c, HoldReason.hours, hours.next_open_now(c, now)))
        else:
            ready.append(c)
    places = {name: {k: i for i, k in enumerate(order)} for name, order in (orders or {}).items()}
    default = {k: i for i, k in enumerate(priority)}
    ordered = order_candidates(
        ready,
        priority,
        rng,
        kind=lambda c: c.kind,
        weight=lambda c: c.priority,
        closes=lambda c: hours.close_now(c, now),
        rank=lambda c: places.get(c.campaign, default).get(c.kind, len(default)),
    )
    caps = campaign_quotas or {}
    used: dict[Action, int] = {}
    used_campaign: dict[tuple[str, Action], int] = {}
    # Each action has its own cadence: its next send comes at least a spread gap after its own
    # previous one, a random part of the even share of what its quota allows before its day
    # ends (the last close of its ready leads' windows), counting the slots a rolling window
    # frees meanwhile. Between two actions of any kind there is only the human gap: one action
    # spread over the day does not hold another back. Messages are not spread: they go first
    # (the order rule), in bursts after one conversations sync (the runner), at the times
    # their steps fall due.
    closes: dict[Action, Counter[datetime]] = {}
    for c in ready:
        closes.setdefault(c.action, Counter())[hours.close_now(c, now)] += 1
    day_end = {
        a: _spread_end(found, quotas[a].by(max(found)) if a in quotas else 0)
        for a, found in closes.items()
    }
    spread = {a for a in day_end if pacing.spread and a in quotas and a is not Action.message}

    def paced(action: Action, after: datetime) -> datetime:
        """The earliest instant of the action's next send, its previous one at `after`."""
        if action not in spread:
            return after
        left = quotas[action].by(day_end[action]) - used.get(action, 0)
        return after + spread_gap(max(now, after), day_end[action], left, rng)

    previous = dict.fromkeys(spread, last_action_at) if last_sent is None else last_sent
    cadence: dict[Action, datetime] = {}
    for a in sorted(spread):  # a fixed order of draws: the same plan at every replanning
        last = previous.get(a)
        cadence[a] = now if last is None else paced(a, last)
    slot = now if last_action_at is None else max(now, last_action_at + draw_gap(pacing, rng))
    # a lead that waits for its step's delay, its hours or a cooldown goes no earlier than its
    # action's cadence either: its earliest instant says so (the identity is not woken for it
    # only to find the action's spread still running)
    if cadence:
        held = [
            Held(h.candidate, h.reason, max(h.earliest, cadence[h.candidate.action]), h.detail)
            if h.earliest is not None
            and h.candidate.action in cadence
            and h.earliest < cadence[h.candidate.action]
            else h
            for h in held
        ]
    # each action's candidates in the priority order; the one that goes next is the one whose
    # action allows the earliest instant, the priority order breaking ties (without a spread:
    # the priority order itself)
    queues: dict[Action, deque[tuple[int, Candidate]]] = {}
    for rank, c in enumerate(ordered):
        queues.setdefault(c.action, deque()).append((rank, c))

    horizon = now + pacing.horizon

    def fits(action: Action, c: Candidate) -> datetime | None:
        """When the pass's next send of `action` to `c` fits the identity's limits and the
        campaign's cap, counting the slots their windows free (None: none within the
        horizon). A plan sends at a freed slot's instant: it is not planned anew for it."""
        at = now
        cap_key = (c.campaign, action)
        for status, spent in (
            (quotas.get(action, _NO_QUOTA), used.get(action, 0)),
            (caps.get(cap_key), used_campaign.get(cap_key, 0)),
        ):
            if status is None:
                continue
            free = status.fits(spent, now)
            if free is None or free > horizon:
                return None
            at = max(at, free)
        return at

    def turn(action: Action) -> tuple[datetime, int]:
        rank, head = queues[action][0]
        return max(slot, cadence.get(action, now), fits(action, head) or now), rank

    go: list[Planned] = []
    while queues:
        action = min(queues, key=turn)
        _, c = queues[action].popleft()
        if not queues[action]:
            del queues[action]
        at = max(slot, cadence.get(action, now))
        cap_key = (c.campaign, action)
        free = fits(action, c)
        if free is None:  # no slot within the horizon: held for the quota, with its next slot
            quota_hold = _quota_hold(
                c,
                (quotas.get(action, _NO_QUOTA), caps.get(cap_key)),
                (used.get(action, 0), used_campaign.get(cap_key, 0)),
                at,
            )
            assert quota_hold is not None  # a limit `fits` found used up holds it
            held.append(quota_hold)
            continue
        at = max(at, free)
        if at > horizon:
            held.append(Held(c, HoldReason.pacing, at))
        elif at > now and not is_open(hours.schedule(c), c.tz, at):
            held.append(Held(c, HoldReason.hours, next_open(hours.schedule(c), c.tz, at)))
        else:
            go.append(Planned(c, at))
            used[action] = used.get(action, 0) + 1
            used_campaign[cap_key] = used_campaign.get(cap_key, 0) + 1
            slot = at + draw_gap(pacing, rng)
            cadence[action] = paced(action, at)
    return Plan(tuple(go), tuple(held))


def forecast_completion(
    *,
    now: datetime,
    leads_left: int,
    daily_capacity: int,
    schedule: WorkingSchedule,
    tz: tzinfo,
    today_left: int | None = None,
) -> datetime | None:
    """When a campaign will have contacted its last lead, sending `daily_capacity` per working
    day (`today_left` for the window open now or next), spread evenly over each window."""
    if leads_left <= 0:
        return now
    if daily_capacity <= 0 and not today_left:
        return None
    at, left, first = now, leads_left, True
    for _ in range(leads_left // max(1, daily_capacity) + 800):
        start = next_open(schedule, tz, at)
        end = next_close(schedule, tz, start)
        # a fall-back day can show a window twice: the day's capacity is spent once
        day = start.astimezone(tz).date()
        following = next_open(schedule, tz, end)
        while following.astimezone(tz).date() == day:
            end = next_close(schedule, tz, following)
            following = next_open(schedule, tz, end)
        capacity = today_left if first and today_left is not None else daily_capacity
        first = False
        if capacity > 0 and left <= capacity:
            return start + (end - start) * left / capacity
        left -= max(0, capacity)
        at = end
        if daily_capacity <= 0:
            return None
    return None
