"""Admission: what a `new` lead's first step is, before anything is sent (guide §10, §17, §5 B).

Checked in this order, from the caches the pass has just refreshed:

1. on the do-not-contact list → `skipped`;
2. the same person active in another enrollment (another campaign, or another identity), by
   lead, LinkedIn profile id or canonical URL → `skipped` (one lead, one voice);
3. the lead wrote last in a thread with this identity → `replied` (the lead messaged first);
4. a conversation in the last `cooldown` (3 days) → stays `new` until the cooldown ends;
5. already a connection → `connected` (the connect step is skipped);
6. an invitation already pending → `invited`;
7. otherwise → `ready` at the campaign's first step.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.campaigns import Step
from linkseq.engine.lifecycle import ACTIVE, Event, State
from linkseq.engine.steps import connect_index, invite_timeout, load_spec, next_due
from linkseq.engine.sync import connect_lead
from linkseq.engine.transitions import apply_event, note
from linkseq.leads.dnc import load_dnc
from linkseq.store.enums import EnrollmentState
from linkseq.store.models import (
    Campaign,
    Connection,
    Conversation,
    Enrollment,
    Identity,
    Lead,
    SentInvitation,
)

__all__ = ["COOLDOWN", "admit"]

COOLDOWN = timedelta(days=3)
_BUSY = [EnrollmentState(s.value) for s in ACTIVE if s is not State.new] + [EnrollmentState.PAUSED]


def _match(
    column_id: Any,
    column_url: Any,
    ids: set[str],
    urls: set[str],
) -> sa.ColumnElement[bool]:
    return sa.or_(column_id.in_(ids), column_url.in_(urls))


def admit(
    session: Session,
    *,
    identity: Identity,
    enrollments: Sequence[Enrollment],
    now: datetime,
    cooldown: timedelta = COOLDOWN,
) -> dict[str, int]:
    """Decide the first step of each `new` enrollment; counts by outcome. The caller commits."""
    if not enrollments:
        return {}
    lead_ids = {e.lead_id for e in enrollments}
    leads = {
        lead.id: lead for lead in session.scalars(sa.select(Lead).where(Lead.id.in_(lead_ids)))
    }
    ids = {lead.linkedin_profile_id for lead in leads.values() if lead.linkedin_profile_id}
    urls = {lead.profile_url for lead in leads.values()}
    dnc = load_dnc(session)
    busy_leads = _busy_people(session, enrollments, leads)
    connections = session.execute(
        sa.select(Connection.linkedin_profile_id, Connection.profile_url).where(
            Connection.identity_id == identity.id,
            _match(Connection.linkedin_profile_id, Connection.profile_url, ids, urls),
        )
    ).all()
    connected = {v for row in connections for v in row if v}
    threads = session.scalars(
        sa.select(Conversation).where(
            Conversation.identity_id == identity.id,
            _match(
                Conversation.participant_profile_id, Conversation.participant_profile_url, ids, urls
            ),
        )
    ).all()
    pending = session.scalars(
        sa.select(SentInvitation).where(
            SentInvitation.identity_id == identity.id,
            SentInvitation.withdrawn_at.is_(None),
            _match(SentInvitation.linkedin_profile_id, SentInvitation.profile_url, ids, urls),
        )
    ).all()
    # each campaign's steps read once for the batch (a `get` per lead flushed each decision)
    steps = {
        campaign.id: load_spec(campaign.id, campaign.spec).steps
        for campaign in session.scalars(
            sa.select(Campaign).where(Campaign.id.in_({e.campaign_id for e in enrollments}))
        )
    }
    counts: dict[str, int] = {}
    # the same person twice in this batch (two campaigns): the first one admitted wins
    claimed: dict[str | None, int] = {}
    for enrollment in enrollments:
        lead = leads[enrollment.lead_id]
        keys: set[str | None] = {lead.profile_url, lead.linkedin_profile_id} - {None}
        busy = busy_leads.get(enrollment.id)
        twin = next((claimed[k] for k in keys if k in claimed), None)
        if busy is None and twin is not None:
            busy = f"already worked by enrollment #{twin}"
        outcome = _decide(
            session,
            enrollment,
            lead,
            steps[enrollment.campaign_id],
            now=now,
            cooldown=cooldown,
            on_dnc=dnc.contains(lead.profile_url, lead.linkedin_profile_id),
            busy=busy,
            threads=[
                t for t in threads if {t.participant_profile_id, t.participant_profile_url} & keys
            ],
            connected=bool(connected & keys),
            invitation=next(
                (p for p in pending if {p.linkedin_profile_id, p.profile_url} & keys), None
            ),
            me=identity.linkedin_profile_id,
        )
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome not in ("skipped", "cooldown"):
            claimed.update(dict.fromkeys(keys, enrollment.id))
    return counts


def _busy_people(
    session: Session, enrollments: Sequence[Enrollment], leads: dict[int, Lead]
) -> dict[int, str]:
    """For each enrollment, a description of another active enrollment of the same person."""
    ids = {lead.linkedin_profile_id for lead in leads.values() if lead.linkedin_profile_id}
    urls = {lead.profile_url for lead in leads.values()}
    rows = session.execute(
        sa.select(
            Enrollment.id,
            Enrollment.lead_id,
            Enrollment.campaign_id,
            Lead.profile_url,
            Lead.linkedin_profile_id,
        )
        .join(Lead, Lead.id == Enrollment.lead_id)
        .where(
            Enrollment.state.in_(_BUSY),
            sa.or_(
                Enrollment.lead_id.in_(list(leads)),
                Lead.linkedin_profile_id.in_(ids),
                Lead.profile_url.in_(urls),
            ),
        )
    ).all()
    busy: dict[int, str] = {}
    for enrollment in enrollments:
        lead = leads[enrollment.lead_id]
        for other_id, _lead_id, campaign_id, url, profile_id in rows:
            same = url == lead.profile_url or (
                profile_id is not None and profile_id == lead.linkedin_profile_id
            )
            if other_id != enrollment.id and same:
                busy[enrollment.id] = f"already worked in campaign #{campaign_id}"
                break
    return busy


def _decide(
    session: Session,
    enrollment: Enrollment,
    lead: Lead,
    steps: Sequence[Step],
    *,
    now: datetime,
    cooldown: timedelta,
    on_dnc: bool,
    busy: str | None,
    threads: Sequence[Conversation],
    connected: bool,
    invitation: SentInvitation | None,
    me: str | None,
) -> str:
    if on_dnc:
        apply_event(session, enrollment, Event.dnc, now=now, reason="on the do-not-contact list")
        return "skipped"
    if busy is not None:
        apply_event(session, enrollment, Event.duplicate, now=now, reason=f"duplicate: {busy}")
        return "skipped"
    if any(t.last_message_sender_id and t.last_message_sender_id != me for t in threads):
        apply_event(session, enrollment, Event.lead_wrote_first, now=now, reason="lead wrote first")
        enrollment.next_action_at = None
        return "replied"
    recent = max((t.last_message_at for t in threads if t.last_message_at), default=None)
    if recent is not None and recent + cooldown > now:
        enrollment.next_action_at = recent + cooldown
        note(session, enrollment, now=now, reason="cooldown: conversation in the last 3 days")
        return "cooldown"
    if connected:
        connect_lead(
            session, enrollment, Event.already_connected, now=now, reason="already connected"
        )
        return "connected"
    index = connect_index(steps)
    if invitation is not None and index is not None:
        apply_event(
            session, enrollment, Event.invitation_pending, now=now, reason="invitation pending"
        )
        enrollment.step_index = index + 1
        timeout, _ = invite_timeout(steps, enrollment.step_index)
        enrollment.next_action_at = (invitation.sent_at or now) + timeout
        return "invited"
    apply_event(session, enrollment, Event.checked_ok, now=now, reason="checked: ready")
    enrollment.step_index = 0
    enrollment.current_step_id = steps[0].id
    enrollment.next_action_at = next_due(steps, 0, now)
    return "ready"
