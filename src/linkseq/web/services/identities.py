"""Identities: session status, today's quota use against each limit, ramp-up, invitations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.engine.config import EngineConfig
from linkseq.engine.quotas import identity_quotas
from linkseq.planning.quota import (
    DAY,
    INMAIL_WINDOW,
    RAMP_UP_DAYS,
    AccountLevel,
    Action,
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
    Enrollment,
    Identity,
    OutboxAction,
    SentInvitation,
    SyncState,
)
from linkseq.web.services.views import DONE, IdentityView, QuotaUse

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
    used = _used_in_windows(session, now, [i.id for i in identities])
    views = []
    for identity in identities:
        quotas, _ = identity_quotas(
            session, identity=identity, now=now, config=config, campaign_caps={}
        )
        level = AccountLevel.parse(identity.level.value)
        uses = []
        for action in Action:
            full, _window = full_limit(action, level, messages_per_day=config.messages_per_day)
            # InMail credits do not ramp up; every other Smart Limit does (days 1..5)
            limit = (
                full
                if action is Action.inmail
                else ramp_up_limit(full, identity.first_sync_at, now)
            )
            status = quotas[action]
            uses.append(
                QuotaUse(
                    action=action.value,
                    used=used.get((identity.id, action), 0),
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


def _used_in_windows(
    session: Session, now: datetime, identity_ids: Sequence[int]
) -> dict[tuple[int, Action], int]:
    """Sends per (identity, action) in each action's rolling window, as the quotas count them."""
    counted = [*DONE, ActionStatus.SENDING, ActionStatus.UNCERTAIN]
    kinds = {
        ActionKind.VISIT: Action.visit,
        ActionKind.CONNECT: Action.connect,
        ActionKind.MESSAGE: Action.message,
        ActionKind.INMAIL: Action.inmail,
    }
    used: dict[tuple[int, Action], int] = {}
    if not identity_ids:
        return used
    for window_kinds, window in (
        ([ActionKind.VISIT, ActionKind.CONNECT, ActionKind.MESSAGE], DAY),
        ([ActionKind.INMAIL], INMAIL_WINDOW),
    ):
        since = now - window
        # one identity per query: `identity_id = ? AND kind IN (...)` + either branch of the window
        # is a range of ix_outbox_actions_quota (an IN list on identity_id made SQLite scan)
        for identity_id in identity_ids:
            for kind, n in session.execute(
                sa.select(OutboxAction.kind, sa.func.count())
                .where(
                    OutboxAction.identity_id == identity_id,
                    OutboxAction.kind.in_(window_kinds),
                    OutboxAction.status.in_(counted),
                    sa.or_(
                        OutboxAction.sent_at > since,
                        sa.and_(OutboxAction.sent_at.is_(None), OutboxAction.created_at > since),
                    ),
                )
                .group_by(OutboxAction.kind)
            ):
                used[(identity_id, kinds[ActionKind(kind)])] = n
    return used


def identity_list(session: Session) -> list[tuple[int, str]]:
    """(id, name) of every identity (for filters)."""
    return list(session.execute(sa.select(Identity.id, Identity.name).order_by(Identity.name)))
