"""Smart Limits arithmetic: limits, ramp-up, rolling windows, combination, remote corrections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkseq.planning.quota import (
    DAY,
    INMAIL_WINDOW,
    WEEK,
    AccountLevel,
    Action,
    QuotaStatus,
    RemoteLimit,
    RollingWindow,
    apply_remote_limits,
    effective_remaining,
    next_free_slot,
    quota_status,
    ramp_up_limit,
    remaining,
    smart_limit,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("action", "level", "expected"),
    [
        (Action.visit, AccountLevel.classic, (80, DAY)),
        (Action.visit, AccountLevel.sales_navigator, (500, DAY)),
        (Action.connect, AccountLevel.classic, (25, DAY)),
        (Action.connect, AccountLevel.sales_navigator, (30, DAY)),
        (Action.message, AccountLevel.classic, (50, DAY)),
        (Action.message, AccountLevel.sales_navigator, (50, DAY)),
        (Action.inmail, AccountLevel.classic, (5, INMAIL_WINDOW)),
        (Action.inmail, AccountLevel.sales_navigator, (50, INMAIL_WINDOW)),
    ],
)
def test_smart_limits(action: Action, level: AccountLevel, expected: tuple[int, timedelta]) -> None:
    assert smart_limit(action, level) == expected


def test_message_limit_is_configurable_up_to_250() -> None:
    assert smart_limit(Action.message, AccountLevel.classic, messages_per_day=250) == (250, DAY)
    for bad in (0, 251):
        with pytest.raises(ValueError):
            smart_limit(Action.message, AccountLevel.classic, messages_per_day=bad)
    assert smart_limit(Action.inmail, AccountLevel.classic, inmail_per_window=15)[0] == 15


def test_level_parsing() -> None:
    assert AccountLevel.parse("Sales Navigator") is AccountLevel.sales_navigator
    assert AccountLevel.parse("Premium") is AccountLevel.classic
    assert AccountLevel.parse("Classic") is AccountLevel.classic


@pytest.mark.parametrize(
    ("full", "expected"),
    [
        (25, [5, 10, 15, 20, 25, 25, 25]),
        (30, [6, 12, 18, 24, 30, 30, 30]),
        (80, [16, 32, 48, 64, 80, 80, 80]),
        (50, [10, 20, 30, 40, 50, 50, 50]),
        (3, [1, 2, 2, 3, 3, 3, 3]),
        (1, [1, 1, 1, 1, 1, 1, 1]),
        (0, [0, 0, 0, 0, 0, 0, 0]),
    ],
)
def test_ramp_up_per_day(full: int, expected: list[int]) -> None:
    got = [ramp_up_limit(full, T0, T0 + DAY * d + H) for d in range(7)]
    assert got == expected


def test_ramp_up_day_boundaries() -> None:
    assert ramp_up_limit(25, T0, T0) == 5
    assert ramp_up_limit(25, T0, T0 + DAY - timedelta(microseconds=1)) == 5
    assert ramp_up_limit(25, T0, T0 + DAY) == 10
    assert ramp_up_limit(25, T0, T0 + 4 * DAY) == 25
    assert ramp_up_limit(25, None, T0) == 5  # never synced: cautious day 1
    assert ramp_up_limit(25, T0, T0 - H) == 5


@given(st.integers(1, 1000), st.integers(0, 10 * 24 * 60))
def test_ramp_up_bounds(full: int, minutes: int) -> None:
    got = ramp_up_limit(full, T0, T0 + timedelta(minutes=minutes))
    assert 1 <= got <= full
    assert got <= ramp_up_limit(full, T0, T0 + timedelta(minutes=minutes + 24 * 60))


def test_rolling_window_edges() -> None:
    sent = [T0, T0 + H, T0 + 2 * H]
    assert remaining(sent, T0 + 2 * H, DAY, 3) == 0
    assert remaining(sent, T0 + DAY - timedelta(microseconds=1), DAY, 3) == 0
    assert remaining(sent, T0 + DAY, DAY, 3) == 1  # the first send has left the window
    assert remaining(sent, T0 + 3 * H, DAY, 2) == 0  # never negative
    assert next_free_slot(sent, T0 + 3 * H, DAY, 3) == T0 + DAY
    assert next_free_slot(sent, T0 + 3 * H, DAY, 2) == T0 + H + DAY
    assert next_free_slot(sent, T0 + 3 * H, DAY, 4) == T0 + 3 * H
    assert next_free_slot(sent, T0, DAY, 0) is None
    window = RollingWindow("w", DAY, 3)
    assert window.remaining(sent, T0 + 3 * H) == 0
    assert window.next_free_slot(sent, T0 + 3 * H) == T0 + DAY


@given(
    st.lists(st.integers(0, 3 * 24 * 60), max_size=40),
    st.integers(0, 3 * 24 * 60),
    st.integers(1, 10),
)
def test_next_free_slot_is_the_first_free_instant(offsets: list[int], at: int, limit: int) -> None:
    sent = [T0 + timedelta(minutes=m) for m in offsets]
    now = T0 + timedelta(minutes=at)
    slot = next_free_slot(sent, now, DAY, limit)
    assert slot is not None
    assert slot >= now
    assert remaining(sent, slot, DAY, limit) >= 1
    if slot > now:
        assert remaining(sent, slot - timedelta(microseconds=1), DAY, limit) == 0


def _status(now: datetime, sent: list[datetime], **kw: object) -> QuotaStatus:
    return quota_status(
        action=Action.connect,
        level=AccountLevel.classic,
        now=now,
        sent_times=sent,
        first_sync_at=T0 - 30 * DAY,
        **kw,  # type: ignore[arg-type]
    )


def test_status_names_the_binding_limit() -> None:
    assert _status(T0, []) == QuotaStatus(25, None, "smart_limit")
    week = [T0 - DAY * 6 + timedelta(minutes=i) for i in range(100)]
    blocked = _status(T0, week)
    assert blocked.remaining == 0
    assert blocked.binding == "weekly_invitations"
    assert blocked.next_slot_at == week[0] + WEEK
    capped = _status(T0, [], campaign_daily_cap=2, campaign_sent_times=[T0 - H, T0 - 2 * H])
    assert (capped.remaining, capped.binding) == (0, "campaign_cap")
    assert capped.next_slot_at == T0 - 2 * H + DAY
    postponed = _status(T0, [], postponed_until=T0 + 5 * H)
    assert postponed == QuotaStatus(0, T0 + 5 * H, "postponed")
    assert _status(T0, [], postponed_until=T0 - H).remaining == 25
    young = quota_status(
        action=Action.connect,
        level=AccountLevel.classic,
        now=T0,
        sent_times=[],
        first_sync_at=T0 - H,
    )
    assert (young.remaining, young.binding) == (5, "ramp_up")


def test_blocked_statuses_wait_for_the_latest_slot() -> None:
    sent = [T0 - H * i for i in range(25)]
    status = _status(T0, sent, postponed_until=T0 + 2 * H)
    assert status.remaining == 0
    assert status.next_slot_at == max(T0 + 2 * H, sent[-1] + DAY)


def test_remote_limits_correct_the_local_count() -> None:
    # linkseq sent 2 in the window; at T0 - H Edges counted 15 (13 unknown sends elsewhere)
    sent = [T0 - 2 * H, T0 - timedelta(minutes=30)]  # the second after the observation
    remote = RemoteLimit(DAY, 25, 10, observed_at=T0 - H)
    local = _status(T0, sent)
    assert local.remaining == 23
    got = apply_remote_limits(local, remote, now=T0, sent_times=sent)
    assert got == QuotaStatus(23 - 14, None, "edges")
    # Edges counted no more than linkseq knows: the local count stands
    agree = RemoteLimit(DAY, 25, 24, observed_at=T0 - H)
    assert apply_remote_limits(local, agree, now=T0, sent_times=sent) == local
    # Edges says none left and when: wait for it
    dry = RemoteLimit(DAY, 25, 0, observed_at=T0, next_slot_at=T0 + 3 * H)
    assert apply_remote_limits(local, dry, now=T0) == QuotaStatus(0, T0 + 3 * H, "edges")
    # none left, no time given: a whole window from the observation
    blind = RemoteLimit(DAY, 25, 0, observed_at=T0 - H)
    assert apply_remote_limits(local, blind, now=T0).next_slot_at == T0 - H + DAY
    # an observation older than its window says nothing any more
    stale = RemoteLimit(DAY, 25, 0, observed_at=T0 - DAY)
    assert apply_remote_limits(local, stale, now=T0) == local
    assert _status(T0, [], remote=remote).remaining == 10


def test_remote_agreeing_with_the_local_count_changes_nothing() -> None:
    # Edges counted exactly linkseq's sends: the local rolling window decides, even once
    # some of those sends have left the window since the observation (no starving after a read)
    sent = [T0 - 20 * H, T0 - 19 * H, T0 - 2 * H]
    remote = RemoteLimit(DAY, 25, 23, observed_at=T0 - 10 * H)
    later = T0 + 5 * H  # the two oldest have left the window
    local = _status(later, sent)
    assert apply_remote_limits(local, remote, now=later, sent_times=sent) == local


def test_a_weekly_remote_count_is_compared_with_the_weekly_room_not_the_daily_one() -> None:
    # 25 invitations sent by hand this week: the 7-day window has 75 left, so today's 25 stand
    weekly = RemoteLimit(timedelta(days=7), 100, 75, observed_at=T0 - H)
    local = _status(T0, [])
    assert local.remaining == 25
    assert apply_remote_limits(local, weekly, now=T0, sent_times=[]) == local
    # 90 by hand: only 10 left this week
    busy = RemoteLimit(timedelta(days=7), 100, 10, observed_at=T0 - H)
    assert apply_remote_limits(local, busy, now=T0, sent_times=[]).remaining == 10


# -- the promise: a sender that obeys effective_remaining never exceeds any limit ------------


@given(
    gaps=st.lists(st.integers(1, 240), min_size=1, max_size=300),
    sync_age_hours=st.integers(0, 24 * 8),
    campaign_cap=st.one_of(st.none(), st.integers(0, 30)),
    weekly_cap=st.integers(10, 120),
    level=st.sampled_from(list(AccountLevel)),
)
def test_obedient_sender_never_exceeds_a_limit(
    gaps: list[int],
    sync_age_hours: int,
    campaign_cap: int | None,
    weekly_cap: int,
    level: AccountLevel,
) -> None:
    first_sync = T0 - timedelta(hours=sync_age_hours)
    now, sent = T0, []
    for gap in gaps:
        now += timedelta(minutes=gap)
        left = effective_remaining(
            action=Action.connect,
            level=level,
            now=now,
            sent_times=sent,
            first_sync_at=first_sync,
            weekly_invitation_cap=weekly_cap,
            campaign_sent_times=sent,
            campaign_daily_cap=campaign_cap,
        )
        assert left >= 0
        if left:
            sent.append(now)
    full = smart_limit(Action.connect, level)[0]
    for t in sent:
        in_day = sum(1 for s in sent if t - DAY < s <= t)
        in_week = sum(1 for s in sent if t - WEEK < s <= t)
        assert in_day <= ramp_up_limit(full, first_sync, t)
        assert in_week <= weekly_cap
        if campaign_cap is not None:
            assert in_day <= campaign_cap


def test_a_full_window_says_when_its_slots_free() -> None:
    sent = [T0 - 23 * H + i * timedelta(minutes=10) for i in range(25)]
    status = _status(T0, sent)
    assert status.remaining == 0
    assert status.binding == "smart_limit"
    assert status.frees == tuple(t + DAY for t in sent)
    assert status.by(T0) == 0
    assert status.by(T0 + H + timedelta(minutes=5)) == 1  # the first send of yesterday left
    assert status.by(T0 + DAY) == 25


@given(
    daily=st.lists(st.integers(1, 24 * 60 - 1), max_size=40),
    weekly=st.lists(st.integers(24 * 60, 7 * 24 * 60 - 1), max_size=110),
    campaign_cap=st.none() | st.integers(1, 30),
    weekly_cap=st.integers(10, 120),
)
def test_sends_at_the_freed_slots_fit_every_window_and_none_sooner(
    daily: list[int], weekly: list[int], campaign_cap: int | None, weekly_cap: int
) -> None:
    """The k-th send a plan places at `fits(k)` fits the daily limit, the weekly cap and the
    campaign's cap at once (each window counts what it holds then, plus the plan's own sends),
    and a microsecond sooner some window would be over: the combined slots are every window's,
    not only the binding one's."""
    sent = sorted(T0 - timedelta(minutes=m) for m in daily + weekly)
    status = _status(
        T0,
        sent,
        weekly_invitation_cap=weekly_cap,
        campaign_daily_cap=campaign_cap,
        campaign_sent_times=sent,
    )
    limits = [(DAY, 25), (WEEK, weekly_cap)] + ([(DAY, campaign_cap)] if campaign_cap else [])

    def fits(n: int, at: datetime) -> bool:  # n sends of the plan's at or before `at`
        return all(sum(1 for s in sent if at - w < s <= at) + n <= cap for w, cap in limits)

    k = 0
    while (at := status.fits(k, T0)) is not None and at < T0 + DAY:
        assert fits(k + 1, at)
        if at > T0:
            assert not fits(k + 1, at - timedelta(microseconds=1))
        k += 1
    assert k >= status.remaining
    assert status.by(T0 + DAY - timedelta(microseconds=1)) >= k
