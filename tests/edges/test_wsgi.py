"""`app=` runs the same client in-process against a WSGI application."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from linkseq.edges import EdgesClient, NotFound
from tests.edges.conftest import IDENTITY


def tiny_edges(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length) or b"{}")
    if environ.get("HTTP_X_API_KEY") != "k":
        status, payload = "401 Unauthorized", {"error_label": "UNAUTHORIZED"}
    elif path == "/v1/actions/linkedin-me/run/live" and body["identity_ids"] == [IDENTITY]:
        status, payload = "200 OK", {"id": 77}
    else:
        status, payload = "404 Not Found", {"error_label": "NOT_FOUND", "message": path}
    data = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


def test_in_process_app() -> None:
    with EdgesClient("k", app=tiny_edges, rate_limit=None) as client:
        assert client.me(IDENTITY).linkedin_profile_id == 77
        with pytest.raises(NotFound) as info:
            client.run_live("linkedin-nope", IDENTITY)
    assert info.value.message == "/v1/actions/linkedin-nope/run/live"
    assert info.value.label == "NOT_FOUND"
