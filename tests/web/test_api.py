"""The JSON API on a database filled by a sandbox campaign."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient

from linkseq.demo.simulation import Simulation, funnel
from linkseq.engine.explain import campaign_forecast, explain
from linkseq.engine.sync import pending_invitations, put_sync_row
from linkseq.store.enums import (
    ActionKind,
    ActionStatus,
    CampaignStatus,
    EnrollmentState,
    SyncKind,
)
from linkseq.store.models import (
    AuditEvent,
    Campaign,
    Conversation,
    Enrollment,
    Identity,
    Lead,
    Message,
    OutboxAction,
    SyncState,
)
from tests.web.conftest import make_app


def test_funnel_is_what_the_database_and_the_sandbox_say(
    client: TestClient, sim: Simulation
) -> None:
    [campaign] = client.get("/api/campaigns").json()
    counts = {s["stage"]: s["count"] for s in campaign["funnel"]}
    with sim.sessions() as session:
        truth = funnel(session)
    assert counts == {stage: truth[stage] for stage in counts}
    totals = sim.sandbox.report()["totals"]
    assert counts["invited"] == totals["invitations_sent"]
    assert counts["visited"] == totals["visits"]
    assert counts["invited"] > 0
    assert counts["accepted"] > 0
    assert counts["messaged"] > 0
    first = campaign["funnel"][1]
    assert first["rate"] == round(counts["visited"] / counts["enrolled"], 4)
    assert sum(step["sent"] for step in campaign["steps"]) >= counts["messaged"]


def test_identities_report_quota_use_against_limits(client: TestClient, sim: Simulation) -> None:
    identities = client.get("/api/identities").json()
    assert len(identities) == 2
    now = sim.clock.now()
    with sim.sessions() as session:
        for identity in identities:
            quotas = {q["action"]: q for q in identity["quotas"]}
            sent = session.execute(
                sa.select(sa.func.count()).where(
                    OutboxAction.identity_id == identity["id"],
                    OutboxAction.kind == ActionKind.CONNECT,
                    OutboxAction.status.in_([ActionStatus.SENT, ActionStatus.RECONCILED]),
                    OutboxAction.sent_at > now - timedelta(hours=24),
                )
            ).scalar_one()
            assert quotas["connect"]["used"] == sent
            assert quotas["connect"]["limit"] <= quotas["connect"]["full_limit"] == 25
            assert identity["ramp_up_day"] == 6  # five days of campaign: full capacity
            assert identity["status"] == "active"


def test_the_identities_page_counts_pending_invitations_as_the_engine_does(
    sim: Simulation,
) -> None:
    """The pending count shown is the engine's, and the cap from the settings holds the
    connect quota there as it holds the worker's plan."""
    with sim.sessions() as session:
        counts = {
            i: pending_invitations(session, i) for i in session.scalars(sa.select(Identity.id))
        }
    assert all(counts.values())  # the sandbox world starts with pending invitations
    cap = min(counts.values())
    with TestClient(make_app(sim, pending_invitations_cap=cap)) as capped:
        identities = capped.get("/api/identities").json()
    for identity in identities:
        assert identity["pending_invitations"] == counts[identity["id"]]
        connect = {q["action"]: q for q in identity["quotas"]}["connect"]
        assert connect["remaining"] == 0
        assert connect["binding"] == "pending_invitations_cap"


def test_leads_filter_and_search(client: TestClient, sim: Simulation) -> None:
    everyone = client.get("/api/leads", params={"per_page": 500}).json()
    assert everyone["total"] == 40
    invited = client.get("/api/leads", params={"state": "invited"}).json()
    assert invited["total"] > 0
    assert all(row["state"] == "invited" for row in invited["rows"])
    name = everyone["rows"][0]["name"].split()[-1]
    found = client.get("/api/leads", params={"q": name.upper()}).json()
    assert found["total"] >= 1
    assert all(name.lower() in (r["name"] or "").lower() for r in found["rows"]) or found["total"]
    by_identity = client.get("/api/leads", params={"identity_id": 1, "per_page": 500}).json()
    assert {r["identity"] for r in by_identity["rows"]} == {"identity-1"}
    assert client.get("/api/leads", params={"state": "nonsense"}).status_code == 400


