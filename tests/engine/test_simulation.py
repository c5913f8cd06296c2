"""The real engine against the sandbox over simulated days: the promises hold."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from linkseq.demo.simulation import Simulation
from linkseq.engine.lifecycle import State
from linkseq.store.models import Enrollment, OutboxAction


def test_a_week_of_outreach_keeps_every_promise(tmp_path: Path) -> None:
    sim = Simulation(database_url=f"sqlite:///{tmp_path / 'sim.db'}", people=80, identities=2)
    try:
        sent = sim.run(days=8)
        report = sim.sandbox.report()
        assert report["breaches"] == dict.fromkeys(report["breaches"], 0)
        funnel = sim.funnel()
        assert sent > 0
        assert funnel["invited"] > 20
        assert funnel["accepted"] > 0
        assert funnel["messaged"] > 0
        with sim.sessions() as session:
            states = set(session.scalars(sa.select(Enrollment.state)))
            assert {s.value for s in states} <= {s.value for s in State}
            keys = session.scalars(sa.select(OutboxAction.idempotency_key)).all()
            assert len(keys) == len(set(keys))
        # what linkseq recorded as sent is what LinkedIn (the sandbox) received
        totals = report["totals"]
        assert totals.get("invitations_sent", 0) == funnel["invited"]
    finally:
        sim.close()


def test_with_the_webhook_receiver_syncs_arrive_as_callbacks(tmp_path: Path) -> None:
    """Edges schedules replace the periodic live syncs; their callbacks reach `linkseq serve`."""
    sim = Simulation(
        database_url=f"sqlite:///{tmp_path / 'sim.db'}", people=40, identities=2, receiver=True
    )
    try:
        assert sim.receiver_url is not None
        sim.run(days=3)
        report = sim.sandbox.report()
        assert report["breaches"] == dict.fromkeys(report["breaches"], 0)
        assert report["totals"].get("callback_deliveries", 0) > 0
        with sim.sessions() as session:
            from linkseq.store.models import WebhookInbox

            stored = session.scalars(sa.select(WebhookInbox)).all()
            assert stored
            assert all(row.processed_at is not None for row in stored)
            assert all(row.error is None for row in stored)
    finally:
        sim.close()


def test_a_pass_that_lost_its_lease_sends_nothing_more(tmp_path: Path) -> None:
    """A worker whose lease expired while it waited (another worker took it) stops its pass."""
    from datetime import timedelta

    from linkseq.store.leases import claim_identity_lease
    from linkseq.store.models import Identity

    sim = Simulation(database_url=f"sqlite:///{tmp_path / 'sim.db'}", people=10, identities=1)
    try:
        engine = sim.engine
        ttl = engine.config.lease_ttl
        with sim.sessions() as session:
            mine = claim_identity_lease(session, owner=engine.owner, now=sim.clock.now(), ttl=ttl)
            assert mine is not None

        def sleep_and_lose(seconds: float) -> None:
            sim.sandbox.advance(by=timedelta(seconds=seconds))
            with sim.sessions() as session:
                taken = claim_identity_lease(
                    session, owner="another-worker", now=sim.clock.now(), ttl=ttl
                )
                assert taken == mine

        engine.sleep = sleep_and_lose
        with sim.sessions() as session:
            identity = session.get(Identity, mine)
            assert identity is not None
            later = sim.clock.now() + ttl * 2
            assert engine._wait_until(session, identity, later) is False
        # without a thief the same wait keeps the lease and goes on
        engine.sleep = sim._sleep
        with sim.sessions() as session:
            claim_identity_lease(
                session, owner=engine.owner, now=sim.clock.now() + ttl * 3, ttl=ttl
            )
            sim.sandbox.advance(by=ttl * 3)
            identity = session.get(Identity, mine)
            assert identity is not None
            assert engine._wait_until(session, identity, sim.clock.now() + ttl / 2) is True
    finally:
        sim.close()
