"""The API key, cookies and passwords never reach a repr, an error or a log line."""

from __future__ import annotations

from pydantic import SecretStr
from structlog.testing import capture_logs

from linkseq.edges import Callback, EdgesError
from tests.edges.conftest import API_KEY, IDENTITY, Harness, err, ok


def test_client_repr_hides_key(harness: Harness) -> None:
    assert API_KEY not in repr(harness.client)
    assert API_KEY not in str(vars(harness.client))


def test_callback_repr_hides_headers() -> None:
    cb = Callback("https://x/cb", headers={"X-Linkseq-Token": "s3cr3t-token"})
    assert "s3cr3t-token" not in repr(cb)


def test_secrets_absent_from_logs_and_errors(harness: Harness) -> None:
    harness.fake.queue(
        err(424, {"error_label": "LK_ERROR"}),
        err(400, {"error_label": "BAD_INPUT", "message": "bad cookie"}),
    )
    with capture_logs() as logs:
        try:
            harness.client.identities.connect_linkedin_cookies(
                "u1", SecretStr("AQEDcookie-li-at"), li_a="li-a-cookie"
            )
        except EdgesError as exc:
            text = f"{exc!s} {exc!r} {exc.params} {exc.body}"
    assert logs, "retries are logged"
    dumped = repr(logs) + text
    for secret in (API_KEY, "AQEDcookie-li-at", "li-a-cookie"):
        assert secret not in dumped
    # The cookie really was sent (so the test above is not vacuous).
    assert b"AQEDcookie-li-at" in harness.fake.last.content


def test_password_not_in_logs(harness: Harness) -> None:
    harness.fake.queue(err(503), ok({"status": "VALID"}))
    with capture_logs() as logs:
        harness.client.identities.connect_linkedin_password("u1", "me@x.io", SecretStr("hunter2"))
    assert logs
    assert "hunter2" not in repr(logs)
    assert all(API_KEY not in str(v) for entry in logs for v in entry.values())


def test_key_sent_as_header_only(harness: Harness) -> None:
    harness.fake.queue(ok({"id": 1}))
    harness.client.me(IDENTITY)
    request = harness.fake.last
    assert request.headers["X-API-Key"] == API_KEY
    assert API_KEY not in str(request.url)
    assert API_KEY.encode() not in request.content
