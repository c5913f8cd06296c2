"""One identity pass: what goes, in what order, and why the rest waits; completion forecast."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from linkseq.planning.hours import WorkingSchedule, is_open
from linkseq.planning.pacing import DEFAULT_PRIORITY, Pacing, StepKind
from linkseq.planning.quota import Action, QuotaStatus
from linkseq.planning.schedule import (
    Candidate,
    Held,
    HoldReason,
    Planned,
    forecast_completion,
    plan_identity_pass,
)

PARIS = ZoneInfo("Europe/Paris")
TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 3, 3, 10, 0, tzinfo=PARIS).astimezone(UTC)  # Tuesday 10:00 Paris
OFFICE = WorkingSchedule()
FULL = {a: QuotaStatus(25, None, "smart_limit") for a in Action}


def cand(key: str, kind: StepKind = StepKind.invitation, **kw: object) -> Candidate:
    fields: dict[str, object] = {"campaign": "c1", "due_at": NOW - timedelta(hours=1), "tz": PARIS}
    fields.update(kw)
    return Candidate(key, kind, **fields)  # type: ignore[arg-type]


def plan(cands: list[Candidate], **kw: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "now": NOW,
        "candidates": cands,
        "quotas": FULL,
        "schedules": {"c1": OFFICE},
        "last_action_at": None,
        "pacing": Pacing(spread=False),
        "rng": random.Random(0),
    }
    args.update(kw)
    return plan_identity_pass(**args)  # type: ignore[arg-type]


def test_first_goes_now_then_paced_within_horizon() -> None:
    got = plan([cand(f"l{i}") for i in range(30)])
    assert got.go[0].at == NOW
    gaps = [b.at - a.at for a, b in zip(got.go, got.go[1:], strict=False)]
    assert all(timedelta(seconds=45) <= g <= timedelta(seconds=120) for g in gaps)
    assert got.go[-1].at <= NOW + timedelta(minutes=15)
    assert 7 <= len(got.go) <= 21
    assert {h.reason for h in got.held} == {HoldReason.pacing}
    assert all(
        h.earliest is not None and h.earliest > NOW + timedelta(minutes=15) for h in got.held
    )
    assert len(got.go) + len(got.held) == 30


def test_last_action_sets_the_first_slot() -> None:
    last = NOW - timedelta(seconds=10)
    got = plan([cand("a")], last_action_at=last)
    (first,) = got.go
    assert last + timedelta(seconds=45) <= first.at <= last + timedelta(seconds=120)
    short = plan(
        [cand("a")], last_action_at=last, pacing=Pacing(spread=False, horizon=timedelta(0))
    )
    (held,) = short.held
    assert held.reason is HoldReason.pacing
    assert held.earliest is not None
    assert held.earliest >= last + timedelta(seconds=45)
    late = plan([cand("a")], last_action_at=NOW - timedelta(minutes=5))
    assert late.go[0].at == NOW


def test_every_reason() -> None:
    cands = [
        cand("delay", due_at=NOW + timedelta(days=2)),
        cand("cool", cooldown_until=NOW + timedelta(days=1)),
        cand("tokyo", tz=TOKYO),  # 18:00 in Tokyo: closed
        cand("visit", StepKind.visit),
        cand("msg", StepKind.follow_up),
    ]
    quotas = {**FULL, Action.visit: QuotaStatus(0, NOW + timedelta(hours=3), "ramp_up")}
    got = plan(cands, quotas=quotas)
    why = {k: got.why(k) for k in ("delay", "cool", "tokyo", "visit", "msg")}
    assert isinstance(why["delay"], Held)
    assert why["delay"].reason is HoldReason.delay
    assert why["delay"].earliest == NOW + timedelta(days=2)
    assert isinstance(why["cool"], Held)
    assert why["cool"].reason is HoldReason.cooldown
    assert isinstance(why["tokyo"], Held)
    assert why["tokyo"].reason is HoldReason.hours
    assert why["tokyo"].earliest == datetime(2026, 3, 4, 9, 0, tzinfo=TOKYO)
    assert isinstance(why["visit"], Held)
    assert why["visit"].reason is HoldReason.quota
    assert (why["visit"].earliest, why["visit"].detail) == (NOW + timedelta(hours=3), "ramp_up")
    assert isinstance(why["msg"], Planned)
    assert got.why("nobody") is None
    paused = plan(cands, identity_paused=True)
    assert not paused.go
    assert {h.reason for h in paused.held} == {HoldReason.paused}


def test_priority_order_follow_ups_first() -> None:
    kinds = [StepKind.visit, StepKind.invitation, StepKind.first_message, StepKind.follow_up] * 2
    got = plan(
        [cand(f"l{i}", k) for i, k in enumerate(kinds)],
        pacing=Pacing(spread=False, horizon=timedelta(hours=1)),
    )
    order = [p.candidate.kind for p in got.go]
    assert (
        order
        == [StepKind.follow_up] * 2
        + [StepKind.first_message] * 2
        + [StepKind.invitation] * 2
        + [StepKind.visit] * 2
    )


def test_quota_and_campaign_caps_are_spent_once() -> None:
    quotas = {**FULL, Action.connect: QuotaStatus(3, None, "smart_limit")}
    caps = {("c2", Action.connect): QuotaStatus(1, None, "campaign_cap")}
    cands = [cand(f"a{i}") for i in range(3)] + [cand(f"b{i}", campaign="c2") for i in range(3)]
    got = plan(
        cands,
        quotas=quotas,
        campaign_quotas=caps,
        schedules={"c1": OFFICE, "c2": OFFICE},
        pacing=Pacing(spread=False, horizon=timedelta(hours=2)),
    )
    assert len(got.go) == 3
    assert sum(1 for p in got.go if p.candidate.campaign == "c2") <= 1
    assert {h.reason for h in got.held} == {HoldReason.quota}
    assert plan([cand("x")], quotas={}).held[0].detail == "no_quota"


def test_window_closing_during_the_pass_holds_for_hours() -> None:
    now = datetime(2026, 3, 3, 17, 58, tzinfo=PARIS).astimezone(UTC)
    got = plan([cand(f"l{i}") for i in range(5)], now=now)
    assert all(is_open(OFFICE, PARIS, p.at) for p in got.go)
    assert any(h.reason is HoldReason.hours for h in got.held)


def test_spread_stretches_gaps_over_the_day() -> None:
    got = plan(
        [cand(f"l{i}") for i in range(50)],
        pacing=Pacing(horizon=timedelta(hours=9)),
        quotas={**FULL, Action.connect: QuotaStatus(16, None, "smart_limit")},
    )
    assert len(got.go) == 16
    close = datetime(2026, 3, 3, 18, 0, tzinfo=PARIS)
    assert got.go[-1].at < close
    assert got.go[-1].at > close - timedelta(hours=5)  # not a burst at the start


@given(
    st.lists(
        st.tuples(st.sampled_from(list(StepKind)), st.integers(-600, 600), st.booleans()),
        max_size=40,
    ),
    st.integers(0, 30),
    st.integers(0, 2**16),
)
def test_plan_invariants(items: list[tuple[StepKind, int, bool]], limit: int, seed: int) -> None:
    cands = [
        cand(f"l{i}", k, due_at=NOW + timedelta(minutes=m), tz=TOKYO if t else PARIS)
        for i, (k, m, t) in enumerate(items)
    ]
    quotas = {
        a: QuotaStatus(limit, None if limit else NOW + timedelta(hours=1), "q") for a in Action
    }
    got = plan(cands, quotas=quotas, rng=random.Random(seed), pacing=Pacing())
    assert sorted(
        c.key for c in [*(p.candidate for p in got.go), *(h.candidate for h in got.held)]
    ) == sorted(c.key for c in cands)
    for action in Action:
        assert sum(1 for p in got.go if p.candidate.action is action) <= limit
    times = [p.at for p in got.go]
    assert times == sorted(times)
    assert all(b - a >= timedelta(seconds=45) for a, b in itertools.pairwise(times))
    for p in got.go:
        assert NOW <= p.at <= NOW + timedelta(minutes=15)
        assert p.candidate.due_at <= NOW
        assert is_open(OFFICE, p.candidate.tz, p.at)
    for h in got.held:
        assert h.earliest is None or h.earliest >= NOW


def test_forecast_completion() -> None:
    monday = datetime(2026, 3, 2, 8, 0, tzinfo=PARIS).astimezone(UTC)
    # 100 leads at 25 a day: Monday..Thursday, the last one at the end of Thursday's window
    got = forecast_completion(
        now=monday, leads_left=100, daily_capacity=25, schedule=OFFICE, tz=PARIS
    )
    assert got == datetime(2026, 3, 5, 18, 0, tzinfo=PARIS)
    # 110 leads: Friday, then 10 more after the weekend
    got = forecast_completion(
        now=monday, leads_left=135, daily_capacity=25, schedule=OFFICE, tz=PARIS
    )
    assert got is not None
    assert got.astimezone(PARIS).date().isoformat() == "2026-03-09"
    half = forecast_completion(
        now=monday, leads_left=10, daily_capacity=20, schedule=OFFICE, tz=PARIS, today_left=20
    )
    assert half == datetime(2026, 3, 2, 13, 30, tzinfo=PARIS)
    assert (
        forecast_completion(now=monday, leads_left=0, daily_capacity=0, schedule=OFFICE, tz=PARIS)
        == monday
    )
    assert (
        forecast_completion(now=monday, leads_left=5, daily_capacity=0, schedule=OFFICE, tz=PARIS)
        is None
    )
    today_only = forecast_completion(
        now=monday, leads_left=5, daily_capacity=0, schedule=OFFICE, tz=PARIS, today_left=5
    )
    assert today_only == datetime(2026, 3, 2, 18, 0, tzinfo=PARIS)


@given(
    st.lists(
        st.tuples(st.sampled_from(list(StepKind)), st.integers(-600, 30), st.booleans()),
        min_size=1,
        max_size=40,
    ),
    st.dictionaries(st.sampled_from(list(Action)), st.integers(0, 10)),
    st.sampled_from([timedelta(0), timedelta(minutes=5), timedelta(minutes=15)]),
    st.integers(0, 2**16),
)
def test_order_rule_follow_ups_then_first_messages_then_invitations_then_visits(
    items: list[tuple[StepKind, int, bool]],
    limits: dict[Action, int],
    horizon: timedelta,
    seed: int,
) -> None:
    """Whatever the quotas and the pacing leave room for, a step kind never goes while a kind
    ranked before it waits for the pacing: the order rule of the issue."""
    cands = [
        cand(f"l{i}", k, due_at=NOW + timedelta(minutes=m), tz=TOKYO if t else PARIS)
        for i, (k, m, t) in enumerate(items)
    ]
    quotas = {a: QuotaStatus(limits.get(a, 10), None, "q") for a in Action}
    got = plan(
        cands,
        quotas=quotas,
        rng=random.Random(seed),
        pacing=Pacing(spread=False, horizon=horizon),
    )
    rank = {k: i for i, k in enumerate(DEFAULT_PRIORITY)}
    ranks = [rank[p.candidate.kind] for p in got.go]
    assert ranks == sorted(ranks)
    waiting = [rank[h.candidate.kind] for h in got.held if h.reason is HoldReason.pacing]
    if waiting:
        assert all(r <= min(waiting) for r in ranks), (ranks, waiting)
    # a kind is held for its quota only once that quota is spent by this plan
    for h in got.held:
        if h.reason is HoldReason.quota:
            spent = sum(1 for p in got.go if p.candidate.action is h.candidate.action)
            assert spent == quotas[h.candidate.action].remaining


def test_a_slot_freed_mid_day_goes_within_minutes_though_few_leads_are_open_yet() -> None:
    """An invitation-bound identity at 10:00 Paris: one slot free now, yesterday's sends freeing
    one every 20 minutes until the office closes, and only three leads open yet (the rest of
    the backlog lives further west). The freed slot goes minutes after the last invitation:
    the day's spread is the quota's (24 before the close), not three leads over eight hours."""
    last = NOW - timedelta(minutes=20)
    frees = tuple(NOW + timedelta(minutes=20 * i) for i in range(1, 24))
    freeing = QuotaStatus(1, None, "smart_limit", frees)
    for seed in range(20):
        got = plan(
            [cand(f"l{i}") for i in range(3)],
            quotas={**FULL, Action.connect: freeing},
            pacing=Pacing(horizon=timedelta(hours=8)),
            last_action_at=last,
            last_sent={Action.connect: last},
            rng=random.Random(seed),
        )
        first, *others = got.go
        assert first.at - last <= timedelta(minutes=20)
        # the other two go as the window frees its slots (its own cadence permitting), in the
        # same plan: each at or after its own freed slot, none held for the quota
        assert len(others) == 2
        assert not got.held
        for planned, free in zip(others, frees, strict=False):
            assert free <= planned.at < free + timedelta(hours=2)
        assert first.at < others[0].at < others[1].at
    # a slot that frees at an instant counts from that instant on
    assert QuotaStatus(2, None, "weekly", (NOW, NOW + timedelta(hours=1))).by(NOW) == 3


def test_a_fresh_days_quota_is_still_spread_over_the_day_not_sent_at_nine() -> None:
    """Nine o'clock, 25 invitations allowed and none freeing (the first day, or a Monday):
    each goes a spread gap after the previous one, the day's volume across the window."""
    nine = datetime(2026, 3, 3, 9, 0, tzinfo=PARIS).astimezone(UTC)
    close = datetime(2026, 3, 3, 18, 0, tzinfo=PARIS)
    cands = [cand(f"l{i}") for i in range(60)]
    last = nine - timedelta(hours=15)  # yesterday's last invitation
    got = plan(
        cands, now=nine, pacing=Pacing(), last_action_at=last, last_sent={Action.connect: last}
    )
    assert got.go[0].at == nine
    assert len(got.go) <= 2  # not a burst at nine: the next one comes a spread gap later
    day = plan(cands, now=nine, pacing=Pacing(horizon=timedelta(hours=9)), last_action_at=last)
    instants = [p.at for p in day.go]
    assert len(instants) == 25
    assert instants[-1] < close
    assert instants[-1] > close - timedelta(hours=4)
    assert all(b - a >= timedelta(minutes=5) for a, b in itertools.pairwise(instants))


