"""A lead that gains data has its held steps made due again (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from linkseq.leads.records import LeadRecord
from linkseq.leads.writer import HELD_PREFIX, write_leads
from linkseq.store.enums import EnrollmentState
from linkseq.store.models import AuditEvent
from tests.store.factories import T0, add_campaign, add_enrollment, add_identity, add_lead

LATER = T0 + timedelta(days=2)
HELD = f"{HELD_PREFIX}missing variable 'company_name'"


def _record(handle: str, **fields: str) -> LeadRecord:
    return LeadRecord(line=2, profile_url=f"https://www.linkedin.com/in/{handle}", **fields)


@pytest.mark.parametrize("bulk", [None, False])  # None: SQLite's bulk path, PostgreSQL's Core
def test_only_held_steps_of_enriched_leads_are_due_again(
    session: Session, bulk: bool | None
) -> None:
    identity = add_identity(session)
    campaign = add_campaign(session, identities=(identity,))
    cases = {
        # handle: (state, next action, reason); the file gives each a company
        "held": (EnrollmentState.READY, None, HELD),
        "held-connected": (EnrollmentState.CONNECTED, None, HELD),
        "due": (EnrollmentState.READY, T0, "visited (visit)"),
        "replied": (EnrollmentState.REPLIED, None, HELD),  # no step to retry once replied
        "done": (EnrollmentState.COMPLETED, None, "sequence done"),
        "known": (EnrollmentState.READY, None, HELD),  # its company was known: not enriched
    }
    enrollments = {}
    for handle, (state, due, reason) in cases.items():
        lead = add_lead(session, handle, company_name="Acme" if handle == "known" else None)
        enrollments[handle] = add_enrollment(
            session,
            campaign=campaign,
            lead=lead,
            identity=identity,
            state=state,
            next_action_at=due,
            reason=reason,
        )
    session.commit()
    versions = {h: e.version for h, e in enrollments.items()}

    result = write_leads(
        session, [_record(h, company_name="Initech") for h in cases], now=LATER, bulk=bulk
    )
    session.commit()

    assert (result.updated, result.unchanged, result.retried) == (5, 1, 2)
    session.expire_all()
    due = {h: e.next_action_at for h, e in enrollments.items()}
    assert due["held"] == due["held-connected"] == LATER.replace(tzinfo=due["held"].tzinfo)
    assert due["due"] is not None
    assert due["due"] < LATER.replace(tzinfo=due["due"].tzinfo)
    assert due["replied"] is None
    assert due["done"] is None
    assert due["known"] is None
    bumped = {h for h, e in enrollments.items() if e.version != versions[h]}
    assert bumped == {"held", "held-connected"}
    assert enrollments["held"].state is EnrollmentState.READY  # not a state change
    audited = session.execute(
        sa.select(AuditEvent.enrollment_id, AuditEvent.from_state, AuditEvent.to_state).where(
            AuditEvent.reason.contains("tried again")
        )
    ).all()
    assert sorted(audited) == sorted(
        [
            (enrollments["held"].id, "ready", "ready"),
            (enrollments["held-connected"].id, "connected", "connected"),
        ]
    )


def test_an_engine_holding_a_stale_copy_cannot_write_over_the_retry(session: Session) -> None:
    identity = add_identity(session)
    campaign = add_campaign(session, identities=(identity,))
    lead = add_lead(session, "held")
    enrollment = add_enrollment(
        session, campaign=campaign, lead=lead, identity=identity, reason=HELD
    )
    session.commit()
    with Session(session.get_bind()) as importer:
        write_leads(importer, [_record("held", company_name="Initech")], now=LATER)
        importer.commit()
    enrollment.reason = f"{HELD_PREFIX}an engine's decision made from the old row"
    with pytest.raises(StaleDataError):
        session.commit()
    session.rollback()
    assert enrollment.next_action_at is not None  # the retry stands
