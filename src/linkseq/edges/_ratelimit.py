"""Client-side limiter for the plan's request rates (API.md §5.2), shared by threads.

Each limit is a token bucket; `acquire()` reserves a token in every bucket under one lock (tokens
may go negative: that is the queue), then sleeps outside the lock until its reservation is due.
Threads are therefore served in arrival order and no request ever exceeds the plan's rate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from linkseq.clock import Clock, SystemClock

__all__ = ["OUTPUTS_PLANS", "PLANS", "PlanRate", "RateLimiter"]


@dataclass(frozen=True)
class PlanRate:
    """A plan's rate: requests per second and per minute."""

    per_second: float
    per_minute: float


#: Live action requests per plan tier (API.md §5.2).
PLANS: dict[str, PlanRate] = {
    "trial": PlanRate(1, 60),
    "bronze": PlanRate(2, 120),
    "silver": PlanRate(10, 600),
    "gold": PlanRate(10, 600),
    "platinum": PlanRate(20, 1200),
    "diamond": PlanRate(20, 1200),
    "titanium": PlanRate(40, 1200),
}

#: `GET /v1/runs/{uid}/outputs` per plan tier ("<1" for trial read as 0.5/s).
OUTPUTS_PLANS: dict[str, PlanRate] = {
    "trial": PlanRate(0.5, 30),
    "bronze": PlanRate(1, 60),
    "silver": PlanRate(2.5, 150),
    "gold": PlanRate(2.5, 150),
    "platinum": PlanRate(5, 300),
    "diamond": PlanRate(5, 300),
    "titanium": PlanRate(10, 600),
}


class _Monotonic(Protocol):
    def monotonic(self) -> float: ...


class _Bucket:
    def __init__(self, capacity: float, refill_per_second: float, now: float) -> None:
        self.capacity = capacity
        self.rate = refill_per_second
        self.tokens = capacity
        self.stamp = now

    def reserve(self, now: float) -> float:
        """Take one token; return how long until it is actually available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class RateLimiter:
    """Token buckets (per second and per minute) shared by every thread that holds this object."""

    def __init__(
        self,
        per_second: float,
        per_minute: float | None = None,
        *,
        clock: Clock | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if per_second <= 0 or (per_minute is not None and per_minute <= 0):
            raise ValueError("rates must be positive")
        self._clock: Clock = clock or SystemClock()
        self._sleep = sleep or _real_sleep
        self._lock = threading.Lock()
        now = self._seconds()
        # Capacity max(1, rate): a fractional rate (0.5/s) still allows one request at a time.
        self._buckets = [_Bucket(max(1.0, per_second), per_second, now)]
        if per_minute is not None:
            self._buckets.append(_Bucket(max(1.0, per_minute), per_minute / 60.0, now))
        self.per_second = per_second
        self.per_minute = per_minute

    @classmethod
    def for_plan(
        cls,
        plan: str,
        *,
        clock: Clock | None = None,
        sleep: Callable[[float], None] | None = None,
        outputs: bool = False,
    ) -> RateLimiter:
        """The limiter for a plan tier name (`trial` … `titanium`), live or outputs endpoint."""
        table = OUTPUTS_PLANS if outputs else PLANS
        try:
            rate = table[plan.lower()]
        except KeyError:
            raise ValueError(f"unknown Edges plan {plan!r}; one of {', '.join(PLANS)}") from None
        return cls(rate.per_second, rate.per_minute, clock=clock, sleep=sleep)

    def __repr__(self) -> str:
        return f"RateLimiter(per_second={self.per_second:g}, per_minute={self.per_minute})"

    def reserve(self) -> float:
        """Take a slot now and return how many seconds to wait before using it."""
        with self._lock:
            now = self._seconds()
            return max(bucket.reserve(now) for bucket in self._buckets)

    def acquire(self) -> float:
        """Block until one request may be sent; return the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait

    def _seconds(self) -> float:
        clock = self._clock
        if hasattr(clock, "monotonic"):
            mono: _Monotonic = clock  # type: ignore[assignment]
            return mono.monotonic()
        return clock.now().timestamp()


def _real_sleep(seconds: float) -> None:
    # Imported lazily: the only real sleep in the client, used when no sleep was injected.
    import time

    time.sleep(seconds)
