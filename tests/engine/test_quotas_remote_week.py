"""Edges' weekly invitation count, applied hours after it was read: own sends are not unknown.

Reproduces an engine bug found by the month simulation (tests/engine/test_month.py):
`identity_quotas` reads the outbox only 7 days back from *now*, while `apply_remote_limits`
counts the sends Edges knows about over the observed window, 7 days back from the
*observation*. Hours after the daily read, the identity's own invitations of that gap look like
sends of another tool, and the weekly quota is held at 0 until a week after the observation
(the next daily read repeats it). In the month simulation this held invitations for most of each
day once the weekly cap bound. Fixed in `linkseq.engine.quotas`: the outbox is read back to the
oldest observation's window start (`reach`).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from linkseq.engine.config import EngineConfig
from linkseq.engine.quotas import identity_quotas
from linkseq.planning.quota import Action, RemoteLimit
from linkseq.store.enums import ActionKind
from tests.store.factories import T0, add_identity, add_sent


def _invitations(session: Session, identity_id: int, at: list[timedelta]) -> None:
    for i, ago in enumerate(at):
        add_sent(
            session, identity_id=identity_id, kind=ActionKind.CONNECT, at=T0 - ago, key=f"c-{i}"
        )
    session.commit()


def test_a_weekly_observation_hours_old_counts_only_the_sends_edges_did_not_see(
    session: Session,
) -> None:
    identity = add_identity(session, "alice")
    identity.first_sync_at = T0 - timedelta(days=60)
    # 10 invitations 7 days and 2 hours ago, 90 three days ago: 100 in Edges' weekly window
    # when it was read 12 hours ago; now the first 10 have left the window
    old = [timedelta(days=7, hours=2, minutes=i) for i in range(10)]
    recent = [timedelta(days=3, minutes=i) for i in range(90)]
    _invitations(session, identity.id, old + recent)
    observed = T0 - timedelta(hours=12)
    remote = {
        Action.connect: [
            RemoteLimit(timedelta(days=1), 25, 25, observed),
            # Edges counted exactly linkseq's own 100 sends: nothing unknown
            RemoteLimit(timedelta(days=7), 100, 0, observed, T0 - timedelta(hours=2)),
        ]
    }
    quotas, _ = identity_quotas(
        session, identity=identity, now=T0, config=EngineConfig(), campaign_caps={}, remote=remote
    )
    # 90 in the last 7 days against the weekly 100: 10 may go now (the bug says 0, for a week)
    assert quotas[Action.connect].remaining == 10