def test_each_action_keeps_its_own_cadence_and_only_the_human_gap_between_two() -> None:
    """Invitations spread over the day do not hold visits back: with 500 visits allowed (their
    own spread is under a minute), the visits go one human gap after the previous action,
    whatever its kind, and the invitations keep their own spacing."""
    cands = [cand(f"i{i}") for i in range(10)] + [cand(f"v{i}", StepKind.visit) for i in range(10)]
    quotas = {
        **FULL,
        Action.connect: QuotaStatus(16, None, "smart_limit"),
        Action.visit: QuotaStatus(500, None, "smart_limit"),
    }
    got = plan(cands, quotas=quotas, pacing=Pacing(horizon=timedelta(hours=1)))
    assert got.go[0].candidate.kind is StepKind.invitation  # the order rule: it goes first
    for before, after in itertools.pairwise(got.go):
        assert after.at - before.at >= timedelta(seconds=45)
        if after.candidate.kind is StepKind.visit:
            assert after.at - before.at <= timedelta(seconds=120)
    visits = [p.at for p in got.go if p.candidate.kind is StepKind.visit]
    assert len(visits) == 10
    assert visits[-1] <= NOW + timedelta(minutes=20)
    invitations = [p.at for p in got.go if p.candidate.kind is StepKind.invitation]
    assert len(invitations) >= 2
    assert all(b - a >= timedelta(minutes=5) for a, b in itertools.pairwise(invitations))


