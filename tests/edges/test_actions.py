"""Each action's URL, headers and body, as API.md and docs/edges-wire-decisions.md say."""

from __future__ import annotations

from typing import Any

import pytest

from linkseq.edges import (
    AlreadyConnected,
    Callback,
    ConnectResult,
    EdgesClient,
    InmailResult,
    MessageResult,
    Run,
    ThreadUrl,
    VisitResult,
    WithdrawResult,
)
from tests.edges.conftest import API_KEY, BASE, IDENTITY, PROFILE, Harness, ok

DIRECT = {"identity_ids": [IDENTITY], "identity_mode": "direct"}


def assert_live(h: Harness, slug: str, body: dict[str, Any]) -> None:
    request = h.fake.last
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/actions/{slug}/run/live"
    assert request.headers["x-api-key"] == API_KEY
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    assert "authorization" not in request.headers
    assert h.fake.body() == body


def test_me_reads_id_as_linkedin_profile_id(harness: Harness) -> None:
    harness.fake.queue(ok({"id": 987654, "first_name": "Ada", "premium_subscriber": True}))
    me = harness.client.me(IDENTITY)
    assert_live(harness, "linkedin-me", DIRECT)  # no input key for input-less actions
    assert me.linkedin_profile_id == 987654
    assert me.premium_subscriber is True


def test_me_prefers_linkedin_profile_id_key(harness: Harness) -> None:
    harness.fake.queue(ok({"id": 1, "linkedin_profile_id": "42"}))
    assert harness.client.me(IDENTITY).linkedin_profile_id == 42


def test_visit_profile(harness: Harness) -> None:
    harness.fake.queue(ok({"sales_navigator_profile_id": "ACwAAA", "linkedin_profile_id": 7}))
    result = harness.client.visit_profile(IDENTITY, PROFILE, custom_data={"lead": "42"})
    assert_live(
        harness,
        "linkedin-visit-profile",
        {"input": {"linkedin_profile_url": PROFILE, "custom_data": {"lead": "42"}}, **DIRECT},
    )
    assert result == VisitResult(sales_navigator_profile_id="ACwAAA", linkedin_profile_id=7)


def test_connect_sends_note_as_parameters_message(harness: Harness) -> None:
    harness.fake.queue(
        ok({"connected": False, "pending": True, "linkedin_profile_id": 5, "message": "Hi"})
    )
    result = harness.client.connect_profile(IDENTITY, PROFILE, note="Hi")
    assert_live(
        harness,
        "linkedin-connect-profile",
        {"input": {"linkedin_profile_url": PROFILE}, "parameters": {"message": "Hi"}, **DIRECT},
    )
    assert isinstance(result, ConnectResult)
    assert result.pending is True
    assert result.linkedin_profile_id == 5


def test_connect_without_note_sends_no_parameters(harness: Harness) -> None:
    harness.fake.queue(ok({"connected": False, "pending": True}))
    harness.client.connect_profile(IDENTITY, PROFILE)
    assert "parameters" not in harness.fake.body()


def test_connect_200_connected_true_is_already_connected(harness: Harness) -> None:
    harness.fake.queue(ok({"connected": True, "pending": False}))
    with pytest.raises(AlreadyConnected) as info:
        harness.client.connect_profile(IDENTITY, PROFILE)
    assert info.value.label == "ALREADY_CONNECTED"
    assert info.value.status_code == 200


def test_message_profile(harness: Harness) -> None:
    harness.fake.queue(
        ok(
            {
                "message": "Hello",
                "linkedin_thread_id": "2-abc==",
                "linkedin_thread_url": "https://www.linkedin.com/messaging/thread/2-abc==/",
                "is_sent": True,
                "delivered_at": "2023-11-07T05:31:56Z",
            }
        )
    )
    result = harness.client.message_profile(IDENTITY, PROFILE, "Hello", custom_data={"e": 1})
    assert_live(
        harness,
        "linkedin-message-profile",
        {
            "input": {"linkedin_profile_url": PROFILE, "custom_data": {"e": 1}},
            "parameters": {"message": "Hello"},
            **DIRECT,
        },
    )
    assert isinstance(result, MessageResult)
    assert result.is_sent is True
    assert result.delivered_at is not None
    assert result.delivered_at.year == 2023


