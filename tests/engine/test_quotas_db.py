"""The engine's quota reads from the outbox: each kind read as far back as its window."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from linkseq.engine.config import EngineConfig
from linkseq.engine.quotas import identity_quotas
from linkseq.planning.quota import Action
from linkseq.store.enums import ActionKind
from tests.store.factories import T0, add_identity, add_sent


def _sent(session: Session, identity_id: int, kind: ActionKind, days_ago: int, n: int) -> None:
    for i in range(n):
        at = T0 - timedelta(days=days_ago, minutes=i)
        add_sent(
            session, identity_id=identity_id, kind=kind, at=at, key=f"{kind.value}-{days_ago}-{i}"
        )
    session.commit()


def test_inmails_count_over_31_days_and_invitations_over_7(session: Session) -> None:
    identity = add_identity(session, "alice")
    identity.first_sync_at = T0 - timedelta(days=60)
    _sent(session, identity.id, ActionKind.INMAIL, days_ago=20, n=2)
    _sent(session, identity.id, ActionKind.CONNECT, days_ago=3, n=30)
    _sent(session, identity.id, ActionKind.CONNECT, days_ago=10, n=30)
    quotas, _ = identity_quotas(
        session, identity=identity, now=T0, config=EngineConfig(), campaign_caps={}, remote=None
    )
    # Classic InMail: 5 per ~31 days, 2 used 20 days ago
    assert quotas[Action.inmail].remaining == 3
    # invitations: 30 in the last 7 days against the weekly 100; today's 25 untouched
    assert quotas[Action.connect].remaining == 25
