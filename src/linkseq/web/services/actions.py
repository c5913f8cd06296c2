"""What a person does from the dashboard: start / pause, CSV import, reply, mark a lead."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.edges import EdgesError, UncertainSend
from linkseq.engine import outbox
from linkseq.engine.config import EngineConfig
from linkseq.engine.lifecycle import ACTIVE, Event, IllegalTransition, State
from linkseq.engine.limits import load_remote_limits
from linkseq.engine.quotas import identity_quotas
from linkseq.engine.sync import sync_conversations
from linkseq.engine.transitions import apply_event, note
from linkseq.errors import InputError, NotFoundError
from linkseq.planning.quota import (
    Action,
)
from linkseq.settings import Settings
from linkseq.store.enums import (
    ActionKind,
    ActionStatus,
    CampaignStatus,
    IdentityStatus,
)
from linkseq.store.models import (
    AuditEvent,
    Campaign,
    Conversation,
    Enrollment,
    Lead,
    Message,
    OutboxAction,
)
from linkseq.web.services.campaigns import campaign_views
from linkseq.web.services.inbox import (
    cached_messages,
    conversation,
    edges_client,
    lead_of,
    thread_detail,
)
from linkseq.web.services.views import (
    INBOX_STEP,
    INTERESTED,
    LABELS,
    NOT_INTERESTED,
    CampaignView,
    Conflict,
    EnrollmentView,
    ImportResult,
    ReplyResult,
)

__all__ = ["import_leads", "mark_lead", "reply", "set_campaign_status"]


def set_campaign_status(
    session: Session,
    *,
    campaign_id: int,
    status: CampaignStatus,
    now: datetime,
    config: EngineConfig | None = None,
) -> CampaignView:
    """Start (active) or pause a campaign, as `linkseq campaigns start|pause` do; commits."""
    if status not in (CampaignStatus.ACTIVE, CampaignStatus.PAUSED):
        raise InputError("a campaign can only be started or paused here")
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFoundError(f"no campaign {campaign_id}")
    if campaign.status is CampaignStatus.FINISHED:
        raise InputError(f"campaign {campaign.name!r} is finished")
    if campaign.status is not status:
        campaign.status = status
        campaign.updated_at = now
        if status is CampaignStatus.ACTIVE and campaign.started_at is None:
            campaign.started_at = now
        session.commit()
    return campaign_views(session, campaign_id=campaign_id, now=now, config=config)[0]


def import_leads(
    session: Session,
    *,
    path: Path,
    now: datetime,
    campaign: str | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Import a CSV with exactly the CLI's checks (`linkseq.leads.importer.import_csv`)."""
    from linkseq.leads.importer import import_csv

    report = import_csv(session, path, now=now, campaign=campaign or None, dry_run=dry_run)
    return ImportResult.model_validate(report.as_dict())