def test_lead_detail_has_why_and_audit(client: TestClient, sim: Simulation) -> None:
    with sim.sessions() as session:
        enrollment = session.scalars(
            sa.select(Enrollment).where(Enrollment.state == "invited").limit(1)
        ).one()
    detail = client.get(f"/api/leads/{enrollment.lead_id}").json()
    [view] = detail["enrollments"]
    assert view["why"] == "waiting for the invitation to be accepted"
    assert "once accepted" in view["next"]
    audit = client.get(f"/api/leads/{enrollment.lead_id}/audit").json()
    with sim.sessions() as session:
        reasons = session.scalars(
            sa.select(AuditEvent.reason)
            .where(AuditEvent.lead_id == enrollment.lead_id)
            .order_by(AuditEvent.at, AuditEvent.id)
        ).all()
    assert [a["reason"] for a in audit] == list(reasons)
    assert "invited" in [a["to_state"] for a in audit]
    assert client.get("/api/leads/999999").status_code == 404


def test_threads_newest_first_and_opening_caches_messages(
    client: TestClient, sim: Simulation
) -> None:
    page = client.get("/api/threads").json()
    stamps = [r["last_message_at"] for r in page["rows"] if r["last_message_at"]]
    assert stamps == sorted(stamps, reverse=True)
    assert any(r["lead_wrote_last"] for r in page["rows"])
    thread_id = page["rows"][-1]["id"]
    calls = _calls(sim, "linkedin-extract-messages")
    first = client.get(f"/api/threads/{thread_id}").json()
    assert _calls(sim, "linkedin-extract-messages") == calls + 1
    assert first["messages"]
    again = client.get(f"/api/threads/{thread_id}").json()
    assert again["loaded_from"] == "cache"
    assert _calls(sim, "linkedin-extract-messages") == calls + 1
    with sim.sessions() as session:
        cached = session.scalars(
            sa.select(Message.text).where(Message.conversation_id == thread_id)
        ).all()
        assert list(cached) == [m["text"] for m in first["messages"]]
        assert session.get(Conversation, thread_id).unread is False  # type: ignore[union-attr]


def _calls(sim: Simulation, action: str) -> int:
    return sum(1 for e in sim.sandbox.log if e["kind"] == "call" and e.get("action") == action)


def _thread_where_we_wrote_last(client: TestClient) -> dict[str, object]:
    rows = client.get("/api/threads", params={"per_page": 200}).json()["rows"]
    return next(r for r in rows if not r["lead_wrote_last"] and r["lead_id"])


def test_reply_syncs_first_goes_through_the_outbox_and_reaches_linkedin(
    client: TestClient, sim: Simulation
) -> None:
    row = _thread_where_we_wrote_last(client)
    detail = client.get(f"/api/threads/{row['id']}").json()
    syncs = _calls(sim, "linkedin-extract-conversations")
    text = "A reply typed in the API test"
    body = {"text": text, "token": detail["reply_token"], "seen_at": detail["seen_at"]}
    answer = client.post(f"/api/threads/{row['id']}/reply", json=body)
    assert answer.status_code == 200, answer.text
    assert _calls(sim, "linkedin-extract-conversations") == syncs + 1  # sync-before-send
    sent = [
        e
        for e in sim.sandbox.log
        if e.get("action") == "linkedin-message-profile"
        and (e.get("parameters") or {}).get("message") == text
    ]
    assert len(sent) == 1
    assert answer.json()["thread"]["messages"][-1]["text"] == text
    with sim.sessions() as session:
        action = session.get(OutboxAction, answer.json()["outbox_id"])
        assert action is not None
        assert action.status is ActionStatus.SENT
        assert action.step_id == "inbox"
        assert action.kind is ActionKind.MESSAGE
    # the same form submitted twice sends nothing more
    twice = client.post(f"/api/threads/{row['id']}/reply", json=body)
    assert twice.status_code == 409
    assert (
        len([e for e in sim.sandbox.log if (e.get("parameters") or {}).get("message") == text]) == 1
    )


