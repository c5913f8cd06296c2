"""Fuzzing the webhook endpoints from the app's own OpenAPI description: never a 500.

schemathesis is not a dependency; this small generator reads the request-body schemas of every
`/webhooks/` path and draws bodies that follow them (with random extra keys and wrong types
mixed in), sent with a right, a wrong or no token.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from linkseq.clock import ManualClock
from linkseq.store import build_engine, session_factory, upgrade
from linkseq.store.models import WebhookInbox
from tests.store.factories import add_identity
from tests.web.live import SECRET, make_app

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def from_schema(
    schema: dict[str, Any], components: dict[str, Any], depth: int = 0
) -> st.SearchStrategy[Any]:
    """Values that follow a JSON schema (the subset FastAPI emits), sometimes breaking it."""
    if "$ref" in schema:
        return from_schema(components[schema["$ref"].rsplit("/", 1)[1]], components, depth)
    if "anyOf" in schema:
        return st.one_of([from_schema(s, components, depth) for s in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "object" and depth < 3:
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        fields = {name: from_schema(sub, components, depth + 1) for name, sub in props.items()}
        return st.fixed_dictionaries(
            {k: v for k, v in fields.items() if k in required},
            optional={
                **{k: v for k, v in fields.items() if k not in required},
                "custom_data": JSON,
                "extra": JSON,
            },
        )
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {}), components, depth + 1), max_size=3)
    if kind == "string":
        if schema.get("format") == "date-time":
            return st.datetimes().map(lambda d: d.isoformat() + "Z") | st.text(max_size=8)
        return st.sampled_from(
            ["SUCCEEDED", "RUNNING", "AUTH_EXPIRED", "AUTH_SUCCESS", "u"]
        ) | st.text(max_size=30)
    if kind == "integer":
        return st.integers()
    if kind == "null":
        return st.none()
    return JSON


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Any]]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "f.db"
    engine = build_engine(f"sqlite:///{path}")
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions() as session:
        add_identity(session, "u")
        session.commit()
    app = make_app(sessions, ManualClock())
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client, sessions
    engine.dispose()


def _operations(app_schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    ops = []
    for path, item in app_schema["paths"].items():
        if path.startswith("/webhooks/") and "post" in item:
            body = item["post"]["requestBody"]["content"]["application/json"]["schema"]
            ops.append((path, body))
    return ops


def test_the_openapi_describes_both_endpoints(client: tuple[TestClient, Any]) -> None:
    paths = [p for p, _ in _operations(client[0].app.openapi())]  # type: ignore[attr-defined]
    assert sorted(paths) == ["/webhooks/edges/callbacks", "/webhooks/edges/integrations"]


@settings(max_examples=60)
@given(data=st.data(), auth=st.sampled_from(["right", "wrong", "none"]), raw=st.booleans())
def test_no_body_makes_the_receiver_fail(
    client: tuple[TestClient, Any], data: st.DataObject, auth: str, raw: bool
) -> None:
    test_client, sessions = client
    schema = test_client.app.openapi()  # type: ignore[attr-defined]
    path, body_schema = data.draw(st.sampled_from(_operations(schema)))
    body = data.draw(JSON if raw else from_schema(body_schema, schema["components"]["schemas"]))
    token = {"right": SECRET, "wrong": "nope", "none": None}[auth]
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    if token is not None:
        if path.endswith("callbacks"):
            headers["X-Linkseq-Token"] = token
        else:
            params["token"] = token
    with sessions() as session:
        before = session.scalar(sa.select(sa.func.count()).select_from(WebhookInbox))
    response = test_client.post(path, json=body, headers=headers, params=params)
    assert response.status_code < 500, response.text
    with sessions() as session:
        after = session.scalar(sa.select(sa.func.count()).select_from(WebhookInbox))
    if auth != "right":
        assert response.status_code == 401
    if response.status_code >= 400:
        assert after == before
