"""Performing one step of one enrollment through the outbox, and reconciling uncertain sends.

`perform` re-checks the do-not-contact list (promise 5), renders the text (a message whose
variables are missing is never sent: the lead is held with the reason), commits the intent,
calls Edges, then records the outcome and moves the lead as guide §7 says. `reconcile` settles
actions whose outcome is unknown by reading LinkedIn (promise 1).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from linkseq.campaigns import (
    CampaignSpec,
    ConnectStep,
    InmailStep,
    MessageStep,
    Step,
    VisitStep,
    lead_context,
    render,
)
from linkseq.edges import (
    AlreadyConnected,
    AuthExpired,
    BadInput,
    EdgesClient,
    EdgesError,
    InvitationPending,
    LimitReached,
    NotConnected,
    NoValidAccount,
    ProfileNotAccessible,
    RateLimited,
    UncertainSend,
)
from linkseq.engine import outbox
from linkseq.engine.config import EngineConfig
from linkseq.engine.lifecycle import Event
from linkseq.engine.people import canonical_url
from linkseq.engine.recovery import pause_identity
from linkseq.engine.steps import (
    connect_index,
    invite_timeout,
    next_due,
    step_at,
)
from linkseq.engine.sync import connect_lead
from linkseq.engine.transitions import apply_event, note
from linkseq.leads.dnc import is_on_dnc
from linkseq.leads.writer import HELD_PREFIX
from linkseq.store import fast
from linkseq.store.enums import ActionKind, EnrollmentState
from linkseq.store.models import Conversation, Enrollment, Identity, Lead, OutboxAction

__all__ = ["ActionResult", "kind_of", "perform", "reconcile", "withdraw_or_close"]

_PLANNER_ACTION = {
    ActionKind.VISIT: "visit",
    ActionKind.CONNECT: "connect",
    ActionKind.MESSAGE: "message",
    ActionKind.INMAIL: "inmail",
}


_LEADS = cast(sa.Table, Lead.__table__)
# built once (a statement costs more to construct than to run)
_PROFILE_ID = (
    sa.update(_LEADS)
    .where(_LEADS.c.id == sa.bindparam("b_id"))
    .values(linkedin_profile_id=sa.bindparam("profile_id"))
)

# the identity's cached thread that a message just went to (built once: a statement costs
# more to construct than to run)
_OUR_THREAD = (
    sa.select(Conversation)
    .where(
        Conversation.identity_id == sa.bindparam("identity_id"),
        Conversation.thread_id == sa.bindparam("thread_id"),
    )
    .limit(1)
)
_KIND_OF_TYPE = {
    "visit": ActionKind.VISIT,
    "connect": ActionKind.CONNECT,
    "message": ActionKind.MESSAGE,
    "inmail": ActionKind.INMAIL,
}


def kind_of(step: Step) -> ActionKind | None:
    """The outbox kind of a step (None for a wait)."""
    return _KIND_OF_TYPE.get(step.type)


@dataclass(slots=True)
class ActionResult:
    """What happened to one planned step."""

    outcome: str  # sent, failed, uncertain, held, skipped, dry_run, waiting
    kind: ActionKind | None = None
    detail: str = ""
    request: dict[str, Any] = field(default_factory=dict)
    action_id: int | None = None  # the outbox row, when one was written


def _render(template: str, lead: Lead, seed: str) -> tuple[str | None, str | None]:
    result = render(template, lead_context(lead), seed=seed)
    return result.text, result.held


def _request(step: Step, lead: Lead) -> tuple[dict[str, Any] | None, str | None]:
    """The parameters of the Edges call for `step`, or the reason the lead is held."""
    seed = f"{lead.id}:{step.id}"
    if isinstance(step, VisitStep):
        return {}, None
    if isinstance(step, ConnectStep):
        if not step.note:
            return {"note": ""}, None
        text, held = _render(step.note, lead, seed)
        if text is not None and len(text) <= 300:
            return {"note": text}, None
        if step.fallback_without_note:
            return {"note": "", "fallback": held or "note over 300 characters"}, None
        return None, held or "note over 300 characters"
    if isinstance(step, MessageStep):
        text, held = _render(step.text, lead, seed)
        if text is None:
            return None, held
        if len(text) > 8000:
            return None, "message over 8,000 characters"
        return {"message": text}, None
    if isinstance(step, InmailStep):
        subject, held_s = _render(step.subject, lead, seed + ":subject")
        text, held_t = _render(step.text, lead, seed)
        if subject is None or text is None:
            return None, held_s or held_t
        return {"subject": subject, "message": text}, None
    return None, "not an outreach step"


def perform(
    session: Session,
    *,
    client: EdgesClient,
    identity: Identity,
    enrollment: Enrollment,
    spec: CampaignSpec,
    now: Callable[[], datetime],
    config: EngineConfig,
    dry_run: bool = False,
) -> ActionResult:
    """Do the enrollment's current step now (the caller planned it); commits."""
    lead = session.get(Lead, enrollment.lead_id)
    step = step_at(spec.steps, enrollment.step_index)
    assert lead is not None
    kind = kind_of(step) if step is not None else None
    if step is None or kind is None:
        return ActionResult("skipped", detail="no outreach step")
    at = now()
    if is_on_dnc(session, lead):
        apply_event(session, enrollment, Event.dnc, now=at, reason="on the do-not-contact list")
        enrollment.next_action_at = None
        session.commit()
        return ActionResult("skipped", kind, "do-not-contact")
    request, held = _request(step, lead)
    if request is None and not dry_run:
        # before the hold is written, the lead is read again under a row lock (PostgreSQL; SQLite
        # writes one at a time): an import that gives the data commits before it (the step
        # renders now) or after (its retry of held steps sees this hold), never in between
        if not _read_locked(session, lead):
            return ActionResult("waiting", kind, "the lead is being written (an import)")
        request, held = _request(step, lead)
    if request is None:
        enrollment.next_action_at = None
        note(session, enrollment, now=at, reason=f"{HELD_PREFIX}{held}", details={"step": step.id})
        session.commit()
        return ActionResult("held", kind, held or "")
    if dry_run:
        note(
            session,
            enrollment,
            now=at,
            reason=f"dry run: would {kind.value} ({step.id})",
            details={"step": step.id, "request": request},
        )
        session.commit()
        return ActionResult("dry_run", kind, step.id, request)
    custom = {"enrollment_id": enrollment.id, "step_id": step.id}
    action = outbox.begin(
        session,
        enrollment_id=enrollment.id,
        identity_id=identity.id,
        step_id=step.id,
        kind=kind,
        request={"profile_url": lead.profile_url, **request},
        now=at,
    )
    if action is None:
        return ActionResult("waiting", kind, "an action for this step is already recorded")
    try:
        response = _call(client, identity.uid, kind, lead.profile_url, request, custom)
    except UncertainSend as exc:
        outbox.mark_uncertain(session, action, detail=str(exc), now=now())
        session.commit()
        return ActionResult("uncertain", kind, str(exc))
    except EdgesError as exc:
        result = _on_error(session, identity, enrollment, spec, action, exc, now(), config)
        session.commit()
        return result
    outbox.mark_sent(session, action, response=response, now=now(), enrollment=enrollment)
    _on_success(session, identity, enrollment, lead, spec, kind, response, now())
    session.commit()
    return ActionResult("sent", kind, step.id, request, action.id)


