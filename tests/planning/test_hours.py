"""Working hours across time zones and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkseq.planning.hours import (
    TimezonePolicy,
    WorkingSchedule,
    is_open,
    next_close,
    next_open,
    resolve_timezone,
)

PARIS = ZoneInfo("Europe/Paris")
NY = ZoneInfo("America/New_York")
ZONES = [
    "Europe/Paris",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "America/Santiago",
    "Europe/London",
    "UTC",
]
OFFICE = WorkingSchedule()


def local(tz: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=tz, fold=fold).astimezone(UTC)  # type: ignore[misc]


def test_plain_week() -> None:
    monday_8 = local(PARIS, 2026, 1, 5, 8, 0)
    assert not is_open(OFFICE, PARIS, monday_8)
    assert next_open(OFFICE, PARIS, monday_8) == local(PARIS, 2026, 1, 5, 9, 0)
    assert is_open(OFFICE, PARIS, local(PARIS, 2026, 1, 5, 17, 59))
    assert not is_open(OFFICE, PARIS, local(PARIS, 2026, 1, 5, 18, 0))
    friday_19 = local(PARIS, 2026, 1, 9, 19, 0)
    assert next_open(OFFICE, PARIS, friday_19) == local(PARIS, 2026, 1, 12, 9, 0)
    assert next_close(OFFICE, PARIS, local(PARIS, 2026, 1, 5, 10, 0)) == local(
        PARIS, 2026, 1, 5, 18, 0
    )
    assert next_close(OFFICE, PARIS, friday_19) == friday_19


def test_results_are_aware_utc() -> None:
    got = next_open(OFFICE, NY, datetime(2026, 1, 5, 3, 0, tzinfo=PARIS))
    assert got.tzinfo is UTC
    assert got == local(NY, 2026, 1, 5, 9, 0)


def test_holidays_by_country() -> None:
    french = WorkingSchedule(holidays_country="FR")
    may_first = local(PARIS, 2026, 5, 1, 10, 0)  # a Friday, Fête du Travail
    assert is_open(OFFICE, PARIS, may_first)
    assert not is_open(french, PARIS, may_first)
    assert next_open(french, PARIS, may_first) == local(PARIS, 2026, 5, 4, 9, 0)
    assert french.is_working_day(date(2026, 5, 4))


def test_spring_forward_start_that_does_not_exist() -> None:
    night = WorkingSchedule(days=frozenset(range(7)), start=time(2, 30), end=time(4, 0))
    # 2026-03-29 in Paris: 02:00 → 03:00; 02:30 never happens, the window opens at 03:00 local
    got = next_open(night, PARIS, local(PARIS, 2026, 3, 29, 1, 0))
    assert got == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert got.astimezone(PARIS).time() == time(3, 0)
    assert not is_open(night, PARIS, got - timedelta(seconds=1))


def test_fall_back_repeated_hour_opens_twice() -> None:
    early = WorkingSchedule(days=frozenset(range(7)), start=time(0, 0), end=time(1, 30))
    # 2026-11-01 in New York: 02:00 EDT → 01:00 EST; 01:00–01:30 happens twice
    first_pass_140 = local(NY, 2026, 11, 1, 1, 40, fold=0)
    assert not is_open(early, NY, first_pass_140)
    got = next_open(early, NY, first_pass_140)
    assert got == local(NY, 2026, 11, 1, 1, 0, fold=1)  # the clock goes back into the window
    assert next_close(early, NY, got) == local(NY, 2026, 11, 1, 1, 30, fold=1)


def test_validation_and_policy() -> None:
    with pytest.raises(ValueError):
        WorkingSchedule(days=frozenset())
    with pytest.raises(ValueError):
        WorkingSchedule(start=time(18), end=time(9))
    with pytest.raises(ValueError):
        WorkingSchedule(days=frozenset({7}))
    kw = {"lead_tz": "Asia/Kolkata", "identity_tz": "Europe/Paris"}
    assert resolve_timezone(TimezonePolicy.lead, **kw) == ZoneInfo("Asia/Kolkata")
    assert resolve_timezone(TimezonePolicy.identity, **kw) == PARIS
    assert resolve_timezone(TimezonePolicy.lead, lead_tz=None, identity_tz="Europe/Paris") == PARIS
    assert resolve_timezone(TimezonePolicy.lead, lead_tz=None, identity_tz=None) == ZoneInfo("UTC")
    fixed = resolve_timezone(TimezonePolicy.fixed, fixed_tz="America/Santiago", **kw)
    assert fixed == ZoneInfo("America/Santiago")
    with pytest.raises(ValueError):
        resolve_timezone(TimezonePolicy.fixed, **kw)


def _minutes(draw: st.DrawFn) -> time:
    m = draw(st.integers(0, 24 * 4 - 1)) * 15
    return time(m // 60, m % 60)


@st.composite
def schedules(draw: st.DrawFn) -> WorkingSchedule:
    a, b = sorted({_minutes(draw), _minutes(draw)} | {time(23, 59)})[:2]
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    return WorkingSchedule(days=days, start=a, end=b)


# instants around DST transitions (March, April, September, October, November) in 2025–2027
instants = st.builds(
    lambda year, month, day, minute: (
        datetime(year, month, day, tzinfo=UTC) + timedelta(minutes=minute)
    ),
    st.integers(2025, 2027),
    st.sampled_from([3, 4, 9, 10, 11]),
    st.integers(1, 28),
    st.integers(0, 24 * 60 - 1),
)


@settings(max_examples=150)
@given(schedules(), st.sampled_from(ZONES), instants, st.integers(0, 59))
def test_next_open_properties(
    schedule: WorkingSchedule, zone: str, at: datetime, second: int
) -> None:
    tz = ZoneInfo(zone)
    at = at + timedelta(seconds=second, microseconds=second * 1000)
    got = next_open(schedule, tz, at)
    assert got >= at
    assert got.tzinfo is UTC
    assert is_open(schedule, tz, got)
    assert next_open(schedule, tz, got) == got  # idempotent when open
    # no open instant is skipped: a coarse scan (every 5 minutes) finds none before `got`
    probe = at
    while probe < got:
        assert not is_open(schedule, tz, probe), probe
        probe += timedelta(minutes=5)
    # and the instant just before is closed (got is the boundary) unless got == at
    if got > at:
        assert not is_open(schedule, tz, max(at, got - timedelta(seconds=1)))
    close = next_close(schedule, tz, got)
    assert close > got
    assert not is_open(schedule, tz, close)
    assert is_open(schedule, tz, close - timedelta(seconds=1))
