"""The closed vocabularies of the store, as string enums (their values are what is stored)."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ActionKind",
    "ActionStatus",
    "CampaignStatus",
    "EnrollmentState",
    "IdentityLevel",
    "IdentityStatus",
    "SyncKind",
    "TimezoneSource",
]


class IdentityLevel(StrEnum):
    """The LinkedIn subscription level of an identity; it selects the Smart Limits column."""

    CLASSIC = "Classic"
    SALES_NAVIGATOR = "Sales Navigator"


class IdentityStatus(StrEnum):
    """Whether an identity may act: `paused` by a user, `disconnected` when its session expired."""

    ACTIVE = "active"
    PAUSED = "paused"
    DISCONNECTED = "disconnected"


class CampaignStatus(StrEnum):
    """A campaign's life: written (draft), running (active), held (paused), done (finished)."""

    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    FINISHED = "finished"


class EnrollmentState(StrEnum):
    """The lead lifecycle of DESIGN.md: one enrollment is always in exactly one of these."""

    NEW = "new"
    READY = "ready"
    VISITED = "visited"
    INVITED = "invited"
    CONNECTED = "connected"
    MESSAGED = "messaged"
    WAITING = "waiting"
    COOLDOWN = "cooldown"
    REPLIED = "replied"
    PAUSED = "paused"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    SKIPPED = "skipped"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        """True for states that never change again."""
        return self in _TERMINAL


_TERMINAL = frozenset(
    {
        EnrollmentState.REPLIED,
        EnrollmentState.COMPLETED,
        EnrollmentState.WITHDRAWN,
        EnrollmentState.SKIPPED,
        EnrollmentState.FAILED,
    }
)


class ActionKind(StrEnum):
    """An outreach action that goes through the outbox."""

    VISIT = "visit"
    CONNECT = "connect"
    MESSAGE = "message"
    INMAIL = "inmail"
    WITHDRAW = "withdraw"


class ActionStatus(StrEnum):
    """Where an outbox action stands; `uncertain` is reconciled by reading LinkedIn first."""

    INTENT = "intent"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNCERTAIN = "uncertain"
    RECONCILED = "reconciled"


class SyncKind(StrEnum):
    """What is synced from LinkedIn per identity."""

    CONNECTIONS = "connections"
    CONVERSATIONS = "conversations"
    SENT_INVITATIONS = "sent_invitations"
    PROFILE = "profile"
    # Edges' limits endpoint, read at most once a day per action (the answer is kept in `cursor`)
    LIMITS_VISIT = "limits:visit"
    LIMITS_CONNECT = "limits:connect"
    LIMITS_MESSAGE = "limits:message"
    LIMITS_INMAIL = "limits:inmail"


class TimezoneSource(StrEnum):
    """Where a lead's time zone came from."""

    EXPLICIT = "explicit"
    CITY = "city"
    REGION = "region"
    COUNTRY = "country"
    CAMPAIGN = "campaign"
    UNKNOWN = "unknown"