def _read_locked(session: Session, lead: Lead) -> bool:
    """Read the lead again and lock its row until the commit; False, with nothing read or
    written, when another transaction holds it (a pass does not wait on an import: the step
    stays due and is tried at a later pass)."""
    try:
        with session.begin_nested():  # a refusal rolls back this savepoint only
            session.refresh(lead, with_for_update={"nowait": True})
    except sa.exc.OperationalError:
        return False
    return True


def _call(
    client: EdgesClient,
    uid: str,
    kind: ActionKind,
    url: str,
    request: dict[str, Any],
    custom: dict[str, Any],
) -> dict[str, Any]:
    if kind is ActionKind.VISIT:
        return client.visit_profile(uid, url, custom_data=custom).model_dump(mode="json")
    if kind is ActionKind.CONNECT:
        return client.connect_profile(
            uid, url, note=request.get("note", ""), custom_data=custom
        ).model_dump(mode="json")
    if kind is ActionKind.MESSAGE:
        return client.message_profile(uid, url, request["message"], custom_data=custom).model_dump(
            mode="json"
        )
    return client.inmail_profile(
        uid, url, subject=request["subject"], message=request["message"], custom_data=custom
    ).model_dump(mode="json")


def _advance_after(
    session: Session,
    enrollment: Enrollment,
    spec: CampaignSpec,
    event: Event,
    last_event: Event,
    *,
    now: datetime,
    reason: str,
) -> None:
    """Move past the current step: to the next one after its delay, or complete."""
    enrollment.step_index += 1
    nxt = step_at(spec.steps, enrollment.step_index)
    if nxt is None:
        apply_event(session, enrollment, last_event, now=now, reason=f"{reason}; sequence done")
        enrollment.next_action_at = None
        return
    apply_event(session, enrollment, event, now=now, reason=reason)
    enrollment.current_step_id = nxt.id
    enrollment.next_action_at = next_due(spec.steps, enrollment.step_index, now)