def test_inmail_profile(harness: Harness) -> None:
    harness.fake.queue(ok({"is_sent": True, "linkedin_people_post_search_url": "u"}))
    result = harness.client.inmail_profile(IDENTITY, PROFILE, subject="S", message="M")
    assert_live(
        harness,
        "linkedin-inmail-profile",
        {
            "input": {"linkedin_profile_url": PROFILE},
            "parameters": {"subject": "S", "message": "M"},
            **DIRECT,
        },
    )
    assert isinstance(result, InmailResult)
    assert result.linkedin_people_post_search_url == "u"


def test_withdraw_invitation(harness: Harness) -> None:
    urn = "urn:li:fsd_invitation:7123"
    harness.fake.queue(ok({"linkedin_invitation_id": "7123", "linkedin_invitation_urn": urn}))
    result = harness.client.withdraw_invitation(IDENTITY, urn)
    assert_live(
        harness,
        "linkedin-withdraw-invitation",
        {
            "input": {"linkedin_invitation_urn": urn, "linkedin_invitation_type": "CONNECTION"},
            **DIRECT,
        },
    )
    assert result == WithdrawResult(linkedin_invitation_id="7123", linkedin_invitation_urn=urn)


@pytest.mark.parametrize("thread", [None, "https://www.linkedin.com/messaging/thread/2-x==/"])
def test_get_thread_url(harness: Harness, thread: str | None) -> None:
    harness.fake.queue(ok({"linkedin_thread_url": thread, "linkedin_thread_id": None}))
    result = harness.client.get_thread_url(IDENTITY, PROFILE)
    assert_live(
        harness, "linkedin-get-thread-url", {"input": {"linkedin_profile_url": PROFILE}, **DIRECT}
    )
    assert result == ThreadUrl(linkedin_thread_url=thread)


def test_list_actions_bodies(harness: Harness) -> None:
    harness.fake.queue(ok([]))
    client = harness.client
    list(client.extract_conversations(IDENTITY))
    assert_live(harness, "linkedin-extract-conversations", {"parameters": {"read": True}, **DIRECT})
    list(client.extract_conversations(IDENTITY, unread_only=True))
    assert harness.fake.body()["parameters"] == {"read": False}
    thread = "https://www.linkedin.com/messaging/thread/2-abc==/"
    list(client.extract_messages(IDENTITY, thread))
    assert_live(
        harness, "linkedin-extract-messages", {"input": {"linkedin_thread_url": thread}, **DIRECT}
    )
    list(client.extract_connections(IDENTITY))
    assert_live(harness, "linkedin-extract-connections", DIRECT)
    list(client.extract_connections(IDENTITY, incremental=True))
    assert_live(
        harness,
        "linkedin-extract-connections",
        {"parameters": {"sync_mode": "incremental"}, **DIRECT},
    )
    search = "https://www.linkedin.com/search/results/people/?keywords=cto"
    list(client.search_people(IDENTITY, search))
    assert_live(
        harness,
        "linkedin-search-people",
        {"input": {"linkedin_people_search_url": search}, **DIRECT},
    )
    list(client.extract_sent_invitations(IDENTITY))
    assert_live(harness, "linkedin-extract-sent-invitations", DIRECT)


def test_run_live_is_generic(harness: Harness) -> None:
    harness.fake.queue(ok({"linkedin_thread_id": "9"}))
    body = harness.client.run_live(
        "linkedin-archive-message",
        IDENTITY,
        input={"linkedin_thread_id": "9"},
        parameters={"x": 1},
    )
    assert body == {"linkedin_thread_id": "9"}
    assert_live(
        harness,
        "linkedin-archive-message",
        {"input": {"linkedin_thread_id": "9"}, "parameters": {"x": 1}, **DIRECT},
    )


