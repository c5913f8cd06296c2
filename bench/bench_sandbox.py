"""Sandbox speed: live calls per second in-process (WSGI and `Sandbox.call`), world build time."""

from __future__ import annotations

import io
import json
import os
import time
from datetime import timedelta
from typing import Any

from linkseq.sandbox import Sandbox


def _emit(name: str, value: float, unit: str, **extra: Any) -> None:
    print(
        json.dumps(
            {"name": name, "value": round(value, 3), "unit": unit, "cores": os.cpu_count(), **extra}
        )
    )


def _world_build() -> None:
    start = time.perf_counter()
    sb = Sandbox(seed=7, people=100_000)
    _ = sb.world.people[99_999].profile_url
    sb.add_identity()
    _emit("sandbox_world_100k_build", time.perf_counter() - start, "s", target_max=5)


def _setup() -> tuple[Sandbox, str, list[str]]:
    sb = Sandbox(seed=7, people=5000, deliver=lambda u, h, b: 200, pacing_gap=timedelta(0))
    uid = sb.add_identity(
        level="Sales Navigator", first_sync_at=sb.clock.now() - timedelta(days=30)
    )
    urls = [sb.world.people[i].profile_url for i in range(5000)]
    return sb, uid, urls


def _wsgi_rate(n: int = 3000) -> None:
    sb, uid, urls = _setup()
    app = sb.wsgi_app
    bodies = [
        json.dumps(
            {"input": {"linkedin_profile_url": urls[i % 400]}, "identity_ids": [uid]}
        ).encode()
        for i in range(n)
    ]
    me = json.dumps({"identity_ids": [uid]}).encode()

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        return None

    start = time.perf_counter()
    for i, body in enumerate(bodies):
        # Alternate an outreach action (visit) with a read (me), like a sequencer.
        path = (
            "/v1/actions/linkedin-visit-profile/run/live"
            if i % 2
            else ("/v1/actions/linkedin-me/run/live")
        )
        data = body if i % 2 else me
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "CONTENT_LENGTH": str(len(data)),
            "wsgi.input": io.BytesIO(data),
            "HTTP_X_API_KEY": "sandbox-key",
        }
        app(environ, start_response)
        if i % 50 == 49:
            sb.advance(by=timedelta(minutes=30))  # stay under the 500 visits/day
    elapsed = time.perf_counter() - start
    _emit("sandbox_live_calls_wsgi", n / elapsed, "calls/s", target_min=1000, calls=n)


def _call_rate(n: int = 3000) -> None:
    sb, uid, urls = _setup()
    start = time.perf_counter()
    for i in range(n):
        if i % 2:
            sb.call(
                "POST",
                "/v1/actions/linkedin-visit-profile/run/live",
                {"input": {"linkedin_profile_url": urls[i % 400]}, "identity_ids": [uid]},
            )
        else:
            sb.call("POST", "/v1/actions/linkedin-me/run/live", {"identity_ids": [uid]})
        if i % 50 == 49:
            sb.advance(by=timedelta(minutes=30))
    elapsed = time.perf_counter() - start
    _emit("sandbox_live_calls_inprocess_call", n / elapsed, "calls/s", target_min=1000, calls=n)


if __name__ == "__main__":
    _world_build()
    _wsgi_rate()
    _call_rate()
