"""`app=` runs the same client in-process against a WSGI application."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, cast

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from linkseq.edges import EdgesClient, NotFound
from linkseq.edges._http import Client
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


def test_httpx_compatible_test_client_of_an_asgi_app() -> None:
    """A starlette TestClient (how an ASGI sandbox runs in-process) is accepted as `http`."""
    api = FastAPI()

    @api.post("/v1/actions/{slug}/run/live")
    async def live(slug: str, request: Request) -> dict[str, Any]:
        body = await request.json()
        return {"id": 5, "slug": slug, "key": request.headers["x-api-key"], "body": body}

    with TestClient(api) as test_client:
        client = EdgesClient(
            "k", base_url="http://testserver/v1", http=cast(Client, test_client), rate_limit=None
        )
        me = client.me(IDENTITY)
    assert me.linkedin_profile_id == 5
    assert me.model_extra is not None
    assert me.model_extra["key"] == "k"
    assert me.model_extra["body"] == {"identity_ids": [IDENTITY], "identity_mode": "direct"}