def _set_profile_id(session: Session, lead: Lead, profile_id: str) -> None:
    """Learn the lead's profile id: one table UPDATE now, not the lead's turn in the flush."""
    params = {"b_id": lead.id, "profile_id": profile_id}
    if fast.execute(session, _PROFILE_ID, params, flush=False) != 1:  # as a flush would say
        raise StaleDataError(f"{lead!r} was not found to learn its profile id")
    set_committed_value(lead, "linkedin_profile_id", profile_id)


def _on_success(
    session: Session,
    identity: Identity,
    enrollment: Enrollment,
    lead: Lead,
    spec: CampaignSpec,
    kind: ActionKind,
    response: dict[str, Any] | None,
    now: datetime,
) -> None:
    profile_id = (response or {}).get("linkedin_profile_id")
    if profile_id and lead.linkedin_profile_id is None:
        _set_profile_id(session, lead, str(profile_id))
    step = step_at(spec.steps, enrollment.step_index)
    label = step.id if step is not None else "?"
    if kind is ActionKind.VISIT:
        _advance_after(
            session,
            enrollment,
            spec,
            Event.visited,
            Event.last_step_done,
            now=now,
            reason=f"visited ({label})",
        )
    elif kind is ActionKind.CONNECT:
        apply_event(session, enrollment, Event.invited, now=now, reason=f"invited ({label})")
        enrollment.step_index += 1
        timeout, _ = invite_timeout(spec.steps, enrollment.step_index)
        enrollment.next_action_at = now + timeout
    else:
        enrollment.message_count += 1
        _advance_after(
            session,
            enrollment,
            spec,
            Event.messaged,
            Event.last_message_sent,
            now=now,
            reason=f"messaged ({label})",
        )
        _cache_our_message(session, identity, lead, response, now)


def _cache_our_message(
    session: Session,
    identity: Identity,
    lead: Lead,
    response: dict[str, Any] | None,
    now: datetime,
) -> None:
    """Keep the conversation cache true to what we just sent (the last message is ours)."""
    thread_id = (response or {}).get("linkedin_thread_id")
    if not thread_id:
        return
    row = session.scalars(_OUR_THREAD, {"identity_id": identity.id, "thread_id": thread_id}).first()
    if row is None:
        # a thread we just opened: nothing received that we know of, so any message the lead
        # sent in the race before ours shows as a rise at the next sync
        row = Conversation(
            identity_id=identity.id, thread_id=thread_id, synced_at=now, received_count=0
        )
        session.add(row)
    row.thread_url = (response or {}).get("linkedin_thread_url") or row.thread_url
    row.participant_profile_id = lead.linkedin_profile_id
    row.participant_profile_url = lead.profile_url
    row.last_message_sender_id = identity.linkedin_profile_id
    row.last_message_at = now
    row.last_message_text = (response or {}).get("message")


