"""Several identities per campaign: rebalancing moves only leads not yet contacted."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.demo.simulation import Simulation
from linkseq.engine.rebalance import rebalance_campaign
from linkseq.engine.recovery import pause_identity, resume_identity
from linkseq.store.enums import (
    ActionKind,
    ActionStatus,
    EnrollmentState,
    IdentityLevel,
    IdentityStatus,
)
from linkseq.store.models import (
    AuditEvent,
    Campaign,
    CampaignIdentity,
    Enrollment,
    Identity,
    OutboxAction,
    WorkerLease,
)
from tests.store.factories import T0, add_campaign, add_identity, add_lead

SETTLED = T0 - timedelta(days=30)


def _enroll(
    session: Session,
    campaign: Campaign,
    identity: Identity,
    state: str,
    *,
    action: ActionStatus | None = None,
    reason: str | None = None,
) -> Enrollment:
    lead = add_lead(session, f"lead-{session.scalar(sa.select(sa.func.count(Enrollment.id)))}")
    enrollment = Enrollment(
        campaign_id=campaign.id,
        lead_id=lead.id,
        identity_id=identity.id,
        state=EnrollmentState(state),
        next_action_at=T0,
        reason=reason,
        created_at=T0,
        updated_at=T0,
    )
    session.add(enrollment)
    session.flush()
    if action is not None:  # an outreach action of this enrollment, in that status
        session.add(
            OutboxAction(
                enrollment_id=enrollment.id,
                identity_id=identity.id,
                step_id="visit",
                kind=ActionKind.VISIT,
                idempotency_key=f"e{enrollment.id}:visit:visit",
                status=action,
                request={},
                sent_at=T0 - timedelta(hours=2) if action is ActionStatus.SENT else None,
                created_at=T0 - timedelta(hours=2),
                updated_at=T0,
            )
        )
        session.flush()
    return enrollment


def _settled(session: Session, *names: str) -> list[Identity]:
    out = []
    for name in names:
        identity = add_identity(session, name)
        identity.first_sync_at = SETTLED
        out.append(identity)
    session.flush()
    return out


def _join(session: Session, campaign: Campaign, identity: Identity) -> None:
    session.add(CampaignIdentity(campaign_id=campaign.id, identity_id=identity.id))
    session.flush()


def test_a_new_identity_takes_only_uncontacted_leads(session: Session) -> None:
    alice, bob = _settled(session, "alice", "bob")
    campaign = add_campaign(session, identities=(alice,))
    uncontacted = [_enroll(session, campaign, alice, "new") for _ in range(6)]
    uncontacted += [_enroll(session, campaign, alice, "ready") for _ in range(4)]
    # a refused action did not reach LinkedIn: still not contacted
    uncontacted.append(_enroll(session, campaign, alice, "ready", action=ActionStatus.FAILED))
    contacted = [
        _enroll(session, campaign, alice, "ready", action=ActionStatus.SENT),  # visited
        _enroll(session, campaign, alice, "ready", action=ActionStatus.UNCERTAIN),  # maybe
        _enroll(session, campaign, alice, "new", reason="cooldown: conversation in 3 days"),
        _enroll(session, campaign, alice, "invited"),
        _enroll(session, campaign, alice, "connected"),
        _enroll(session, campaign, alice, "messaged"),
        _enroll(session, campaign, alice, "completed"),
    ]
    session.add(WorkerLease(identity_id=bob.id, owner=None, expires_at=T0 + timedelta(hours=3)))
    _join(session, campaign, bob)
    session.commit()
    states = {e.id: e.state for e in contacted}

    moves = rebalance_campaign(session, campaign_id=campaign.id, now=T0)
    session.commit()

    # 11 not contacted, equal capacity: bob takes 5 (the newest), alice keeps 6
    assert len(moves) == 5
    moved = {m.enrollment_id for m in moves}
    assert moved <= {e.id for e in uncontacted}
    assert moved == {e.id for e in uncontacted[-5:]}
    assert all((m.from_identity, m.to_identity) == ("alice", "bob") for m in moves)
    for enrollment in contacted:
        session.refresh(enrollment)
        assert enrollment.identity_id == alice.id
        assert enrollment.state is states[enrollment.id]
    for enrollment in uncontacted[-5:]:
        session.refresh(enrollment)
        assert (enrollment.identity_id, enrollment.state) == (bob.id, EnrollmentState.NEW)
        assert enrollment.next_action_at is not None
    audit = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.reason == "rebalanced from alice to bob")
    ).all()
    assert len(audit) == len(moved)
    assert {a.enrollment_id for a in audit} == moved
    assert {(a.from_state, a.to_state) for a in audit} <= {("new", "new"), ("ready", "new")}
    # bob, asleep until T0 + 3 h, is woken for his new leads
    lease = session.get(WorkerLease, bob.id)
    assert lease is not None
    assert lease.expires_at is not None
    assert lease.expires_at.replace(tzinfo=None) == T0.replace(tzinfo=None)
    # balanced now: a second call moves nothing
    assert rebalance_campaign(session, campaign_id=campaign.id, now=T0) == []


def test_a_ramping_identity_takes_a_smaller_share(session: Session) -> None:
    (alice,) = _settled(session, "alice")
    newbie = add_identity(session, "newbie", level=IdentityLevel.CLASSIC)
    newbie.first_sync_at = T0  # day 1 of its ramp-up: 75 over the next 5 days, alice 100
    campaign = add_campaign(session, identities=(alice,))
    for _ in range(35):
        _enroll(session, campaign, alice, "new")
    _join(session, campaign, newbie)
    session.commit()

    moves = rebalance_campaign(session, campaign_id=campaign.id, now=T0)
    session.commit()
    assert len(moves) == 15  # 35 shared 100 : 75 → 20 : 15


def test_a_paused_identitys_uncontacted_leads_move_and_contacted_ones_wait(
    session: Session,
) -> None:
    alice, bob, carol = _settled(session, "alice", "bob", "carol")
    campaign = add_campaign(session, identities=(alice, bob, carol))
    carol.status = IdentityStatus.DISCONNECTED  # down already: takes nothing
    uncontacted = [_enroll(session, campaign, alice, s) for s in ["new"] * 3 + ["ready"] * 3]
    contacted = [
        _enroll(session, campaign, alice, "ready", action=ActionStatus.SENT),
        _enroll(session, campaign, alice, "invited"),
        _enroll(session, campaign, alice, "messaged"),
    ]
    bobs = [_enroll(session, campaign, bob, "new") for _ in range(2)]
    session.commit()

    paused = pause_identity(session, identity_id=alice.id, reason="AUTH_EXPIRED", now=T0)
    session.commit()

    assert paused == 9
    for enrollment in uncontacted:
        session.refresh(enrollment)
        assert (enrollment.identity_id, enrollment.state) == (bob.id, EnrollmentState.NEW)
        trail = session.scalars(
            sa.select(AuditEvent.reason)
            .where(AuditEvent.enrollment_id == enrollment.id)
            .order_by(AuditEvent.id)
        ).all()
        assert trail == ["paused: AUTH_EXPIRED", "rebalanced from alice to bob"]
    for enrollment in contacted:
        session.refresh(enrollment)
        assert (enrollment.identity_id, enrollment.state) == (alice.id, EnrollmentState.PAUSED)
    for enrollment in bobs:
        session.refresh(enrollment)
        assert enrollment.identity_id == bob.id

    # alice is back: her contacted leads resume where they were, and she takes back a share of
    # the leads not yet contacted (8 of them now, 4 each)
    resume_identity(session, identity_id=alice.id, now=T0 + timedelta(hours=1))
    session.commit()
    for enrollment, state in zip(contacted, ["ready", "invited", "messaged"], strict=True):
        session.refresh(enrollment)
        assert (enrollment.identity_id, enrollment.state.value) == (alice.id, state)
    held = Counter(
        session.scalars(
            sa.select(Enrollment.identity_id).where(
                Enrollment.campaign_id == campaign.id, Enrollment.state == EnrollmentState.NEW
            )
        )
    )
    assert held == {alice.id: 4, bob.id: 4}


def test_with_nobody_to_take_them_paused_leads_wait(session: Session) -> None:
    alice, bob = _settled(session, "alice", "bob")
    bob.status = IdentityStatus.DISCONNECTED
    campaign = add_campaign(session, identities=(alice, bob))
    leads = [_enroll(session, campaign, alice, "new") for _ in range(3)]
    session.commit()
    pause_identity(session, identity_id=alice.id, reason="AUTH_EXPIRED", now=T0)
    session.commit()
    assert all(e.state is EnrollmentState.PAUSED and e.identity_id == alice.id for e in leads)
    assert rebalance_campaign(session, campaign_id=campaign.id, now=T0) == []


# --- a simulated campaign: an identity joins on day 2 ------------------------------------------

CAMPAIGN: dict[str, Any] = {
    "name": "grow",
    "identities": ["x"],
    "schedule": {
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start": "08:00",
        "end": "19:00",
    },
    "steps": [
        {"id": "invite", "type": "connect", "note": "Hi {{ first_name | default('there') }}"},
        {"id": "accepted", "type": "wait_for_acceptance", "timeout_days": 21},
        {"id": "thanks", "type": "message", "delay": "1d", "text": "Thanks!"},
    ],
}


def test_an_identity_added_mid_campaign_shares_the_work_within_every_limit(
    tmp_path: Path,
) -> None:
    sim = Simulation(
        database_url=f"sqlite:///{tmp_path / 'grow.db'}",
        people=80,
        identities=1,
        campaign=CAMPAIGN,
    )
    try:
        sim.run(days=1)
        uid = sim.sandbox.add_identity(name="identity-2", timezone="Europe/Paris")
        now = sim.clock.now()
        with sim.sessions() as session:
            first = session.scalars(sa.select(Identity)).one()
            second = Identity(
                uid=uid,
                name="identity-2",
                timezone="Europe/Paris",
                level=IdentityLevel.CLASSIC,
                created_at=now,
                updated_at=now,
            )
            session.add(second)
            session.flush()
            campaign = session.scalars(sa.select(Campaign)).one()
            contacted_before = set(
                session.scalars(
                    sa.select(OutboxAction.enrollment_id).where(
                        OutboxAction.status != ActionStatus.FAILED
                    )
                )
            )
            session.add(CampaignIdentity(campaign_id=campaign.id, identity_id=second.id))
            moves = rebalance_campaign(session, campaign_id=campaign.id, now=now)
            session.commit()
            first_id, second_id = first.id, second.id
        assert moves
        assert all(m.to_identity == "identity-2" for m in moves)
        assert not {m.enrollment_id for m in moves} & contacted_before

        sim.run(days=2)

        report = sim.sandbox.report()
        assert report["breaches"] == dict.fromkeys(report["breaches"], 0)
        with sim.sessions() as session:
            # every lead was worked by one identity only (one lead, one voice)
            voices = session.execute(
                sa.select(
                    OutboxAction.enrollment_id, sa.func.count(sa.distinct(OutboxAction.identity_id))
                )
                .where(OutboxAction.status != ActionStatus.FAILED)
                .group_by(OutboxAction.enrollment_id)
            ).all()
            assert voices
            assert all(n == 1 for _, n in voices)
            by_identity = Counter(
                session.scalars(
                    sa.select(OutboxAction.identity_id).where(
                        OutboxAction.kind == ActionKind.CONNECT,
                        OutboxAction.status == ActionStatus.SENT,
                    )
                )
            )
        assert by_identity[first_id] > 0
        assert by_identity[second_id] > 0
        # and the leads moved were worked by the new identity
        with sim.sessions() as session:
            moved_actions = session.scalars(
                sa.select(OutboxAction.identity_id).where(
                    OutboxAction.enrollment_id.in_([m.enrollment_id for m in moves]),
                    OutboxAction.status != ActionStatus.FAILED,
                )
            ).all()
        assert moved_actions
        assert set(moved_actions) == {second_id}
    finally:
        sim.close()