def _run(uid: str, status: str = "queued") -> dict[str, Any]:
    return {"run_uid": uid, "status": status, "action_name": "linkedin-visit-profile"}


def test_run_async_splits_by_100_and_sends_callback(harness: Harness) -> None:
    uids = iter(["r1", "r2", "r3"])
    harness.fake.queue(lambda _request: ok(_run(next(uids)), status=201))
    inputs = [
        {"linkedin_profile_url": f"{PROFILE}-{i}", "custom_data": {"i": i}} for i in range(250)
    ]
    callback = Callback("https://linkseq.example/cb", headers={"X-Linkseq-Token": "t0k"})
    runs = harness.client.run_async(
        "linkedin-visit-profile", IDENTITY, inputs=inputs, callback=callback, name="batch"
    )
    assert [r.uid for r in runs] == ["r1", "r2", "r3"]
    assert all(isinstance(r, Run) and r.status == "QUEUED" for r in runs)
    sizes = [len(harness.fake.body(i)["inputs"]) for i in range(3)]
    assert sizes == [100, 100, 50]
    first = harness.fake.body(0)
    assert str(harness.fake.requests[0].url) == f"{BASE}/actions/linkedin-visit-profile/run/async"
    assert first["callback"] == {
        "url": "https://linkseq.example/cb",
        "on": "all",
        "headers": {"X-Linkseq-Token": "t0k"},
    }
    assert first["inputs"][3] == inputs[3]
    assert first["identity_ids"] == [IDENTITY]
    assert first["identity_mode"] == "direct"
    assert [harness.fake.body(i)["name"] for i in range(3)] == [
        "batch (1/3)",
        "batch (2/3)",
        "batch (3/3)",
    ]
    assert "input" not in first


def test_run_schedule(harness: Harness) -> None:
    harness.fake.queue(ok(_run("s1", "SCHEDULED"), status=201))
    run = harness.client.run_schedule(
        "linkedin-extract-connections",
        IDENTITY,
        inputs=[{}],
        cron="0 9 * * *",
        timezone="Europe/Paris",
        callback=Callback("https://x.example/cb", on="final"),
        parameters={"sync_mode": "incremental"},
    )
    assert run.uid == "s1"
    assert run.status == "SCHEDULED"
    assert str(harness.fake.last.url) == f"{BASE}/actions/linkedin-extract-connections/run/schedule"
    assert harness.fake.body() == {
        "inputs": [{}],
        "parameters": {"sync_mode": "incremental"},
        "identity_ids": [IDENTITY],
        "identity_mode": "direct",
        "cron": "0 9 * * *",
        "timezone": "Europe/Paris",
        "callback": {"url": "https://x.example/cb", "on": "final"},
    }


def test_runs_api(harness: Harness) -> None:
    client = harness.client
    harness.fake.queue(
        ok({"uid": "r1", "status": "BLOCKED", "last_error": {"label": "LIMIT_REACHED"}})
    )
    run = client.runs.get("r1")
    assert (harness.fake.last.method, str(harness.fake.last.url)) == ("GET", f"{BASE}/runs/r1")
    assert run.run_uid == "r1"
    assert run.last_error is not None
    assert run.last_error.error_label == "LIMIT_REACHED"
    harness.fake.answers[:] = [ok({"uid": "r1", "status": "succeeded"})]
    assert client.runs.status("r1").status == "SUCCEEDED"
    assert str(harness.fake.last.url) == f"{BASE}/runs/r1/status"
    harness.fake.answers[:] = [ok({"uid": "r1", "status": "SCHEDULED"})]
    assert client.runs.resume("r1").status == "SCHEDULED"
    assert (harness.fake.last.method, str(harness.fake.last.url)) == (
        "POST",
        f"{BASE}/runs/r1/resume",
    )


