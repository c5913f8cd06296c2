"""Smart Limits arithmetic: per-action limits, ramp-up, rolling windows, caps, remote corrections.

Every window is rolling: a send at instant `t` counts against its window while
`now - window < t`, i.e. until `t + window` (exclusive). Sends stamped in the future count too
(conservative). Nothing here returns a negative number.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = [
    "DAY",
    "INMAIL_WINDOW",
    "WEEK",
    "AccountLevel",
    "Action",
    "QuotaStatus",
    "RemoteLimit",
    "RollingWindow",
    "apply_remote_limits",
    "effective_remaining",
    "next_free_slot",
    "quota_status",
    "ramp_up_limit",
    "remaining",
    "smart_limit",
    "with_remaining",
]

DAY = timedelta(hours=24)
WEEK = timedelta(days=7)
INMAIL_WINDOW = timedelta(days=31)
RAMP_UP_DAYS = 5
MAX_MESSAGES_PER_DAY = 250


class Action(StrEnum):
    """An outreach action with a Smart Limit."""

    visit = "visit"
    connect = "connect"
    message = "message"
    inmail = "inmail"


class AccountLevel(StrEnum):
    """The LinkedIn subscription that selects the limit column (wire decision 24)."""

    classic = "Classic"
    sales_navigator = "Sales Navigator"

    @classmethod
    def parse(cls, value: str) -> AccountLevel:
        """Read an integration `level`; anything but Sales Navigator is Classic."""
        return cls.sales_navigator if value.strip().lower() == "sales navigator" else cls.classic


_FULL: dict[tuple[Action, AccountLevel], int] = {
    (Action.visit, AccountLevel.classic): 80,
    (Action.visit, AccountLevel.sales_navigator): 500,
    (Action.connect, AccountLevel.classic): 25,
    (Action.connect, AccountLevel.sales_navigator): 30,
    (Action.inmail, AccountLevel.classic): 5,
    (Action.inmail, AccountLevel.sales_navigator): 50,
}


def smart_limit(
    action: Action,
    level: AccountLevel,
    *,
    messages_per_day: int = 50,
    inmail_per_window: int | None = None,
) -> tuple[int, timedelta]:
    """The full-capacity limit and its window for one action (guide §6, wire decision 23)."""
    if action is Action.message:
        if not 1 <= messages_per_day <= MAX_MESSAGES_PER_DAY:
            raise ValueError(f"messages_per_day must be within 1..{MAX_MESSAGES_PER_DAY}")
        return messages_per_day, DAY
    if action is Action.inmail:
        # InMail credits depend on the subscription (Premium: 15); the caller may say which.
        count = _FULL[(action, level)] if inmail_per_window is None else inmail_per_window
        return max(0, count), INMAIL_WINDOW
    return _FULL[(action, level)], DAY


def ramp_up_limit(full: int, first_sync_at: datetime | None, now: datetime) -> int:
    """`ceil(full × day / 5)` on day 1..5 after the first sync, never below 1, then `full`.

    An identity never synced (or `now` before its first sync) is on day 1: the cautious reading.
    """
    if full <= 0:
        return 0
    day = 1
    if first_sync_at is not None and now >= first_sync_at:
        day = (now - first_sync_at) // DAY + 1
    if day >= RAMP_UP_DAYS:
        return full
    return min(full, max(1, -(-full * day // RAMP_UP_DAYS)))


def _in_window(sent_times: Iterable[datetime], now: datetime, window: timedelta) -> list[datetime]:
    start = now - window
    return sorted(t for t in sent_times if t > start)


def remaining(sent_times: Iterable[datetime], now: datetime, window: timedelta, limit: int) -> int:
    """How many more sends fit in the rolling window ending at `now` (never negative)."""
    return max(0, limit - len(_in_window(sent_times, now, window)))


def next_free_slot(
    sent_times: Iterable[datetime], now: datetime, window: timedelta, limit: int
) -> datetime | None:
    """The earliest instant ≥ `now` at which one more send fits; None if never (limit ≤ 0)."""
    if limit <= 0:
        return None
    recent = _in_window(sent_times, now, window)
    if len(recent) < limit:
        return now
    # the window must shed len(recent) - limit + 1 sends; the last of those leaves at t + window
    return max(now, recent[len(recent) - limit] + window)


@dataclass(frozen=True, slots=True)
class RollingWindow:
    """A limit of `limit` sends per rolling `window`, with a name for explanations."""

    name: str
    window: timedelta
    limit: int

    def remaining(self, sent_times: Iterable[datetime], now: datetime) -> int:
        """Sends still allowed at `now`."""
        return remaining(sent_times, now, self.window, self.limit)

    def next_free_slot(self, sent_times: Iterable[datetime], now: datetime) -> datetime | None:
        """Earliest instant a send fits."""
        return next_free_slot(sent_times, now, self.window, self.limit)


@dataclass(frozen=True, slots=True)
class QuotaStatus:
    """What one action may still do now, and which limit binds."""

    remaining: int
    next_slot_at: datetime | None  # None: never (a limit of 0) — set only when remaining == 0
    binding: str  # name of the tightest limit, for `leads why`
    # when each send beyond `remaining` fits, as used slots free in every window at once
    # (sorted): the pacing spreads over the day what may go before the window's end, and a
    # plan sends at a slot's instant instead of waiting for it to be planned anew
    frees: tuple[datetime, ...] = ()

    def fits(self, k: int, now: datetime) -> datetime | None:
        """When a (k+1)-th send from `now` fits: now while `remaining` allows it, then as the
        used slots free (None: no slot known for it)."""
        return now if k < self.remaining else self.freed(k)

    def freed(self, k: int) -> datetime | None:
        """When the used slot for a (k+1)-th send frees, `k` at or past `remaining` (None: no
        slot known for it)."""
        j = k - self.remaining
        return self.frees[j] if 0 <= j < len(self.frees) else None

    def by(self, at: datetime) -> int:
        """Sends this status allows between now and `at`, as used slots free (an estimate for
        pacing, not a limit: the limit is `remaining`, read again at every pass)."""
        return self.remaining + bisect.bisect_right(self.frees, at)


@dataclass(frozen=True, slots=True)
class RemoteLimit:
    """One row of Edges' limits endpoint, as observed at `observed_at`."""

    window: timedelta
    limit: int
    remaining: int
    observed_at: datetime
    next_slot_at: datetime | None = None


