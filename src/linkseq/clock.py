"""Time as a dependency: nothing in linkseq reads the wall clock except `SystemClock`.

Every component that needs "now" takes a `Clock`. Tests and the demo pass a `ManualClock`
(or the sandbox's virtual clock, which has the same shape) and move time forward by hand, so a
30-day campaign runs in seconds and behaves exactly as it would in real time.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "SystemClock", "ensure_utc"]


@runtime_checkable
class Clock(Protocol):
    """Anything that can tell the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


def ensure_utc(value: datetime) -> datetime:
    """Return `value` as an aware UTC datetime (naive values are taken to be UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class SystemClock:
    """The real clock. The only place in linkseq that reads the system time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that only moves when told to; thread-safe."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = ensure_utc(start or datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        return self.now().timestamp()

    def advance(self, delta: timedelta | float) -> datetime:
        """Move forward by `delta` (a timedelta or seconds) and return the new time."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError("a clock never goes backwards")
        with self._lock:
            self._now += step
            return self._now

    def set(self, when: datetime) -> None:
        """Jump to `when`, which must not be in the past."""
        target = ensure_utc(when)
        with self._lock:
            if target < self._now:
                raise ValueError("a clock never goes backwards")
            self._now = target

    def sleep(self, seconds: float) -> None:
        """A sleep that advances this clock instead of waiting."""
        self.advance(max(0.0, seconds))
