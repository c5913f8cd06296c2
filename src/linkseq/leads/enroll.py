"""Enrolling leads into a campaign: one enrollment per (campaign, lead), never for DNC people."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.errors import InputError, NotFoundError
from linkseq.leads.dnc import load_dnc
from linkseq.store.enums import CampaignStatus, EnrollmentState
from linkseq.store.models import AuditEvent, Campaign, CampaignIdentity, Enrollment, Lead

__all__ = ["EnrollResult", "campaign_by_name", "enroll_leads"]

_CHUNK = 2_000


@dataclass(slots=True)
class EnrollResult:
    """Counts of an enrollment batch."""

    enrolled: int = 0
    already: int = 0
    on_dnc: int = 0


def campaign_by_name(session: Session, name: str) -> Campaign:
    """The campaign called `name`; raises `NotFoundError`."""
    campaign = session.scalars(sa.select(Campaign).where(Campaign.name == name)).first()
    if campaign is None:
        raise NotFoundError(f"no campaign named {name!r} (see `linkseq campaigns list`)")
    return campaign


def enroll_leads(
    session: Session, campaign: Campaign, lead_ids: Sequence[int], *, now: datetime
) -> EnrollResult:
    """Enroll leads as `new`, due now, spread over the campaign's identities (round robin).

    A lead already worked by one of these identities elsewhere keeps that identity (one lead,
    one voice); the engine still checks for other active campaigns when it looks at `new`.
    """
    if campaign.status is CampaignStatus.FINISHED:
        raise InputError(f"campaign {campaign.name!r} is finished; leads cannot join it")
    identity_ids = sorted(
        session.scalars(
            sa.select(CampaignIdentity.identity_id).where(
                CampaignIdentity.campaign_id == campaign.id
            )
        )
    )
    if not identity_ids:
        raise InputError(f"campaign {campaign.name!r} has no identities")
    dnc = load_dnc(session)
    result = EnrollResult()
    unique_ids = list(dict.fromkeys(lead_ids))
    turn = 0
    for start in range(0, len(unique_ids), _CHUNK):
        chunk = unique_ids[start : start + _CHUNK]
        leads = session.execute(
            sa.select(Lead.id, Lead.profile_url, Lead.linkedin_profile_id).where(Lead.id.in_(chunk))
        ).all()
        enrolled = set(
            session.scalars(
                sa.select(Enrollment.lead_id).where(
                    Enrollment.campaign_id == campaign.id, Enrollment.lead_id.in_(chunk)
                )
            )
        )
        voices = dict(
            session.execute(
                sa.select(Enrollment.lead_id, Enrollment.identity_id).where(
                    Enrollment.lead_id.in_(chunk), Enrollment.identity_id.in_(identity_ids)
                )
            ).all()
        )
        rows: list[dict[str, Any]] = []
        for lead_id, url, profile_id in leads:
            if lead_id in enrolled:
                result.already += 1
                continue
            if dnc.contains(url, profile_id):
                result.on_dnc += 1
                continue
            identity_id = voices.get(lead_id)
            if identity_id is None:
                identity_id = identity_ids[turn % len(identity_ids)]
                turn += 1
            rows.append(_enrollment(campaign.id, lead_id, identity_id, now))
        if rows:
            session.execute(sa.insert(cast(sa.Table, Enrollment.__table__)), rows)
            _audit(session, campaign.id, [row["lead_id"] for row in rows], now)
            result.enrolled += len(rows)
    return result


def _enrollment(campaign_id: int, lead_id: int, identity_id: int, now: datetime) -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        "lead_id": lead_id,
        "identity_id": identity_id,
        "state": EnrollmentState.NEW,
        "current_step_id": None,
        "step_index": 0,
        "message_count": 0,
        "next_action_at": now,
        "reason": None,
        "paused_from_state": None,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def _audit(session: Session, campaign_id: int, lead_ids: list[int], now: datetime) -> None:
    ids = dict(
        session.execute(
            sa.select(Enrollment.lead_id, Enrollment.id).where(
                Enrollment.campaign_id == campaign_id, Enrollment.lead_id.in_(lead_ids)
            )
        ).all()
    )
    session.execute(
        sa.insert(cast(sa.Table, AuditEvent.__table__)),
        [
            {
                "enrollment_id": ids[lead_id],
                "lead_id": lead_id,
                "from_state": None,
                "to_state": EnrollmentState.NEW.value,
                "reason": "enrolled",
                "at": now,
                "details": None,
            }
            for lead_id in lead_ids
        ],
    )
