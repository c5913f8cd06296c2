"""Identities: session status, today's quota use against each limit, ramp-up, invitations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.engine.config import EngineConfig
from linkseq.engine.quotas import COUNTED, OUTREACH
from linkseq.planning.quota import (
    DAY,
    INMAIL_WINDOW,
    RAMP_UP_DAYS,
    WEEK,
    AccountLevel,
    Action,
    QuotaStatus,
    quota_status,
    ramp_up_limit,
)
from linkseq.planning.quota import smart_limit as full_limit
from linkseq.store.enums import (
    ActionKind,
    ActionStatus,
    EnrollmentState,
    SyncKind,
)
from linkseq.store.models import (
    ActionHold,
    Enrollment,
    Identity,
    OutboxAction,
    SentInvitation,
    SyncState,
)
from linkseq.web.services.views import IdentityView, QuotaUse

__all__ = ["identity_list", "identity_views"]


def identity_views(session: Session, *, now: datetime, config: EngineConfig) -> list[IdentityView]:
    """Every identity with today's quota use against its limits."""
    identities = list(session.scalars(sa.select(Identity).order_by(Identity.name, Identity.id)))
    pending = dict(
        session.execute(
            sa.select(SentInvitation.identity_id, sa.func.count())
            .where(SentInvitation.withdrawn_at.is_(None))
            .group_by(SentInvitation.identity_id)
        ).all()
    )
    invited = dict(
        session.execute(
            sa.select(Enrollment.identity_id, sa.func.count())
            .where(Enrollment.state == EnrollmentState.INVITED)
            .group_by(Enrollment.identity_id)
        ).all()
    )
    synced: dict[int, dict[str, datetime | None]] = {}
    for row in session.scalars(sa.select(SyncState)):
        synced.setdefault(row.identity_id, {})[SyncKind(row.kind).value] = row.last_synced_at
    ids = [i.id for i in identities]
    sends = _recent_sends(session, ids, now)
    holds = _holds(session, ids, now)
    views = []
    for identity in identities:
        quotas = _quotas(
            identity, sends.get(identity.id, {}), holds.get(identity.id, {}), now, config
        )
        level = AccountLevel.parse(identity.level.value)
        uses = []
        for action in Action:
            full, window = full_limit(action, level, messages_per_day=config.messages_per_day)
            # InMail credits do not ramp up; every other Smart Limit does (days 1..5)
            limit = (
                full
                if action is Action.inmail
                else ramp_up_limit(full, identity.first_sync_at, now)
            )
            status = quotas[action]
            times = sends.get(identity.id, {}).get(action, [])
            uses.append(
                QuotaUse(
                    action=action.value,
                    used=sum(1 for t in times if t > now - window),
                    limit=limit,
                    full_limit=full,
                    remaining=status.remaining,
                    binding=status.binding,
                    next_slot_at=status.next_slot_at,
                )
            )
        day = None
        if identity.first_sync_at is not None:
            day = max(1, (now - identity.first_sync_at) // DAY + 1)
        views.append(
            IdentityView(
                id=identity.id,
                uid=identity.uid,
                name=identity.name,
                level=identity.level.value,
                status=identity.status.value,
                status_reason=identity.status_reason,
                timezone=identity.timezone,
                ramp_up_day=day,
                ramping=day is None or day < RAMP_UP_DAYS,
                quotas=uses,
                pending_invitations=int(pending.get(identity.id, 0)),
                invited_leads=int(invited.get(identity.id, 0)),
                last_synced=synced.get(identity.id, {}),
            )
        )
    return views


def _quotas(
    identity: Identity,
    sends: dict[Action, list[datetime]],
    holds: dict[str, datetime],
    now: datetime,
    config: EngineConfig,
) -> dict[Action, QuotaStatus]:
    """`engine.quotas.identity_quotas` without campaign caps, from rows read for every identity."""
    level = AccountLevel.parse(identity.level.value)
    quotas = {}
    for action in Action:
        until = max(
            (at for at in (holds.get(action.value), holds.get("*")) if at is not None),
            default=None,
        )
        quotas[action] = quota_status(
            action=action,
            level=level,
            now=now,
            sent_times=sends.get(action, []),
            first_sync_at=identity.first_sync_at,
            messages_per_day=config.messages_per_day,
            weekly_invitation_cap=config.weekly_invitation_cap,
            postponed_until=until,
        )
    return quotas


def _recent_sends(
    session: Session, identity_ids: Sequence[int], now: datetime
) -> dict[int, dict[Action, list[datetime]]]:
    """Every identity's outreach in its quota windows, as `engine.quotas` reads it per identity.

    The engine counts an action at coalesce(sent_at, created_at) when it is in flight or reached
    LinkedIn, within 7 days (InMails: sent within 31). Written as three ranges of
    `ix_outbox_actions_quota` (identity_id, kind, sent_at), in one statement for every identity:

        SELECT identity_id, kind, status, sent_at FROM outbox_actions
        WHERE identity_id IN (...) AND kind IN (...) AND sent_at > :week_ago
        UNION ALL SELECT ..., created_at ... AND sent_at IS NULL AND created_at > :week_ago
        UNION ALL SELECT ..., sent_at ... AND kind = 'inmail'
                                          AND sent_at > :inmail_window_ago AND sent_at <= :week_ago

    The status is checked here, not in SQL: a status IN list made SQLite pick
    `ix_outbox_actions_status` and read each identity's whole history.
    """
    out: dict[int, dict[Action, list[datetime]]] = {}
    if not identity_ids:
        return out
    week_ago, inmail_ago = now - WEEK, now - INMAIL_WINDOW
    mine = [OutboxAction.identity_id.in_(list(identity_ids))]
    kinds = OutboxAction.kind.in_(list(OUTREACH))
    columns = (OutboxAction.identity_id, OutboxAction.kind, OutboxAction.status)
    query: sa.CompoundSelect[int, ActionKind, ActionStatus, datetime] = sa.union_all(
        sa.select(*columns, OutboxAction.sent_at).where(
            *mine, kinds, OutboxAction.sent_at > week_ago
        ),
        sa.select(*columns, OutboxAction.created_at).where(
            *mine, kinds, OutboxAction.sent_at.is_(None), OutboxAction.created_at > week_ago
        ),
        sa.select(*columns, OutboxAction.sent_at).where(
            *mine,
            OutboxAction.kind == ActionKind.INMAIL,
            OutboxAction.sent_at > inmail_ago,
            OutboxAction.sent_at <= week_ago,
        ),
    )
    for identity_id, kind, status, at in session.execute(query):
        if ActionStatus(status) in COUNTED:
            action = OUTREACH[ActionKind(kind)]
            out.setdefault(identity_id, {}).setdefault(action, []).append(at)
    return out


def _holds(
    session: Session, identity_ids: Sequence[int], now: datetime
) -> dict[int, dict[str, datetime]]:
    """Holds in force per identity and action (`*`: every action)."""
    out: dict[int, dict[str, datetime]] = {}
    for hold in session.scalars(
        sa.select(ActionHold).where(
            ActionHold.identity_id.in_(list(identity_ids)), ActionHold.until > now
        )
    ):
        out.setdefault(hold.identity_id, {})[hold.action] = hold.until
    return out


def identity_list(session: Session) -> list[tuple[int, str]]:
    """(id, name) of every identity (for filters)."""
    return list(session.execute(sa.select(Identity.id, Identity.name).order_by(Identity.name)))
