"""Small helpers that put rows in a test database."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from linkseq.store import enums
from linkseq.store.enums import EnrollmentState, IdentityLevel, IdentityStatus
from linkseq.store.models import Campaign, CampaignIdentity, Enrollment, Identity, Lead
from linkseq.store.models.outbox import OutboxAction

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def add_identity(
    session: Session,
    uid: str = "id-1",
    *,
    name: str | None = None,
    level: IdentityLevel = IdentityLevel.CLASSIC,
    status: IdentityStatus = IdentityStatus.ACTIVE,
) -> Identity:
    """Insert an identity and flush."""
    identity = Identity(
        uid=uid, name=name or uid, level=level, status=status, created_at=T0, updated_at=T0
    )
    session.add(identity)
    session.flush()
    return identity


def add_lead(session: Session, handle: str = "jane-doe", **fields: object) -> Lead:
    """Insert a lead with a canonical URL built from `handle` and flush."""
    lead = Lead(
        profile_url=f"https://www.linkedin.com/in/{handle}",
        created_at=T0,
        updated_at=T0,
        custom_fields={},
        **fields,
    )
    session.add(lead)
    session.flush()
    return lead


def add_campaign(
    session: Session, name: str = "c1", identities: tuple[Identity, ...] = ()
) -> Campaign:
    """Insert a draft campaign with an empty spec and flush."""
    campaign = Campaign(name=name, spec_yaml="", spec={}, created_at=T0, updated_at=T0)
    session.add(campaign)
    session.flush()
    for identity in identities:
        session.add(CampaignIdentity(campaign_id=campaign.id, identity_id=identity.id))
    session.flush()
    return campaign


def add_enrollment(
    session: Session,
    *,
    campaign: Campaign,
    lead: Lead,
    identity: Identity,
    state: EnrollmentState = EnrollmentState.READY,
    **fields: object,
) -> Enrollment:
    """Insert an enrollment of `lead` in `campaign` by `identity` and flush."""
    enrollment = Enrollment(
        campaign_id=campaign.id,
        lead_id=lead.id,
        identity_id=identity.id,
        state=state,
        created_at=T0,
        updated_at=T0,
        **fields,
    )
    session.add(enrollment)
    session.flush()
    return enrollment


def add_sent(
    session: Session,
    *,
    identity_id: int,
    kind: enums.ActionKind,
    at: datetime,
    key: str,
    enrollment_id: int | None = None,
) -> OutboxAction:
    """An outreach action that reached LinkedIn at `at` (counted by the quotas)."""
    action = OutboxAction(
        enrollment_id=enrollment_id,
        identity_id=identity_id,
        kind=kind,
        idempotency_key=key,
        status=enums.ActionStatus.SENT,
        request={},
        sent_at=at,
        created_at=at,
        updated_at=at,
    )
    session.add(action)
    return action


def add_inbox_reply(session: Session, *, identity_id: int, at: datetime, key: str) -> OutboxAction:
    """A message sent by hand from the inbox at `at`, as the inbox writes it (no enrollment)."""
    action = add_sent(
        session, identity_id=identity_id, kind=enums.ActionKind.MESSAGE, at=at, key=key
    )
    action.step_id, action.attempts = "inbox", 1
    return action