def _on_error(
    session: Session,
    identity: Identity,
    enrollment: Enrollment,
    spec: CampaignSpec,
    action: OutboxAction,
    exc: EdgesError,
    now: datetime,
    config: EngineConfig,
) -> ActionResult:
    """Record a refusal and move the lead as guide §7 says."""
    label = exc.label or type(exc).__name__
    outbox.mark_failed(session, action, label=label, detail=str(exc), now=now)
    kind = action.kind
    if isinstance(exc, LimitReached):
        until = exc.resume_at(now)
        outbox.hold(
            session,
            identity_id=identity.id,
            action=_PLANNER_ACTION[kind],
            until=until,
            reason=f"LIMIT_REACHED {exc.params.get('appendix', '')}".strip(),
        )
        note(
            session,
            enrollment,
            now=now,
            reason=f"waiting: limit reached until {until:%Y-%m-%d %H:%M}Z",
        )
        return ActionResult("failed", kind, label)
    if isinstance(exc, RateLimited):
        wait = exc.retry_after or config.backoff_429.total_seconds()
        until = now + (config.backoff_429 if wait <= 0 else timedelta(seconds=wait))
        outbox.hold(session, identity_id=identity.id, action="*", until=until, reason="STATUS_429")
        note(session, enrollment, now=now, reason="waiting: LinkedIn rate limit (STATUS_429)")
        return ActionResult("failed", kind, label)
    if isinstance(exc, AuthExpired | NoValidAccount):
        pause_identity(session, identity_id=identity.id, reason=label, now=now)
        return ActionResult("failed", kind, label)
    if isinstance(exc, AlreadyConnected):
        connect_lead(
            session, enrollment, Event.already_connected, now=now, reason="already connected"
        )
        return ActionResult("failed", kind, label)
    if isinstance(exc, InvitationPending):
        apply_event(
            session, enrollment, Event.invitation_pending, now=now, reason="invitation pending"
        )
        enrollment.step_index += 1
        timeout, _ = invite_timeout(spec.steps, enrollment.step_index)
        enrollment.next_action_at = now + timeout
        return ActionResult("failed", kind, label)
    if isinstance(exc, NotConnected):
        index = connect_index(spec.steps)
        if index is None:
            apply_event(
                session,
                enrollment,
                Event.invalid_input,
                now=now,
                reason="not connected and the campaign has no connect step",
            )
            enrollment.next_action_at = None
        else:
            apply_event(
                session,
                enrollment,
                Event.not_connected,
                now=now,
                reason="not connected: back to the connect step",
            )
            enrollment.step_index = index
            enrollment.current_step_id = spec.steps[index].id
            enrollment.next_action_at = now
        return ActionResult("failed", kind, label)
    if isinstance(exc, ProfileNotAccessible):
        apply_event(
            session,
            enrollment,
            Event.profile_not_accessible,
            now=now,
            reason="profile not accessible (deleted, blocked or moved)",
        )
        enrollment.next_action_at = None
        return ActionResult("failed", kind, label)
    if isinstance(exc, BadInput):
        field = exc.params.get("field") if exc.params else None
        apply_event(
            session,
            enrollment,
            Event.invalid_input,
            now=now,
            reason=f"invalid input{f' ({field})' if field else ''}: {exc.message or label}",
        )
        enrollment.next_action_at = None
        return ActionResult("failed", kind, label)
    # transient after the client's own retries, or unknown: try this lead again later
    enrollment.next_action_at = now + config.retry_later
    note(session, enrollment, now=now, reason=f"retry later: {label}")
    return ActionResult("failed", kind, label)


# --- reconciliation ---------------------------------------------------------------------------

_WS = re.compile(r"\s+")


def _same_text(a: str | None, b: str | None) -> bool:
    return bool(a and b) and _WS.sub(" ", a or "").strip() == _WS.sub(" ", b or "").strip()


def reconcile(
    session: Session,
    *,
    client: EdgesClient,
    identity: Identity,
    load_spec: Callable[[int], CampaignSpec],
    now: Callable[[], datetime],
) -> int:
    """Settle every action of the identity whose outcome is unknown; how many were settled."""
    actions = outbox.in_flight(session, identity.id)
    if not actions:
        return 0
    invitations: set[str | None] | None = None
    connections: set[str | None] | None = None
    settled = 0
    for action in actions:
        enrollment = session.get(Enrollment, action.enrollment_id) if action.enrollment_id else None
        lead = session.get(Lead, enrollment.lead_id) if enrollment else None
        if enrollment is None or lead is None:
            outbox.void(session, action, reason="enrollment gone", now=now())
            continue
        keys: set[str | None] = {lead.profile_url, lead.linkedin_profile_id} - {None}
        went: bool
        if action.kind is ActionKind.CONNECT:
            if invitations is None:
                invitations = set()
                for inv in client.extract_sent_invitations(identity.uid):
                    invitations |= {
                        canonical_url(inv.linkedin_profile_url),
                        _s(inv.linkedin_profile_id),
                    }
            if connections is None:
                connections = set()
                for con in client.extract_connections(identity.uid, max_results=400):
                    connections |= {
                        canonical_url(con.linkedin_profile_url),
                        _s(con.linkedin_profile_id),
                    }
            went = bool(keys & (invitations | connections))
        elif action.kind in (ActionKind.MESSAGE, ActionKind.INMAIL):
            went = _message_went(client, identity, lead, action.request.get("message"))
        else:
            went = True  # a visit cannot be checked; counting it as done is the safe side
        spec = load_spec(enrollment.campaign_id)
        if went:
            outbox.mark_sent(session, action, response=None, now=now())
            action_step = action.step_id
            current = step_at(spec.steps, enrollment.step_index)
            if (
                current is not None
                and current.id == action_step
                and (enrollment.state.value in ("ready", "connected", "messaged"))
            ):
                _on_success(session, identity, enrollment, lead, spec, action.kind, None, now())
        else:
            outbox.void(session, action, reason="LinkedIn shows it did not go", now=now())
            if enrollment.state is EnrollmentState.READY or enrollment.state.value in (
                "connected",
                "messaged",
            ):
                enrollment.next_action_at = now()
        settled += 1
        session.commit()
    return settled


