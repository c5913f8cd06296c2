"""A pass that waits for its plan's first message checks the message limit again before it goes.

A pass woken shortly before its plan's next action waits for it (at most one human gap). A
message sent from the inbox meanwhile can take the day's last slot: the plan's count, read
before the wait, no longer holds, and the message would go one over the limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from linkseq.engine.config import EngineConfig
from linkseq.engine.quotas import COUNTED
from linkseq.planning.pacing import StepKind
from linkseq.store.enums import ActionKind, EnrollmentState
from linkseq.store.models import Identity, OutboxAction, WorkerLease
from tests.engine.harness import CONNECT_THEN_MESSAGE, Harness, campaign_spec, person
from tests.store.factories import add_inbox_reply

LIMIT = 2  # messages a day


@pytest.fixture
def harness(tmp_path: Any) -> Iterator[Harness]:
    h = Harness(
        f"sqlite:///{tmp_path / 'wait.db'}",
        persons=[person("ann"), person("bob")],
        campaigns=[campaign_spec(steps=CONNECT_THEN_MESSAGE)],
        # one message a pass: the plan that sends ann's keeps bob's for the next pass
        config=EngineConfig(messages_per_day=LIMIT, max_batch=1),
    )
    try:
        yield h
    finally:
        h.close()


def _messages(h: Harness) -> int:
    with h.sessions() as session:
        return len(
            session.scalars(
                sa.select(OutboxAction.id).where(
                    OutboxAction.kind == ActionKind.MESSAGE, OutboxAction.status.in_(COUNTED)
                )
            ).all()
        )


def test_a_reply_sent_while_the_pass_waits_holds_the_message_it_waited_for(
    harness: Harness,
) -> None:
    harness.run_until_call("linkedin-message-profile")  # ann's: bob's next in the kept plan
    with harness.sessions() as session:
        identity_id = session.scalars(sa.select(Identity.id)).one()
    memo = harness.engine._memos.get(identity_id)
    assert memo is not None
    [following] = memo.plan().go
    assert following.candidate.kind is StepKind.first_message
    assert _messages(harness) == 1
    # woken a little before bob's message: the pass waits for it, and meanwhile the inbox
    # sends the day's other message
    harness.sandbox.advance(to=following.at - memo.built.pacing.max_gap / 2)
    sleep: Callable[[float], None] = harness.engine.sleep
    waited: list[float] = []

    def reply_while_waiting(seconds: float) -> None:
        if not waited:
            with harness.sessions() as session:
                add_inbox_reply(
                    session, identity_id=identity_id, at=harness.clock.now(), key="inbox:1"
                )
                session.commit()
        waited.append(seconds)
        sleep(seconds)

    harness.engine.sleep = reply_while_waiting
    with harness.sessions() as session:  # the worker holds the identity's lease, as woken
        session.execute(
            sa.update(WorkerLease)
            .where(WorkerLease.identity_id == identity_id)
            .values(owner=harness.engine.owner, expires_at=harness.clock.now() + timedelta(hours=1))
        )
        session.commit()
    report = harness.engine.work(identity_id)
    assert waited, "the pass did not wait for bob's message"
    assert report.sent == 0, "bob's message went over the day's limit"
    assert len(harness.calls("linkedin-message-profile")) == 1
    assert _messages(harness) == LIMIT
    # the next plan sees the limit and sends bob's message once a slot frees
    harness.engine.sleep = sleep
    harness.run(hours=30)
    assert harness.state("bob") == EnrollmentState.COMPLETED.value
