"""Leads: the filtered and searched table, and each lead's "why it waits / what's next"."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.engine.config import EngineConfig
from linkseq.engine.explain import explain
from linkseq.engine.steps import step_at
from linkseq.errors import InputError, LinkseqError, NotFoundError
from linkseq.store.enums import EnrollmentState
from linkseq.store.models import (
    AuditEvent,
    Campaign,
    Conversation,
    Enrollment,
    Identity,
    Lead,
)
from linkseq.web.services.campaigns import campaign_steps
from linkseq.web.services.views import AuditRow, EnrollmentView, LeadDetail, LeadPage, LeadRow

__all__ = ["lead_detail", "list_leads", "why_waiting"]


def list_leads(
    session: Session,
    *,
    campaign_id: int | None = None,
    state: str | None = None,
    identity_id: int | None = None,
    search: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> LeadPage:
    """Leads in campaigns (one row per enrollment), filtered, newest change first."""
    page = max(1, page)
    per_page = min(max(1, per_page), 500)
    where: list[sa.ColumnElement[bool]] = []
    if campaign_id is not None:
        where.append(Enrollment.campaign_id == campaign_id)
    if identity_id is not None:
        where.append(Enrollment.identity_id == identity_id)
    if state:
        try:
            where.append(Enrollment.state == EnrollmentState(state))
        except ValueError:
            raise InputError(f"unknown state {state!r}") from None
    text = (search or "").strip()
    # a search is counted and paged differently (see `_lead_matches`)
    counted, paged = list(where), list(where)
    if text:
        match = _lead_matches(session, text)
        counted.append(Enrollment.lead_id.in_(sa.select(Lead.id).where(match)))
        paged.append(match)
    base = sa.select(Enrollment.id).where(*counted)
    total = int(
        session.execute(sa.select(sa.func.count()).select_from(base.subquery())).scalar_one()
    )
    rows = session.execute(
        sa.select(Enrollment, Lead, Campaign.name, Identity.name)
        .join(Lead, Lead.id == Enrollment.lead_id)
        .join(Campaign, Campaign.id == Enrollment.campaign_id)
        .join(Identity, Identity.id == Enrollment.identity_id)
        .where(*paged)
        .order_by(Enrollment.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return LeadPage(
        rows=[
            LeadRow(
                enrollment_id=e.id,
                lead_id=lead.id,
                name=lead.full_name,
                company=lead.company_name,
                profile_url=lead.profile_url,
                campaign=campaign_name,
                identity=identity_name,
                state=e.state.value,
                reason=e.reason,
                next_action_at=e.next_action_at,
                updated_at=e.updated_at,
            )
            for e, lead, campaign_name, identity_name in rows
        ],
        total=total,
        page=page,
        per_page=per_page,
    )


def _lead_matches(session: Session, text: str) -> sa.ColumnElement[bool]:
    """The lead's name, company or profile URL contains `text`, case-insensitively.

    The total counts `lead_id IN (SELECT id FROM leads WHERE <this>)`: one pass over `leads`
    alone, then enrollments by `ix_enrollments_lead_state`. The page puts it on the joined lead
    instead, so that enrollments are walked newest first and the walk stops at the page's last
    row (with the IN list, SQLite joined and sorted every match: 90 ms for a third of 100,000).
    SQLite's LIKE already ignores ASCII case (exactly what `lower()` did, at half the cost);
    PostgreSQL gets ILIKE.
    """
    # lowered here as before: SQLite's LIKE folds ASCII only, so "GARCÍA" must arrive as "garcía"
    pattern = f"%{_escape_like(text.lower())}%"
    columns = (Lead.full_name, Lead.company_name, Lead.profile_url)
    if session.get_bind().dialect.name == "sqlite":
        match = [c.like(pattern, escape="\\") for c in columns]
    else:
        match = [c.ilike(pattern, escape="\\") for c in columns]
    return sa.or_(*match)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def why_waiting(
    session: Session, *, enrollment: Enrollment, now: datetime, config: EngineConfig
) -> tuple[str, str]:
    """Why the lead waits and what comes next, in words: `(why, next)`; the engine's own answer
    (`linkseq.engine.explain`, the same as `linkseq leads why`)."""
    try:
        answer = explain(session, enrollment.id, now, config=config)
    except LinkseqError as exc:  # a stored campaign spec that no longer loads
        return f"the campaign cannot be read: {exc}", "nothing until the campaign is fixed"
    return answer.sentence, answer.next


def lead_detail(
    session: Session, *, lead_id: int, now: datetime, config: EngineConfig
) -> LeadDetail:
    """A lead with each enrollment's "why it waits / what's next" and the full audit trail."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFoundError(f"no lead {lead_id}")
    enrollments = []
    for enrollment, campaign, identity in session.execute(
        sa.select(Enrollment, Campaign, Identity)
        .join(Campaign, Campaign.id == Enrollment.campaign_id)
        .join(Identity, Identity.id == Enrollment.identity_id)
        .where(Enrollment.lead_id == lead_id)
        .order_by(Enrollment.id)
    ):
        why, nxt = why_waiting(session, enrollment=enrollment, now=now, config=config)
        step = step_at(campaign_steps(campaign), enrollment.step_index)
        enrollments.append(
            EnrollmentView(
                id=enrollment.id,
                campaign_id=campaign.id,
                campaign=campaign.name,
                identity=identity.name,
                state=enrollment.state.value,
                reason=enrollment.reason,
                step_id=step.id if step is not None else None,
                next_action_at=enrollment.next_action_at,
                why=why,
                next=nxt,
            )
        )
    audit = [
        AuditRow(
            at=a.at,
            enrollment_id=a.enrollment_id,
            from_state=a.from_state,
            to_state=a.to_state,
            reason=a.reason,
        )
        for a in session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.lead_id == lead_id)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    ]
    keys = [
        cond
        for cond in (
            Conversation.participant_profile_url == lead.profile_url,
            Conversation.participant_profile_id == lead.linkedin_profile_id
            if lead.linkedin_profile_id
            else None,
        )
        if cond is not None
    ]
    threads = list(session.scalars(sa.select(Conversation.id).where(sa.or_(*keys))))
    return LeadDetail(
        id=lead.id,
        name=lead.full_name,
        company=lead.company_name,
        profile_url=lead.profile_url,
        location=lead.location,
        timezone=lead.timezone,
        enrollments=enrollments,
        audit=audit,
        threads=threads,
    )