def reply(
    session: Session,
    *,
    thread_id: int,
    text: str,
    seen_at: datetime | None,
    token: str,
    client_factory: Callable[[], Any] | None,
    settings: Settings,
    now: Callable[[], datetime],
    config: EngineConfig,
) -> ReplyResult:
    """Send a person's reply in a thread: sync first, refuse on news, outbox, then Edges.

    Raises `Conflict` when the lead wrote after `seen_at` (the person must read it first) and
    `InputError` for an empty text or an exhausted message limit.
    """
    body = text.strip()
    if not body:
        raise InputError("the reply is empty")
    if len(body) > 8000:
        raise InputError("a message is at most 8,000 characters")
    if not token or len(token) > 64:
        raise InputError("missing reply token: reload the thread")
    conv, identity = conversation(session, thread_id)
    if identity.status is not IdentityStatus.ACTIVE:
        raise InputError(f"identity {identity.name} is {identity.status.value}: it cannot send")
    lead_url = conv.participant_profile_url
    if not lead_url:
        raise InputError("this thread has no profile URL to reply to")
    with edges_client(client_factory, settings) as client:
        # sync-before-send (guide §15): what the lead wrote since the page was shown stops us
        sync_conversations(session, client, identity, now=now())
        session.commit()
        session.refresh(conv)
        me = identity.linkedin_profile_id
        lead_wrote = conv.last_message_sender_id is not None and conv.last_message_sender_id != me
        if (
            lead_wrote
            and conv.last_message_at is not None
            and (seen_at is None or conv.last_message_at > seen_at)
        ):
            conv.unread = True
            session.commit()
            raise Conflict(
                "the lead wrote something new since you opened the thread: read it first"
            )
        quotas, _ = identity_quotas(
            session,
            identity=identity,
            now=now(),
            config=config,
            campaign_caps={},
            remote=load_remote_limits(session, identity.id),
            actions=(Action.message,),
        )
        if quotas[Action.message].remaining <= 0:
            raise InputError(
                f"identity {identity.name} reached its message limit; "
                f"next slot {quotas[Action.message].next_slot_at}"
            )
        at = now()
        action = OutboxAction(
            enrollment_id=None,
            identity_id=identity.id,
            step_id=INBOX_STEP,
            kind=ActionKind.MESSAGE,
            idempotency_key=f"inbox:{identity.id}:{token}",
            status=ActionStatus.SENDING,
            request={"profile_url": lead_url, "message": body, "thread_id": conv.id},
            attempts=1,
            created_at=at,
            updated_at=at,
        )
        session.add(action)
        try:
            session.commit()
        except sa.exc.IntegrityError:
            session.rollback()
            raise Conflict("this reply was already sent (the form was submitted twice)") from None
        try:
            result = client.message_profile(
                identity.uid, lead_url, body, custom_data={"linkseq_origin": "inbox"}
            )
        except UncertainSend as exc:
            outbox.mark_uncertain(session, action, detail=str(exc), now=now())
            session.commit()
            raise InputError(
                f"the reply may or may not have gone ({exc}): check the thread"
            ) from None
        except EdgesError as exc:
            outbox.mark_failed(session, action, label=exc.label, detail=str(exc), now=now())
            session.commit()
            raise InputError(f"Edges refused the reply: {exc.label or exc}") from None
        outbox.mark_sent(session, action, response=result.model_dump(mode="json"), now=now())
        sent_at = result.delivered_at or now()
        message_id = result.linkedin_message_id or f"outbox:{action.id}"
        session.add(
            Message(
                conversation_id=conv.id,
                message_id=message_id,
                sender_profile_id=me,
                text=body,
                sent_at=sent_at,
            )
        )
        conv.last_message_sender_id = me
        conv.last_message_at = sent_at
        conv.last_message_text = body
        conv.unread = False
        _audit_inbox(session, conv, now=now(), reason="reply sent from the inbox")
        session.commit()
    messages = cached_messages(session, conv)
    return ReplyResult(
        status="sent",
        outbox_id=action.id,
        thread=thread_detail(session, conv, identity, messages, "cache"),
    )


def _audit_inbox(session: Session, conv: Conversation, *, now: datetime, reason: str) -> None:
    lead = lead_of(session, conv)
    if lead is None:
        return
    for enrollment in session.scalars(
        sa.select(Enrollment).where(
            Enrollment.lead_id == lead.id, Enrollment.identity_id == conv.identity_id
        )
    ):
        session.add(
            AuditEvent(
                enrollment_id=enrollment.id,
                lead_id=lead.id,
                from_state=enrollment.state.value,
                to_state=enrollment.state.value,
                reason=reason,
                at=now,
                details={"thread": conv.thread_id},
            )
        )


_STOPPABLE = {State(s) for s in ACTIVE} | {State.paused, State.completed, State.withdrawn}


def mark_lead(
    session: Session, *, lead_id: int, interested: bool, now: datetime
) -> list[EnrollmentView]:
    """Mark a lead interested (→ replied) or not interested (→ skipped); automation stops. Commits.

    A lead already stopped keeps its state and gets the mark in its audit trail.
    """
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFoundError(f"no lead {lead_id}")
    reason = INTERESTED if interested else NOT_INTERESTED
    enrollments = list(session.scalars(sa.select(Enrollment).where(Enrollment.lead_id == lead_id)))
    if not enrollments:
        raise InputError("this lead is in no campaign")
    for enrollment in enrollments:
        state = State(enrollment.state.value)
        event: Event | None = None
        if interested and state in _STOPPABLE:
            event = Event.replied
        elif not interested and state in {State(s) for s in ACTIVE}:
            event = Event.dnc  # the lifecycle's way into `skipped` from any active state
        try:
            if event is None:
                raise IllegalTransition(state, Event.replied)
            apply_event(
                session,
                enrollment,
                event,
                now=now,
                reason=reason,
                details={"by": "inbox", "label": LABELS[reason]},
            )
        except IllegalTransition:
            note(session, enrollment, now=now, reason=reason, details={"label": LABELS[reason]})
        enrollment.next_action_at = None
    session.commit()
    return [
        EnrollmentView(
            id=e.id,
            campaign_id=e.campaign_id,
            campaign=str(e.campaign_id),
            identity=str(e.identity_id),
            state=e.state.value,
            reason=e.reason,
            step_id=e.current_step_id,
            next_action_at=e.next_action_at,
            why=f"stopped: {reason}",
            next="nothing: a person takes over",
        )
        for e in enrollments
    ]