def _s(value: object) -> str | None:
    return None if value in (None, "") else str(value)


def _message_went(client: EdgesClient, identity: Identity, lead: Lead, text: str | None) -> bool:
    thread = client.get_thread_url(identity.uid, lead.profile_url)
    if not thread.linkedin_thread_url:
        return False
    for message in client.extract_messages(
        identity.uid, thread.linkedin_thread_url, max_results=40
    ):
        if _s(message.linkedin_profile_id) == identity.linkedin_profile_id and _same_text(
            message.content, text
        ):
            return True
    return False


def withdraw_or_close(
    session: Session,
    *,
    client: EdgesClient,
    identity: Identity,
    enrollment: Enrollment,
    spec: CampaignSpec,
    invitation_urn: str | None,
    now: Callable[[], datetime],
    dry_run: bool = False,
) -> ActionResult:
    """A stale invitation: withdraw it (or leave it) and end the lead or go to its InMail step."""
    _, on_timeout = invite_timeout(spec.steps, enrollment.step_index)
    at = now()
    if dry_run:
        note(session, enrollment, now=at, reason=f"dry run: would time out ({on_timeout})")
        session.commit()
        return ActionResult("dry_run", ActionKind.WITHDRAW, on_timeout)
    if on_timeout != "skip" and invitation_urn is not None:
        action = outbox.begin(
            session,
            enrollment_id=enrollment.id,
            identity_id=identity.id,
            step_id=f"withdraw@{enrollment.step_index}",
            kind=ActionKind.WITHDRAW,
            request={"urn": invitation_urn},
            now=at,
        )
        if action is not None:
            try:
                result = client.withdraw_invitation(identity.uid, invitation_urn)
            except UncertainSend as exc:
                outbox.mark_uncertain(session, action, detail=str(exc), now=now())
                session.commit()
                return ActionResult("uncertain", ActionKind.WITHDRAW, str(exc))
            except EdgesError as exc:
                outbox.mark_failed(session, action, label=exc.label, detail=str(exc), now=now())
                if isinstance(exc, AuthExpired | NoValidAccount):
                    pause_identity(
                        session, identity_id=identity.id, reason=exc.label or "AUTH", now=now()
                    )
                    session.commit()
                    return ActionResult("failed", ActionKind.WITHDRAW, exc.label or "")
            else:
                outbox.mark_sent(
                    session, action, response=result.model_dump(mode="json"), now=now()
                )
    inmail_at = next(
        (
            i
            for i in range(enrollment.step_index, len(spec.steps))
            if isinstance(spec.steps[i], InmailStep)
        ),
        None,
    )
    if on_timeout == "inmail" and inmail_at is not None:
        apply_event(
            session,
            enrollment,
            Event.invite_timeout_skip,
            now=now(),
            reason="invitation timed out: withdrawn, InMail next",
        )
        enrollment.step_index = inmail_at
        enrollment.current_step_id = spec.steps[inmail_at].id
        enrollment.next_action_at = now()
    else:
        why = "left pending" if on_timeout == "skip" else "withdrawn"
        apply_event(
            session,
            enrollment,
            Event.invite_timeout_withdraw,
            now=now(),
            reason=f"invitation timed out: {why}",
        )
        enrollment.next_action_at = None
    session.commit()
    return ActionResult("sent", ActionKind.WITHDRAW, on_timeout)
