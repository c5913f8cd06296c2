"""Guide §7's error labels, AUTH_EXPIRED mid-batch and reconnection, against the sandbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from linkseq.engine.config import EngineConfig
from linkseq.engine.recovery import resume_identity
from linkseq.sandbox._world import Invitation
from linkseq.store.enums import IdentityStatus
from linkseq.store.models import ActionHold, Identity
from tests.engine.harness import OUTREACH, Harness, person
from tests.engine.wire import Call, Refusal, Wire

CONNECT = "linkedin-connect-profile"
MESSAGE = "linkedin-message-profile"
CONVERSATIONS = "linkedin-extract-conversations"
CONFIG = EngineConfig(idle_wake=timedelta(hours=2))


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'errors.db'}"


def _at(h: Harness, seq: int) -> datetime:
    return datetime.fromisoformat(h.sandbox.log[seq - 1]["at"].replace("Z", "+00:00"))


def _index(h: Harness, handle: str) -> int:
    found = h.sandbox.world.people.by_handle(handle)
    assert found is not None
    return found.index


def _admit(h: Harness) -> None:
    """One pass at 08:00 London: leads are admitted, nothing is due before 09:00."""
    h.run_once()
    assert h.calls(*OUTREACH) == []


def test_already_connected_answer_moves_to_the_message_step(db: str) -> None:
    h = Harness(db, persons=[person("ada-lovelace")], config=CONFIG)
    try:
        _admit(h)
        assert h.state("ada-lovelace") == "ready"
        h.sandbox.identity(h.uids["alice"]).connections[_index(h, "ada-lovelace")] = h.clock.now()
        h.run(hours=50)
        connects = h.calls(CONNECT)
        assert [(c.handle, c.label) for c in connects] == [("ada-lovelace", "ALREADY_CONNECTED")]
        assert [c.text for c in h.done("ada-lovelace", MESSAGE)] == [
            "Thanks, Ada!",
            "Any news, Ada?",
        ]
        assert h.state("ada-lovelace") == "completed"
    finally:
        h.close()


def test_invitation_pending_answer_waits_without_a_second_invitation(db: str) -> None:
    h = Harness(db, persons=[person("ada-lovelace", accept_probability=0.0)], config=CONFIG)
    try:
        _admit(h)
        index = _index(h, "ada-lovelace")
        inv = Invitation(990_001, h.uids["alice"], index, h.clock.now(), "", via_api=False)
        h.sandbox.identity(h.uids["alice"]).invitations[index] = inv
        h.sandbox.world.invitations_by_id[inv.invitation_id] = inv
        h.run(hours=50)
        assert [c.label for c in h.calls(CONNECT)] == ["INVITATION_PENDING"]
        assert h.state("ada-lovelace") == "invited"
        assert h.breaches()["duplicate_invitation"] == 0
    finally:
        h.close()


def test_not_connected_goes_back_to_the_connect_step(db: str) -> None:
    h = Harness(db, persons=[person("ada-lovelace")], config=CONFIG)
    try:
        alice = h.sandbox.identity(h.uids["alice"])
        index = _index(h, "ada-lovelace")
        alice.connections[index] = h.clock.now() - timedelta(days=90)
        _admit(h)
        assert h.state("ada-lovelace") == "connected"
        del alice.connections[index]  # she removed alice from her connections meanwhile
        h.run(hours=72)
        calls = [(c.action, c.label) for c in h.calls(CONNECT, MESSAGE)]
        assert calls[:2] == [(MESSAGE, "NOT_CONNECTED"), (CONNECT, None)]
        assert calls[2:] == [(MESSAGE, None), (MESSAGE, None)]
        assert h.state("ada-lovelace") == "completed"
        assert h.breaches() == dict.fromkeys(h.breaches(), 0)
    finally:
        h.close()


def test_profile_not_accessible_fails_with_the_reason(db: str) -> None:
    h = Harness(db, persons=[person("ada-lovelace", deleted=True)], config=CONFIG)
    try:
        h.run(hours=30)
        assert [c.label for c in h.calls(CONNECT)] == ["PROFILE_NOT_ACCESSIBLE"]
        enrollment = h.enrollment("ada-lovelace")
        assert enrollment.state.value == "failed"
        assert "profile not accessible" in (enrollment.reason or "")
        assert enrollment.next_action_at is None
    finally:
        h.close()


def test_limit_reached_waits_until_postponed_until_and_not_before(db: str) -> None:
    h = Harness(db, persons=[person("ada-lovelace")], config=CONFIG, people=60)
    try:
        _admit(h)
        # someone spent today's invitations outside linkseq (the Edges UI, another tool)
        body = {"identity_ids": [h.uids["alice"]], "parameters": {"message": ""}}
        for i in range(60):
            url = h.sandbox.world.people[i].profile_url
            status, _, answer = h.sandbox.call(
                "POST",
                f"/v1/actions/{CONNECT}/run/live",
                {**body, "input": {"linkedin_profile_url": url}},
            )
            if status != 200 and answer["error_label"] == "LIMIT_REACHED":
                break
        else:
            pytest.fail("the sandbox never reached its invitation limit")
        by_hand = len(h.sandbox.log)
        h.run(hours=30)
        ours = [c for c in h.calls(CONNECT, since=by_hand) if c.handle == "ada-lovelace"]
        assert [c.label for c in ours] == ["LIMIT_REACHED", None]
        refused = h.sandbox.log[ours[0].seq - 1]
        assert refused["status"] == 429
        with h.sessions() as session:
            hold = session.scalars(
                sa.select(ActionHold).where(ActionHold.action == "connect")
            ).one()
            until = hold.until.replace(tzinfo=hold.until.tzinfo or _at(h, 1).tzinfo)
        assert _at(h, ours[1].seq) >= until
        assert h.state("ada-lovelace") == "invited"
    finally:
        h.close()


def test_status_429_backs_off_then_sends(db: str) -> None:
    wire = Wire()
    h = Harness(db, persons=[person("ada-lovelace")], config=CONFIG, wrap=wire)
    try:
        _admit(h)
        wire.refusals.append(
            Refusal(
                CONNECT,
                "STATUS_429",
                429,
                url=h.url("ada-lovelace"),
                times=1,
                params={"retry_after": 600},
                headers={"Retry-After": "600"},
            )
        )
        since = len(h.sandbox.log)
        h.run(hours=30)
        refused = [c for c in wire.seen if c.action == CONNECT and c.status == 429]
        assert len(refused) == 1
        sent = h.calls(CONNECT, since=since)
        assert [c.label for c in sent] == [None]
        with h.sessions() as session:
            hold = session.scalars(sa.select(ActionHold).where(ActionHold.action == "*")).one()
            assert hold.reason == "STATUS_429"
            until = hold.until
        assert _at(h, sent[0].seq).replace(tzinfo=None) >= until.replace(tzinfo=None)
        # invited; accepted a day before the run ends, the thanks may have gone too
        assert h.state("ada-lovelace") in ("invited", "connected", "messaged")
    finally:
        h.close()


def test_invalid_input_fails_with_the_field(db: str) -> None:
    wire = Wire()
    h = Harness(db, persons=[person("ada-lovelace")], config=CONFIG, wrap=wire)
    try:
        wire.refusals.append(
            Refusal(CONNECT, "INVALID_INPUT", 400, params={"field": "parameters.message"})
        )
        h.run(hours=30)
        enrollment = h.enrollment("ada-lovelace")
        assert enrollment.state.value == "failed"
        assert "parameters.message" in (enrollment.reason or "")
        assert h.calls(*OUTREACH) == []  # the refusal never reached LinkedIn
    finally:
        h.close()


def test_auth_expired_mid_batch_pauses_then_resumes_exactly(db: str) -> None:
    handles = ["ada-lovelace", "alan-turing", "grace-hopper", "edsger-dijkstra"]
    wire = Wire()
    h = Harness(db, persons=[person(x) for x in handles], config=CONFIG, wrap=wire)
    try:
        alice = h.sandbox.identity(h.uids["alice"])
        for handle in handles:
            alice.connections[_index(h, handle)] = h.clock.now() - timedelta(days=90)
        _admit(h)
        assert {h.state(x) for x in handles} == {"connected"}

        def expire_after_first_message(call: Call) -> None:
            if call.action == MESSAGE and call.status == 200:
                h.sandbox.expire_session(h.uids["alice"])
                wire.after = None

        wire.after = expire_after_first_message
        h.run(hours=3)  # the burst of first messages starts, the session dies after one
        first = h.done(handles[0], MESSAGE) or [c for c in h.calls(MESSAGE) if c.status == 200]
        assert len([c for c in h.calls(MESSAGE) if c.status == 200]) == 1
        # the session died after the first message: the sync before the next one met it, and
        # no message was attempted on a dead session
        assert [c.label for c in h.calls(MESSAGE) if c.status != 200] == []
        expired = [c.label for c in h.calls(CONVERSATIONS) if c.status != 200]
        assert expired == ["AUTH_EXPIRED"]
        with h.sessions() as session:
            identity = session.scalars(sa.select(Identity)).one()
            assert identity.status is IdentityStatus.DISCONNECTED
        before = {x: h.enrollment(x) for x in handles}
        assert {e.state.value for e in before.values()} == {"paused"}
        was = sorted(e.paused_from_state.value for e in before.values() if e.paused_from_state)
        assert was == ["connected", "connected", "connected", "messaged"]
        calls_while_down = len(h.sandbox.log)
        h.run(hours=24)  # nothing is attempted while the identity is down
        assert h.calls(since=calls_while_down) == []

        h.sandbox.connect(h.uids["alice"])
        with h.sessions() as session:
            assert resume_identity(session, identity_id=1, now=h.clock.now()) == 4
            session.commit()
        assert {h.state(x): 1 for x in handles} == {"connected": 1, "messaged": 1}
        h.run(hours=72)
        for handle in handles:
            texts = [c.text for c in h.done(handle, MESSAGE)]
            name = handle.split("-")[0].title()
            assert texts == [f"Thanks, {name}!", f"Any news, {name}?"], handle
            assert h.state(handle) == "completed"
        assert first
        breaches = h.breaches()
        assert breaches["duplicate_message"] == 0
        assert breaches["message_after_reply"] == 0
    finally:
        h.close()
