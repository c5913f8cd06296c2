"""Fault injection: seeded rates of the things that go wrong with a real API."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FaultConfig"]


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Rates (0..1) of each fault; all zero by default. Draws come from the sandbox's seed.

    - `status_429`: chance that a live call starts a burst of `burst_length` STATUS_429 answers
      (`Retry-After: retry_after_seconds`).
    - `server_error`: chance of a 500/503 answer to a live call (nothing happens on LinkedIn).
    - `slow`: chance that a live answer takes `slow_seconds` of virtual time.
    - `answer_lost`: chance that a successful outreach action takes effect and its answer is lost
      (in-process: `AnswerLost` is raised; over HTTP: the connection is held without answer).
    - `duplicate_callback` / `out_of_order_callback`: per callback delivery.
    - `auth_expired_mid_batch`: chance per async run (with ≥ 2 inputs) that the session expires
      before one of its inputs; per live call, the same rate divided by 20.
    - `reply_race`: chance per conversation sync that the person answers right before the
      identity's next message to them.
    - `session_expiry_per_day`: expected random session expiries per identity per day.
    """

    status_429: float = 0.0
    burst_length: int = 3
    retry_after_seconds: int = 30
    server_error: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 20.0
    answer_lost: float = 0.0
    duplicate_callback: float = 0.0
    out_of_order_callback: float = 0.0
    auth_expired_mid_batch: float = 0.0
    reply_race: float = 0.0
    session_expiry_per_day: float = 0.0

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> FaultConfig:
        """Build from a mapping (a world file's `faults:`); unknown keys are refused."""
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        return cls(**data)  # type: ignore[arg-type]