def test_due_messages_are_not_spread_over_the_day() -> None:
    """Messages go first and at the human pace (the runner sends them in a burst after one
    conversations sync); the invitations that follow keep their own spread."""
    cands = [cand(f"m{i}", StepKind.follow_up) for i in range(4)] + [cand("i0"), cand("i1")]
    got = plan(cands, pacing=Pacing(horizon=timedelta(hours=1)))
    kinds = [p.candidate.kind for p in got.go]
    assert kinds[:5] == [StepKind.follow_up] * 4 + [StepKind.invitation]
    assert got.go[4].at - got.go[0].at <= timedelta(seconds=4 * 120)


def test_the_lead_whose_window_closes_first_goes_first() -> None:
    """One invitation left at 16:30 Paris, leads in Paris (closes at 18:00) and New York (open
    until 18:00 there, six hours later): Paris goes, New York can take a slot freed later."""
    new_york = ZoneInfo("America/New_York")
    now = datetime(2026, 3, 3, 16, 30, tzinfo=PARIS).astimezone(UTC)
    one = {**FULL, Action.connect: QuotaStatus(1, None, "smart_limit")}
    for seed in range(20):
        cands = [cand(f"ny{i}", tz=new_york) for i in range(3)] + [cand("paris")]
        got = plan(cands, now=now, quotas=one, rng=random.Random(seed))
        assert [p.candidate.key for p in got.go] == ["paris"]


