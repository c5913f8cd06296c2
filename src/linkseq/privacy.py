"""Personal data: everything held about one person (`export_person`), and erasing it
(`forget_person`) so that only a hash of the profile URL remains.

What forgetting does, and why:
- the lead's personal fields are wiped and its `profile_url` becomes `forgotten:<sha256>`;
  `forgotten_hash` keeps the hash, so an import skips the person unless explicitly allowed;
- each of their enrollments ends (`skipped`, reason "forgotten"): automation never acts again;
- the audit trail keeps its state changes (the funnel stays true) but loses every personal value
  in its reasons and details; the same scrub applies to outgoing events and webhook payloads;
- outbox rows stay (the Smart Limits are counted from them: erasing them could send over a limit)
  but lose their request and response; one still in flight is settled as sent (counted, the safe
  side) because reading LinkedIn about a forgotten person is no longer allowed;
- cached LinkedIn data about them (threads and their messages, connection and invitation rows)
  is deleted, and so is their do-not-contact entry: the hash now does its job.
A LinkedIn sync may cache a thread with them again (LinkedIn holds it, linkseq only caches it);
with no lead left to match, nothing acts on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.engine.funnel import record_sent
from linkseq.engine.lifecycle import ACTIVE, Event
from linkseq.engine.transitions import apply_event
from linkseq.store.enums import ActionStatus, EnrollmentState
from linkseq.store.models import (
    AuditEvent,
    Campaign,
    Connection,
    Conversation,
    DoNotContact,
    Enrollment,
    Identity,
    Lead,
    Message,
    OutboxAction,
    OutgoingEvent,
    SentInvitation,
    WebhookInbox,
    profile_url_hash,
)

__all__ = ["ERASED", "ForgetReport", "export_person", "forget_person"]

ERASED = "[erased]"
_IN_FLIGHT = (ActionStatus.INTENT, ActionStatus.SENDING, ActionStatus.UNCERTAIN)
_LEAD_FIELDS = (
    "profile_url",
    "linkedin_profile_id",
    "sales_navigator_id",
    "full_name",
    "first_name",
    "last_name",
    "company_name",
    "email",
    "location",
    "timezone",
)


@dataclass(slots=True)
class ForgetReport:
    """What `forget_person` erased."""

    lead_id: int
    hash: str
    enrollments_ended: int = 0
    audit_scrubbed: int = 0
    outbox_scrubbed: int = 0
    threads_deleted: int = 0
    messages_deleted: int = 0
    cache_rows_deleted: int = 0
    events_scrubbed: int = 0
    dnc_deleted: int = 0


def _handle(url: str) -> str | None:
    marker = "/in/"
    return url.split(marker, 1)[1].strip("/") if marker in url else None


def _tokens(lead: Lead) -> list[str]:
    """Every personal value of the lead as text, longest first (so a name inside a URL goes)."""
    values = [getattr(lead, name) for name in _LEAD_FIELDS if name != "timezone"]
    values.append(_handle(lead.profile_url))
    values += [str(v) for v in (lead.custom_fields or {}).values() if v not in (None, "")]
    found = {str(v).strip() for v in values if v is not None and len(str(v).strip()) >= 3}
    return sorted(found, key=len, reverse=True)


def _strong_tokens(lead: Lead) -> list[str]:
    """Values that name this person and nobody else (a first name is not one): for searching
    rows not linked to the lead."""
    values = [
        lead.profile_url,
        _handle(lead.profile_url),
        lead.linkedin_profile_id,
        lead.sales_navigator_id,
        lead.email,
    ]
    found = {str(v).strip() for v in values if v and len(str(v).strip()) >= 6}
    return sorted(found, key=len, reverse=True)


def _scrub(value: Any, tokens: list[str]) -> Any:
    """`value` with every token replaced by ERASED, recursively (keys are kept)."""
    if isinstance(value, str):
        for token in tokens:
            if token in value:
                value = value.replace(token, ERASED)
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, tokens) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, tokens) for v in value]
    return value


def _keys(lead: Lead) -> tuple[list[str], list[str]]:
    ids = [v for v in (lead.linkedin_profile_id,) if v]
    urls = [lead.profile_url]
    return ids, urls


def _row(obj: Any, *skip: str) -> dict[str, Any]:
    return {
        column.key: getattr(obj, column.key)
        for column in sa.inspect(type(obj)).columns
        if column.key not in skip
    }


def _cache_rows(session: Session, model: Any, id_column: Any, url_column: Any, lead: Lead) -> Any:
    ids, urls = _keys(lead)
    return session.scalars(
        sa.select(model).where(sa.or_(id_column.in_(ids), url_column.in_(urls)))
    ).all()


def export_person(session: Session, lead: Lead) -> dict[str, Any]:
    """Everything linkseq holds about the person behind `lead`, as JSON-ready data."""
    enrollments = session.scalars(
        sa.select(Enrollment).where(Enrollment.lead_id == lead.id).order_by(Enrollment.id)
    ).all()
    enrollment_ids = [e.id for e in enrollments]
    campaigns = {c.id: c.name for c in session.scalars(sa.select(Campaign))}
    identities = {i.id: i.name for i in session.scalars(sa.select(Identity))}
    conversations = _cache_rows(
        session,
        Conversation,
        Conversation.participant_profile_id,
        Conversation.participant_profile_url,
        lead,
    )
    ids, urls = _keys(lead)
    dnc = session.scalars(
        sa.select(DoNotContact).where(
            sa.or_(DoNotContact.profile_url.in_(urls), DoNotContact.linkedin_profile_id.in_(ids))
        )
    ).all()
    return {
        "lead": _row(lead),
        "enrollments": [
            {
                **_row(e, "version"),
                "campaign": campaigns.get(e.campaign_id),
                "identity": identities.get(e.identity_id),
                "audit": [
                    _row(a)
                    for a in session.scalars(
                        sa.select(AuditEvent)
                        .where(AuditEvent.enrollment_id == e.id)
                        .order_by(AuditEvent.at, AuditEvent.id)
                    )
                ],
                "actions": [
                    _row(o)
                    for o in session.scalars(
                        sa.select(OutboxAction)
                        .where(OutboxAction.enrollment_id == e.id)
                        .order_by(OutboxAction.id)
                    )
                ],
            }
            for e in enrollments
        ],
        "audit_without_enrollment": [
            _row(a)
            for a in session.scalars(
                sa.select(AuditEvent).where(
                    AuditEvent.lead_id == lead.id, AuditEvent.enrollment_id.is_(None)
                )
            )
        ],
        "conversations": [
            {
                **_row(c),
                "identity": identities.get(c.identity_id),
                "messages": [
                    _row(m)
                    for m in session.scalars(
                        sa.select(Message)
                        .where(Message.conversation_id == c.id)
                        .order_by(Message.sent_at, Message.id)
                    )
                ],
            }
            for c in conversations
        ],
        "connections": [
            _row(c)
            for c in _cache_rows(
                session, Connection, Connection.linkedin_profile_id, Connection.profile_url, lead
            )
        ],
        "sent_invitations": [
            _row(s)
            for s in _cache_rows(
                session,
                SentInvitation,
                SentInvitation.linkedin_profile_id,
                SentInvitation.profile_url,
                lead,
            )
        ],
        "do_not_contact": [_row(d) for d in dnc],
        "events": [
            _row(ev)
            for ev in session.scalars(
                sa.select(OutgoingEvent)
                .where(
                    sa.or_(
                        OutgoingEvent.lead_id == lead.id,
                        OutgoingEvent.enrollment_id.in_(enrollment_ids),
                    )
                )
                .order_by(OutgoingEvent.id)
            )
        ],
    }


def _end_enrollment(session: Session, enrollment: Enrollment, now: datetime) -> bool:
    reason = "forgotten at the person's request"
    state = enrollment.state
    if state.is_terminal:
        return False
    if state.value in {s.value for s in ACTIVE}:
        # the lifecycle's "never contact" event: every active state accepts it
        apply_event(session, enrollment, Event.dnc, now=now, reason=reason)
    else:
        # `paused` accepts no dnc (it waits for its identity); a forgotten person has nothing
        # to resume, so the enrollment ends here, audited like any transition
        session.add(
            AuditEvent(
                enrollment_id=enrollment.id,
                lead_id=enrollment.lead_id,
                from_state=state.value,
                to_state=EnrollmentState.SKIPPED.value,
                reason=reason,
                at=now,
                details={"event": "forgotten"},
            )
        )
        enrollment.state = EnrollmentState.SKIPPED
        enrollment.paused_from_state = None
        enrollment.reason = reason
        enrollment.updated_at = now
    enrollment.next_action_at = None
    return True


def _payload_mentions(column: Any, tokens: list[str]) -> Any:
    if not tokens:
        return sa.false()
    text = sa.cast(column, sa.Text)
    return sa.or_(*[text.contains(token, autoescape=True) for token in tokens])


def forget_person(session: Session, lead: Lead, *, now: datetime) -> ForgetReport:
    """Erase the person behind `lead` (see the module docstring); the caller commits."""
    if lead.forgotten_hash is not None:
        return ForgetReport(lead_id=lead.id, hash=lead.forgotten_hash)
    digest = profile_url_hash(lead.profile_url)
    report = ForgetReport(lead_id=lead.id, hash=digest)
    tokens = _tokens(lead)
    strong = _strong_tokens(lead)
    enrollments = session.scalars(sa.select(Enrollment).where(Enrollment.lead_id == lead.id)).all()
    for enrollment in enrollments:
        report.enrollments_ended += _end_enrollment(session, enrollment, now)
        enrollment.reason = _scrub(enrollment.reason, tokens)
    session.flush()
    for audit in session.scalars(sa.select(AuditEvent).where(AuditEvent.lead_id == lead.id)):
        audit.reason = _scrub(audit.reason, tokens)
        event = (audit.details or {}).get("event")
        audit.details = {"event": event, "erased": True} if event else {"erased": True}
        report.audit_scrubbed += 1
    enrollment_ids = [e.id for e in enrollments]
    for action in session.scalars(
        sa.select(OutboxAction).where(OutboxAction.enrollment_id.in_(enrollment_ids))
    ):
        if action.status in _IN_FLIGHT:
            action.status = ActionStatus.RECONCILED
            action.error_label = "FORGOTTEN"
            action.sent_at = action.sent_at or action.created_at
            record_sent(session, action)  # counted as reached: the funnel says so too
        action.request = {"erased": True}
        action.response = {"erased": True} if action.response is not None else None
        action.updated_at = now
        report.outbox_scrubbed += 1
    conversations = _cache_rows(
        session,
        Conversation,
        Conversation.participant_profile_id,
        Conversation.participant_profile_url,
        lead,
    )
    for conversation in conversations:
        deleted = session.execute(
            sa.delete(Message).where(Message.conversation_id == conversation.id)
        )
        report.messages_deleted += int(getattr(deleted, "rowcount", 0) or 0)
        session.delete(conversation)
        report.threads_deleted += 1
    for model, id_column, url_column in (
        (Connection, Connection.linkedin_profile_id, Connection.profile_url),
        (SentInvitation, SentInvitation.linkedin_profile_id, SentInvitation.profile_url),
    ):
        for row in _cache_rows(session, model, id_column, url_column, lead):
            session.delete(row)
            report.cache_rows_deleted += 1
    ids, urls = _keys(lead)
    dnc = session.execute(
        sa.delete(DoNotContact).where(
            sa.or_(DoNotContact.profile_url.in_(urls), DoNotContact.linkedin_profile_id.in_(ids))
        )
    )
    report.dnc_deleted = int(getattr(dnc, "rowcount", 0) or 0)
    events = session.scalars(
        sa.select(OutgoingEvent).where(
            sa.or_(
                OutgoingEvent.lead_id == lead.id,
                OutgoingEvent.enrollment_id.in_(enrollment_ids),
                _payload_mentions(OutgoingEvent.payload, strong),
            )
        )
    ).all()
    for outgoing in events:
        linked = outgoing.lead_id == lead.id or outgoing.enrollment_id in enrollment_ids
        outgoing.payload = _scrub(outgoing.payload, tokens if linked else strong)
        report.events_scrubbed += 1
    for inbox in session.scalars(
        sa.select(WebhookInbox).where(_payload_mentions(WebhookInbox.payload, strong))
    ):
        inbox.payload = _scrub(inbox.payload, strong)
        report.events_scrubbed += 1
    for name in _LEAD_FIELDS:
        if name != "profile_url":
            setattr(lead, name, None)
    lead.profile_url = f"forgotten:{digest}"
    lead.custom_fields = {}
    lead.forgotten_hash = digest
    lead.updated_at = now
    session.flush()
    return report