def test_runs_outputs_and_inputs_paginate_with_get(harness: Harness) -> None:
    nxt = f"{BASE}/runs/r1/outputs?cursor=abc&limit=100"
    harness.fake.queue(
        ok(
            [{"custom_data": {"lead": "1"}, "input": {"x": 1}, "a": 1}],
            headers={"X-Pagination-Next": nxt},
        ),
        ok([{"custom_data": {"lead": "2"}, "a": 2}]),
    )
    rows = list(harness.client.runs.outputs("r1"))
    assert [r.custom_data["lead"] for r in rows] == ["1", "2"]
    assert rows[0].model_extra == {"a": 1}
    assert str(harness.fake.requests[0].url) == f"{BASE}/runs/r1/outputs?limit=100"
    assert str(harness.fake.requests[1].url) == nxt
    assert all(r.method == "GET" for r in harness.fake.requests)
    harness.fake.answers[:] = [ok([{"status": "FAILED", "error": {"error_label": "LK_ERROR"}}])]
    (row,) = harness.client.runs.inputs("r1")
    assert row.status == "FAILED"
    assert row.error == {"error_label": "LK_ERROR"}


def test_identities_crud(harness: Harness) -> None:
    client = harness.client
    created = {
        "uid": "123e4567",
        "name": "John Doe",
        "type": "engagement",
        "timezone": "Europe/Paris",
        "integrations": [],
        "identity_login_links": {
            "linkedin": "https://app.edges.run/identities/linkedin/login?token=X"
        },
    }
    harness.fake.queue(ok(created, status=201))
    identity = client.identities.create("John Doe", timezone="Europe/Paris")
    assert str(harness.fake.last.url) == f"{BASE}/identities"
    assert harness.fake.body() == {
        "name": "John Doe",
        "timezone": "Europe/Paris",
        "type": "engagement",
    }
    assert identity.is_engagement is True
    client.identities.create("Std", timezone="UTC", engagement=False)
    assert harness.fake.body()["type"] == "standard"

    harness.fake.answers[:] = [ok({"uid": "u1", "is_active": "true", "integrations": ["linkedin"]})]
    got = client.identities.get("u1")
    assert got.is_active is True
    assert got.integrations == ["linkedin"]
    assert (harness.fake.last.method, str(harness.fake.last.url)) == (
        "GET",
        f"{BASE}/identities/u1",
    )

    client.identities.update("u1", name="New", timezone="Europe/Kyiv")
    assert harness.fake.last.method == "PUT"
    assert harness.fake.body() == {"name": "New", "timezone": "Europe/Kyiv"}

    harness.fake.answers[:] = [ok({})]
    client.identities.delete("u1")
    assert (harness.fake.last.method, str(harness.fake.last.url)) == (
        "DELETE",
        f"{BASE}/identities/u1",
    )


def test_identities_list_pages_and_envelopes(harness: Harness) -> None:
    harness.fake.queue(
        ok([{"uid": "a"}], headers={"X-Pagination-Next": f"{BASE}/identities?cursor=2"}),
        ok({"data": [{"uid": "b", "is_engagement": True}]}),
    )
    items = list(harness.client.identities.list())
    assert [i.uid for i in items] == ["a", "b"]
    assert items[1].type == "engagement"
    assert str(harness.fake.requests[0].url) == f"{BASE}/identities?retrieve_accounts=true"


