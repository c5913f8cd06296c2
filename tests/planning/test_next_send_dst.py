"""When an identity's next actions go, across daylight-saving changes (Hypothesis).

`plan_identity_pass` gives each action its instant (`Planned.at`); `forecast_completion` says
when a campaign's last lead goes. Here `now` falls within a day and a half of a real transition
of one of several zones (2025–2027), the leads live in those zones, and the working windows are
drawn around the hours a transition skips or repeats. Every instant is checked against the
wall clock read independently (`astimezone`), not through `linkseq.planning.hours`.
"""

from __future__ import annotations

import functools
import itertools
import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
from hypothesis import given, settings
from hypothesis import strategies as st

from linkseq.planning.hours import WorkingSchedule
from linkseq.planning.pacing import Pacing, StepKind
from linkseq.planning.quota import Action, QuotaStatus
from linkseq.planning.schedule import (
    Candidate,
    HoldReason,
    forecast_completion,
    plan_identity_pass,
)

# zones with DST (north and south, whole-hour, half-hour and 45-minute offsets) and without
DST_ZONES = (
    "Europe/Paris",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Pacific/Chatham",
    "Europe/London",
)
ZONES = (*DST_ZONES, "Asia/Kolkata", "Asia/Tokyo")
# window edges near the hours transitions skip or repeat (00:00–04:00), and office hours
STARTS = (time(0), time(1), time(1, 30), time(2), time(2, 30), time(2, 45), time(3), time(9))
ENDS = (time(1, 30), time(2, 15), time(2, 30), time(3), time(3, 30), time(4), time(18), time(23))


@functools.cache
def transitions(zone: str) -> tuple[datetime, ...]:
    """The instants (to the hour) the zone's UTC offset changed in 2025–2027."""
    tz = ZoneInfo(zone)
    out = []
    at = datetime(2025, 1, 1, tzinfo=UTC)
    before = at.astimezone(tz).utcoffset()
    while at < datetime(2028, 1, 1, tzinfo=UTC):
        at += timedelta(hours=1)
        offset = at.astimezone(tz).utcoffset()
        if offset != before:
            out.append(at)
            before = offset
    return tuple(out)


@st.composite
def near_transition(draw: st.DrawFn) -> tuple[str, datetime]:
    """A zone with DST and an instant within 36 hours of one of its transitions, to the second."""
    zone = draw(st.sampled_from(DST_ZONES))
    pivot = draw(st.sampled_from(transitions(zone)))
    return zone, pivot + timedelta(seconds=draw(st.integers(-36 * 3600, 36 * 3600)))


@st.composite
def schedules(draw: st.DrawFn) -> WorkingSchedule:
    start = draw(st.sampled_from(STARTS))
    end = draw(st.sampled_from([t for t in ENDS if t > start]))
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    country = draw(st.sampled_from([None, None, "FR", "US", "AU"]))
    return WorkingSchedule(days=days, start=start, end=end, holidays_country=country)


@functools.cache
def public_holidays(country: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, years=year))


def open_by_wall_clock(schedule: WorkingSchedule, zone: str, at: datetime) -> bool:
    """The definition of open hours, read off the wall clock without linkseq's hours module."""
    wall = at.astimezone(ZoneInfo(zone))
    if wall.weekday() not in schedule.days:
        return False
    country = schedule.holidays_country
    if country is not None and wall.date() in public_holidays(country, wall.year):
        return False
    return schedule.start <= wall.time().replace(tzinfo=None) < schedule.end


def candidates(pivot: str) -> st.SearchStrategy[list[tuple[StepKind, int, str, str]]]:
    """Leads of every kind, due from a day ago to two hours ahead, half of them in `pivot`."""
    return st.lists(
        st.tuples(
            st.sampled_from(list(StepKind)),
            st.integers(-24 * 60, 120),  # due, minutes from now
            st.sampled_from(ZONES) | st.just(pivot),
            st.sampled_from(["c1", "c2"]),
        ),
        min_size=1,
        max_size=30,
    )


