"""Enrolling leads into a campaign: one enrollment per (campaign, lead), never for DNC people."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.errors import InputError, NotFoundError
from linkseq.leads.assignment import identity_key, identity_slots, pending_load
from linkseq.leads.dnc import load_dnc
from linkseq.planning.assign import IdentitySlot, assign_leads
from linkseq.store.enums import CampaignStatus, EnrollmentState
from linkseq.store.models import AuditEvent, Campaign, Enrollment, Lead

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
    session: Session,
    campaign: Campaign,
    lead_ids: Sequence[int],
    *,
    now: datetime,
    weekly_invitation_cap: int = 100,
) -> EnrollResult:
    """Enroll leads as `new`, due now, given to the campaign's identities by free capacity.

    A lead already worked by one of these identities elsewhere keeps that identity (one lead,
    one voice); the engine still checks for other active campaigns when it looks at `new`. The
    others go to the active identity with the lowest load (its leads not yet contacted) per
    unit of free invitation capacity (`linkseq.leads.assignment`, `planning.assign`).
    """
    if campaign.status is CampaignStatus.FINISHED:
        raise InputError(f"campaign {campaign.name!r} is finished; leads cannot join it")
    slots = identity_slots(session, campaign, now=now, weekly_invitation_cap=weekly_invitation_cap)
    if not slots:
        raise InputError(f"campaign {campaign.name!r} has no identities")
    if not any(s.usable for s in slots):
        # no room anywhere (a campaign cap of 0, every weekly cap used): the active identities
        # share the leads evenly; every identity paused: all do, and the leads wait with them
        anyone = any(s.active for s in slots)
        slots = [IdentitySlot(s.key, 1, s.active or not anyone) for s in slots]
    identity_ids = {s.key: int(s.key) for s in slots}
    load = pending_load(session, campaign.id)
    dnc = load_dnc(session)
    result = EnrollResult()
    unique_ids = list(dict.fromkeys(lead_ids))
    for start in range(0, len(unique_ids), _CHUNK):
        chunk = unique_ids[start : start + _CHUNK]
        order = {lead_id: i for i, lead_id in enumerate(chunk)}
        leads = sorted(  # the caller's order: the first leads are shared first
            session.execute(
                sa.select(Lead.id, Lead.profile_url, Lead.linkedin_profile_id).where(
                    Lead.id.in_(chunk)
                )
            ).all(),
            key=lambda row: order[row[0]],
        )
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
                    Enrollment.lead_id.in_(chunk),
                    Enrollment.identity_id.in_(list(identity_ids.values())),
                )
            ).all()
        )
        chosen: dict[int, int] = {}
        fresh: list[str] = []
        for lead_id, url, profile_id in leads:
            if lead_id in enrolled:
                result.already += 1
            elif dnc.contains(url, profile_id):
                result.on_dnc += 1
            elif lead_id in voices:
                chosen[lead_id] = voices[lead_id]
                key = identity_key(voices[lead_id])
                load[key] = load.get(key, 0) + 1
            else:
                fresh.append(str(lead_id))
        for lead, key in assign_leads(fresh, slots, load).items():
            chosen[int(lead)] = identity_ids[key]
            load[key] = load.get(key, 0) + 1
        rows = [_enrollment(campaign.id, lead_id, chosen[lead_id], now) for lead_id in chosen]
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
