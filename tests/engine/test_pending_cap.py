"""Pending invitations stay under the cap: the room left is a limit like any other."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from linkseq.engine.config import EngineConfig
from linkseq.engine.quotas import Sends, quotas_of
from linkseq.engine.sync import mark_synced, pending_invitations
from linkseq.planning.quota import Action
from linkseq.store.enums import ActionKind, EnrollmentState, SyncKind
from linkseq.store.models import Connection, SentInvitation
from tests.engine.harness import Harness, campaign_spec, person
from tests.store.factories import (
    T0,
    add_campaign,
    add_enrollment,
    add_identity,
    add_lead,
    add_sent,
)

SETTLED = T0 - timedelta(days=60)  # past its ramp-up


def _connect(session: Session, *, cap: int, pending: int | None, sent: list[timedelta]):  # type: ignore[no-untyped-def]
    identity = add_identity(session)
    identity.first_sync_at = SETTLED
    sends = Sends(per_action={Action.connect: [T0 - ago for ago in sent]})
    quotas, _ = quotas_of(
        identity,
        sends,
        {},
        now=T0,
        config=EngineConfig(pending_invitations_cap=cap),
        campaign_caps={},
        pending_invitations=pending,
    )
    return quotas[Action.connect]


def test_the_room_under_the_cap_bounds_the_invitations_of_a_plan(session: Session) -> None:
    status = _connect(session, cap=500, pending=497, sent=[])
    assert (status.remaining, status.binding, status.frees) == (3, "pending_invitations_cap", ())
    assert status.fits(3, T0) is None  # no fourth: nothing frees room but an answer


def test_at_the_cap_nothing_goes_and_no_slot_is_promised(session: Session) -> None:
    status = _connect(session, cap=500, pending=500, sent=[timedelta(hours=3)] * 25)
    assert (status.remaining, status.next_slot_at, status.binding) == (
        0,
        None,
        "pending_invitations_cap",
    )


def test_far_from_the_cap_the_daily_limit_binds(session: Session) -> None:
    status = _connect(session, cap=500, pending=10, sent=[timedelta(hours=3)] * 20)
    assert status.remaining == 5
    assert status.binding != "pending_invitations_cap"
    assert len(status.frees) > 0  # the day's used slots free in the rolling window


@settings(max_examples=60, deadline=None)
@given(
    pending=st.integers(min_value=0, max_value=40),
    used=st.integers(min_value=0, max_value=25),
)
def test_a_plan_never_takes_more_than_the_room(pending: int, used: int) -> None:
    """However many slots the daily window frees, the sends the status allows from now on (now
    and at freed slots) never exceed the room under the cap."""
    from linkseq.store import build_engine, session_factory, upgrade

    db = build_engine("sqlite://")
    upgrade(db)
    with session_factory(db)() as session:
        status = _connect(
            session,
            cap=30,
            pending=pending,
            sent=[timedelta(hours=23, minutes=-i) for i in range(used)],
        )
    allowed = sum(1 for k in range(60) if status.fits(k, T0) is not None)
    assert allowed <= max(0, 30 - pending)
    db.dispose()


def test_the_runner_keeps_pending_invitations_under_the_cap(tmp_path: Path) -> None:
    """A campaign of invitations few answer: the identity never has more than the cap pending,
    and invites again once the connections sync sees acceptances (not only after the next
    sync of its sent invitations, which nothing new asks for here)."""
    cap = 4
    silent = [person(f"silent{i}", accept_probability=0.0) for i in range(8)]
    # a few accept the next day
    slow = [person(f"slow{i}", accept_delay_hours=20) for i in range(cap)]
    spec = campaign_spec(
        steps=[
            {"id": "invite", "type": "connect", "note": "Hi {{ first_name }}!"},
            {"id": "accepted", "type": "wait_for_acceptance", "timeout_days": 21},
        ]
    )
    h = Harness(
        f"sqlite:///{tmp_path / 'pending.db'}",
        persons=slow + silent,
        campaigns=[spec],
        config=EngineConfig(pending_invitations_cap=cap),
    )
    try:
        identity = h.sandbox.identity(h.uids["alice"])
        most = 0
        end = h.clock.now() + timedelta(days=3, hours=12)
        while h.clock.now() < end:
            h.run(hours=0.25)
            most = max(most, len(identity.invitations))
        invited = h.calls("linkedin-connect-profile")
        accepted = {c.handle for c in invited} - {p["handle"] for p in silent}
        assert accepted  # some invitations were accepted...
        assert most == cap  # ...the cap was reached, never passed
        # and the acceptances freed room: as many more invitations went out
        assert len(invited) == cap + len(accepted)
    finally:
        h.close()


def test_the_settings_give_the_engine_its_limits() -> None:
    from linkseq.settings import Settings

    settings = Settings(
        messages_per_day=120,
        weekly_invitation_cap=80,
        pending_invitations_cap=300,
        _env_file=None,  # type: ignore[call-arg]
    )
    config = EngineConfig.from_settings(settings, idle_wake=timedelta(minutes=5))
    assert (
        config.messages_per_day,
        config.weekly_invitation_cap,
        config.pending_invitations_cap,
        config.idle_wake,
    ) == (120, 80, 300, timedelta(minutes=5))
    assert EngineConfig.from_settings(Settings(_env_file=None)) == EngineConfig()  # type: ignore[call-arg]


def test_an_invitation_is_pending_until_a_connection_is_seen_after_it(session: Session) -> None:
    """A connection row seen after the invitation answers it; one seen before (a former
    connection invited again) does not, for the invitations sent since the last sync and for
    those of the sync's own list alike."""
    identity = add_identity(session)
    campaign = add_campaign(session, identities=(identity,))
    synced = T0 - timedelta(hours=1)
    mark_synced(session, identity.id, SyncKind.SENT_INVITATIONS, synced)

    def invited(handle: str) -> None:
        lead = add_lead(session, handle, linkedin_profile_id=f"id-{handle}")
        enrollment = add_enrollment(
            session, campaign=campaign, lead=lead, identity=identity, state=EnrollmentState.INVITED
        )
        add_sent(
            session,
            identity_id=identity.id,
            kind=ActionKind.CONNECT,
            at=T0,
            key=f"k-{handle}",
            enrollment_id=enrollment.id,
        )

    def cached(handle: str) -> None:  # in the sync's list: sent before it, by hand or by us
        session.add(
            SentInvitation(
                identity_id=identity.id,
                invitation_urn=f"urn:{handle}",
                linkedin_profile_id=f"id-{handle}",
                profile_url=f"https://www.linkedin.com/in/{handle}",
                seen_at=synced,
            )
        )

    def connection(handle: str, seen: timedelta) -> None:
        session.add(
            Connection(
                identity_id=identity.id,
                linkedin_profile_id=f"id-{handle}",
                profile_url=f"https://www.linkedin.com/in/{handle}",
                seen_at=T0 + seen,
            )
        )

    invited("former")  # a connection once, removed, invited again: pending
    connection("former", -timedelta(days=10))
    invited("accepted")  # accepted: the sync saw the connection an hour after
    connection("accepted", timedelta(hours=1))
    invited("waiting")  # no answer
    cached("by-hand")  # accepted after the sync saw it pending
    connection("by-hand", timedelta(hours=1))
    cached("old-friend")  # a former connection of the identity, invited again by hand
    connection("old-friend", -timedelta(days=5))
    session.commit()
    assert pending_invitations(session, identity.id) == 3  # former, waiting, old-friend


def test_the_sent_invitations_are_synced_daily(tmp_path: Path) -> None:
    """Live syncs read the pending invitations once a day, not only while leads wait for
    admission: the count of invitations sent since the last read stays a day's."""
    h = Harness(
        f"sqlite:///{tmp_path / 'daily.db'}",
        persons=[person(f"p{i}", accept_probability=0.0) for i in range(4)],
        campaigns=[
            campaign_spec(
                steps=[
                    {"id": "invite", "type": "connect", "note": "Hi {{ first_name }}!"},
                    {"id": "accepted", "type": "wait_for_acceptance", "timeout_days": 21},
                ]
            )
        ],
    )
    try:
        h.run(hours=4 * 24)
        reads = h.calls("linkedin-extract-sent-invitations")
        assert 4 <= len(reads) <= 5  # one a day (the first with the admission)
    finally:
        h.close()
