"""Smart Limits: rolling windows per identity and action, with the 5-day ramp-up (API.md §5.1)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["ACTION_LIMITS", "LimitRule", "LimitState", "effective_limit", "ramp_day"]

DAY = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class LimitRule:
    """One counter: its name, rolling window, full values, and whether the ramp-up scales it."""

    name: str
    window: timedelta
    classic: int
    sales_navigator: int
    ramps: bool
    appendix: str
    label: str = "LIMIT_REACHED"

    def full(self, level: str) -> int:
        """The full-capacity value for an integration level."""
        return self.sales_navigator if level == "Sales Navigator" else self.classic


ACTION_LIMITS: dict[str, tuple[LimitRule, ...]] = {
    "linkedin-visit-profile": (LimitRule("LK_PROFILE_VISITS", DAY, 80, 500, True, "24h"),),
    "linkedin-connect-profile": (
        LimitRule("LK_INVITATIONS_SENT", DAY, 25, 30, True, "24h"),
        # LinkedIn's own weekly cap, not scaled by Edges' ramp-up (decision 25).
        LimitRule("LK_INVITATIONS_WEEKLY", 7 * DAY, 100, 100, False, "7d"),
    ),
    "linkedin-message-profile": (LimitRule("LK_MESSAGES_SENT", DAY, 250, 250, True, "24h"),),
    "linkedin-inmail-profile": (
        LimitRule(
            "LK_INMAILS_SENT", 31 * DAY, 5, 50, False, "31d", label="LK_INMAIL_NOT_ENOUGH_CREDIT"
        ),
    ),
    "linkedin-search-people": (LimitRule("LK_SEARCHES", DAY, 450, 950, True, "24h"),),
}


def ramp_day(first_sync_at: datetime | None, now: datetime) -> int:
    """Day 1 is the first 24 h after the first sync; never below 1."""
    if first_sync_at is None or now < first_sync_at:
        return 1
    return int((now - first_sync_at) / DAY) + 1


def effective_limit(full: int, day: int) -> int:
    """`ceil(full × day / 5)`, never below 1, full from day 5 on."""
    if day >= 5:
        return full
    return max(1, math.ceil(full * day / 5))


@dataclass(slots=True)
class Usage:
    """The limit figures of one rule at one instant."""

    rule: LimitRule
    limit: int
    used: int
    ramp_day: int
    next_slot_at: datetime | None

    @property
    def remaining(self) -> int:
        """Slots left in the window."""
        return max(0, self.limit - self.used)


class LimitState:
    """The timestamps of counted actions, per (identity, rule)."""

    def __init__(self) -> None:
        self._events: dict[tuple[str, str], deque[datetime]] = {}

    def usage(
        self,
        identity: str,
        rule: LimitRule,
        level: str,
        first_sync_at: datetime | None,
        now: datetime,
    ) -> Usage:
        """How much of `rule` the identity has used in the window ending now."""
        events = self._events.get((identity, rule.name))
        start = now - rule.window
        if events:
            while events and events[0] <= start:
                events.popleft()
        used = len(events) if events else 0
        day = ramp_day(first_sync_at, now)
        limit = effective_limit(rule.full(level), day) if rule.ramps else rule.full(level)
        next_slot = None
        if used >= limit and events:
            # The slot frees when enough of the oldest counted actions leave the window.
            next_slot = events[used - limit] + rule.window
            if rule.ramps and day < 5 and first_sync_at is not None:
                # Tomorrow's ramp-up step may free a slot earlier.
                tomorrow = first_sync_at + DAY * day
                if effective_limit(rule.full(level), day + 1) > used:
                    next_slot = min(next_slot, tomorrow)
        return Usage(rule, limit, used, day, next_slot)

    def record(self, identity: str, rules: tuple[LimitRule, ...], now: datetime) -> None:
        """Count one action against every rule of its action."""
        for rule in rules:
            self._events.setdefault((identity, rule.name), deque()).append(now)