def test_linkedin_integration_endpoints(harness: Harness) -> None:
    client = harness.client
    path = f"{BASE}/identities/u1/integrations/linkedin"
    harness.fake.queue(ok({"uid": "i1", "status": "VALID", "level": "Sales Navigator"}))
    integ = client.identities.connect_linkedin_cookies(
        "u1", "AQEDli_at", li_a="li-a-val", account_name="me"
    )
    assert (harness.fake.last.method, str(harness.fake.last.url)) == ("POST", path)
    assert harness.fake.body() == {
        "auth_data": {"cookies": {"li_at": "AQEDli_at", "li_a": "li-a-val"}},
        "account_name": "me",
    }
    assert integ.is_valid
    assert integ.sales_navigator

    harness.fake.answers[:] = [ok({"status": "PENDING", "checkpoint": {"type": "PHONE_REGISTER"}})]
    integ = client.identities.connect_linkedin_password("u1", "me@x.io", "hunter2")
    assert harness.fake.body() == {
        "auth_data": {"basic": {"username": "me@x.io", "password": "hunter2"}}
    }
    assert integ.checkpoint is not None
    assert integ.checkpoint.type == "PHONE_REGISTER"

    harness.fake.answers[:] = [ok({"status": "INVALID"})]
    assert client.identities.linkedin_status("u1").status == "INVALID"
    assert (harness.fake.last.method, str(harness.fake.last.url)) == ("GET", path)
    client.identities.disconnect_linkedin("u1")
    assert (harness.fake.last.method, str(harness.fake.last.url)) == ("DELETE", path)

    harness.fake.answers[:] = [
        ok({"linkedin": "https://app.edges.run/identities/linkedin/login?token=T"})
    ]
    links = client.identities.login_links("u1")
    assert links.linkedin is not None
    assert links.linkedin.endswith("token=T")
    assert (harness.fake.last.method, str(harness.fake.last.url)) == (
        "POST",
        f"{BASE}/identities/u1/generate-login-links",
    )


def test_limits_endpoint(harness: Harness) -> None:
    harness.fake.queue(
        ok(
            {
                "identity_uid": "u1",
                "action_name": "linkedin-connect-profile",
                "limits": [
                    {
                        "name": "LK_INVITATIONS_SENT",
                        "window": "24h",
                        "limit": 25,
                        "used": 3,
                        "remaining": 22,
                        "ramp_up_day": 2,
                        "next_slot_at": None,
                    },
                    {
                        "name": "LK_INVITATIONS_WEEK",
                        "window": "7d",
                        "limit": 100,
                        "used": 95,
                        "remaining": 5,
                        "next_slot_at": "2026-01-05T09:12:00Z",
                    },
                ],
            }
        )
    )
    limits = harness.client.identities.limits("u1", "linkedin-connect-profile")
    assert str(harness.fake.last.url) == (
        f"{BASE}/identities/u1/actions/linkedin-connect-profile/limits"
    )
    assert limits.remaining == 5
    assert limits.limits[0].ramp_up_day == 2
    assert limits.limits[0].next_slot_at is None
    assert limits.limits[1].next_slot_at is not None


def test_custom_base_url_and_context_manager(harness: Harness) -> None:
    from linkseq.edges._http import Client, MockTransport

    seen: list[str] = []

    def handler(request: Any) -> Any:
        seen.append(str(request.url))
        return ok({"id": 1})

    with (
        Client(transport=MockTransport(handler)) as http,
        EdgesClient(
            "k", base_url="http://127.0.0.1:8765/v1/", http=http, rate_limit=None
        ) as client,
    ):
        client.me(IDENTITY)
    assert seen == ["http://127.0.0.1:8765/v1/actions/linkedin-me/run/live"]


def test_schedules_endpoints(harness: Harness) -> None:
    harness.fake.queue(ok([{"uid": "s1", "status": "scheduled"}]))
    assert [s.uid for s in harness.client.schedules.list()] == ["s1"]
    assert (harness.fake.last.method, str(harness.fake.last.url)) == ("GET", f"{BASE}/schedules")
    harness.client.schedules.delete("s1")
    assert (harness.fake.last.method, str(harness.fake.last.url)) == (
        "DELETE",
        f"{BASE}/schedules/s1",
    )


def test_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from linkseq.errors import ConfigError
    from linkseq.settings import Settings

    monkeypatch.delenv("LINKSEQ_EDGES_API_KEY", raising=False)
    with pytest.raises(ConfigError):
        EdgesClient.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    monkeypatch.setenv("LINKSEQ_EDGES_API_KEY", API_KEY)
    monkeypatch.setenv("LINKSEQ_EDGES_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("LINKSEQ_EDGES_PLAN", "gold")
    with EdgesClient.from_settings(Settings(_env_file=None)) as client:  # type: ignore[call-arg]
        assert client.base_url == "http://127.0.0.1:9/v1"
        assert "per_second=10" in repr(client)
        assert API_KEY not in repr(client)
