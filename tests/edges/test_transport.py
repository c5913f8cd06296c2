"""Retries in the client loop: reads retried, a lost send raised as UncertainSend."""

from __future__ import annotations

import pytest

from linkseq.edges import (
    ConnectionFailed,
    LimitReached,
    LinkedInTransient,
    RateLimited,
    ResponseLost,
    ServerError,
    UncertainSend,
)
from linkseq.edges._http import ConnectError, ReadTimeout, RemoteProtocolError, Request
from tests.edges.conftest import IDENTITY, PROFILE, Harness, err, ok

REQ = Request("POST", "https://api.edges.run/v1/x")


def test_read_timeout_on_a_read_is_retried(harness: Harness) -> None:
    harness.fake.queue(ReadTimeout("slow", request=REQ), ok({"id": 5}))
    assert harness.client.me(IDENTITY).linkedin_profile_id == 5
    assert len(harness.fake.requests) == 2
    assert len(harness.sleeps) == 1
    assert 2.0 <= harness.sleeps[0] <= 2.5


@pytest.mark.parametrize(
    "send",
    [
        lambda c: c.connect_profile(IDENTITY, PROFILE, note="hi"),
        lambda c: c.message_profile(IDENTITY, PROFILE, "hello"),
        lambda c: c.inmail_profile(IDENTITY, PROFILE, subject="s", message="m"),
        lambda c: c.withdraw_invitation(IDENTITY, "urn:li:fsd_invitation:1"),
    ],
)
@pytest.mark.parametrize(
    "failure",
    [
        ReadTimeout("slow", request=REQ),
        RemoteProtocolError("dropped", request=REQ),
        err(502),
        err(500, {"message": "boom"}),
    ],
)
def test_lost_send_is_uncertain_and_not_retried(harness: Harness, send, failure) -> None:  # type: ignore[no-untyped-def]
    harness.fake.queue(failure, ok({}))
    with pytest.raises(UncertainSend) as info:
        send(harness.client)
    assert len(harness.fake.requests) == 1
    assert harness.sleeps == []
    assert isinstance(info.value.cause, ResponseLost | ServerError)
    assert info.value.action is not None
    assert info.value.action.startswith("linkedin-")


def test_connection_error_before_sending_is_retried_even_for_sends(harness: Harness) -> None:
    harness.fake.queue(ConnectError("refused", request=REQ), ok({"is_sent": True}))
    assert harness.client.message_profile(IDENTITY, PROFILE, "hello").is_sent
    assert len(harness.fake.requests) == 2


def test_labelled_transient_on_send_is_retried(harness: Harness) -> None:
    harness.fake.queue(
        err(424, {"error_label": "LK_ERROR"}),
        err(429, {"error_label": "STATUS_429"}, {"Retry-After": "9"}),
        ok({"connected": False, "pending": True}),
    )
    assert harness.client.connect_profile(IDENTITY, PROFILE).pending
    assert harness.sleeps[1] == 9.0
    assert len(harness.fake.requests) == 3


def test_a_message_is_not_sent_after_a_long_wait(harness: Harness) -> None:
    """A message goes right after the sync that checked for a reply (guide §15): a Retry-After
    is handed back to the engine (a new sync, a later pass), not slept before sending."""
    harness.fake.queue(
        err(429, {"error_label": "STATUS_429"}, {"Retry-After": "30"}),
        ok({"is_sent": True}),
    )
    with pytest.raises(RateLimited):
        harness.client.message_profile(IDENTITY, PROFILE, "hello")
    assert harness.sleeps == []
    assert len(harness.fake.requests) == 1


def test_a_message_is_retried_within_seconds_of_its_sync(harness: Harness) -> None:
    harness.fake.queue(
        err(424, {"error_label": "LK_ERROR"}),
        err(424, {"error_label": "LK_ERROR"}),
        err(424, {"error_label": "LK_ERROR"}),
        ok({"is_sent": True}),
    )
    with pytest.raises(LinkedInTransient):
        harness.client.message_profile(IDENTITY, PROFILE, "hello")
    # backoffs of ~2 s and ~4 s were slept; the third (~8 s) would pass the few seconds a
    # message may follow its sync by
    assert len(harness.sleeps) == 2
    assert sum(harness.sleeps) <= 10.0
    assert len(harness.fake.requests) == 3


def test_gives_up_after_max_attempts(harness: Harness) -> None:
    harness.fake.queue(err(424, {"error_label": "GENERIC_ERROR"}))
    with pytest.raises(LinkedInTransient):
        harness.client.visit_profile(IDENTITY, PROFILE)
    assert len(harness.fake.requests) == 4
    assert len(harness.sleeps) == 3


def test_limit_reached_is_raised_at_once(harness: Harness) -> None:
    harness.fake.queue(
        err(
            429,
            {"error_label": "LIMIT_REACHED", "params": {"postponed_until": "2026-01-06T00:00:00Z"}},
        )
    )
    with pytest.raises(LimitReached) as info:
        harness.client.connect_profile(IDENTITY, PROFILE)
    assert info.value.postponed_until is not None
    assert len(harness.fake.requests) == 1


def test_connection_failed_after_retries(harness: Harness) -> None:
    harness.fake.queue(ConnectError("refused", request=REQ))
    with pytest.raises(ConnectionFailed):
        harness.client.me(IDENTITY)
    assert len(harness.fake.requests) == 4


def test_rate_limited_with_long_retry_after_gives_up(harness: Harness) -> None:
    harness.fake.queue(err(429, {"error_label": "STATUS_429"}, {"Retry-After": "3600"}))
    with pytest.raises(RateLimited) as info:
        harness.client.me(IDENTITY)
    assert info.value.retry_after == 3600
    assert len(harness.fake.requests) == 1


def test_async_creation_lost_answer_is_uncertain(harness: Harness) -> None:
    from linkseq.edges import Callback

    harness.fake.queue(ReadTimeout("slow", request=REQ))
    with pytest.raises(UncertainSend):
        harness.client.run_async(
            "linkedin-extract-connections", IDENTITY, inputs=[{}], callback=Callback("https://x/cb")
        )
    assert len(harness.fake.requests) == 1
