"""The wire: shapes from API.md's examples and every error label the sandbox can give."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from linkseq.sandbox import FaultConfig, Sandbox

from .conftest import MONDAY_10_PARIS, Recorder, live, make, stranger

ERROR_KEYS = {"error_label", "error_scope", "error_ref", "message", "status_code", "params"}


def _err(resp: tuple[int, dict[str, str], Any]) -> tuple[int, str]:
    status, _, body = resp
    assert set(body) == ERROR_KEYS
    assert body["status_code"] == status
    return status, body["error_label"]


def test_api_key_is_required() -> None:
    sb, _ = make()
    resp = sb.call("GET", "/v1/identities", headers={"X-API-Key": "nope"})
    assert _err(resp) == (401, "UNAUTHORIZED")


def test_live_body_is_validated(sandbox) -> None:  # type: ignore[no-untyped-def]
    sb, _, uid = sandbox
    url = sb.world.people[1].profile_url
    r = sb.call(
        "POST",
        "/v1/actions/linkedin-visit-profile/run/live",
        {"inputs": [{"linkedin_profile_url": url}], "identity_ids": [uid]},
    )
    assert _err(r) == (400, "BAD_INPUT")
    assert "additional properties (inputs)" in r[2]["message"]
    r = live(sb, "linkedin-visit-profile", uid, {"linkedin_profile_url": "https://x.com/in/a"})
    assert _err(r) == (400, "BAD_INPUT")
    assert r[2]["params"]["field"] == "input.linkedin_profile_url"
    r = live(sb, "linkedin-connect-profile", uid, {"linkedin_profile_url": url}, {"note": "hi"})
    assert _err(r) == (400, "BAD_PARAMETERS")
    r = live(
        sb, "linkedin-connect-profile", uid, {"linkedin_profile_url": url}, {"message": "x" * 301}
    )
    assert _err(r) == (400, "BAD_PARAMETERS")
    assert _err(live(sb, "linkedin-visit-profile", uid, {})) == (400, "BAD_INPUT")
    assert _err(live(sb, "linkedin-visit-profile", None, {"linkedin_profile_url": url})) == (
        400,
        "BAD_INPUT",
    )


def test_not_found(sandbox) -> None:  # type: ignore[no-untyped-def]
    sb, _, uid = sandbox
    assert _err(live(sb, "linkedin-teleport", uid, {})) == (404, "NOT_FOUND")
    assert _err(live(sb, "linkedin-me", "no-such-identity")) == (404, "NOT_FOUND")
    assert _err(sb.call("GET", "/v1/runs/nope")) == (404, "NOT_FOUND")


def test_me_and_visit_shapes(sandbox) -> None:  # type: ignore[no-untyped-def]
    sb, _, uid = sandbox
    status, _, me = live(sb, "linkedin-me", uid)
    assert status == 200
    assert {
        "id",
        "first_name",
        "last_name",
        "full_name",
        "job_title",
        "object_urn",
        "handle",
        "premium_subscriber",
        "linkedin_profile_url",
        "sales_navigator_profile_id",
    } <= set(me)
    assert me["id"] == me["linkedin_profile_id"] == sb.identity(uid).profile.profile_id
    p = sb.world.people[stranger(sb, uid)]
    status, _, visit = live(
        sb,
        "linkedin-visit-profile",
        uid,
        {"linkedin_profile_url": p.profile_url, "custom_data": {"x": 1}},
    )
    assert status == 200
    assert visit["linkedin_profile_id"] == p.profile_id
    assert isinstance(visit["sales_navigator_profile_id"], str)


def test_connect_then_linkedin_states(sandbox) -> None:  # type: ignore[no-untyped-def]
    sb, _, uid = sandbox
    ident = sb.identity(uid)
    p = sb.world.people[stranger(sb, uid)]
    status, _, out = live(
        sb,
        "linkedin-connect-profile",
        uid,
        {"linkedin_profile_url": p.profile_url},
        {"message": "Hello"},
    )
    assert status == 200
    assert out == {
        "connected": False,
        "pending": True,
        "message": "Hello",
        "connection_sent_date": out["connection_sent_date"],
        "linkedin_profile_id": p.profile_id,
        "sales_navigator_profile_id": p.sales_navigator_id,
    }
    sb.advance(by=60)
    assert _err(
        live(
            sb,
            "linkedin-connect-profile",
            uid,
            {"sales_navigator_profile_id": p.sales_navigator_id},
        )
    ) == (424, "INVITATION_PENDING")
    assert _err(
        live(
            sb,
            "linkedin-message-profile",
            uid,
            {"linkedin_profile_url": p.profile_url},
            {"message": "hi"},
        )
    ) == (424, "NOT_CONNECTED")
    friend = sb.world.people[next(iter(ident.connections))]
    assert _err(
        live(sb, "linkedin-connect-profile", uid, {"linkedin_profile_url": friend.profile_url})
    ) == (424, "ALREADY_CONNECTED")


def test_message_shape_and_thread(sandbox) -> None:  # type: ignore[no-untyped-def]
    sb, _, uid = sandbox
    ident = sb.identity(uid)
    friend_index = next(i for i in ident.connections if i not in ident.threads)
    friend = sb.world.people[friend_index]
    status, _, out = live(
        sb,
        "linkedin-message-profile",
        uid,
        {"linkedin_profile_url": friend.profile_url},
        {"message": "Hi!"},
    )
    assert status == 200
    assert {
        "message",
        "linkedin_thread_id",
        "linkedin_thread_url",
        "is_sent",
        "delivered_at",
        "linkedin_message_id",
        "linkedin_profile_id",
    } <= set(out)
    assert out["is_sent"] is True
    assert out["linkedin_thread_id"].endswith("==")
    s, _, url = live(
        sb, "linkedin-get-thread-url", uid, {"linkedin_profile_url": friend.profile_url}
    )
    assert url == {
        "linkedin_thread_url": out["linkedin_thread_url"],
        "linkedin_thread_id": out["linkedin_thread_id"],
    }
    s, _, msgs = live(
        sb, "linkedin-extract-messages", uid, {"linkedin_thread_url": out["linkedin_thread_url"]}
    )
    assert msgs[0]["content"] == "Hi!"
    assert msgs[0]["linkedin_profile_id"] == ident.profile.profile_id
    s, _, convs = live(sb, "linkedin-extract-conversations", uid, parameters={"read": True})
    assert s == 200
    assert convs[0]["linkedin_thread_id"] == out["linkedin_thread_id"]
    conv = convs[0]
    assert isinstance(conv["total_received_messages"], str)
    assert conv["last_message"]["linkedin_profile_id"] == ident.profile.profile_id
    assert conv["participants"][0]["linkedin_profile_id"] == friend.profile_id
    assert _err(
        live(sb, "linkedin-extract-messages", uid, {"linkedin_thread_url": "2-bm9wZQ=="})
    ) == (424, "STATUS_404")


def test_pagination_uses_a_cursor_url_and_the_same_body() -> None:
    sb, _ = make()
    uid = sb.add_identity(first_sync_at=MONDAY_10_PARIS - timedelta(days=30))
    ident = sb.identity(uid)
    assert len(ident.connections) == 32
    seen: list[int] = []
    status, headers, page = live(sb, "linkedin-extract-connections", uid)
    assert status == 200
    assert len(page) == 32
    assert "X-Pagination-Next" not in headers
    from linkseq.sandbox import NetworkSpec

    big = sb.add_identity(name="Big Net", network=NetworkSpec(connections=95))
    status, headers, page = live(sb, "linkedin-extract-connections", big)
    while True:
        seen += [row["linkedin_profile_id"] for row in page]
        assert len(page) <= 40
        nxt = headers.get("X-Pagination-Next")
        if not nxt:
            break
        assert nxt.startswith(
            "http://sandbox.local/v1/actions/linkedin-extract-connections/run/live?cursor="
        )
        status, headers, page = sb.call(
            "POST",
            nxt.removeprefix("http://sandbox.local").split("?")[0],
            {"identity_ids": [big]},
            query=nxt.split("?", 1)[1],
        )
    assert len(seen) == len(set(seen)) == 97
    status, _, page2 = live(sb, "linkedin-extract-connections", big, query="page=2")
    assert [r["linkedin_profile_id"] for r in page2] == seen[40:80]
    assert _err(live(sb, "linkedin-extract-connections", big, query="cursor=%%%")) == (
        400,
        "BAD_INPUT",
    )


def test_search_people(sandbox) -> None:  # type: ignore[no-untyped-def]
    sb, _, uid = sandbox
    url = "https://www.linkedin.com/search/results/people/?keywords=cto"
    status, headers, rows = live(
        sb, "linkedin-search-people", uid, {"linkedin_people_search_url": url}
    )
    assert status == 200
    assert len(rows) == 10
    assert "X-Pagination-Next" in headers
    assert all("CTO" in r["current_title"] for r in rows)


def test_identities_integrations_login_links_limits() -> None:
    sb, rec = make()
    r = sb.call("POST", "/v1/identities", {"name": "New One", "timezone": "Europe/Kiev"})
    assert _err(r) == (400, "BAD_INPUT")
    status, _, ident = sb.call(
        "POST",
        "/v1/identities",
        {"name": "New One", "timezone": "Europe/Kyiv", "type": "engagement"},
    )
    assert status == 201
    assert ident["type"] == "engagement"
    assert ident["integrations"] == []
    assert ident["identity_login_links"]["linkedin"].startswith("http://sandbox.local/_sandbox/")
    uid = ident["uid"]
    assert _err(live(sb, "linkedin-me", uid)) == (424, "NO_VALID_ACCOUNT_CONFIGURED")
    status, _, integ = sb.call(
        "POST",
        f"/v1/identities/{uid}/integrations/linkedin",
        {"auth_data": {"cookies": {"li_at": "AQED", "li_a": "x"}}},
    )
    assert status == 201
    assert integ["status"] == "VALID"
    assert integ["level"] == "Sales Navigator"
    assert rec.bodies("hooks")[-1]["event"] == "AUTH_SUCCESS"
    status, _, items = sb.call("GET", "/v1/identities", query="retrieve_accounts=true")
    assert isinstance(items, list)
    assert items[0]["integrations"][0]["status"] == "VALID"
    status, _, items = sb.call("GET", "/v1/identities")
    assert "integrations" not in items[0]
    status, _, lim = sb.call("GET", f"/v1/identities/{uid}/actions/linkedin-connect-profile/limits")
    assert lim["limits"][0] == {
        "name": "LK_INVITATIONS_SENT",
        "window": "24h",
        "limit": 6,
        "used": 0,
        "remaining": 6,
        "ramp_up_day": 1,
        "next_slot_at": None,
    }
    status, _, links = sb.call("POST", f"/v1/identities/{uid}/generate-login-links")
    assert set(links) == {"linkedin"}
    sb.call(
        "POST",
        f"/v1/identities/{uid}/integrations/linkedin",
        {"auth_data": {"basic": {"username": "a", "password": "wrong"}}},
    )
    assert rec.bodies("hooks")[-1]["event"] == "AUTH_FAILED"
    assert rec.bodies("hooks")[-1]["action_to_be_taken"] == "RETRY_LOGIN"
    status, _, _ = sb.call("DELETE", f"/v1/identities/{uid}/integrations/linkedin")
    assert status == 200
    assert rec.bodies("hooks")[-1]["event"] == "DELETED"
    assert _err(live(sb, "linkedin-me", uid)) == (424, "NO_VALID_ACCOUNT_CONFIGURED")


def test_session_expiry_and_reconnect(sandbox) -> None:  # type: ignore[no-untyped-def]
    sb, rec, uid = sandbox
    sb.expire_session(uid)
    r = live(sb, "linkedin-me", uid)
    assert _err(r) == (424, "AUTH_EXPIRED")
    assert r[2]["error_scope"] == "auth"
    hook = rec.bodies("hooks")[-1]
    assert hook["event"] == "AUTH_EXPIRED"
    assert hook["action_to_be_taken"] == "RETRY_LOGIN"
    assert hook["identity_uid"] == uid
    assert hook["integration"]["status"] == "INVALID"
    assert hook["event_uid"].startswith("evt_")
    assert hook["occurred_at"].endswith("Z")
    status, _, links = sb.call("POST", f"/v1/identities/{uid}/generate-login-links")
    token_path = links["linkedin"].removeprefix("http://sandbox.local")
    status, _, _ = sb.call("GET", token_path.split("?")[0], query=token_path.split("?")[1])
    assert status == 200
    assert live(sb, "linkedin-me", uid)[0] == 200
    assert rec.bodies("hooks")[-1]["event"] == "AUTH_SUCCESS"


def test_inmail_errors() -> None:
    sb, _ = make()
    uid = sb.add_identity(first_sync_at=MONDAY_10_PARIS - timedelta(days=30))
    people = [sb.world.people[stranger(sb, uid, i * 7)] for i in range(7)]
    urls = [p.profile_url for p in people]
    assert (
        live(
            sb,
            "linkedin-inmail-profile",
            uid,
            {"linkedin_profile_url": urls[0]},
            {"subject": "s", "message": "m"},
        )[0]
        == 200
    )
    assert _err(
        live(
            sb,
            "linkedin-inmail-profile",
            uid,
            {"linkedin_profile_url": urls[0]},
            {"message": "again"},
        )
    ) == (424, "LK_INMAIL_CANNOT_RESEND")
    codes = [
        live(sb, "linkedin-inmail-profile", uid, {"linkedin_profile_url": u}, {"message": "m"})[0]
        for u in urls[1:]
    ]
    assert codes[:4] == [200] * 4
    assert _err(
        live(
            sb, "linkedin-inmail-profile", uid, {"linkedin_profile_url": urls[6]}, {"message": "m"}
        )
    ) == (424, "LK_INMAIL_NOT_ENOUGH_CREDIT")


def test_withdraw_invitation(sandbox) -> None:  # type: ignore[no-untyped-def]
    sb, _, uid = sandbox
    status, _, invs = live(sb, "linkedin-extract-sent-invitations", uid)
    assert status == 200
    assert len(invs) == 3
    urn = invs[0]["linkedin_invitation_urn"]
    status, _, out = live(sb, "linkedin-withdraw-invitation", uid, {"linkedin_invitation_urn": urn})
    assert status == 200
    assert out["linkedin_invitation_urn"] == urn
    assert _err(
        live(sb, "linkedin-withdraw-invitation", uid, {"linkedin_invitation_urn": urn})
    ) == (424, "STATUS_404")


def test_faults_429_and_5xx() -> None:
    sb, _ = make(FaultConfig(status_429=1.0, burst_length=2, retry_after_seconds=17))
    uid = sb.add_identity()
    r = live(sb, "linkedin-me", uid)
    assert _err(r) == (429, "STATUS_429")
    assert r[1]["Retry-After"] == "17"
    sb2, _ = make(FaultConfig(server_error=1.0))
    uid2 = sb2.add_identity()
    status, label = _err(live(sb2, "linkedin-me", uid2))
    assert status in (500, 503)
    assert label == f"STATUS_{status}"


def test_wsgi_app_speaks_http(sandbox) -> None:  # type: ignore[no-untyped-def]
    sb, _, uid = sandbox
    import io
    import json

    body = json.dumps({"identity_ids": [uid]}).encode()
    captured: dict[str, Any] = {}
    out = sb.wsgi_app(
        {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/v1/actions/linkedin-me/run/live",
            "QUERY_STRING": "",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "HTTP_X_API_KEY": "sandbox-key",
        },
        lambda status, headers: captured.update(status=status),
    )
    assert captured["status"] == "200 OK"
    assert json.loads(b"".join(out))["id"]


def test_unused() -> None:
    assert Sandbox
    assert Recorder
