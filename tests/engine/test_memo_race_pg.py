"""A reply from the inbox commits after a plan was kept, with an id below its mark (PostgreSQL).

A kept plan is reused while no outbox row of its identity has an id above the high-water mark
read when it was built (`PlanMemo.usable`). PostgreSQL does not commit ids in their order: the
inbox's reply can insert its outbox row, stay uncommitted while another transaction commits a
higher id, and commit once the plan is built. The kept plan never sees that row; its next
message would go one over the daily limit the reply used up. (SQLite has one writer at a time:
its ids commit in order.) The kept plan's first message is checked against the limits now.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

import linkseq.engine.runner as runner
from linkseq.engine.config import EngineConfig
from linkseq.engine.memo import high_water
from linkseq.engine.quotas import COUNTED
from linkseq.planning.pacing import StepKind
from linkseq.planning.quota import Action
from linkseq.store.enums import ActionKind, EnrollmentState
from linkseq.store.models import Enrollment, Identity, OutboxAction
from tests.engine.harness import CONNECT_THEN_MESSAGE, Harness, campaign_spec, person
from tests.store.dbfixtures import create_pg_database, drop_pg_database
from tests.store.factories import add_inbox_reply

pytestmark = pytest.mark.postgres

LIMIT = 2  # messages a day


@pytest.fixture
def harness() -> Iterator[Harness]:
    url = create_pg_database()
    h = Harness(
        url.render_as_string(hide_password=False),
        persons=[person("ann"), person("bob")],
        identities=("alice", "bea"),  # bea: another identity, sending from the inbox too
        campaigns=[campaign_spec(steps=CONNECT_THEN_MESSAGE, identities=("alice",))],
        # one message a pass: the plan that sends ann's keeps bob's for the next pass
        config=EngineConfig(messages_per_day=LIMIT, max_batch=1),
    )
    try:
        yield h
    finally:
        h.close()
        drop_pg_database(url)


def _identity_id(h: Harness, name: str) -> int:
    with h.sessions() as session:
        return session.scalars(sa.select(Identity.id).where(Identity.name == name)).one()


def _inbox_reply(session: Session, identity_id: int, token: str, at: datetime) -> OutboxAction:
    """An outbox row as the inbox's reply writes it (sent: no reconciliation in the passes)."""
    row = add_inbox_reply(
        session, identity_id=identity_id, at=at, key=f"inbox:{identity_id}:{token}"
    )
    session.flush()  # the id is taken now, the row visible to others only at commit
    return row


def _most_in_a_day(h: Harness, identity_id: int) -> int:
    """The most messages of the identity counted in any 24 hours, from the outbox."""
    stamps = sorted(
        (r.sent_at or r.created_at).replace(tzinfo=UTC)
        for r in h.outbox()
        if r.identity_id == identity_id and r.kind is ActionKind.MESSAGE and r.status in COUNTED
    )
    return max(
        (sum(1 for s in stamps if t - timedelta(days=1) < s <= t) for t in stamps), default=0
    )


def test_a_reply_committed_below_a_kept_plans_mark_holds_its_next_message(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two messages a day: alice's reply takes one while uncommitted, the plan built then sees
    two slots and sends ann's message; the reply commits; bob's message, next in the kept
    plan, would be the third of the day: it waits for the next plan and a free slot."""
    alice, bea = _identity_id(harness, "alice"), _identity_id(harness, "bea")
    late = harness.sessions()  # the inbox's reply for alice, committed late
    replies: list[OutboxAction] = []
    marks: list[tuple[int, int]] = []

    def reply_meanwhile(session: Session) -> tuple[int, int]:
        """Just before the plan that sends the first messages reads its mark: alice's reply
        takes id N and stays uncommitted; bea's reply takes N+1 and commits."""
        if not marks:
            due = session.scalar(
                sa.select(sa.func.count())
                .select_from(Enrollment)
                .where(
                    Enrollment.identity_id == alice,
                    Enrollment.state == EnrollmentState.CONNECTED,
                    Enrollment.next_action_at <= harness.clock.now(),
                )
            )
            if due == 2:
                now = harness.clock.now()
                replies.append(_inbox_reply(late, alice, "late", now))
                with harness.sessions() as other:
                    _inbox_reply(other, bea, "other", now)
                    other.commit()
                marks.append(high_water(session))
                return marks[0]
        return high_water(session)

    monkeypatch.setattr(runner, "high_water", reply_meanwhile)
    try:
        harness.run_until_call("linkedin-message-profile", passes=60)
        memo = harness.engine._memos.get(alice)
        # the plan sent ann's message and kept bob's, built over the reply it could not see
        assert memo is not None
        assert memo.consumed == 1
        [following] = memo.plan().go
        assert following.candidate.kind is StepKind.first_message
        # it saw both slots free; the reply had taken one, and ann's message the other
        assert memo.built.quotas[Action.message].remaining == LIMIT
        [reply], [mark] = replies, marks
        assert memo.high_water == mark
        assert memo.high_water[0] > reply.id, "the plan's mark is not above the reply's id"
    finally:
        late.commit()  # the reply commits: id N, below the kept plan's mark
        late.close()
    assert _most_in_a_day(harness, alice) == LIMIT
    harness.to_wake()
    report = harness.run_once()
    assert len(harness.calls("linkedin-message-profile")) == 1, "bob's message went over the limit"
    assert report.sent == 0
    assert _most_in_a_day(harness, alice) == LIMIT
    assert harness.engine._memos.get(alice) is not memo  # dropped: the next pass plans anew
    wake = harness.engine.next_wake()
    assert wake is not None
    assert wake <= harness.clock.now() + timedelta(seconds=1)
    # the next plan holds bob's message until a slot frees, and sends it then
    harness.run(hours=30)
    assert harness.state("bob") == EnrollmentState.COMPLETED.value
    assert _most_in_a_day(harness, alice) == LIMIT
