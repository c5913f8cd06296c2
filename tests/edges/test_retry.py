"""The retry table, exhaustively: every failure class × attempt number."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkseq.edges import (
    AlreadyConnected,
    AuthenticationError,
    AuthExpired,
    BadInput,
    ConnectionFailed,
    EdgesError,
    InvalidInput,
    InvitationPending,
    LimitReached,
    LinkedInTransient,
    NotConnected,
    NotFound,
    NoValidAccount,
    ProfileNotAccessible,
    RateLimited,
    ResponseLost,
    RetryPolicy,
    ServerError,
    UncertainSend,
    backoff,
    decide,
    jitter,
)


class ZeroRandom(random.Random):
    def random(self) -> float:
        return 0.0


class OneRandom(random.Random):
    def random(self) -> float:
        return 1.0


RETRIED = [RateLimited, LinkedInTransient, ServerError, ConnectionFailed, ResponseLost]
NEVER = [
    EdgesError,
    LimitReached,
    NotConnected,
    AlreadyConnected,
    InvitationPending,
    ProfileNotAccessible,
    AuthExpired,
    NoValidAccount,
    BadInput,
    AuthenticationError,
    NotFound,
]
POLICY = RetryPolicy(max_attempts=4, base=2.0, cap=60.0, jitter_ratio=0.25, max_retry_after=120)


@pytest.mark.parametrize("klass", RETRIED)
@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5])
def test_retryable_classes(klass: type[EdgesError], attempt: int) -> None:
    decision = decide(klass(), attempt, rng=ZeroRandom(), policy=POLICY)
    if attempt < 4:
        assert decision.retry
        assert decision.after == [2.0, 4.0, 8.0][attempt - 1]
    else:
        assert not decision.retry
        assert "gave up after" in decision.reason


@pytest.mark.parametrize("klass", NEVER)
@pytest.mark.parametrize("attempt", [1, 2, 3, 4])
def test_never_retried(klass: type[EdgesError], attempt: int) -> None:
    decision = decide(klass(retry_after=1.0), attempt, rng=ZeroRandom(), policy=POLICY)
    assert not decision.retry
    assert decision.after == 0.0


def test_invalid_input_and_uncertain_send_never_retried() -> None:
    assert not decide(InvalidInput("bad"), 1, rng=ZeroRandom()).retry
    uncertain = UncertainSend(ResponseLost())
    decision = decide(uncertain, 1, rng=ZeroRandom())
    assert not decision.retry
    assert "reconcile" in decision.reason


def test_limit_reached_reason_names_postponed_until() -> None:
    assert "postponed_until" in decide(LimitReached(), 1, rng=ZeroRandom()).reason


def test_retry_after_is_honoured_exactly() -> None:
    decision = decide(RateLimited(retry_after=7.0), 1, rng=OneRandom(), policy=POLICY)
    assert (decision.retry, decision.after) == (True, 7.0)
    assert "Retry-After" in decision.reason
    # On any retryable class, not only 429.
    assert decide(ServerError(retry_after=3), 2, rng=OneRandom()).after == 3


def test_too_long_retry_after_gives_up() -> None:
    decision = decide(RateLimited(retry_after=121.0), 1, rng=ZeroRandom(), policy=POLICY)
    assert not decision.retry
    assert "too long" in decision.reason


def test_jitter_is_bounded_and_separate() -> None:
    assert decide(LinkedInTransient(), 2, rng=OneRandom(), policy=POLICY).after == 4.0 + 1.0
    assert jitter(8.0, ZeroRandom(), POLICY) == 0.0
    assert jitter(8.0, OneRandom(), POLICY) == 2.0


@given(attempt=st.integers(min_value=1, max_value=40), seed=st.integers(0, 2**32))
def test_backoff_grows_and_is_capped(attempt: int, seed: int) -> None:
    policy = RetryPolicy(max_attempts=100)
    delay = backoff(attempt, policy)
    assert delay == min(60.0, 2.0 * 2 ** (attempt - 1))
    assert backoff(attempt + 1, policy) >= delay
    decision = decide(ServerError(), attempt, rng=random.Random(seed), policy=policy)
    assert decision.retry
    assert delay <= decision.after <= delay * 1.25


def test_subclass_order_uncertain_wins_over_its_cause() -> None:
    # UncertainSend wraps a ServerError label-less 5xx: still never retried.
    assert not decide(UncertainSend(ServerError(status_code=502)), 1, rng=ZeroRandom()).retry
