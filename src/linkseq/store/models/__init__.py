"""Every table of linkseq, one concept per module."""

from __future__ import annotations

from linkseq.store.models.audit import AuditEvent
from linkseq.store.models.background import BackgroundRun, EdgesSchedule, EventDelivery
from linkseq.store.models.campaign import Campaign, CampaignIdentity
from linkseq.store.models.dnc import DoNotContact
from linkseq.store.models.enrollment import Enrollment
from linkseq.store.models.events import OutgoingEvent, WebhookInbox
from linkseq.store.models.holds import ActionHold
from linkseq.store.models.identity import Identity
from linkseq.store.models.lead import Lead, profile_url_hash
from linkseq.store.models.linkedin_cache import Connection, Conversation, Message, SentInvitation
from linkseq.store.models.outbox import OutboxAction
from linkseq.store.models.worker import SyncState, WorkerLease

__all__ = [
    "ActionHold",
    "AuditEvent",
    "BackgroundRun",
    "Campaign",
    "CampaignIdentity",
    "Connection",
    "Conversation",
    "DoNotContact",
    "EdgesSchedule",
    "Enrollment",
    "EventDelivery",
    "Identity",
    "Lead",
    "Message",
    "OutboxAction",
    "OutgoingEvent",
    "SentInvitation",
    "SyncState",
    "WebhookInbox",
    "WorkerLease",
    "profile_url_hash",
]
