"""Enrollment shares leads among a campaign's identities by free invitation capacity."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from linkseq.leads.assignment import identity_key, identity_slots, invitation_capacity
from linkseq.leads.enroll import enroll_leads
from linkseq.planning.quota import AccountLevel
from linkseq.store.enums import (
    ActionKind,
    ActionStatus,
    EnrollmentState,
    IdentityLevel,
    IdentityStatus,
)
from linkseq.store.models import Campaign, Enrollment, Identity, OutboxAction
from tests.store.factories import T0, add_campaign, add_identity, add_lead

SETTLED = T0 - timedelta(days=30)  # past its ramp-up


def _leads(session: Session, n: int, prefix: str = "p") -> list[int]:
    return [add_lead(session, f"{prefix}-{i}").id for i in range(n)]


def _held(session: Session, campaign: Campaign) -> Counter[int]:
    return Counter(
        session.scalars(
            sa.select(Enrollment.identity_id).where(Enrollment.campaign_id == campaign.id)
        )
    )


def _synced(identity: Identity, at: object) -> Identity:
    identity.first_sync_at = at  # type: ignore[assignment]
    return identity


# --- the capacity arithmetic -------------------------------------------------------------------


def test_capacity_counts_the_ramp_up_and_the_weekly_cap() -> None:
    classic = AccountLevel.classic
    # a settled Classic identity: 25 a day over 5 days is 125, but the weekly cap says 100
    assert invitation_capacity(level=classic, first_sync_at=SETTLED, now=T0) == 100
    # first synced now: 5 + 10 + 15 + 20 + 25
    assert invitation_capacity(level=classic, first_sync_at=T0, now=T0) == 75
    # never synced: its ramp-up starts at its first pass, the same
    assert invitation_capacity(level=classic, first_sync_at=None, now=T0) == 75
    # on day 3 of its ramp-up: 15 + 20 + 25 + 25 + 25 = 110, capped at 100
    third = T0 - timedelta(days=2)
    assert invitation_capacity(level=classic, first_sync_at=third, now=T0) == 100
    # today's sends use today's room; the last two days' use the weekly window
    assert invitation_capacity(level=classic, first_sync_at=T0, now=T0, sent_last_day=3) == 72
    assert (
        invitation_capacity(level=classic, first_sync_at=SETTLED, now=T0, sent_before_horizon=40)
        == 60
    )
    # the campaign's own daily cap
    assert (
        invitation_capacity(level=classic, first_sync_at=SETTLED, now=T0, campaign_daily_cap=10)
        == 50
    )
    sales = AccountLevel.sales_navigator
    assert (
        invitation_capacity(level=sales, first_sync_at=SETTLED, now=T0, weekly_invitation_cap=1000)
        == 150
    )


@settings(max_examples=60, deadline=None)
@given(
    days_since=st.integers(min_value=0, max_value=10),
    sent_day=st.integers(min_value=0, max_value=40),
    sent_before=st.integers(min_value=0, max_value=120),
    cap=st.one_of(st.none(), st.integers(min_value=0, max_value=30)),
)
def test_capacity_is_bounded_and_monotone(
    days_since: int, sent_day: int, sent_before: int, cap: int | None
) -> None:
    def capacity(sent: int) -> int:
        return invitation_capacity(
            level=AccountLevel.classic,
            first_sync_at=T0 - timedelta(days=days_since),
            now=T0,
            sent_last_day=sent,
            sent_before_horizon=sent_before,
            campaign_daily_cap=cap,
        )

    value = capacity(sent_day)
    assert 0 <= value <= 100
    assert value <= 25 * 5
    assert capacity(sent_day + 1) <= value  # more sent, never more room
    if cap is not None:
        assert value <= cap * 5


# --- enrollment ---------------------------------------------------------------------------------


def test_a_ramping_identity_gets_fewer_leads(session: Session) -> None:
    full = _synced(add_identity(session, "full"), SETTLED)
    ramping = _synced(add_identity(session, "ramping"), T0)
    campaign = add_campaign(session, identities=(full, ramping))
    session.commit()

    result = enroll_leads(session, campaign, _leads(session, 70), now=T0)
    session.commit()

    assert result.enrolled == 70
    # free capacity 100 : 75 → 40 : 30
    assert _held(session, campaign) == {full.id: 40, ramping.id: 30}


def test_sales_navigator_and_todays_sends_count(session: Session) -> None:
    navigator = _synced(add_identity(session, "nav", level=IdentityLevel.SALES_NAVIGATOR), SETTLED)
    busy = _synced(add_identity(session, "busy"), SETTLED)
    campaign = add_campaign(session, identities=(navigator, busy))
    for i in range(20):  # busy sent 20 invitations 30 h ago: 80 left in its week
        session.add(
            OutboxAction(
                identity_id=busy.id,
                kind=ActionKind.CONNECT,
                idempotency_key=f"k{i}",
                status=ActionStatus.SENT,
                request={},
                sent_at=T0 - timedelta(hours=30, minutes=i),
                created_at=T0,
                updated_at=T0,
            )
        )
    session.commit()
    slots = {s.key: s.capacity for s in identity_slots(session, campaign, now=T0)}
    assert slots == {identity_key(navigator.id): 100, identity_key(busy.id): 80}

    enroll_leads(session, campaign, _leads(session, 36), now=T0)
    session.commit()
    assert _held(session, campaign) == {navigator.id: 20, busy.id: 16}


def test_the_load_of_uncontacted_leads_counts(session: Session) -> None:
    alice = _synced(add_identity(session, "alice"), SETTLED)
    bob = _synced(add_identity(session, "bob"), SETTLED)
    campaign = add_campaign(session, identities=(alice,))
    session.commit()
    enroll_leads(session, campaign, _leads(session, 30, "a"), now=T0)
    session.commit()
    assert _held(session, campaign) == {alice.id: 30}
    # bob joins; alice's 30 are not contacted yet, so the next 30 go to bob first
    session.execute(
        sa.text("INSERT INTO campaign_identities (campaign_id, identity_id) VALUES (:c, :i)"),
        {"c": campaign.id, "i": bob.id},
    )
    session.commit()
    enroll_leads(session, campaign, _leads(session, 40, "b"), now=T0)
    session.commit()
    assert _held(session, campaign) == {alice.id: 35, bob.id: 35}


def test_contacted_leads_do_not_count_as_load(session: Session) -> None:
    alice = _synced(add_identity(session, "alice"), SETTLED)
    bob = _synced(add_identity(session, "bob"), SETTLED)
    campaign = add_campaign(session, identities=(alice, bob))
    session.commit()
    enroll_leads(session, campaign, _leads(session, 10, "a"), now=T0)
    session.commit()
    # everything alice holds is contacted (invited): she carries no backlog
    session.execute(
        sa.update(Enrollment)
        .where(Enrollment.identity_id == alice.id)
        .values(state=EnrollmentState.INVITED)
    )
    session.commit()
    before = _held(session, campaign)
    enroll_leads(session, campaign, _leads(session, 10, "b"), now=T0)
    session.commit()
    after = _held(session, campaign)
    # bob's 5 still wait, alice's 5 are invited: alice catches up first, then they alternate
    assert before == {alice.id: 5, bob.id: 5}
    assert after == {alice.id: 5 + 8, bob.id: 5 + 2}


def test_a_lead_already_worked_keeps_its_identity(session: Session) -> None:
    alice = _synced(add_identity(session, "alice"), SETTLED)
    bob = _synced(add_identity(session, "bob"), T0)
    first = add_campaign(session, "first", identities=(bob,))
    second = add_campaign(session, "second", identities=(alice, bob))
    session.commit()
    leads = _leads(session, 20)
    enroll_leads(session, first, leads, now=T0)
    session.commit()

    enroll_leads(session, second, leads, now=T0)
    session.commit()
    # alice has the room and no load, but every one of these people already hears from bob
    assert _held(session, second) == {bob.id: 20}


@pytest.mark.parametrize("status", [IdentityStatus.DISCONNECTED, IdentityStatus.PAUSED])
def test_a_paused_identity_takes_no_new_leads(session: Session, status: IdentityStatus) -> None:
    alice = _synced(add_identity(session, "alice"), SETTLED)
    bob = _synced(add_identity(session, "bob", status=status), SETTLED)
    campaign = add_campaign(session, identities=(alice, bob))
    session.commit()
    enroll_leads(session, campaign, _leads(session, 12), now=T0)
    session.commit()
    assert _held(session, campaign) == {alice.id: 12}


def test_with_every_identity_paused_leads_are_shared_and_wait(session: Session) -> None:
    alice = add_identity(session, "alice", status=IdentityStatus.DISCONNECTED)
    bob = add_identity(session, "bob", status=IdentityStatus.DISCONNECTED)
    campaign = add_campaign(session, identities=(alice, bob))
    session.commit()
    enroll_leads(session, campaign, _leads(session, 6), now=T0)
    session.commit()
    assert _held(session, campaign) == {alice.id: 3, bob.id: 3}
