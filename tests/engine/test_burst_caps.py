"""A message burst re-checks the campaign's own message cap before each message after the first.

A plan may place a message at the instant a used-up campaign cap frees a slot; a burst sends
its messages a human gap apart, sooner than planned, so each one is checked against the
identity's limits and its campaign's cap at the time it goes.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from linkseq.engine.planner import active_campaigns
from linkseq.engine.sync import put_sync_row
from linkseq.store.enums import ActionKind, SyncKind
from linkseq.store.models import Campaign, Enrollment, Identity
from tests.engine.harness import Harness, campaign_spec, person
from tests.store.factories import add_sent


def test_a_burst_message_waits_for_its_campaigns_cap_not_only_the_identitys(
    tmp_path: Path,
) -> None:
    capped = {**campaign_spec("capped"), "caps": {"message": 2}}
    h = Harness(
        f"sqlite:///{tmp_path / 'caps.db'}",
        persons=[person(f"p{i:02d}") for i in range(6)],
        campaigns=[capped, campaign_spec("open")],
    )
    try:
        with h.sessions() as session:
            identity = session.scalars(sa.select(Identity)).one()
            enrollment = session.scalars(
                sa.select(Enrollment).join(Campaign).where(Campaign.name == "capped")
            ).first()
            assert enrollment is not None
            campaigns = active_campaigns(session, identity.id)
            assert h.engine._message_room(session, identity, campaigns, "capped")
            now = h.clock.now()
            for i in range(2):  # the capped campaign's two messages of the day
                add_sent(
                    session,
                    identity_id=identity.id,
                    kind=ActionKind.MESSAGE,
                    at=now - timedelta(hours=1, minutes=i),
                    key=f"cap-{i}",
                    enrollment_id=enrollment.id,
                )
            session.commit()
            assert not h.engine._message_room(session, identity, campaigns, "capped")
            assert h.engine._message_room(session, identity, campaigns, "open")
            h.sandbox.advance(by=timedelta(hours=23, minutes=1))  # the first one left the day
            assert h.engine._message_room(session, identity, campaigns, "capped")
    finally:
        h.close()


def test_a_burst_message_waits_when_edges_counts_the_message_limit_used_up(
    tmp_path: Path,
) -> None:
    """Edges' own count of the identity's messages (another tool's sends among them) holds a
    burst's next message as it holds the plan's: the local count alone leaves room."""
    h = Harness(
        f"sqlite:///{tmp_path / 'edges.db'}",
        persons=[person(f"p{i:02d}") for i in range(3)],
        campaigns=[campaign_spec("open")],
    )
    try:
        with h.sessions() as session:
            identity = session.scalars(sa.select(Identity)).one()
            campaigns = active_campaigns(session, identity.id)
            assert h.engine._message_room(session, identity, campaigns, "open")
            answer = [{"window": "24h", "limit": 50, "remaining": 0}]
            put_sync_row(
                session,
                identity.id,
                SyncKind.LIMITS_MESSAGE,
                h.clock.now() - timedelta(minutes=5),
                json.dumps(answer),
            )
            session.commit()
            assert not h.engine._message_room(session, identity, campaigns, "open")
    finally:
        h.close()
