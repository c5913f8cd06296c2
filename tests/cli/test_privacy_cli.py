"""`linkseq leads export|forget` and re-importing a forgotten person."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from linkseq.errors import NotFoundError
from linkseq.store import build_engine, session_factory
from linkseq.store.enums import ActionStatus, EnrollmentState
from linkseq.store.models import (
    AuditEvent,
    Conversation,
    DoNotContact,
    Enrollment,
    Lead,
    OutboxAction,
    profile_url_hash,
)
from tests.cli.test_db_cli import run


def _pick(url: str, state: EnrollmentState) -> tuple[int, str, str, str]:
    """A lead in `state` with a cached thread: (id, url, full name, profile id)."""
    engine = build_engine(url)
    with session_factory(engine)() as session:
        for enrollment in session.scalars(sa.select(Enrollment).where(Enrollment.state == state)):
            lead = session.get(Lead, enrollment.lead_id)
            assert lead is not None
            threads = session.scalars(
                sa.select(Conversation).where(
                    Conversation.participant_profile_url == lead.profile_url
                )
            ).all()
            if threads and lead.linkedin_profile_id:
                engine.dispose()
                assert lead.full_name is not None
                return lead.id, lead.profile_url, lead.full_name, lead.linkedin_profile_id
    raise AssertionError(f"no {state} lead with a thread in the simulation")


def _dump(url: str) -> str:
    """Every row of every table as text."""
    engine = build_engine(url)
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        text = "\n".join(raw.iterdump())  # type: ignore[attr-defined]
    engine.dispose()
    return text


def test_export_holds_everything_about_the_person(simulated_db: str, tmp_path: Path) -> None:
    lead_id, profile_url, name, _ = _pick(simulated_db, EnrollmentState.REPLIED)
    result = run("leads", "export", profile_url)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["lead"]["id"] == lead_id
    assert data["lead"]["full_name"] == name
    [enrollment] = data["enrollments"]
    assert enrollment["state"] == "replied"
    assert any(a["to_state"] == "replied" for a in enrollment["audit"])
    assert data["conversations"]
    assert data["conversations"][0]["last_message_text"]
    out = tmp_path / "export.json"
    assert run("leads", "export", str(lead_id), "--output", str(out)).exit_code == 0
    assert json.loads(out.read_text())["lead"]["id"] == lead_id


def test_forget_erases_the_person_and_keeps_a_hash(simulated_db: str, tmp_path: Path) -> None:
    lead_id, profile_url, name, profile_id = _pick(simulated_db, EnrollmentState.CONNECTED)
    assert run("dnc", "add", profile_url).exit_code == 0
    before = _dump(simulated_db)
    assert profile_url in before
    assert name in before
    result = run("leads", "forget", profile_url, "--yes", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["enrollments_ended"] == 1
    assert report["threads_deleted"] >= 1
    after = _dump(simulated_db)
    for value in (profile_url, profile_url.rsplit("/", 1)[-1], name, profile_id):
        assert value not in after, value
    engine = build_engine(simulated_db)
    with session_factory(engine)() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        assert lead.forgotten_hash == profile_url_hash(profile_url)
        assert lead.profile_url == f"forgotten:{lead.forgotten_hash}"
        enrollment = session.scalars(
            sa.select(Enrollment).where(Enrollment.lead_id == lead_id)
        ).one()
        assert enrollment.state is EnrollmentState.SKIPPED
        # the limits are still counted from the outbox rows: they stay, without their content
        actions = session.scalars(
            sa.select(OutboxAction).where(OutboxAction.enrollment_id == enrollment.id)
        ).all()
        assert actions
        assert all(a.request == {"erased": True} for a in actions)
        assert all(a.status in (ActionStatus.SENT, ActionStatus.RECONCILED) for a in actions)
        assert session.scalars(sa.select(AuditEvent).where(AuditEvent.lead_id == lead_id)).all()
        assert session.scalars(sa.select(DoNotContact)).all() == []
    engine.dispose()
    # gone for every command
    assert isinstance(run("leads", "export", profile_url).exception, NotFoundError)
    assert isinstance(run("leads", "why", str(lead_id)).exception, NotFoundError)
    listed = json.loads(run("leads", "list", "--json", "--limit", "1000").output)
    assert lead_id not in [row["id"] for row in listed]
    # a re-import skips them, unless allowed
    csv = tmp_path / "again.csv"
    csv.write_text(f"linkedin_profile_url,full_name\n{profile_url},{name}\n")
    skipped = json.loads(run("leads", "import", str(csv), "--json").output)
    assert (skipped["created"], skipped["forgotten"]) == (0, 1)
    allowed = json.loads(run("leads", "import", str(csv), "--json", "--allow-forgotten").output)
    assert (allowed["created"], allowed["forgotten"]) == (1, 0)
    # back as a live lead: a plain import now sees them as known
    again = json.loads(run("leads", "import", str(csv), "--json").output)
    assert (again["unchanged"], again["forgotten"]) == (1, 0)


def test_forget_asks_first(simulated_db: str) -> None:
    lead_id, _, _, _ = _pick(simulated_db, EnrollmentState.CONNECTED)
    result = run("leads", "forget", str(lead_id))  # no input: the prompt answers no
    assert result.exit_code == 1
    assert json.loads(run("leads", "export", str(lead_id)).output)["lead"]["id"] == lead_id
