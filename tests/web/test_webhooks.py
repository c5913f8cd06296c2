"""The receiver against the sandbox calling a real `linkseq serve` on a loopback port."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from linkseq.store.enums import EnrollmentState, IdentityStatus
from linkseq.store.models import BackgroundRun, Enrollment, OutgoingEvent, WebhookInbox
from tests.web.conftest import World
from tests.web.live import SECRET


def post(url: str, body: bytes | dict[str, Any], headers: dict[str, str] | None = None) -> int:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(url, data=data, headers=hdrs, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def states(world: World, ids: list[int]) -> list[EnrollmentState]:
    with world.sim.sessions() as session:
        return [session.get(Enrollment, i).state for i in ids]  # type: ignore[union-attr]


def inbox(world: World) -> list[WebhookInbox]:
    with world.sim.sessions() as session:
        return list(session.scalars(sa.select(WebhookInbox).order_by(WebhookInbox.id)))


def test_an_async_connections_sync_calls_back_and_moves_accepted_leads(world: World) -> None:
    invited = world.invite_connected()
    identity = world.identity()
    [run_uid] = world.background.start_syncs("connections", [identity.id])
    assert set(states(world, invited)) == {EnrollmentState.INVITED}

    world.sim.sandbox.advance(by=timedelta(minutes=5))  # Edges runs it and calls back

    assert set(states(world, invited)) == {EnrollmentState.CONNECTED}
    rows = inbox(world)
    assert [r.source for r in rows] == ["callback"]
    assert rows[0].processed_at is not None
    assert rows[0].error is None
    with world.sim.sessions() as session:
        run = session.get(BackgroundRun, run_uid)
        assert run is not None
        assert run.status == "SUCCEEDED"
        assert run.finished_at is not None
        kinds = session.scalars(sa.select(OutgoingEvent.kind)).all()
        assert kinds.count("lead.connected") == len(invited)


def test_duplicated_and_reordered_callbacks_change_nothing(world: World) -> None:
    invited = world.invite_connected()
    identity = world.identity()
    [run_uid] = world.background.start_syncs("connections", [identity.id])
    world.sim.sandbox.advance(by=timedelta(minutes=5))
    [first] = inbox(world)
    with world.sim.sessions() as session:
        events_before = session.scalar(sa.select(sa.func.count()).select_from(OutgoingEvent))
    url = world.url + "/webhooks/edges/callbacks"
    token = {"X-Linkseq-Token": SECRET}
    # the same callback again (a delivery retry): a no-op
    assert post(url, first.payload, token) == 200
    # a RUNNING for the same run arriving after its SUCCEEDED, with no rows: nothing reopens
    late = {**first.payload, "callback_ref_uid": "cb_late", "results": []}
    late["run"] = {**first.payload["run"], "status": "RUNNING"}
    assert post(url, late, token) == 200
    assert len(inbox(world)) == 2
    assert set(states(world, invited)) == {EnrollmentState.CONNECTED}
    with world.sim.sessions() as session:
        run = session.get(BackgroundRun, run_uid)
        assert run is not None
        assert run.status == "SUCCEEDED"
        events_after = session.scalar(sa.select(sa.func.count()).select_from(OutgoingEvent))
    assert events_after == events_before


def test_forged_callbacks_are_refused_and_change_nothing(world: World) -> None:
    invited = world.invite_connected()
    body = {
        "callback_ref_uid": "cb_forged",
        "run": {"run_uid": "r1", "status": "SUCCEEDED"},
        "custom_data": {"purpose": "connections", "identity_id": world.identity().id},
        "results": [{"linkedin_profile_id": 1, "linkedin_profile_url": "https://x"}],
    }
    url = world.url + "/webhooks/edges/callbacks"
    assert post(url, body) == 401
    assert post(url, body, {"X-Linkseq-Token": "wrong"}) == 401
    assert post(url, body, {"X-Linkseq-Token": SECRET + "x"}) == 401
    integ = world.url + "/webhooks/edges/integrations"
    expired = {"event": "AUTH_EXPIRED", "identity_uid": world.identity().uid}
    assert post(integ, expired) == 401
    assert post(integ + "?token=nope", expired) == 401
    assert post(integ, expired, {"X-Linkseq-Token": SECRET}) == 401  # the wrong channel
    assert inbox(world) == []
    assert set(states(world, invited)) == {EnrollmentState.INVITED}
    assert world.identity().status is IdentityStatus.ACTIVE


def test_malformed_payloads_get_422_and_nothing_is_stored(world: World) -> None:
    url = world.url + "/webhooks/edges/callbacks"
    token = {"X-Linkseq-Token": SECRET}
    assert post(url, b"not json", token) == 422
    assert post(url, b"[1, 2]", token) == 422
    assert post(url, {"run": "nope"}, token) == 422
    assert post(url, {"callback_ref_uid": "x"}, token) == 422  # no run
    assert post(url, {"run": {"run_uid": "r"}, "results": "rows"}, token) == 422
    integ = world.url + f"/webhooks/edges/integrations?token={SECRET}"
    assert post(integ, {"identity_uid": "x"}) == 422  # no event
    assert post(integ, {"event": 5}) == 422
    assert inbox(world) == []


def test_auth_expired_pauses_the_leads_and_auth_success_resumes_them(world: World) -> None:
    invited = world.invite_connected()
    sandbox = world.sim.sandbox
    uid = world.sim.identity_uids[0]
    sandbox.set_webhook(world.url + f"/webhooks/edges/integrations?token={SECRET}")

    sandbox.expire_session(uid)
    assert world.identity().status is IdentityStatus.DISCONNECTED
    assert set(states(world, invited)) == {EnrollmentState.PAUSED}

    sandbox.connect(uid)  # the user logs in again: AUTH_SUCCESS
    assert world.identity().status is IdentityStatus.ACTIVE
    assert set(states(world, invited)) == {EnrollmentState.INVITED}
    assert [r.payload["event"] for r in inbox(world)] == ["AUTH_EXPIRED", "AUTH_SUCCESS"]
    with world.sim.sessions() as session:
        kinds = session.scalars(sa.select(OutgoingEvent.kind).order_by(OutgoingEvent.id)).all()
    assert kinds == ["identity.paused", "identity.resumed"]


def test_integration_events_by_basic_auth_deduplicated_and_in_order(world: World) -> None:
    invited = world.invite_connected()
    uid = world.sim.identity_uids[0]
    integ = world.url + "/webhooks/edges/integrations"
    auth = {"Authorization": "Basic " + base64.b64encode(f"edges:{SECRET}".encode()).decode()}
    expired = {"event": "AUTH_EXPIRED", "identity_uid": uid, "occurred_at": "2026-01-05T08:00:00Z"}
    success = {"event": "AUTH_SUCCESS", "identity_uid": uid, "occurred_at": "2026-01-05T09:00:00Z"}
    # no event_uid: the body hash dedupes; the older AUTH_EXPIRED arriving late is ignored
    assert post(integ, success, auth) == 200
    assert post(integ, expired, auth) == 200
    assert post(integ, expired, auth) == 200
    assert len(inbox(world)) == 2
    assert world.identity().status is IdentityStatus.ACTIVE
    assert set(states(world, invited)) == {EnrollmentState.INVITED}
