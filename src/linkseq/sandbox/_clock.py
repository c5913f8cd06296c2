"""The sandbox's virtual clock: time moves only when told, and moving it makes things happen."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from linkseq.clock import ensure_utc

__all__ = ["DEFAULT_START", "VirtualClock"]

DEFAULT_START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # a Monday, 08:00 UTC


class VirtualClock:
    """A `Clock` that only moves forward when told; a listener runs what falls due on the way."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = ensure_utc(start or DEFAULT_START)
        self._lock = threading.Lock()
        # The sandbox installs a listener so that a client advancing the clock (e.g. its sleep
        # seam) also delivers the acceptances, replies and callbacks that fall due meanwhile.
        self._listener: Callable[[datetime], None] | None = None

    def now(self) -> datetime:
        """The current virtual time, aware UTC."""
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        """Seconds since the epoch of the virtual time (monotonic by construction)."""
        return self.now().timestamp()

    def set_listener(self, listener: Callable[[datetime], None] | None) -> None:
        """Install the function that moves time to a target while processing events."""
        self._listener = listener

    def _set_raw(self, when: datetime) -> None:
        with self._lock:
            if when > self._now:
                self._now = when

    def set(self, when: datetime) -> None:
        """Jump to `when` (never backwards), processing everything due on the way."""
        target = ensure_utc(when)
        if target < self.now():
            raise ValueError("a clock never goes backwards")
        if self._listener is not None:
            self._listener(target)
        self._set_raw(target)

    def advance(self, delta: timedelta | float) -> datetime:
        """Move forward by `delta` (a timedelta or seconds) and return the new time."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError("a clock never goes backwards")
        self.set(self.now() + step)
        return self.now()

    def sleep(self, seconds: float) -> None:
        """A sleep that advances this clock instead of waiting."""
        self.advance(max(0.0, seconds))
