"""The retry policy as a table and a pure function: `decide(failure, attempt, rng=…)`.

Reading order of `decide` (first match wins):
1. `UncertainSend`  → give up: the send may have happened; the caller reconciles first.
2. `LimitReached`   → give up: the caller reschedules at `postponed_until`, never in-process.
3. a class in `RETRYABLE` and attempts left → retry after `Retry-After` (when Edges gave one and it
   is not longer than `max_retry_after`) or after `backoff(attempt) + jitter`.
4. anything else    → give up.

Backoff and jitter are separate functions so tests can pin the randomness.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from linkseq.edges._errors import (
    ConnectionFailed,
    EdgesError,
    LimitReached,
    LinkedInTransient,
    RateLimited,
    ResponseLost,
    ServerError,
    UncertainSend,
)

__all__ = ["RETRYABLE", "RetryDecision", "RetryPolicy", "backoff", "decide", "jitter"]


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, how long to wait between them."""

    max_attempts: int = 4
    base: float = 2.0
    cap: float = 60.0
    jitter_ratio: float = 0.25
    #: A `Retry-After` longer than this is not slept in-process: the caller reschedules.
    max_retry_after: float = 120.0


DEFAULT_POLICY = RetryPolicy()


@dataclass(frozen=True)
class RetryDecision:
    """Retry after `after` seconds, or give up; `reason` says which rule decided."""

    retry: bool
    after: float
    reason: str


#: Failures worth another attempt, and why (the reason is carried in the decision).
RETRYABLE: tuple[tuple[type[EdgesError], str], ...] = (
    (RateLimited, "rate limited (STATUS_429)"),
    (LinkedInTransient, "transient LinkedIn error"),
    (ServerError, "Edges server error"),
    (ConnectionFailed, "connection failed before sending"),
    # Only reads reach decide() with ResponseLost: the client turns a lost send into UncertainSend.
    (ResponseLost, "answer lost on an idempotent read"),
)


def backoff(attempt: int, policy: RetryPolicy = DEFAULT_POLICY) -> float:
    """Exponential delay before attempt `attempt + 1`: base·2^(attempt-1), capped."""
    return float(min(policy.cap, policy.base * 2 ** max(0, attempt - 1)))


def jitter(delay: float, rng: random.Random, policy: RetryPolicy = DEFAULT_POLICY) -> float:
    """Up to `jitter_ratio` of `delay` added at random, so clients do not retry in step."""
    return delay * policy.jitter_ratio * rng.random()


def decide(
    failure: EdgesError,
    attempt: int,
    *,
    rng: random.Random,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> RetryDecision:
    """Whether to retry after `attempt` failed attempts (1-based), and after how long."""
    if isinstance(failure, UncertainSend):
        return RetryDecision(False, 0.0, "uncertain send: reconcile before resending")
    if isinstance(failure, LimitReached):
        return RetryDecision(False, 0.0, "smart limit reached: reschedule at postponed_until")
    reason = next((why for klass, why in RETRYABLE if isinstance(failure, klass)), None)
    if reason is None:
        what = failure.label or type(failure).__name__
        return RetryDecision(False, 0.0, f"not retryable: {what}")
    if attempt >= policy.max_attempts:
        return RetryDecision(False, 0.0, f"{reason}: gave up after {attempt} attempts")
    if failure.retry_after is not None:
        if failure.retry_after > policy.max_retry_after:
            return RetryDecision(
                False, 0.0, f"{reason}: Retry-After {failure.retry_after:g}s is too long to wait"
            )
        return RetryDecision(True, failure.retry_after, f"{reason}: honouring Retry-After")
    delay = backoff(attempt, policy)
    return RetryDecision(True, delay + jitter(delay, rng, policy), f"{reason}: backing off")
