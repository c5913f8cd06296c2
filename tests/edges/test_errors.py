"""Error bodies from API.md and the wire decisions, parsed into the right exception."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from linkseq.edges import (
    AlreadyConnected,
    AuthenticationError,
    AuthExpired,
    BadInput,
    EdgesError,
    InvitationPending,
    LimitReached,
    LinkedInTransient,
    NotConnected,
    NotFound,
    NoValidAccount,
    ProfileNotAccessible,
    RateLimited,
    ServerError,
)

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def test_standard_error_object() -> None:
    body = {
        "error_label": "BAD_INPUT",
        "error_scope": "input",
        "error_ref": "ERR-12345",
        "message": "human readable",
        "status_code": 400,
        "params": {"field": "linkedin_profile_url"},
    }
    exc = EdgesError.from_response(400, body, {"X-Request-Id": "req-1"}, action="linkedin-visit")
    assert isinstance(exc, BadInput)
    assert (exc.label, exc.status_code, exc.scope, exc.ref) == (
        "BAD_INPUT",
        400,
        "input",
        "ERR-12345",
    )
    assert exc.params == {"field": "linkedin_profile_url"}
    assert exc.request_id == "req-1"
    assert str(exc) == (
        "BAD_INPUT (HTTP 400, linkedin-visit, scope=input, ref=ERR-12345): human readable"
        " [request_id=req-1]"
    )


@pytest.mark.parametrize(
    ("label", "status", "klass"),
    [
        ("LIMIT_REACHED", 429, LimitReached),
        ("LIMIT_REACHED", 424, LimitReached),
        ("NOT_CONNECTED", 424, NotConnected),
        ("ALREADY_CONNECTED", 424, AlreadyConnected),
        ("SN_CONFLICT", 424, AlreadyConnected),
        ("INVITATION_PENDING", 424, InvitationPending),
        ("PROFILE_NOT_ACCESSIBLE", 424, ProfileNotAccessible),
        ("AUTH_EXPIRED", 424, AuthExpired),
        ("NO_VALID_ACCOUNT_CONFIGURED", 424, NoValidAccount),
        ("BAD_INPUT", 400, BadInput),
        ("INVALID_INPUT", 400, BadInput),
        ("BAD_PARAMETERS", 400, BadInput),
        ("MISSING_PARAMETER", 424, BadInput),
        ("STATUS_429", 429, RateLimited),
        ("LK_ERROR", 424, LinkedInTransient),
        ("LK_524", 424, LinkedInTransient),
        ("GENERIC_ERROR", 424, LinkedInTransient),
        ("NO_DATA_LOADED", 424, LinkedInTransient),
        ("NOT_FOUND", 404, NotFound),
        ("limit_reached", 429, LimitReached),  # case-insensitive
        (None, 401, AuthenticationError),
        (None, 404, NotFound),
        (None, 429, RateLimited),
        (None, 400, BadInput),
        (None, 500, ServerError),
        (None, 503, ServerError),
        ("SOMETHING_NEW", 503, ServerError),
        ("LK_INMAIL_CANNOT_RESEND", 424, EdgesError),
        ("SOMETHING_NEW", 424, EdgesError),
        (None, 402, EdgesError),
    ],
)
def test_label_and_status_mapping(label: str | None, status: int, klass: type[EdgesError]) -> None:
    body = {"error_label": label, "message": "m"} if label else None
    exc = EdgesError.from_response(status, body)
    assert type(exc) is klass
    assert exc.label == label  # unknown labels stay visible


def test_label_key_is_read_like_error_label() -> None:
    exc = EdgesError.from_response(429, {"label": "LIMIT_REACHED", "message": "Daily limit rea…"})
    assert isinstance(exc, LimitReached)
    assert exc.label == "LIMIT_REACHED"
    assert exc.message == "Daily limit rea…"


def test_limit_reached_params_postponed_until_and_appendix() -> None:
    body = {
        "error_label": "LIMIT_REACHED",
        "error_scope": "integ",
        "status_code": 429,
        "message": "Daily limit reached",
        "params": {"postponed_until": "2026-01-06T07:30:00Z", "appendix": "24h"},
    }
    exc = EdgesError.from_response(429, body, now=NOW)
    assert isinstance(exc, LimitReached)
    assert exc.postponed_until == datetime(2026, 1, 6, 7, 30, tzinfo=UTC)
    assert exc.appendix == "24h"
    assert exc.resume_at(NOW) == exc.postponed_until
    assert "postponed until 2026-01-06T07:30:00+00:00" in str(exc)


def test_limit_reached_top_level_postponed_until() -> None:
    exc = EdgesError.from_response(
        424, {"label": "LIMIT_REACHED", "postponed_until": "2026-01-12T00:00:00+01:00"}
    )
    assert exc.postponed_until == datetime(2026, 1, 11, 23, 0, tzinfo=UTC)


def test_limit_reached_without_time_waits_a_day() -> None:
    exc = EdgesError.from_response(429, {"error_label": "LIMIT_REACHED"})
    assert isinstance(exc, LimitReached)
    assert exc.postponed_until is None
    assert exc.resume_at(NOW) == NOW + timedelta(hours=24)
    assert exc.appendix is None


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"Retry-After": "12"}, {"error_label": "STATUS_429"}, 12.0),
        ({}, {"error_label": "STATUS_429", "params": {"retry_after": 5}}, 5.0),
        ({}, {"error_label": "STATUS_429", "retry_after": "3"}, 3.0),
        ({"Retry-After": "Mon, 05 Jan 2026 08:00:30 GMT"}, {"error_label": "STATUS_429"}, 30.0),
        ({"Retry-After": "Mon, 05 Jan 2026 07:00:00 GMT"}, {"error_label": "STATUS_429"}, 0.0),
        ({"Retry-After": "soon"}, {"error_label": "STATUS_429"}, None),
        ({}, {"error_label": "STATUS_429"}, None),
    ],
)
def test_retry_after(
    headers: dict[str, str], body: dict[str, object], expected: float | None
) -> None:
    exc = EdgesError.from_response(429, body, headers, now=NOW)
    assert isinstance(exc, RateLimited)
    assert exc.retry_after == expected


def test_non_json_and_odd_bodies() -> None:
    exc = EdgesError.from_response(502, "<html>Bad gateway</html>")
    assert isinstance(exc, ServerError)
    assert exc.label is None
    assert "Bad gateway" in exc.message
    assert EdgesError.from_response(500, None).message == "HTTP 500"
    assert EdgesError.from_response(424, ["weird"]).label is None
    assert EdgesError.from_response(424, {"error_label": "X", "params": "nope"}).params == {}


def test_from_body_reads_embedded_status() -> None:
    exc = EdgesError.from_body(
        {"error_label": "AUTH_EXPIRED", "status_code": 424, "error_scope": "auth"}
    )
    assert isinstance(exc, AuthExpired)
    assert exc.status_code == 424
    assert exc.scope == "auth"


def test_repr_is_short_and_str_has_no_body() -> None:
    exc = EdgesError.from_response(
        424, {"error_label": "LK_ERROR", "message": "m", "extra": "x" * 50}
    )
    assert repr(exc) == "LinkedInTransient(label='LK_ERROR', status_code=424, message='m')"
    assert "xxxx" not in str(exc)