def test_reply_refused_when_the_lead_wrote_after_what_was_seen(
    client: TestClient, sim: Simulation
) -> None:
    row = _thread_where_we_wrote_last(client)
    detail = client.get(f"/api/threads/{row['id']}").json()
    identity_uid = _uid(sim, row["identity_id"])  # type: ignore[arg-type]
    sim.sandbox.advance(by=timedelta(minutes=2))
    sim.sandbox.inject_reply(identity_uid, str(row["profile_url"]), "Actually, one question first")
    body = {"text": "Too late", "token": detail["reply_token"], "seen_at": detail["seen_at"]}
    answer = client.post(f"/api/threads/{row['id']}/reply", json=body)
    assert answer.status_code == 409
    assert "wrote something new" in answer.json()["detail"]
    assert not [
        e for e in sim.sandbox.log if (e.get("parameters") or {}).get("message") == "Too late"
    ]
    fresh = client.get(f"/api/threads/{row['id']}").json()
    assert fresh["messages"][-1]["text"] == "Actually, one question first"
    assert fresh["thread"]["lead_wrote_last"] is True


def _uid(sim: Simulation, identity_id: int) -> str:
    from linkseq.store.models import Identity

    with sim.sessions() as session:
        identity = session.get(Identity, identity_id)
        assert identity is not None
        return identity.uid


def test_marking_a_lead_stops_its_automation(client: TestClient, sim: Simulation) -> None:
    with sim.sessions() as session:
        active = session.scalars(
            sa.select(Enrollment).where(Enrollment.state.in_(["invited", "connected"])).limit(2)
        ).all()
    yes, no = active
    answer = client.post(f"/api/leads/{yes.lead_id}/mark", json={"interested": True})
    assert answer.status_code == 200
    assert answer.json()[0]["state"] == "replied"
    answer = client.post(f"/api/leads/{no.lead_id}/mark", json={"interested": False})
    assert answer.json()[0]["state"] == "skipped"
    with sim.sessions() as session:
        for enrollment_id, reason in (
            (yes.id, "marked interested"),
            (no.id, "marked not interested"),
        ):
            row = session.get(Enrollment, enrollment_id)
            assert row is not None
            assert row.reason == reason
            assert row.next_action_at is None
    audit = client.get(f"/api/leads/{no.lead_id}/audit").json()
    assert audit[-1]["reason"] == "marked not interested"
    assert audit[-1]["to_state"] == "skipped"


def test_campaign_pause_and_start(client: TestClient, sim: Simulation) -> None:
    [campaign] = client.get("/api/campaigns").json()
    paused = client.post(f"/api/campaigns/{campaign['id']}/pause").json()
    assert paused["status"] == "paused"
    with sim.sessions() as session:
        assert session.get(Campaign, campaign["id"]).status is CampaignStatus.PAUSED  # type: ignore[union-attr]
    assert client.post(f"/api/campaigns/{campaign['id']}/start").json()["status"] == "active"
    assert client.post("/api/campaigns/999/start").status_code == 404