def _combined_frees(statuses: Sequence[QuotaStatus], least: int) -> tuple[datetime, ...]:
    """When each send beyond the `least` remaining fits in every window at once: the latest of
    the windows' own slots for it. It stops at the first send some window is not known to free
    a slot for (a postponement, an answer of Edges without times)."""
    out: list[datetime] = []
    k = least
    while True:
        slots = [status.freed(k) for status in statuses if k >= status.remaining]
        known = [at for at in slots if at is not None]
        if not known or len(known) < len(slots):
            return tuple(out)
        out.append(max(known))
        k += 1


def _combine(statuses: Sequence[QuotaStatus]) -> QuotaStatus:
    """The most conservative of several statuses: least remaining, latest next slot, and the
    slots every window frees together."""
    if len(statuses) == 1:
        return statuses[0]
    tight = min(statuses, key=lambda s: s.remaining)
    frees = _combined_frees(statuses, tight.remaining)
    if tight.remaining > 0:
        return replace(tight, frees=frees)
    blocked = [s for s in statuses if s.remaining == 0]
    if any(s.next_slot_at is None for s in blocked):
        return replace(next(s for s in blocked if s.next_slot_at is None), frees=())
    return replace(max(blocked, key=lambda s: s.next_slot_at or datetime.min), frees=frees)


def _window_status(
    window: RollingWindow, sent_times: Sequence[datetime], now: datetime
) -> QuotaStatus:
    left = window.remaining(sent_times, now)
    slot = None if left else window.next_free_slot(sent_times, now)
    used = _in_window(sent_times, now, window.window)
    over = max(0, len(used) - window.limit)  # these free no slot: the window is over its limit
    frees = tuple(t + window.window for t in used[over:])
    return QuotaStatus(left, slot, window.name, frees)


