"""The tables behave as the engine relies on, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from linkseq.store import session_factory
from linkseq.store.enums import ActionKind, EnrollmentState
from linkseq.store.models import DoNotContact, Enrollment, OutboxAction, WebhookInbox
from tests.store.factories import T0, add_campaign, add_identity, add_lead


def _enroll(session: Session, **overrides: object) -> Enrollment:
    identity = add_identity(session)
    lead = add_lead(session)
    campaign = add_campaign(session, identities=(identity,))
    values: dict[str, object] = {
        "campaign_id": campaign.id,
        "lead_id": lead.id,
        "identity_id": identity.id,
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(overrides)
    enrollment = Enrollment(**values)
    session.add(enrollment)
    session.flush()
    return enrollment


def test_times_come_back_aware_utc(session: Session) -> None:
    paris = datetime(2026, 1, 5, 10, 0, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))
    enrollment = _enroll(session, next_action_at=paris)
    session.commit()
    session.expire_all()
    loaded = session.get(Enrollment, enrollment.id)
    assert loaded is not None
    assert loaded.next_action_at == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert loaded.next_action_at.tzinfo is UTC
    assert loaded.state is EnrollmentState.NEW
    assert loaded.version == 1


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    at=st.datetimes(
        min_value=datetime(1971, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.sampled_from([UTC, ZoneInfo("Europe/Paris"), ZoneInfo("Asia/Kolkata")]),
        allow_imaginary=False,
    )
)
def test_any_aware_time_round_trips_to_the_same_utc_instant(session: Session, at: datetime) -> None:
    """Every instant comes back equal and in UTC (SQLite's text is parsed straight to UTC)."""
    # (one enrollment for every example: the session outlives them)
    enrollment = session.scalars(sa.select(Enrollment)).first() or _enroll(session)
    enrollment.next_action_at = at
    session.commit()
    row = session.execute(
        sa.select(Enrollment.next_action_at).where(Enrollment.id == enrollment.id)
    ).scalar_one()
    assert row == at.astimezone(UTC)
    assert row.tzinfo is UTC
    assert row.utcoffset() == timedelta(0)


def test_times_written_by_hand_in_sqlite_text_forms_read_back_as_utc(session: Session) -> None:
    """A time written by SQL itself (no microseconds, an ISO `T`) reads back the same."""
    enrollment = _enroll(session)
    session.commit()
    forms = {
        "2026-01-05 10:00:00": datetime(2026, 1, 5, 10, 0, tzinfo=UTC),
        "2026-01-05T10:00:00.250000": datetime(2026, 1, 5, 10, 0, 0, 250000, tzinfo=UTC),
    }
    if session.get_bind().dialect.name != "sqlite":
        forms = {"2026-01-05 10:00:00+00": datetime(2026, 1, 5, 10, 0, tzinfo=UTC)}
    for text, expected in forms.items():
        session.execute(
            sa.text("UPDATE enrollments SET next_action_at = :t WHERE id = :id"),
            {"t": text, "id": enrollment.id},
        )
        got = session.execute(
            sa.select(Enrollment.next_action_at).where(Enrollment.id == enrollment.id)
        ).scalar_one()
        assert got == expected, text
        assert got.tzinfo is UTC, text


@settings(max_examples=60, deadline=None)
@given(
    at=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)),
    filler=st.integers(min_value=0, max_value=3),
)
def test_sqlite_texts_parsed_once_read_back_the_same_instant(at: datetime, filler: int) -> None:
    """The parse cache gives the instant the text says, whether it hits, misses or was just
    emptied for being full; it never grows past its bound."""
    from linkseq.store import base

    text = at.isoformat(sep=" ")
    expected = at.replace(tzinfo=UTC)
    saved = base._PARSED_MAX
    try:
        base._PARSED_MAX = 4
        for i in range(filler):  # other texts fill the cache first
            base._sqlite_utc(f"2026-01-0{i + 1} 00:00:00")
        first = base._sqlite_utc(text)
        again = base._sqlite_utc(text)
        assert first == again == expected
        assert first is not None
        assert first.tzinfo is UTC
        assert len(base._PARSED) <= 4
    finally:
        base._PARSED_MAX = saved
        base._PARSED.clear()


def test_naive_datetimes_are_refused(session: Session) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        _enroll(session, next_action_at=datetime(2026, 1, 5, 10, 0))


def test_one_enrollment_per_campaign_and_lead(session: Session) -> None:
    first = _enroll(session)
    session.add(
        Enrollment(
            campaign_id=first.campaign_id,
            lead_id=first.lead_id,
            identity_id=first.identity_id,
            created_at=T0,
            updated_at=T0,
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()


def test_idempotency_key_is_unique(session: Session) -> None:
    enrollment = _enroll(session)
    for _ in range(2):
        session.add(
            OutboxAction(
                enrollment_id=enrollment.id,
                identity_id=enrollment.identity_id,
                step_id="connect",
                kind=ActionKind.CONNECT,
                idempotency_key=f"{enrollment.id}:connect",
                created_at=T0,
                updated_at=T0,
            )
        )
    with pytest.raises(IntegrityError):
        session.flush()


def test_webhook_dedupe_key_is_unique(session: Session) -> None:
    for _ in range(2):
        session.add(WebhookInbox(source="callback", dedupe_key="cb_1", payload={}, received_at=T0))
    with pytest.raises(IntegrityError):
        session.flush()


def test_dnc_entry_needs_a_key(session: Session) -> None:
    session.add(DoNotContact(reason="asked", created_at=T0))
    with pytest.raises(IntegrityError):
        session.flush()


def test_foreign_keys_are_enforced(session: Session) -> None:
    session.add(
        Enrollment(campaign_id=999, lead_id=999, identity_id=999, created_at=T0, updated_at=T0)
    )
    with pytest.raises(IntegrityError):
        session.flush()


def test_concurrent_update_of_an_enrollment_is_detected(engine: Engine) -> None:
    make = session_factory(engine)
    with make() as setup:
        enrollment_id = _enroll(setup).id
        setup.commit()
    with make() as slow, make() as fast:
        stale = slow.get(Enrollment, enrollment_id)
        slow.commit()  # ends the read; the object keeps version 1 (no expiry on commit)
        fresh = fast.get(Enrollment, enrollment_id)
        assert stale is not None
        assert fresh is not None
        fresh.state = EnrollmentState.READY
        fast.commit()
        assert fresh.version == 2
        stale.state = EnrollmentState.FAILED
        with pytest.raises(StaleDataError):
            slow.flush()


def test_due_query_uses_the_due_index(session: Session) -> None:
    enrollment = _enroll(session, next_action_at=T0)
    session.commit()
    query = sa.select(Enrollment.id).where(
        Enrollment.identity_id == enrollment.identity_id,
        Enrollment.state == EnrollmentState.READY,
        Enrollment.next_action_at <= T0 + timedelta(hours=1),
    )
    bind = session.get_bind()
    compiled = query.compile(bind, compile_kwargs={"literal_binds": True})
    if bind.dialect.name == "sqlite":
        plan = session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")).all()
        text = " ".join(str(row[-1]) for row in plan)
    else:
        session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = session.execute(sa.text(f"EXPLAIN {compiled}")).all()
        text = " ".join(str(row[0]) for row in plan)
    assert "ix_enrollments_due" in text
