"""Campaign files (validated specs) and message templates (spintax + sandboxed Jinja2)."""

from __future__ import annotations

from linkseq.campaigns.preview import LeadPreview, RenderedText, preview_lead, render_seed
from linkseq.campaigns.spec import (
    MESSAGE_MAX,
    NOTE_MAX,
    SMART_LIMIT_MAX,
    CampaignSpec,
    Caps,
    ConnectStep,
    InmailStep,
    MessageStep,
    PacingSpec,
    Schedule,
    Step,
    VisitStep,
    WaitStep,
    format_delay,
    load_campaign_file,
    parse_campaign,
    parse_delay,
)
from linkseq.campaigns.templates import (
    RenderResult,
    TemplateProblem,
    check_template,
    lead_context,
    render,
    spin,
)

__all__ = [
    "MESSAGE_MAX",
    "NOTE_MAX",
    "SMART_LIMIT_MAX",
    "CampaignSpec",
    "Caps",
    "ConnectStep",
    "InmailStep",
    "LeadPreview",
    "MessageStep",
    "PacingSpec",
    "RenderResult",
    "RenderedText",
    "Schedule",
    "Step",
    "TemplateProblem",
    "VisitStep",
    "WaitStep",
    "check_template",
    "format_delay",
    "lead_context",
    "load_campaign_file",
    "parse_campaign",
    "parse_delay",
    "preview_lead",
    "render",
    "render_seed",
    "spin",
]
