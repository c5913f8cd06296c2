"""The standalone server over real HTTP on a loopback port (uvicorn in a thread)."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from linkseq.sandbox import FaultConfig, Sandbox


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server() -> Iterator[tuple[str, Sandbox, list[bytes]]]:
    port = _free_port()
    got: list[bytes] = []
    sb = Sandbox(
        seed=7,
        people=200,
        base_url=f"http://127.0.0.1:{port}/v1",
        deliver=lambda url, headers, body: got.append(body) or 200,
        faults=FaultConfig(),
    )
    sb.asgi_app.hold_seconds = 5
    config = uvicorn.Config(
        sb.asgi_app, host="127.0.0.1", port=port, log_level="error", lifespan="on"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(500):
        if srv.started:
            break
        threading.Event().wait(0.01)
    yield f"http://127.0.0.1:{port}", sb, got
    srv.should_exit = True
    thread.join(10)
    assert not thread.is_alive()


def _req(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    key: str | None = "sandbox-key",
    timeout: float = 5,
) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if key:
        req.add_header("X-API-Key", key)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")


def test_wire_and_admin_over_http(server: tuple[str, Sandbox, list[bytes]]) -> None:
    base, _sb, got = server
    assert _req(base, "GET", "/v1/identities", key=None)[0] == 401
    status, _, ident = _req(base, "POST", "/_sandbox/identities", {"name": "Http Sender"})
    assert status == 201
    uid = ident["uid"]
    status, _, me = _req(base, "POST", "/v1/actions/linkedin-me/run/live", {"identity_ids": [uid]})
    assert status == 200
    assert me["id"] > 0
    status, _, clock = _req(base, "GET", "/_sandbox/clock")
    assert clock["now"] == "2026-01-05T08:00:00Z"
    status, _, clock = _req(base, "POST", "/_sandbox/clock", {"advance_seconds": 3600})
    assert clock["now"] == "2026-01-05T09:00:00Z"
    status, _, clock = _req(base, "POST", "/_sandbox/clock", {"to": "2026-01-06T09:00:00Z"})
    assert clock["now"] == "2026-01-06T09:00:00Z"
    assert _req(base, "POST", "/_sandbox/webhook", {"url": "https://x.example/h"})[0] == 200
    assert _req(base, "GET", "/_sandbox/webhook")[2] == {"url": "https://x.example/h"}
    _req(base, "POST", "/_sandbox/expire-session", {"identity_uid": uid})
    assert json.loads(got[-1])["event"] == "AUTH_EXPIRED"
    status, _, report = _req(base, "GET", "/_sandbox/report")
    assert set(report["breaches"]) >= {"duplicate_invitation", "parallel_live_calls"}
    status, _, log = _req(base, "GET", "/_sandbox/log?since=0&limit=5")
    assert status == 200
    assert log[0]["seq"] == 1


def test_answer_lost_is_a_read_timeout_over_http(server: tuple[str, Sandbox, list[bytes]]) -> None:
    base, sb, _ = server
    uid = sb.add_identity()
    object.__setattr__(sb._core, "faults", FaultConfig(answer_lost=1.0))
    person = next(
        sb.world.people[i]
        for i in range(200)
        if not sb.world.people[i].deleted
        and i not in sb.identity(uid).connections
        and i not in sb.identity(uid).invitations
    )
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        _req(
            base,
            "POST",
            "/v1/actions/linkedin-connect-profile/run/live",
            {"input": {"linkedin_profile_url": person.profile_url}, "identity_ids": [uid]},
            timeout=0.5,
        )
    assert person.index in sb.identity(uid).invitations
