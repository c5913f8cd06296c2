"""What each identity may still send now: local counts from the outbox, Edges' holds, caps.

The SQL that matters (one range scan on `ix_outbox_actions_quota`):

    SELECT kind, sent_at FROM outbox_actions
    WHERE identity_id = :id AND sent_at > :week_ago
      AND kind IN ('visit', 'connect', 'message', 'inmail')

Actions in flight (`sending`, `uncertain`) count too: they may have reached LinkedIn.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.engine.config import EngineConfig
from linkseq.engine.outbox import holds_for
from linkseq.planning.quota import (
    INMAIL_WINDOW,
    WEEK,
    AccountLevel,
    Action,
    QuotaStatus,
    RemoteLimit,
    apply_remote_limits,
    quota_status,
)
from linkseq.store.enums import ActionKind, ActionStatus
from linkseq.store.models import Enrollment, Identity, OutboxAction

__all__ = ["OUTREACH", "RemoteLimits", "identity_quotas", "last_action_at"]

# Edges' answers of its limits endpoint, by action (every window the action consumes)
RemoteLimits = dict[Action, list[RemoteLimit]]

OUTREACH = {
    ActionKind.VISIT: Action.visit,
    ActionKind.CONNECT: Action.connect,
    ActionKind.MESSAGE: Action.message,
    ActionKind.INMAIL: Action.inmail,
}
COUNTED = (
    ActionStatus.SENT,
    ActionStatus.RECONCILED,
    ActionStatus.SENDING,
    ActionStatus.UNCERTAIN,
)


def _sent_times(
    session: Session, identity_id: int, since: datetime
) -> tuple[dict[Action, list[datetime]], dict[tuple[int, Action], list[datetime]]]:
    stamp = sa.func.coalesce(OutboxAction.sent_at, OutboxAction.created_at)
    rows = session.execute(
        sa.select(OutboxAction.kind, stamp, Enrollment.campaign_id)
        .outerjoin(Enrollment, Enrollment.id == OutboxAction.enrollment_id)
        .where(
            OutboxAction.identity_id == identity_id,
            OutboxAction.kind.in_(list(OUTREACH)),
            OutboxAction.status.in_(COUNTED),
            # = coalesce(sent_at, created_at) > since, written so that both branches are range
            # scans of ix_outbox_actions_quota (identity_id, kind, sent_at): a coalesce is opaque
            # to the index and made every pass read the identity's whole history. InMail's
            # window is ~31 days, the others' at most 7: each kind is read as far back as needed.
            sa.or_(
                OutboxAction.sent_at > since,
                sa.and_(OutboxAction.sent_at.is_(None), OutboxAction.created_at > since),
                sa.and_(
                    OutboxAction.kind == ActionKind.INMAIL,
                    OutboxAction.sent_at > since - (INMAIL_WINDOW - WEEK),
                ),
            ),
        )
    ).all()
    per_action: dict[Action, list[datetime]] = defaultdict(list)
    per_campaign: dict[tuple[int, Action], list[datetime]] = defaultdict(list)
    for kind, at, campaign_id in rows:
        action = OUTREACH[ActionKind(kind)]
        per_action[action].append(at)
        if campaign_id is not None:
            per_campaign[(campaign_id, action)].append(at)
    return per_action, per_campaign


def identity_quotas(
    session: Session,
    *,
    identity: Identity,
    now: datetime,
    config: EngineConfig,
    campaign_caps: dict[int, dict[Action, int | None]],
    remote: RemoteLimits | None = None,
    pending_invitations: int | None = None,
) -> tuple[dict[Action, QuotaStatus], dict[tuple[int, Action], QuotaStatus]]:
    """Every limit on the identity's actions now, and each campaign's own daily caps.

    `remote` (Edges' limits endpoint) corrects the local counts: the more conservative wins.
    `pending_invitations` at or above the configured cap holds new invitations.
    """
    per_action, per_campaign = _sent_times(session, identity.id, now - timedelta(days=7))
    holds = holds_for(session, identity.id, now)
    everything = holds.get("*")
    level = AccountLevel.parse(identity.level.value)
    quotas: dict[Action, QuotaStatus] = {}
    for action in Action:
        hold = holds.get(action.value)
        until = max((h.until for h in (hold, everything) if h is not None), default=None)
        quotas[action] = quota_status(
            action=action,
            level=level,
            now=now,
            sent_times=per_action.get(action, []),
            first_sync_at=identity.first_sync_at,
            messages_per_day=config.messages_per_day,
            weekly_invitation_cap=config.weekly_invitation_cap,
            postponed_until=until,
        )
        for observed in (remote or {}).get(action, []):
            quotas[action] = apply_remote_limits(
                quotas[action], observed, now=now, sent_times=per_action.get(action, [])
            )
    if pending_invitations is not None and pending_invitations >= config.pending_invitations_cap:
        # withdrawals (or acceptances) free room; the next sync says when
        quotas[Action.connect] = QuotaStatus(0, None, "pending_invitations_cap")
    caps: dict[tuple[int, Action], QuotaStatus] = {}
    for campaign_id, by_action in campaign_caps.items():
        for action, cap in by_action.items():
            if cap is None:
                continue
            caps[(campaign_id, action)] = quota_status(
                action=action,
                level=level,
                now=now,
                sent_times=per_action.get(action, []),
                first_sync_at=identity.first_sync_at,
                messages_per_day=config.messages_per_day,
                weekly_invitation_cap=config.weekly_invitation_cap,
                campaign_sent_times=per_campaign.get((campaign_id, action), []),
                campaign_daily_cap=cap,
            )
    return quotas, caps


def last_action_at(session: Session, identity_id: int) -> datetime | None:
    """When the identity last did an outreach action (for pacing)."""
    stamp = sa.func.max(sa.func.coalesce(OutboxAction.sent_at, OutboxAction.created_at))
    value: datetime | None = session.execute(
        sa.select(stamp).where(
            OutboxAction.identity_id == identity_id,
            OutboxAction.kind.in_(list(OUTREACH)),
            OutboxAction.status.in_(COUNTED),
        )
    ).scalar_one_or_none()
    if value is not None and value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value
