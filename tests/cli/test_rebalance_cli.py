"""`linkseq campaigns rebalance`: a new identity takes a share of the leads not yet contacted."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa

from linkseq.errors import NotFoundError
from linkseq.leads.enroll import enroll_leads
from linkseq.store import build_engine, session_factory
from linkseq.store.enums import ActionStatus
from linkseq.store.models import Campaign, Enrollment, Identity, Lead, OutboxAction
from tests.cli.test_db_cli import run

NOW = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)


def _prepare(url: str) -> tuple[str, set[int | None]]:
    """Six fresh leads for the campaign, an identity "Bob" not in it yet; the contacted."""
    engine = build_engine(url)
    with session_factory(engine)() as session:
        campaign = session.scalars(sa.select(Campaign)).one()
        session.add_all(
            Lead(
                profile_url=f"https://www.linkedin.com/in/fresh-{i}",
                custom_fields={},
                created_at=NOW,
                updated_at=NOW,
            )
            for i in range(6)
        )
        session.flush()
        fresh = list(session.scalars(sa.select(Lead.id).where(Lead.profile_url.like("%fresh-%"))))
        enroll_leads(session, campaign, fresh, now=NOW)
        session.add(Identity(uid="bob-uid", name="Bob", created_at=NOW, updated_at=NOW))
        contacted = set(
            session.scalars(
                sa.select(OutboxAction.enrollment_id).where(
                    OutboxAction.status != ActionStatus.FAILED
                )
            )
        )
        session.commit()
        name = campaign.name
    engine.dispose()
    return name, contacted


def test_rebalance_adds_an_identity_and_moves_only_fresh_leads(simulated_db: str) -> None:
    name, contacted = _prepare(simulated_db)

    result = run("campaigns", "rebalance", name, "--add", "Bob", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["added"] == ["Bob"]
    # Bob, never synced, will still ramp up: he takes a share, smaller than identity-1's
    assert 1 <= data["moved"] <= 3
    assert {(m["from"], m["to"]) for m in data["moves"]} == {("identity-1", "Bob")}

    engine = build_engine(simulated_db)
    with session_factory(engine)() as session:
        bob = session.scalars(sa.select(Identity).where(Identity.name == "Bob")).one()
        bobs = set(
            session.scalars(sa.select(Enrollment.id).where(Enrollment.identity_id == bob.id))
        )
    engine.dispose()
    assert len(bobs) == data["moved"]
    assert not bobs & contacted  # nothing the simulation already contacted

    again = run("campaigns", "rebalance", name)
    assert again.exit_code == 0, again.output
    assert "no lead moved" in again.output
    assert isinstance(
        run("campaigns", "rebalance", name, "--add", "nobody").exception, NotFoundError
    )
    assert isinstance(run("campaigns", "rebalance", "nope").exception, NotFoundError)
