"""The read models the API returns and the pages render (pydantic, documented in OpenAPI)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from linkseq.engine.funnel import STAGES
from linkseq.errors import LinkseqError
from linkseq.store.enums import (
    ActionStatus,
)

__all__ = [
    "DONE",
    "FUNNEL_STAGES",
    "INBOX_STEP",
    "INTERESTED",
    "LABELS",
    "NOT_INTERESTED",
    "AuditRow",
    "CampaignForecast",
    "CampaignView",
    "Conflict",
    "EnrollmentView",
    "FunnelStage",
    "IdentityView",
    "ImportResult",
    "LeadDetail",
    "LeadPage",
    "LeadRow",
    "MessageView",
    "QuotaUse",
    "ReplyResult",
    "StepRate",
    "ThreadDetail",
    "ThreadPage",
    "ThreadRow",
    "ago",
]


FUNNEL_STAGES = STAGES


DONE = [ActionStatus.SENT, ActionStatus.RECONCILED]


INBOX_STEP = "inbox"


INTERESTED = "marked interested"


NOT_INTERESTED = "marked not interested"


LABELS = {INTERESTED: "interested", NOT_INTERESTED: "not interested"}


class Conflict(LinkseqError):
    """The action no longer fits what the person saw (the lead wrote meanwhile)."""


class FunnelStage(BaseModel):
    """One stage of a campaign's funnel: how many leads reached it, and the rate from the last."""

    stage: str
    count: int
    rate: float | None = Field(None, description="count / count of the previous stage")


class StepRate(BaseModel):
    """A message step: how many got it, and how many replied with it as the last message."""

    step_id: str
    sent: int
    replied: int
    rate: float | None


class CampaignForecast(BaseModel):
    """When the campaign will have contacted every lead (`linkseq campaigns status`'s answer)."""

    leads_not_contacted: int
    first_contact: str  # connect, message or inmail
    per_day: int  # first contacts a working day, every active identity together
    today_left: int  # first contacts still possible in the current (or next) window
    open_now: bool  # the campaign's working hours are open now
    everyone_contacted_by: datetime | None  # None: not running, or no capacity


class CampaignView(BaseModel):
    """A campaign with its funnel."""

    id: int
    name: str
    status: str
    priority: int
    identities: list[str]
    started_at: datetime | None
    funnel: list[FunnelStage]
    states: dict[str, int]
    steps: list[StepRate]
    forecast: CampaignForecast | None = None  # given when the view is read at an instant

    def count(self, stage: str) -> int:
        """The count of one funnel stage."""
        return next((s.count for s in self.funnel if s.stage == stage), 0)


class QuotaUse(BaseModel):
    """Today's use of one Smart Limit of an identity (the rolling 24 h, or 31 days for InMail)."""

    action: str
    used: int
    limit: int
    full_limit: int
    remaining: int
    binding: str
    next_slot_at: datetime | None


class IdentityView(BaseModel):
    """An identity's health: session status, quota use, ramp-up day, pending invitations."""

    id: int
    uid: str
    name: str
    level: str
    status: str
    status_reason: str | None
    timezone: str
    ramp_up_day: int | None = Field(description="1..5 during the ramp-up, None before a sync")
    ramping: bool
    quotas: list[QuotaUse]
    pending_invitations: int
    invited_leads: int
    last_synced: dict[str, datetime | None]


class LeadRow(BaseModel):
    """One lead in a campaign (one enrollment), for the leads table."""

    enrollment_id: int
    lead_id: int
    name: str | None
    company: str | None
    profile_url: str
    campaign: str
    identity: str
    state: str
    reason: str | None
    next_action_at: datetime | None
    updated_at: datetime


class LeadPage(BaseModel):
    """A page of the leads table."""

    rows: list[LeadRow]
    total: int
    page: int
    per_page: int


class AuditRow(BaseModel):
    """One line of a lead's audit trail."""

    at: datetime
    enrollment_id: int | None
    from_state: str | None
    to_state: str | None
    reason: str


class EnrollmentView(BaseModel):
    """A lead in one campaign: where it stands and why it waits."""

    id: int
    campaign_id: int
    campaign: str
    identity: str
    state: str
    reason: str | None
    step_id: str | None
    next_action_at: datetime | None
    why: str
    next: str


class LeadDetail(BaseModel):
    """A lead, its campaigns (with why each waits) and its audit trail."""

    id: int
    name: str | None
    company: str | None
    profile_url: str
    location: str | None
    timezone: str | None
    enrollments: list[EnrollmentView]
    audit: list[AuditRow]
    threads: list[int]


class ThreadRow(BaseModel):
    """One thread of the unified inbox."""

    id: int
    identity: str
    identity_id: int
    lead_id: int | None
    name: str | None
    profile_url: str | None
    last_message_at: datetime | None
    last_message_text: str | None
    unread: bool
    lead_wrote_last: bool
    replied: bool
    label: str | None


class ThreadPage(BaseModel):
    """A page of the inbox."""

    rows: list[ThreadRow]
    total: int
    page: int
    per_page: int


class MessageView(BaseModel):
    """One message of a thread."""

    id: str
    from_identity: bool
    text: str | None
    sent_at: datetime | None


class ThreadDetail(BaseModel):
    """A thread with its messages, and what the reply form needs."""

    thread: ThreadRow
    messages: list[MessageView]
    seen_at: datetime | None = Field(description="newest message shown; send it back on reply")
    reply_token: str = Field(description="one-time token; send it back on reply")
    loaded_from: str = Field(description="'edges' when just read with extract-messages, or 'cache'")


class ReplyResult(BaseModel):
    """What a reply from the inbox did."""

    status: str
    outbox_id: int
    thread: ThreadDetail


class ImportResult(BaseModel):
    """A CSV upload's report (the same as `linkseq leads import --json`)."""

    rows: int
    created: int
    updated: int
    unchanged: int
    duplicates_in_file: int
    forgotten: int
    enrolled: int
    already_enrolled: int
    on_dnc: int
    retried: int = 0  # held steps of the updated leads, due again
    bad_rows: list[dict[str, Any]]
    dry_run: bool


def ago(delta: timedelta) -> str:
    """A short human duration ("3 h", "2 d")."""
    seconds = int(delta.total_seconds())
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{seconds // 60} min"
    if seconds < 129600:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"