def apply_remote_limits(
    local: QuotaStatus,
    remote: RemoteLimit,
    *,
    now: datetime,
    sent_times: Sequence[datetime] = (),
) -> QuotaStatus:
    """Correct a local status with Edges' answer: sends Edges counts that linkseq does not know.

    At `observed_at` Edges counted `limit - remaining` sends in its window; those of them not in
    linkseq's own `sent_times` are unknown sends (another tool, a person). Their times are
    unknown, so they are taken to stay in the window until `observed_at + window` and are
    subtracted from the local remaining until then. Edges saying none left with a time is obeyed
    until that time (no time given: a whole window from the observation, wire decision 5). An
    observation older than its window says nothing any more and is ignored.
    """
    if remote.observed_at + remote.window <= now:
        return local
    expires = remote.observed_at + remote.window
    if remote.remaining <= 0:
        wait = remote.next_slot_at or expires
        if wait > now:
            return _combine([local, QuotaStatus(0, wait, "edges")])
    counted = max(0, remote.limit - max(0, remote.remaining))
    start = remote.observed_at - remote.window
    known = sum(1 for t in sent_times if start < t <= remote.observed_at)
    unknown = max(0, counted - known)
    # this window's own room: its limit, less the unknown sends, less ours in it now (the
    # local status may be bound by another, shorter window: compare like with like)
    ours_now = sum(1 for t in sent_times if now - remote.window < t <= now)
    left = max(0, min(local.remaining, remote.limit - unknown - ours_now))
    if left == 0 and local.remaining > 0:
        # held by the unknown sends only: they have left the window by `expires` at the latest
        return QuotaStatus(0, expires, "edges")
    if left < local.remaining:
        return QuotaStatus(left, None, "edges")
    # the local windows' freed slots do not count the unknown sends, which stay in Edges'
    # window until `expires`: no send is placed at them while those are there
    return replace(local, frees=()) if unknown else local


def quota_status(
    *,
    action: Action,
    level: AccountLevel,
    now: datetime,
    sent_times: Sequence[datetime],
    first_sync_at: datetime | None,
    messages_per_day: int = 50,
    inmail_per_window: int | None = None,
    weekly_invitation_cap: int = 100,
    campaign_sent_times: Sequence[datetime] = (),
    campaign_daily_cap: int | None = None,
    postponed_until: datetime | None = None,
    remote: RemoteLimit | None = None,
) -> QuotaStatus:
    """Every limit on one action of one identity (for one campaign), combined: the minimum."""
    full, window = smart_limit(
        action, level, messages_per_day=messages_per_day, inmail_per_window=inmail_per_window
    )
    # ramp-up scales only the 24 h quota (API.md §5.1)
    limit = ramp_up_limit(full, first_sync_at, now) if window == DAY else full
    name = "smart_limit" if limit == full else "ramp_up"
    statuses = [_window_status(RollingWindow(name, window, limit), sent_times, now)]
    if action is Action.connect:
        weekly = RollingWindow("weekly_invitations", WEEK, weekly_invitation_cap)
        statuses.append(_window_status(weekly, sent_times, now))
    if campaign_daily_cap is not None:
        cap = RollingWindow("campaign_cap", DAY, campaign_daily_cap)
        statuses.append(_window_status(cap, campaign_sent_times, now))
    if postponed_until is not None and postponed_until > now:
        statuses.append(QuotaStatus(0, postponed_until, "postponed"))
    status = _combine(statuses)
    if remote is not None:
        status = apply_remote_limits(status, remote, now=now, sent_times=sent_times)
    return status


def effective_remaining(
    *,
    action: Action,
    level: AccountLevel,
    now: datetime,
    sent_times: Sequence[datetime],
    first_sync_at: datetime | None,
    messages_per_day: int = 50,
    inmail_per_window: int | None = None,
    weekly_invitation_cap: int = 100,
    campaign_sent_times: Sequence[datetime] = (),
    campaign_daily_cap: int | None = None,
    postponed_until: datetime | None = None,
    remote: RemoteLimit | None = None,
) -> int:
    """How many sends of this action may go now: `quota_status(...).remaining`."""
    return quota_status(
        action=action,
        level=level,
        now=now,
        sent_times=sent_times,
        first_sync_at=first_sync_at,
        messages_per_day=messages_per_day,
        inmail_per_window=inmail_per_window,
        weekly_invitation_cap=weekly_invitation_cap,
        campaign_sent_times=campaign_sent_times,
        campaign_daily_cap=campaign_daily_cap,
        postponed_until=postponed_until,
        remote=remote,
    ).remaining


def with_remaining(status: QuotaStatus, used: int) -> QuotaStatus:
    """The status after `used` more sends planned in this pass (used by the planner)."""
    left = max(0, status.remaining - used)
    return replace(status, remaining=left)
