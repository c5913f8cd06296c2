"""Outgoing events: signed (checked by an independent verifier), retried, replayable."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from linkseq.clock import ManualClock
from linkseq.engine.events_out import EventDispatcher, finish_campaigns, verify
from linkseq.engine.transitions import emit
from linkseq.store import build_engine, session_factory, upgrade
from linkseq.store.enums import CampaignStatus, EnrollmentState
from linkseq.store.models import EventDelivery, OutgoingEvent
from tests.store.factories import T0, add_campaign, add_enrollment, add_identity, add_lead

KEY = "whsec-test"


def independent_verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a CRM would write: HMAC-SHA256 over "<timestamp>." + body, constant-time compare."""
    timestamp = headers["X-Linkseq-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest("v1=" + expected.hexdigest(), headers["X-Linkseq-Signature"])


class Receiver:
    """A CRM endpoint: answers with the statuses given, records what it got."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.got: list[tuple[dict[str, str], bytes]] = []

    def __call__(self, url: str, headers: dict[str, str], body: bytes) -> int:
        self.got.append((headers, body))
        return self.statuses.pop(0) if self.statuses else 200


def _db(tmp_path: Path) -> sessionmaker[Session]:
    engine = build_engine(f"sqlite:///{tmp_path / 'e.db'}")
    upgrade(engine)
    return session_factory(engine)


def test_an_event_is_signed_and_verified_independently(tmp_path: Path) -> None:
    sessions = _db(tmp_path)
    clock = ManualClock(T0)
    with sessions() as session:
        emit(session, "identity.paused", now=T0, payload={"identity_uid": "u1"})
        session.commit()
    crm = Receiver()
    dispatcher = EventDispatcher(
        sessions=sessions,
        clock=clock,
        url="https://crm.example/hook",
        secret=SecretStr(KEY),
        post=crm,
    )
    assert dispatcher.deliver_due().delivered == 1
    [(headers, body)] = crm.got
    assert independent_verify(KEY, headers, body)
    assert not independent_verify("other-key", headers, body)
    assert not independent_verify(KEY, headers, body.replace(b"u1", b"u2"))
    assert json.loads(body)["kind"] == "identity.paused"
    assert verify(KEY, headers, body, now=T0 + timedelta(minutes=1))
    assert not verify(KEY, headers, body, now=T0 + timedelta(hours=1))  # too old: a replay
    assert dispatcher.deliver_due().delivered == 0  # delivered once


def test_failures_are_retried_with_backoff_then_given_up(tmp_path: Path) -> None:
    sessions = _db(tmp_path)
    clock = ManualClock(T0)
    with sessions() as session:
        emit(session, "lead.replied", now=T0, payload={})
        session.commit()
    crm = Receiver(500, 0, 200)
    dispatcher = EventDispatcher(
        sessions=sessions,
        clock=clock,
        url="https://crm",
        secret=SecretStr(KEY),
        post=crm,
        backoff=(timedelta(seconds=30), timedelta(minutes=2)),
    )
    assert dispatcher.deliver_due().retrying == 1
    assert dispatcher.deliver_due().retrying == 0  # not due yet
    clock.advance(timedelta(seconds=30))
    assert dispatcher.deliver_due().retrying == 1
    clock.advance(timedelta(minutes=2))
    assert dispatcher.deliver_due().delivered == 1
    assert len(crm.got) == 3
    with sessions() as session:
        row = session.get(EventDelivery, 1)
        assert row is not None
        assert (row.status, row.attempts) == ("delivered", 3)
    # a receiver that always fails: given up after the last backoff step
    with sessions() as session:
        emit(session, "lead.replied", now=T0, payload={})
        session.commit()
    dispatcher.post = Receiver(500, 500, 500)
    for _ in range(3):
        clock.advance(timedelta(hours=1))
        dispatcher.deliver_due()
    with sessions() as session:
        row = session.get(EventDelivery, 2)
        assert row is not None
        assert (row.status, row.attempts) == ("failed", 3)


def test_replay_from_a_cursor_sends_the_later_events_again(tmp_path: Path) -> None:
    sessions = _db(tmp_path)
    clock = ManualClock(T0)
    with sessions() as session:
        for i in range(5):
            emit(session, "lead.connected", now=T0, payload={"n": i})
        session.commit()
    crm = Receiver()
    dispatcher = EventDispatcher(
        sessions=sessions, clock=clock, url="https://crm", secret=SecretStr(KEY), post=crm
    )
    assert dispatcher.deliver_due().delivered == 5
    assert dispatcher.replay(after=3) == 2
    assert dispatcher.deliver_due().delivered == 2
    assert [json.loads(b)["id"] for _, b in crm.got] == [1, 2, 3, 4, 5, 4, 5]


def test_a_campaign_whose_leads_are_all_done_finishes_once(tmp_path: Path) -> None:
    sessions = _db(tmp_path)
    with sessions() as session:
        identity = add_identity(session)
        campaign = add_campaign(session, identities=(identity,))
        campaign.status = CampaignStatus.ACTIVE
        states = [EnrollmentState.COMPLETED, EnrollmentState.REPLIED, EnrollmentState.MESSAGED]
        rows = [
            add_enrollment(
                session,
                campaign=campaign,
                lead=add_lead(session, f"l{i}"),
                identity=identity,
                state=state,
            )
            for i, state in enumerate(states)
        ]
        session.commit()
        assert finish_campaigns(session, now=T0) == []
        rows[2].state = EnrollmentState.COMPLETED
        assert finish_campaigns(session, now=T0) == [campaign.id]
        assert finish_campaigns(session, now=T0) == []
        session.commit()
        [event] = session.scalars(sa.select(OutgoingEvent)).all()
        assert event.kind == "campaign.finished"
        assert event.payload["leads"] == {"completed": 2, "replied": 1}
        assert campaign.status is CampaignStatus.FINISHED