def test_a_plan_whose_first_action_is_a_spread_gap_away_says_when_it_goes() -> None:
    """The first invitation of a pass comes a spread gap after the last one, not at once (the
    runner does not wait for it: it wakes the identity then)."""
    last = NOW - timedelta(minutes=1)
    got = plan(
        [cand(f"l{i}") for i in range(5)],
        quotas={**FULL, Action.connect: QuotaStatus(3, None, "smart_limit")},
        pacing=Pacing(horizon=timedelta(hours=8)),
        last_action_at=last,
        last_sent={Action.connect: last},
    )
    assert len(got.go) == 3
    assert got.go[0].at > NOW + Pacing().max_gap
    assert {h.reason for h in got.held} == {HoldReason.quota}


@given(
    left=st.integers(0, 5),
    frees=st.lists(st.integers(0, 8 * 60), max_size=30),
    leads=st.integers(1, 40),
    spread=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_a_plan_sends_no_more_than_the_slots_free_by_each_send(
    left: int, frees: list[int], leads: int, spread: bool, seed: int
) -> None:
    """Sends planned at freed slots: by the instant of its n-th invitation the plan has never
    placed more than what was left plus the slots freed by then, in time order."""
    slots = tuple(sorted(NOW + timedelta(minutes=m) for m in frees))
    status = QuotaStatus(left, None if left or not slots else slots[0], "smart_limit", slots)
    got = plan(
        [cand(f"l{i}") for i in range(leads)],
        quotas={**FULL, Action.connect: status},
        pacing=Pacing(spread=spread, horizon=timedelta(hours=8)),
        rng=random.Random(seed),
    )
    times = [p.at for p in got.go]
    assert times == sorted(times)
    for n, at in enumerate(times, start=1):
        assert n <= status.by(at)
    assert len(got.go) <= left + len(slots)
    assert len(got.go) + len(got.held) == leads
    # a lead waits for the quota only once what was left and every slot freed in time is used
    if any(h.reason is HoldReason.quota for h in got.held):
        assert len(got.go) >= left


def test_the_spread_leaves_a_lead_open_for_each_send_it_plans() -> None:
    """Three invitations left and a slot freeing in three hours; ten leads whose window closes
    in an hour (Shanghai, 17:00 there) and one whose closes in four (Karachi, 14:00). Spread
    over the four hours, the third send would come after Shanghai closed and take the Karachi
    lead, leaving none for the freed slot. The spread ends sooner: three go while Shanghai is
    open, the fourth at the freed slot to Karachi."""
    shanghai, karachi = ZoneInfo("Asia/Shanghai"), ZoneInfo("Asia/Karachi")
    free = NOW + timedelta(hours=3)
    leads = [cand(f"s{i}", tz=shanghai) for i in range(10)] + [cand("k", tz=karachi)]
    for seed in range(20):
        got = plan(
            leads,
            quotas={**FULL, Action.connect: QuotaStatus(3, None, "weekly_invitations", (free,))},
            pacing=Pacing(horizon=timedelta(hours=8)),
            rng=random.Random(seed),
        )
        assert [p.candidate.tz for p in got.go] == [shanghai] * 3 + [karachi]
        assert all(is_open(OFFICE, p.candidate.tz, p.at) for p in got.go)
        assert got.go[-1].at >= free


def test_edges_unknown_sends_keep_a_plan_from_sending_at_the_local_windows_freed_slots() -> None:
    """Edges counted five invitations linkseq did not send (another tool): they stay in its 24 h
    window until the observation's window ends, and the local windows' freed slots do not count
    them. The plan sends what is left now (two) and waits for the rest; it does not place sends
    at the weekly cap's slots freeing a minute apart (ten, the sixth over Edges' 25)."""
    from linkseq.planning.quota import DAY, WEEK, AccountLevel, RemoteLimit, quota_status

    daily = [NOW - timedelta(hours=h) for h in range(1, 16)]  # 15 in the last 24 h
    weekly = [NOW - WEEK + timedelta(minutes=5 + m) for m in range(83)]  # freeing one a minute
    remote = RemoteLimit(DAY, 25, 5, NOW - timedelta(minutes=1))  # 20 counted: 5 unknown
    status = quota_status(
        action=Action.connect,
        level=AccountLevel.classic,
        now=NOW,
        sent_times=sorted(daily + weekly),
        first_sync_at=NOW - 30 * DAY,
        remote=remote,
    )
    assert status.remaining == 2
    assert status.fits(2, NOW) is None
    got = plan(
        [cand(f"l{i}") for i in range(30)],
        quotas={**FULL, Action.connect: status},
        pacing=Pacing(spread=False, horizon=timedelta(hours=3)),
    )
    assert len(got.go) == 2
    assert {h.reason for h in got.held} == {HoldReason.quota}


def test_a_campaign_sets_its_own_order_of_step_kinds() -> None:
    """The default order sends follow-ups, then first messages, invitations, visits; a
    campaign's `pacing.order` reorders its own candidates only."""
    mixed = [
        cand("v1", StepKind.visit),
        cand("i1", StepKind.invitation),
        cand("f1", StepKind.follow_up),
        cand("v2", StepKind.visit, campaign="c2"),
        cand("i2", StepKind.invitation, campaign="c2"),
    ]
    schedules = {"c1": OFFICE, "c2": OFFICE}

    def kinds(orders: dict[str, tuple[StepKind, ...]] | None) -> list[str]:
        got = plan(mixed, schedules=schedules, orders=orders)
        return [p.candidate.key for p in got.go]

    default = kinds(None)
    assert default[0] == "f1"
    assert default.index("i1") < default.index("v1")
    assert default.index("i2") < default.index("v2")
    visits_first = (StepKind.visit, *(k for k in DEFAULT_PRIORITY if k is not StepKind.visit))
    reordered = kinds({"c1": visits_first, "c2": DEFAULT_PRIORITY})
    assert reordered[0] == "v1"  # c1's visit now goes before its follow-up...
    assert reordered.index("f1") < reordered.index("i1")
    assert reordered.index("i2") < reordered.index("v2")  # ...c2 keeps the default order