def test_csv_import_reports_bad_rows_with_their_line(client: TestClient) -> None:
    csv = (
        "linkedin_profile_url,first_name\n"
        "https://www.linkedin.com/in/api-good-one,Ann\n"
        "not a url,Bob\n"
        "https://www.linkedin.com/company/acme,Corp\n"
    )
    answer = client.post(
        "/api/leads/import",
        files={"file": ("leads.csv", csv, "text/csv")},
        data={"dry_run": "true"},
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["rows"] == 3
    assert report["created"] == 1
    assert report["dry_run"] is True
    assert [b["line"] for b in report["bad_rows"]] == [3, 4]
    refused = client.post("/api/leads/import", files={"file": ("x.csv", "name\nAnn\n", "text/csv")})
    assert refused.status_code == 400
    assert "linkedin_profile_url" in refused.json()["detail"]


def test_an_import_that_gives_a_held_lead_its_data_makes_its_step_due(
    client: TestClient, sim: Simulation
) -> None:
    with sim.sessions() as session:
        enrollment = session.scalars(
            sa.select(Enrollment)
            .where(
                Enrollment.state.in_(
                    [EnrollmentState.READY, EnrollmentState.CONNECTED, EnrollmentState.MESSAGED]
                )
            )
            .order_by(Enrollment.id)
        ).first()
        assert enrollment is not None
        lead = session.get(Lead, enrollment.lead_id)
        assert lead is not None
        kept = (enrollment.next_action_at, enrollment.reason, lead.company_name)
        enrollment.next_action_at = None
        enrollment.reason = "held: missing variable 'company_name'"
        lead.company_name = None
        session.commit()
        enrollment_id, url = enrollment.id, lead.profile_url
    try:
        csv = f"linkedin_profile_url,company_name\n{url},Initech\n"
        answer = client.post("/api/leads/import", files={"file": ("l.csv", csv, "text/csv")})
        assert answer.status_code == 200, answer.text
        assert (answer.json()["updated"], answer.json()["retried"]) == (1, 1)
        with sim.sessions() as session:
            retried = session.get(Enrollment, enrollment_id)
            assert retried is not None
            assert retried.next_action_at is not None
            assert "tried again" in (retried.reason or "")
    finally:
        with sim.sessions() as session:
            enrollment = session.get(Enrollment, enrollment_id)
            lead = session.scalars(sa.select(Lead).where(Lead.profile_url == url)).one()
            assert enrollment is not None
            enrollment.next_action_at, enrollment.reason, lead.company_name = kept
            session.commit()


def test_openapi_describes_the_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/api/campaigns", "/api/leads", "/api/threads/{thread_id}/reply"):
        assert path in spec["paths"]
    assert "/campaigns" not in spec["paths"]  # pages are not part of the API


def test_the_lead_page_says_what_leads_why_says(client: TestClient, sim: Simulation) -> None:
    """One explainer: the web's "why it waits" is `leads why`'s answer, for every enrollment."""
    now = sim.clock.now()
    holds = set()
    with sim.sessions() as session:
        enrollments = list(session.scalars(sa.select(Enrollment).order_by(Enrollment.id)))
        answers = {e.id: explain(session, e.id, now) for e in enrollments}
    for enrollment in enrollments:
        [view] = client.get(f"/api/leads/{enrollment.lead_id}").json()["enrollments"]
        answer = answers[enrollment.id]
        assert (view["why"], view["next"]) == (answer.sentence, answer.next)
        holds.add(answer.hold)
    assert len(holds) >= 3, holds  # the simulation holds leads for several reasons


def test_campaigns_carry_the_forecast_of_campaigns_status(
    client: TestClient, sim: Simulation
) -> None:
    [view] = client.get("/api/campaigns").json()
    with sim.sessions() as session:
        campaign = session.get(Campaign, view["id"])
        assert campaign is not None
        truth = campaign_forecast(session, campaign, sim.clock.now())
    forecast = view["forecast"]
    assert forecast["leads_not_contacted"] == truth.leads_left
    assert (forecast["first_contact"], forecast["per_day"]) == ("connect", truth.daily_capacity)
    assert forecast["per_day"] > 0
    assert forecast["today_left"] == truth.today_left
    expected = truth.at.isoformat().replace("+00:00", "Z") if truth.at else None
    got = forecast["everyone_contacted_by"]
    assert (got.replace("+00:00", "Z") if got else None) == expected
    assert client.get(f"/api/campaigns/{view['id']}").json()["forecast"] == forecast


def test_reply_refused_when_edges_counts_the_message_limit_used_up(
    client: TestClient, sim: Simulation
) -> None:
    """Edges' own count (another tool's messages) holds the inbox's send as it holds the
    engine's: the local count alone would let it go."""
    row = _thread_where_we_wrote_last(client)
    detail = client.get(f"/api/threads/{row['id']}").json()
    identity_id = int(row["identity_id"])  # type: ignore[call-overload]
    answer = [{"window": "24h", "limit": 50, "remaining": 0}]
    with sim.sessions() as session:
        put_sync_row(
            session, identity_id, SyncKind.LIMITS_MESSAGE, sim.clock.now(), json.dumps(answer)
        )
        session.commit()
    text = "A reply Edges' count holds back"
    try:
        body = {"text": text, "token": detail["reply_token"], "seen_at": detail["seen_at"]}
        refused = client.post(f"/api/threads/{row['id']}/reply", json=body)
        assert refused.status_code == 400, refused.text
        assert "message limit" in refused.json()["detail"]
        assert not [
            e for e in sim.sandbox.log if (e.get("parameters") or {}).get("message") == text
        ]
    finally:
        with sim.sessions() as session:
            session.execute(
                sa.delete(SyncState).where(
                    SyncState.identity_id == identity_id,
                    SyncState.kind == SyncKind.LIMITS_MESSAGE,
                )
            )
            session.commit()
