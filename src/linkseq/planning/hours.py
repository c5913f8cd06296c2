"""Working hours in a time zone, correct across daylight-saving changes.

An instant is *open* when the wall clock it shows in the zone is on a working day that is not a
public holiday, at or after `start` and before `end`. Everything follows from that wall-clock
definition: on a spring-forward day whose `start` does not exist (02:30 in Paris), the window
opens at the transition instant, the first one whose wall clock reads ≥ 02:30; on a fall-back day
a repeated wall-clock hour inside the window is open both times it happens.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "TimezonePolicy",
    "WorkingSchedule",
    "is_open",
    "next_close",
    "next_open",
    "resolve_timezone",
]

_MAX_STEP = timedelta(hours=24)
_MAX_DAYS = 800  # a schedule that opens less than once in two years is a mistake


class TimezonePolicy(StrEnum):
    """Whose clock a campaign's hours follow."""

    lead = "lead"
    identity = "identity"
    fixed = "fixed"


def resolve_timezone(
    policy: TimezonePolicy,
    *,
    lead_tz: str | None,
    identity_tz: str | None,
    fixed_tz: str | None = None,
) -> ZoneInfo:
    """The zone to evaluate hours in: the lead's, falling back to the identity's, then UTC."""
    if policy is TimezonePolicy.fixed:
        if not fixed_tz:
            raise ValueError("a fixed time-zone policy needs a zone")
        return ZoneInfo(fixed_tz)
    name = (lead_tz if policy is TimezonePolicy.lead else None) or identity_tz or "UTC"
    return ZoneInfo(name)


@functools.lru_cache(maxsize=1024)
def _holiday_dates(country: str, subdiv: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdiv, years=year))


@dataclass(frozen=True, slots=True)
class WorkingSchedule:
    """Working days (0 = Monday), a daily window [start, end) and optional holidays."""

    days: frozenset[int] = frozenset(range(5))
    start: time = time(9, 0)
    end: time = time(18, 0)
    holidays_country: str | None = None
    holidays_subdiv: str | None = None

    def __post_init__(self) -> None:
        if not self.days or not self.days <= frozenset(range(7)):
            raise ValueError("working days must be a non-empty subset of 0..6")
        if not self.start < self.end:
            raise ValueError("start must be before end (windows across midnight are not supported)")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("start and end are wall-clock times without a zone")
        if self.holidays_country is not None:
            _holiday_dates(self.holidays_country, self.holidays_subdiv, 2026)  # fails early

    def is_working_day(self, day: date) -> bool:
        """True on a working weekday that is not a public holiday."""
        if day.weekday() not in self.days:
            return False
        if self.holidays_country is None:
            return True
        return day not in _holiday_dates(self.holidays_country, self.holidays_subdiv, day.year)

    def wall_open(self, wall: datetime) -> bool:
        """True when a naive wall-clock datetime falls inside the window."""
        return self.start <= wall.time() < self.end and self.is_working_day(wall.date())


def _wall(at: datetime, tz: tzinfo) -> datetime:
    return at.astimezone(tz).replace(tzinfo=None)


def is_open(schedule: WorkingSchedule, tz: tzinfo, at: datetime) -> bool:
    """True when `at` (aware) falls inside the schedule's hours in zone `tz`."""
    return schedule.wall_open(_wall(at, tz))


def _first_change(tz: tzinfo, lo: datetime, hi: datetime) -> datetime:
    """The first instant in (lo, hi] whose UTC offset differs from lo's (transitions fall on
    whole seconds, so a binary search over whole seconds is exact)."""
    before = lo.astimezone(tz).utcoffset()
    lo_s, hi_s = int(lo.timestamp()), int(hi.timestamp()) + 1
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(tz).utcoffset() == before:
            lo_s = mid
        else:
            hi_s = mid
    return max(lo, min(hi, datetime.fromtimestamp(hi_s, UTC)))


def _advance(at: datetime, tz: tzinfo, target_wall: datetime) -> datetime:
    """Move from `at` toward the instant whose wall clock reads `target_wall`, stopping at the
    first offset change on the way (the wall clock jumps there) and never more than a day."""
    step = min(target_wall - _wall(at, tz), _MAX_STEP)
    step = max(step, timedelta(seconds=1))
    later = at + step
    if later.astimezone(tz).utcoffset() != at.astimezone(tz).utcoffset():
        return _first_change(tz, at, later)
    return later


def next_open(schedule: WorkingSchedule, tz: tzinfo, at: datetime) -> datetime:
    """The earliest instant ≥ `at` inside the schedule's hours, as an aware UTC datetime."""
    current = at.astimezone(UTC)
    for _ in range(_MAX_DAYS * 4):
        wall = _wall(current, tz)
        if schedule.wall_open(wall):
            return current
        day = wall.date()
        if wall.time() >= schedule.start or not schedule.is_working_day(day):
            day += timedelta(days=1)
            while not schedule.is_working_day(day):
                day += timedelta(days=1)
        current = _advance(current, tz, datetime.combine(day, schedule.start))
    raise ValueError("the schedule does not open within two years")


def next_close(schedule: WorkingSchedule, tz: tzinfo, at: datetime) -> datetime:
    """The first instant ≥ `at` outside the schedule's hours (== `at` when closed), UTC."""
    current = at.astimezone(UTC)
    for _ in range(16):
        wall = _wall(current, tz)
        if not schedule.wall_open(wall):
            return current
        current = _advance(current, tz, datetime.combine(wall.date(), schedule.end))
    raise AssertionError("unreachable: a window closes within a day")
