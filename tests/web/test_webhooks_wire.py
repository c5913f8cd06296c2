"""The receiver's request path: the token before the body, FastAPI's 422, the OpenAPI bodies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from linkseq.clock import ManualClock
from linkseq.store import build_engine, session_factory, upgrade
from linkseq.store.models import WebhookInbox
from tests.store.factories import add_identity
from tests.web.live import SECRET, make_app

CALLBACKS = "/webhooks/edges/callbacks"
INTEGRATIONS = "/webhooks/edges/integrations"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, sessionmaker[Session]]]:
    engine = build_engine(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions() as session:
        add_identity(session, "u")
        session.commit()
    with TestClient(make_app(sessions, ManualClock())) as test_client:
        yield test_client, sessions
    engine.dispose()


def stored(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(WebhookInbox)) or 0)


def test_the_token_is_checked_before_the_body_is_read(
    client: tuple[TestClient, sessionmaker[Session]],
) -> None:
    test_client, sessions = client
    headers = {"Content-Type": "application/json"}
    assert test_client.post(CALLBACKS, content=b"not json", headers=headers).status_code == 401
    wrong = {**headers, "X-Linkseq-Token": "nope"}
    assert test_client.post(CALLBACKS, content=b"[", headers=wrong).status_code == 401
    url = INTEGRATIONS + "?token=nope"
    assert test_client.post(url, content=b"{", headers=headers).status_code == 401
    assert stored(sessions) == 0


def test_a_body_that_does_not_fit_gets_fastapis_422_and_nothing_is_stored(
    client: tuple[TestClient, sessionmaker[Session]],
) -> None:
    test_client, sessions = client
    token = {"X-Linkseq-Token": SECRET}
    response = test_client.post(CALLBACKS, json={"run": {"run_uid": ""}}, headers=token)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "run", "run_uid"]
    assert error["type"] == "string_too_short"
    response = test_client.post(INTEGRATIONS, params={"token": SECRET}, json={"event": 5})
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "event"]]
    headers = {**token, "Content-Type": "application/json"}
    # what FastAPI's own body parameters answered (the endpoints read the body themselves now)
    expected = {
        b"": ("missing", ["body"]),
        b"not json": ("json_invalid", ["body", 0]),
        b"[1, 2]": ("model_attributes_type", ["body"]),
        b'{"run": "nope"}': ("model_attributes_type", ["body", "run"]),
    }
    for raw, (kind, loc) in expected.items():
        response = test_client.post(CALLBACKS, content=raw, headers=headers)
        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert (error["type"], error["loc"]) == (kind, loc)
    assert stored(sessions) == 0


def test_a_callback_that_fits_is_stored_under_its_ref_or_its_hash(
    client: tuple[TestClient, sessionmaker[Session]],
) -> None:
    test_client, sessions = client
    token = {"X-Linkseq-Token": SECRET}
    body: dict[str, Any] = {"callback_ref_uid": "cb-1", "run": {"run_uid": "r", "status": "x"}}
    assert test_client.post(CALLBACKS, json=body, headers=token).json() == {
        "status": "ignored: not a linkseq run"
    }
    raw = json.dumps({"run": {"run_uid": "r"}}).encode()
    headers = {**token, "Content-Type": "application/json"}
    assert test_client.post(CALLBACKS, content=raw, headers=headers).status_code == 200
    with sessions() as session:
        keys = sorted(session.scalars(sa.select(WebhookInbox.dedupe_key)))
    assert keys[0] == "cb-1"
    assert keys[1].startswith("sha256:")


def test_the_openapi_bodies_are_described_inline(
    client: tuple[TestClient, sessionmaker[Session]],
) -> None:
    paths = client[0].app.openapi()["paths"]  # type: ignore[attr-defined]
    callback = paths[CALLBACKS]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert callback["required"] == ["run"]
    assert callback["properties"]["run"]["required"] == ["run_uid"]
    integration = paths[INTEGRATIONS]["post"]["requestBody"]["content"]["application/json"]
    assert integration["schema"]["required"] == ["event"]
    assert "$ref" not in json.dumps(callback) + json.dumps(integration)
