"""The plan's token buckets, with an injected clock whose sleep moves time."""

from __future__ import annotations

import threading

import pytest

from linkseq.clock import ManualClock
from linkseq.edges import PLANS, EdgesClient, RateLimiter
from linkseq.edges._http import Client, MockTransport, Response
from tests.edges.conftest import IDENTITY


def test_trial_allows_one_per_second() -> None:
    clock = ManualClock()
    limiter = RateLimiter.for_plan("trial", clock=clock, sleep=clock.sleep)
    start = clock.monotonic()
    waits = [limiter.acquire() for _ in range(5)]
    assert waits == [0.0, 1.0, 1.0, 1.0, 1.0]
    assert clock.monotonic() - start == pytest.approx(4.0)


def test_titanium_runs_40_per_second_while_the_minute_bucket_lasts() -> None:
    clock = ManualClock()
    limiter = RateLimiter.for_plan("titanium", clock=clock, sleep=clock.sleep)
    start = clock.monotonic()
    for _ in range(1200):
        limiter.acquire()
    # The minute bucket starts full (1,200), so the first 1,200 go at 40/s.
    assert clock.monotonic() - start == pytest.approx((1200 - 40) / 40, abs=1e-3)
    before = clock.monotonic()
    limiter.acquire()
    assert clock.monotonic() - before == pytest.approx(1 / 40, abs=1e-5)


def test_titanium_per_minute_cap_binds_over_time() -> None:
    clock = ManualClock()
    limiter = RateLimiter.for_plan("titanium", clock=clock, sleep=clock.sleep)
    start = clock.monotonic()
    for _ in range(5000):
        limiter.acquire()
    # 5,000 requests need 1,200 + 20·t ≥ 5,000, i.e. t ≥ 190 s (40/s alone would give 124 s).
    assert clock.monotonic() - start == pytest.approx(190.0, abs=0.1)


def test_idle_time_refills_but_not_beyond_capacity() -> None:
    clock = ManualClock()
    limiter = RateLimiter(2, None, clock=clock, sleep=clock.sleep)
    assert limiter.acquire() == 0.0
    assert limiter.acquire() == 0.0
    assert limiter.acquire() == pytest.approx(0.5)
    clock.advance(60)
    assert [limiter.acquire() for _ in range(3)] == [0.0, 0.0, pytest.approx(0.5)]


def test_every_plan_is_known_and_unknown_refused() -> None:
    assert set(PLANS) == {"trial", "bronze", "silver", "gold", "platinum", "diamond", "titanium"}
    assert PLANS["titanium"].per_second == 40
    assert PLANS["trial"].per_second == 1
    with pytest.raises(ValueError, match="unknown Edges plan"):
        RateLimiter.for_plan("copper")
    with pytest.raises(ValueError):
        RateLimiter(0)


def test_threads_share_one_limiter_without_exceeding_the_rate() -> None:
    clock = ManualClock()
    waits: list[float] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:  # does not move the clock: reservations are the queue
        with lock:
            waits.append(seconds)

    limiter = RateLimiter(10, None, clock=clock, sleep=record)
    threads = [threading.Thread(target=limiter.acquire) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 10 immediate, then one every 0.1 s: the 20 waiters got distinct slots 0.1 … 2.0 s.
    assert sorted(round(w, 6) for w in waits) == [round(0.1 * i, 6) for i in range(1, 21)]


def test_client_paces_live_calls_with_the_plan() -> None:
    clock = ManualClock()
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.sleep(seconds)

    transport = MockTransport(lambda request: Response(200, json={"id": 1}))
    with Client(transport=transport) as http:
        client = EdgesClient("k", http=http, rate_limit="bronze", clock=clock, sleep=sleep)
        for _ in range(4):
            client.me(IDENTITY)
    assert sleeps == [pytest.approx(0.5), pytest.approx(0.5)]
