"""`linkseq leads why`: the engine's own plan says what holds a lead."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.engine.explain import explain_lead
from linkseq.engine.planner import active_campaigns
from linkseq.planning.hours import is_open, next_open
from linkseq.planning.schedule import HoldReason
from linkseq.store import build_engine, session_factory
from linkseq.store.enums import CampaignStatus, EnrollmentState, IdentityStatus
from linkseq.store.models import Campaign, Enrollment, Identity, Lead
from tests.cli.test_db_cli import run


def _lead_in(session: Session, state: EnrollmentState) -> tuple[Lead, Enrollment]:
    enrollment = session.scalars(
        sa.select(Enrollment).where(Enrollment.state == state).order_by(Enrollment.id)
    ).first()
    assert enrollment is not None, state
    lead = session.get(Lead, enrollment.lead_id)
    assert lead is not None
    return lead, enrollment


def _sunday_after(at: datetime) -> datetime:
    day = at.astimezone(UTC).replace(hour=3, minute=0, second=0, microsecond=0) + timedelta(days=1)
    while day.weekday() != 6:
        day += timedelta(days=1)
    return day  # Saturday or Sunday in every time zone: the campaign's hours are closed


def test_why_explains_each_state(simulated_db: str) -> None:
    engine = build_engine(simulated_db)
    with session_factory(engine)() as session:
        lead, enrollment = _lead_in(session, EnrollmentState.CONNECTED)
        assert enrollment.next_action_at is not None
        sunday = _sunday_after(enrollment.next_action_at)
        [item] = explain_lead(session, lead, now=sunday)
        assert item["state"] == "connected"
        assert item["next_step"]["type"] == "message"
        assert item["verdict"]["status"] == "held"
        assert item["verdict"]["hold"] == HoldReason.hours.value
        assert item["verdict"]["at"] > sunday  # when the hours open again
        # before the step's delay: held by the delay, with the due time
        early = enrollment.next_action_at - timedelta(hours=2)
        [item] = explain_lead(session, lead, now=early)
        assert item["verdict"]["hold"] == "delay"
        # it goes once due, within the working hours of the lead's zone
        due = enrollment.next_action_at
        identity = session.get(Identity, enrollment.identity_id)
        assert identity is not None
        info = active_campaigns(session, identity.id)[enrollment.campaign_id]
        tz = info.zone(lead.timezone, identity.timezone)
        opens = due if is_open(info.schedule, tz, due) else next_open(info.schedule, tz, due)
        assert item["verdict"]["at"] == opens
        replied, _ = _lead_in(session, EnrollmentState.REPLIED)
        assert explain_lead(session, replied, now=sunday)[0]["verdict"]["status"] == "done"
        invited, _ = _lead_in(session, EnrollmentState.INVITED)
        assert explain_lead(session, invited, now=sunday)[0]["verdict"]["hold"] == "acceptance"
        campaign = session.get(Campaign, enrollment.campaign_id)
        assert campaign is not None
        campaign.status = CampaignStatus.PAUSED
        assert explain_lead(session, lead, now=sunday)[0]["verdict"]["hold"] == "campaign"
        campaign.status = CampaignStatus.ACTIVE
        identity = session.get(Identity, enrollment.identity_id)
        assert identity is not None
        identity.status = IdentityStatus.DISCONNECTED
        identity.status_reason = "AUTH_EXPIRED"
        [item] = explain_lead(session, lead, now=sunday)
        assert item["verdict"]["hold"] == "paused"
        assert "AUTH_EXPIRED" in item["verdict"]["why"]
        assert item["fix"] == f"linkseq identities reconnect {identity.name!r}"
        session.rollback()
    engine.dispose()


def test_why_command(simulated_db: str) -> None:
    engine = build_engine(simulated_db)
    with session_factory(engine)() as session:
        lead, _ = _lead_in(session, EnrollmentState.CONNECTED)
        lead_id, url = lead.id, lead.profile_url
    engine.dispose()
    result = run("leads", "why", url, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["lead"]["id"] == lead_id
    [item] = data["enrollments"]
    assert item["verdict"]["status"] in ("due", "held")
    text = run("leads", "why", str(lead_id))
    assert text.exit_code == 0, text.output
    assert "connected" in text.output
    assert "next: " in text.output
