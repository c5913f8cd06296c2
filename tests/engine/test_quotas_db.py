"""The engine's quota reads from the outbox: each kind read as far back as its window."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from linkseq.engine.config import EngineConfig
from linkseq.engine.outbox import hold
from linkseq.engine.quotas import identity_quotas
from linkseq.planning.quota import Action, RemoteLimit
from linkseq.store.enums import ActionKind, ActionStatus
from tests.store.factories import (
    T0,
    add_campaign,
    add_enrollment,
    add_identity,
    add_lead,
    add_sent,
)


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


def test_one_actions_check_counts_as_the_whole_read_does(session: Session) -> None:
    """A send's own check (`actions=`: its action's rows only) finds what the full read finds
    for that action: sends in and out of every window, rows in flight, failures, a hold, a
    campaign's cap, another identity's sends, Edges' answer that reaches back further."""
    identity = add_identity(session, "alice")
    other = add_identity(session, "bob")
    identity.first_sync_at = T0 - timedelta(days=60)
    lead = add_lead(session)
    campaign = add_campaign(session, identities=(identity,))
    enrollment = add_enrollment(session, campaign=campaign, lead=lead, identity=identity)
    for kind in (ActionKind.VISIT, ActionKind.CONNECT, ActionKind.MESSAGE, ActionKind.INMAIL):
        for days_ago, n in ((0, 7), (1, 3), (5, 4), (20, 2)):
            for i in range(n):
                at = T0 - timedelta(days=days_ago, hours=i)
                add_sent(
                    session,
                    identity_id=identity.id,
                    kind=kind,
                    at=at,
                    key=f"{kind.value}-{days_ago}-{i}",
                    enrollment_id=enrollment.id if i % 2 else None,
                )
                add_sent(
                    session, identity_id=other.id, kind=kind, at=at, key=f"o-{kind}-{days_ago}-{i}"
                )
        in_flight = add_sent(
            session, identity_id=identity.id, kind=kind, at=T0 - timedelta(hours=2), key=f"f-{kind}"
        )
        in_flight.status, in_flight.sent_at = ActionStatus.SENDING, None
        failed = add_sent(
            session, identity_id=identity.id, kind=kind, at=T0 - timedelta(hours=1), key=f"x-{kind}"
        )
        failed.status = ActionStatus.FAILED
    hold(
        session,
        identity_id=identity.id,
        action="visit",
        until=T0 + timedelta(hours=1),
        reason="r",
    )
    session.commit()
    remote = {
        Action.message: [RemoteLimit(timedelta(days=2), 60, 40, T0 - timedelta(hours=3))],
        Action.visit: [RemoteLimit(timedelta(days=1), 80, 70, T0 - timedelta(hours=1))],
    }
    caps = {campaign.id: {Action.message: 5, Action.visit: 9, Action.connect: None}}
    config = EngineConfig(pending_invitations_cap=30)
    common = {"identity": identity, "now": T0, "config": config, "campaign_caps": caps}
    for pending in (None, 12):
        whole, whole_caps = identity_quotas(
            session,
            remote=remote,
            pending_invitations=pending,
            **common,  # type: ignore[arg-type]
        )
        for action in (Action.visit, Action.connect, Action.message, Action.inmail):
            alone, alone_caps = identity_quotas(
                session,
                remote=remote,
                pending_invitations=pending,
                actions=(action,),
                **common,  # type: ignore[arg-type]
            )
            assert alone == {action: whole[action]}
            assert alone_caps == {k: v for k, v in whole_caps.items() if k[1] is action}
    # not vacuous: the message quota is what was counted (7 today, 3 yesterday within the day,
    # one in flight: Edges' answer is lower), the visit's is its hold
    assert 0 < whole[Action.message].remaining < 40
    assert whole[Action.visit].remaining == 0
    # a hold of every action holds every action's check alike
    hold(session, identity_id=identity.id, action="*", until=T0 + timedelta(hours=2), reason="*")
    session.commit()
    whole, _ = identity_quotas(session, remote=remote, **common)  # type: ignore[arg-type]
    alone, _ = identity_quotas(
        session,
        remote=remote,
        actions=(Action.message,),
        **common,  # type: ignore[arg-type]
    )
    assert alone == {Action.message: whole[Action.message]}
    assert whole[Action.message].remaining == 0