@settings(max_examples=300, deadline=None)
@given(
    pivot=near_transition(),
    data=st.data(),
    c1=schedules(),
    c2=schedules(),
    remaining=st.integers(0, 30),
    min_gap=st.integers(0, 300),
    extra_gap=st.integers(0, 600),
    horizon_minutes=st.sampled_from([15, 30, 120, 12 * 60]),
    spread=st.booleans(),
    since_last=st.none() | st.integers(0, 900),
    seed=st.integers(0, 2**16),
)
def test_planned_instants_keep_hours_pacing_and_days_across_dst(
    pivot: tuple[str, datetime],
    data: st.DataObject,
    c1: WorkingSchedule,
    c2: WorkingSchedule,
    remaining: int,
    min_gap: int,
    extra_gap: int,
    horizon_minutes: int,
    spread: bool,
    since_last: int | None,
    seed: int,
) -> None:
    zone, now = pivot
    items = data.draw(candidates(zone))
    schedules_ = {"c1": c1, "c2": c2}
    cands = [
        Candidate(f"l{i}", kind, campaign, now + timedelta(minutes=due), ZoneInfo(zone))
        for i, (kind, due, zone, campaign) in enumerate(items)
    ]
    zone_of = {c.key: zone for c, (_, _, zone, _) in zip(cands, items, strict=True)}
    pacing = Pacing(
        min_gap=timedelta(seconds=min_gap),
        max_gap=timedelta(seconds=min_gap + extra_gap),
        horizon=timedelta(minutes=horizon_minutes),
        spread=spread,
    )
    last = None if since_last is None else now - timedelta(seconds=since_last)
    plan = plan_identity_pass(
        now=now,
        candidates=cands,
        quotas={a: QuotaStatus(remaining, None if remaining else now, "q") for a in Action},
        schedules=schedules_,
        last_action_at=last,
        pacing=pacing,
        rng=random.Random(seed),
    )
    keys = sorted([p.candidate.key for p in plan.go] + [h.candidate.key for h in plan.held])
    assert keys == sorted(c.key for c in cands)
    times = [p.at for p in plan.go]
    assert times == sorted(times)
    assert all(b - a >= pacing.min_gap for a, b in itertools.pairwise(times))
    if times and last is not None:
        assert times[0] - last >= pacing.min_gap
    for action in Action:
        assert sum(1 for p in plan.go if p.candidate.action is action) <= remaining
    for p in plan.go:
        c = p.candidate
        assert now <= p.at <= now + pacing.horizon
        assert c.due_at <= now
        # within the lead's hours in its own zone, on one of its working days (not a holiday)
        assert open_by_wall_clock(schedules_[c.campaign], zone_of[c.key], p.at), (c, p.at)
    for h in plan.held:
        assert h.earliest is None or h.earliest >= now
        if h.reason is HoldReason.hours:
            c = h.candidate
            assert h.earliest is not None
            assert open_by_wall_clock(schedules_[c.campaign], zone_of[c.key], h.earliest)


def _working_dates(
    schedule: WorkingSchedule, zone: str, start: datetime, end: datetime
) -> list[date]:
    """The local dates with an open instant in [start, end], by a scan every quarter hour
    (window edges and every zone's offset are whole quarter hours)."""
    mark = start.replace(minute=start.minute - start.minute % 15, second=0, microsecond=0)
    probes = [start]
    while (mark := mark + timedelta(minutes=15)) <= end:
        probes.append(mark)
    seen: list[date] = []
    for at in probes:
        if open_by_wall_clock(schedule, zone, at):
            day = at.astimezone(ZoneInfo(zone)).date()
            if not seen or seen[-1] != day:
                seen.append(day)
    return seen


@settings(max_examples=150, deadline=None)
@given(
    pivot=near_transition(),
    schedule=schedules(),
    capacity=st.integers(1, 40),
    days=st.integers(1, 3),
    short=st.integers(0, 39),
)
def test_forecast_lands_in_hours_on_the_right_working_day_across_dst(
    pivot: tuple[str, datetime], schedule: WorkingSchedule, capacity: int, days: int, short: int
) -> None:
    zone, now = pivot
    tz = ZoneInfo(zone)
    leads = days * capacity
    got = forecast_completion(
        now=now, leads_left=leads, daily_capacity=capacity, schedule=schedule, tz=tz
    )
    assert got is not None
    assert got >= now
    # the last lead goes inside a window (at its close at the latest)
    inside = open_by_wall_clock(schedule, zone, got)
    closing = open_by_wall_clock(schedule, zone, got - timedelta(milliseconds=1))
    assert inside or closing, got.astimezone(tz)
    # `days` full days of capacity end on the `days`-th working date from now, each date once
    # (a fall-back night that shows a window twice is still one day)
    dates = _working_dates(schedule, zone, now, got)
    assert len(dates) == days, (dates, got.astimezone(tz))
    fewer = forecast_completion(
        now=now,
        leads_left=max(1, leads - 1 - short),
        daily_capacity=capacity,
        schedule=schedule,
        tz=tz,
    )
    assert fewer is not None
    assert now <= fewer <= got
