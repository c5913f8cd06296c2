"""Replies against the sandbox: sync-before-send, the race it leaves, late replies; dry-run."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from linkseq.engine.config import EngineConfig
from linkseq.engine.runner import RunReport
from linkseq.store.models import AuditEvent
from tests.engine.harness import OUTREACH, Harness, person
from tests.engine.wire import Call, Wire

CONNECT = "linkedin-connect-profile"
MESSAGE = "linkedin-message-profile"
CONVERSATIONS = "linkedin-extract-conversations"
CONFIG = EngineConfig(idle_wake=timedelta(hours=2))
HANDLES = ["ada-lovelace", "alan-turing", "grace-hopper"]


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'replies.db'}"


def _connected(db: str, wire: Wire | None = None) -> Harness:
    """Three leads already connected: their first messages are due together, one burst."""
    h = Harness(db, persons=[person(x) for x in HANDLES], config=CONFIG, wrap=wire)
    alice = h.sandbox.identity(h.uids["alice"])
    for handle in HANDLES:
        found = h.sandbox.world.people.by_handle(handle)
        assert found is not None
        alice.connections[found.index] = h.clock.now() - timedelta(days=90)
    h.run_once()
    return h


def _at(h: Harness, seq: int) -> datetime:
    return datetime.fromisoformat(h.sandbox.log[seq - 1]["at"].replace("Z", "+00:00"))


def _windows(reports: list[RunReport]) -> list[float]:
    return [w for r in reports for i in r.identities for w in i.race_windows]


def test_a_reply_visible_at_sync_time_is_never_messaged(db: str) -> None:
    wire = Wire()
    h = _connected(db, wire)
    try:
        # Grace answers just before the burst's conversations sync
        h.advance(timedelta(minutes=30))
        h.sandbox.inject_reply(h.uids["alice"], h.url("grace-hopper"), "Actually, call me")
        reports = h.run(hours=60)
        assert h.done("grace-hopper", MESSAGE) == []
        assert h.state("grace-hopper") == "replied"
        assert [len(h.done(x, MESSAGE)) for x in HANDLES[:2]] == [2, 2]
        assert h.breaches()["message_after_reply"] == 0
        assert all(w <= CONFIG.max_race.total_seconds() for w in _windows(reports))
    finally:
        h.close()


def test_a_reply_written_during_a_burst_is_seen_before_the_next_message(db: str) -> None:
    wire = Wire()
    h = _connected(db, wire)
    try:
        syncs: list[int] = []

        def reply_right_after_the_sync(call: Call) -> None:
            if call.action == CONVERSATIONS and not syncs:
                syncs.append(len(h.sandbox.log))
            elif call.action == MESSAGE and call.status == 200 and syncs:
                # the lead answers after the burst's first message, before the engine's next
                # message to her (a human gap later)
                h.sandbox.inject_reply(h.uids["alice"], h.url("grace-hopper"), "Wait!")
                wire.after = None

        h.advance(timedelta(minutes=30))
        wire.after = reply_right_after_the_sync
        reports = h.run(hours=60)
        windows = _windows(reports)
        assert windows
        assert max(windows) <= CONFIG.max_race.total_seconds()
        # every message has a conversations sync of its own since the one before it (guide
        # §15: sync immediately before sending; the pass waits a human gap between two)
        burst = h.calls(CONVERSATIONS, MESSAGE)
        sent = [i for i, call in enumerate(burst) if call.action == MESSAGE and call.status == 200]
        assert len(sent) >= 4
        for before, after in itertools.pairwise(sent):
            assert any(c.action == CONVERSATIONS for c in burst[before + 1 : after]), after
        # Grace's answer came in while the pass waited: the sync before the next message saw
        # it, so no message reached her after it, and her follow-up never goes
        assert h.done("grace-hopper", MESSAGE) == []
        assert h.state("grace-hopper") == "replied"
        assert h.breaches()["message_after_reply"] == 0
        assert [len(h.done(x, MESSAGE)) for x in HANDLES[:2]] == [2, 2]
    finally:
        h.close()


def test_a_reply_after_the_sequence_ended_is_recorded_as_late(db: str) -> None:
    h = _connected(db)
    try:
        h.run(hours=60)
        assert h.state("ada-lovelace") == "completed"
        h.sandbox.inject_reply(h.uids["alice"], h.url("ada-lovelace"), "Sorry for the delay!")
        h.run(hours=6)
        assert h.state("ada-lovelace") == "replied"
        last = h.audit("ada-lovelace")[-1]
        assert (last.from_state, last.to_state, last.reason) == (
            "completed",
            "replied",
            "late reply",
        )
        assert len(h.done("ada-lovelace", MESSAGE)) == 2
    finally:
        h.close()


def test_dry_run_sends_nothing_and_records_what_would_go(db: str) -> None:
    h = Harness(db, persons=[person(x) for x in HANDLES], config=CONFIG)
    try:
        h.advance(timedelta(hours=1, minutes=1))  # 09:01 London: inside the campaign's hours
        dry = h.make_engine(dry_run=True)
        report = dry.run_once()
        assert [c.action for c in h.calls()] == [
            "linkedin-me",
            "linkedin-extract-connections",
            "linkedin-extract-sent-invitations",
            CONVERSATIONS,
        ]
        assert h.calls(*OUTREACH) == []
        results = [r for i in report.identities for r in i.results]
        assert [r.outcome for r in results] == ["dry_run"]
        assert results[0].request == {"note": "Hi Ada, glad to connect."}
        with h.sessions() as session:
            rows = session.scalars(
                sa.select(AuditEvent).where(AuditEvent.reason.like("dry run:%"))
            ).all()
            assert [r.reason for r in rows] == ["dry run: would connect (invite)"]
            assert rows[0].details == {"step": "invite", "request": results[0].request}
        assert h.outbox() == []
        assert {h.state(x) for x in HANDLES} == {"ready"}
    finally:
        h.close()
