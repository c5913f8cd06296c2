"""What the dashboard pages and the JSON API share: read models, and the actions a person takes.

Every function is keyword-only and takes its session (and `now`) explicitly. Read models are
pydantic models, so the API returns them as they are (and documents them in OpenAPI) and the
templates render the same objects.

Inbox replies are live messages sent by a person, not by the engine, but they obey the same rules:
sync-before-send (the identity's conversations are synced first, and a reply is refused when the
lead wrote something newer than what the person saw), the message Smart Limit, and the outbox (an
intent keyed by a one-time token of the reply form is written before Edges is called, so a double
submit cannot send twice).

The package is split by concern: `views` (the read models), `campaigns`, `identities`, `leads`,
`inbox` (reading threads) and `actions` (start / pause, import, reply, mark). Everything public
is re-exported here, so `from linkseq.web import services as svc; svc.campaign_views(...)` holds.
"""

from __future__ import annotations

from linkseq.web.services.actions import import_leads, mark_lead, reply, set_campaign_status
from linkseq.web.services.campaigns import campaign_list, campaign_views
from linkseq.web.services.identities import identity_list, identity_views
from linkseq.web.services.inbox import (
    edges_client,
    lead_of_thread,
    list_threads,
    open_thread,
    thread_of_lead,
)
from linkseq.web.services.leads import lead_detail, list_leads, why_waiting
from linkseq.web.services.views import (
    FUNNEL_STAGES,
    INBOX_STEP,
    AuditRow,
    CampaignView,
    Conflict,
    EnrollmentView,
    FunnelStage,
    IdentityView,
    ImportResult,
    LeadDetail,
    LeadPage,
    LeadRow,
    MessageView,
    QuotaUse,
    ReplyResult,
    StepRate,
    ThreadDetail,
    ThreadPage,
    ThreadRow,
    ago,
)

__all__ = [
    "FUNNEL_STAGES",
    "INBOX_STEP",
    "AuditRow",
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
    "campaign_list",
    "campaign_views",
    "edges_client",
    "identity_list",
    "identity_views",
    "import_leads",
    "lead_detail",
    "lead_of_thread",
    "list_leads",
    "list_threads",
    "mark_lead",
    "open_thread",
    "reply",
    "set_campaign_status",
    "thread_of_lead",
    "why_waiting",
]
