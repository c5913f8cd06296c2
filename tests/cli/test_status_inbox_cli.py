"""`linkseq campaigns status` and `linkseq inbox` on a simulated campaign."""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa

from linkseq.errors import NotFoundError
from linkseq.store import build_engine, session_factory
from linkseq.store.enums import EnrollmentState
from linkseq.store.models import Conversation, Enrollment, Identity
from tests.cli.test_db_cli import run


def _campaign_name(url: str) -> str:
    engine = build_engine(url)
    with engine.connect() as connection:
        name = connection.execute(sa.text("SELECT name FROM campaigns")).scalar_one()
    engine.dispose()
    return str(name)


def test_status_shows_the_funnel_and_a_forecast(simulated_db: str) -> None:
    name = _campaign_name(simulated_db)
    result = run("campaigns", "status", name, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    funnel = data["funnel"]
    assert funnel["enrolled"] == 16
    assert funnel["enrolled"] >= funnel["visited"] >= funnel["accepted"] >= 0
    assert funnel["replied"] == funnel["states"].get("replied", 0)
    forecast = data["forecast"]
    left = sum(funnel["states"].get(s, 0) for s in ("new", "ready"))
    assert forecast["leads_not_contacted"] == left
    assert forecast["first_contact"] == "connect"
    assert forecast["per_day"] > 0
    assert 0 <= forecast["today_left"] <= forecast["per_day"]
    if left:
        assert datetime.fromisoformat(forecast["everyone_contacted_by"])
    text = run("campaigns", "status", name)
    assert text.exit_code == 0
    assert "accepted" in text.output
    assert isinstance(run("campaigns", "status", "nope").exception, NotFoundError)


def test_paused_campaign_has_no_forecast(simulated_db: str) -> None:
    name = _campaign_name(simulated_db)
    engine = build_engine(simulated_db)
    with session_factory(engine)() as session:
        session.execute(
            sa.text(
                "UPDATE enrollments SET state = 'ready', invited_at = NULL WHERE state = 'invited'"
            )
        )
        session.commit()
    engine.dispose()
    assert run("campaigns", "pause", name).exit_code == 0
    data = json.loads(run("campaigns", "status", name, "--json").stdout)
    assert data["forecast"]["leads_not_contacted"] > 0
    assert data["forecast"]["everyone_contacted_by"] is None


def test_inbox_lists_threads_newest_first_with_replies_flagged(simulated_db: str) -> None:
    result = run("inbox", "--json")
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    engine = build_engine(simulated_db)
    with session_factory(engine)() as session:
        threads = session.scalar(sa.select(sa.func.count()).select_from(Conversation))
        replied = session.scalars(
            sa.select(Enrollment.lead_id).where(Enrollment.state == EnrollmentState.REPLIED)
        ).all()
        identity = session.scalars(sa.select(Identity)).one().name
    engine.dispose()
    assert len(items) == min(threads or 0, 50)
    stamps = [i["last_message_at"] for i in items if i["last_message_at"]]
    assert stamps == sorted(stamps, reverse=True)
    flagged = {i["lead_id"] for i in items if i["replied"]}
    assert flagged
    assert flagged <= set(replied)
    assert all(i["last_from_them"] for i in items if i["replied"])
    assert json.loads(run("inbox", "--identity", identity, "--json").stdout) == items
    assert isinstance(run("inbox", "--identity", "nobody").exception, NotFoundError)
    text = run("inbox")
    assert "replied" in text.output
