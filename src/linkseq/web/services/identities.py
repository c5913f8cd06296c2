"""Identities: session status, today's quota use against each limit, ramp-up, invitations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.engine.config import EngineConfig
from linkseq.engine.limits import load_remote_limits
from linkseq.engine.quotas import Sends, quotas_of, recent_sends
from linkseq.engine.sync import hold_sync_rows, pending_invitations
from linkseq.planning.quota import (
    DAY,
    RAMP_UP_DAYS,
    AccountLevel,
    Action,
    ramp_up_limit,
)
from linkseq.planning.quota import smart_limit as full_limit
from linkseq.store.enums import (
    EnrollmentState,
    SyncKind,
)
from linkseq.store.models import (
    ActionHold,
    Enrollment,
    Identity,
    SyncState,
)
from linkseq.web.services.views import IdentityView, QuotaUse

__all__ = ["identity_list", "identity_views"]


def identity_views(session: Session, *, now: datetime, config: EngineConfig) -> list[IdentityView]:
    """Every identity with today's quota use against its limits."""
    identities = list(session.scalars(sa.select(Identity).order_by(Identity.name, Identity.id)))
    invited = dict(
        session.execute(
            sa.select(Enrollment.identity_id, sa.func.count())
            .where(Enrollment.state == EnrollmentState.INVITED)
            .group_by(Enrollment.identity_id)
        ).all()
    )
    synced: dict[int, dict[str, datetime | None]] = {}
    rows: dict[int, list[SyncState]] = {}
    for row in session.scalars(sa.select(SyncState)):
        synced.setdefault(row.identity_id, {})[SyncKind(row.kind).value] = row.last_synced_at
        rows.setdefault(row.identity_id, []).append(row)
    ids = [i.id for i in identities]
    for identity_id in ids:  # read above: held, not read again per identity
        hold_sync_rows(session, identity_id, rows.get(identity_id, []))
    # Edges' kept answers, each identity's own; the sends read once for every identity without
    # one, and as the engine reads them (back to its answers' windows) for the others
    remote = {i: load_remote_limits(session, i) for i in ids}
    sends = recent_sends(session, [i for i in ids if not remote[i]], now)
    for identity_id in ids:
        if remote[identity_id]:
            sends |= recent_sends(session, [identity_id], now, remote=remote[identity_id])
    holds = _holds(session, ids, now)
    views = []
    for identity in identities:
        mine = sends.get(identity.id, Sends())
        # the engine's own count (the cap holds invitations on it)
        pending = pending_invitations(session, identity.id)
        quotas, _ = quotas_of(
            identity,
            mine,
            holds.get(identity.id, {}),
            now=now,
            config=config,
            campaign_caps={},
            remote=remote[identity.id],
            pending_invitations=pending,
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
            times = mine.per_action.get(action, [])
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
                pending_invitations=pending,
                invited_leads=int(invited.get(identity.id, 0)),
                last_synced=synced.get(identity.id, {}),
            )
        )
    return views


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
