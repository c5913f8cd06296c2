"""Wire decision 53: a reply written from linkseq's inbox is not automated outreach."""

from __future__ import annotations

from datetime import timedelta

from linkseq.sandbox import Sandbox


def _message(sb: Sandbox, uid: str, url: str, origin: str | None) -> int:
    data: dict[str, object] = {"linkedin_profile_url": url}
    if origin is not None:
        data["custom_data"] = {"linkseq_origin": origin}
    status, _headers, _body = sb.call(
        "POST",
        "/v1/actions/linkedin-message-profile/run/live",
        {"input": data, "parameters": {"message": f"hello {origin}"}, "identity_ids": [uid]},
    )
    return status


def test_inbox_replies_are_not_breaches_but_automated_ones_are() -> None:
    sb = Sandbox(seed=3, people=40)
    uid = sb.add_identity(name="Alice", timezone="Europe/Paris")
    identity = sb.identity(uid)
    person = sb.world.people[next(iter(identity.connections))]
    sb.inject_reply(uid, person.profile_url, "Tell me more")
    sb.advance(by=timedelta(minutes=1))
    assert _message(sb, uid, person.profile_url, "inbox") == 200
    assert sb.report()["breaches"]["message_after_reply"] == 0
    assert sb.report()["totals"]["inbox_replies"] == 1
    sb.inject_reply(uid, person.profile_url, "And the price?")
    sb.advance(by=timedelta(minutes=1))
    assert _message(sb, uid, person.profile_url, None) == 200
    assert sb.report()["breaches"]["message_after_reply"] == 1
