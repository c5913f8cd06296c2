"""What `planning.assign` needs from the database: each identity's free capacity and load.

- Free capacity: the invitations an identity may still send over the next `HORIZON_DAYS` days,
  ramp-up included (a never-synced identity is taken to start its ramp-up now), within the
  campaign's own daily cap and the weekly invitation cap, less what it sent in the windows
  that overlap the horizon. Invitations are what a new lead needs first, so they set the pace.
- Load: the campaign's leads the identity holds that are not yet contacted (`NOT_CONTACTED`).

Five days is the ramp-up's length: over a week, the weekly cap (100) would hide the ramp-up
(5+10+15+20+25+25+25 > 100), and a ramping identity would count as much as a full one.

The SQL that matters (the sends that overlap the horizon, per identity):

    SELECT o.identity_id, count(*) FILTER (stamp > now - 24h), count(*) FILTER (...)
    FROM outbox_actions o LEFT JOIN enrollments e ON e.id = o.enrollment_id
    WHERE o.identity_id IN (...) AND o.kind = 'connect' AND o.status IN (...)
      AND coalesce(o.sent_at, o.created_at) > now - 2 days GROUP BY o.identity_id

(written with `sum(CASE ...)`, which SQLite and PostgreSQL both read).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.planning.assign import IdentitySlot
from linkseq.planning.quota import DAY, AccountLevel, Action, ramp_up_limit, smart_limit
from linkseq.store.enums import ActionKind, ActionStatus, EnrollmentState, IdentityStatus
from linkseq.store.models import Campaign, CampaignIdentity, Enrollment, Identity, OutboxAction

__all__ = [
    "HORIZON_DAYS",
    "NOT_CONTACTED",
    "identity_key",
    "identity_slots",
    "invitation_capacity",
    "pending_load",
]

HORIZON_DAYS = 5
_WEEK_DAYS = 7
# as `engine.quotas` counts them: an action in flight may have reached LinkedIn
_COUNTED = (
    ActionStatus.SENT,
    ActionStatus.RECONCILED,
    ActionStatus.SENDING,
    ActionStatus.UNCERTAIN,
)
_OPEN = (EnrollmentState.NEW, EnrollmentState.READY)

# A lead not yet contacted by its identity: `new` or `ready` (or paused from one of them), and
# no outbox action for the enrollment that may have reached LinkedIn (a refused one, `failed`,
# did not: its key was freed). A `new` lead held in cooldown has a conversation with its
# identity: it stays with it too.
NOT_CONTACTED: sa.ColumnElement[bool] = sa.and_(
    sa.or_(
        Enrollment.state.in_(_OPEN),
        sa.and_(
            Enrollment.state == EnrollmentState.PAUSED,
            Enrollment.paused_from_state.in_(_OPEN),
        ),
    ),
    ~sa.exists().where(
        OutboxAction.enrollment_id == Enrollment.id,
        OutboxAction.status != ActionStatus.FAILED,
    ),
    sa.or_(Enrollment.reason.is_(None), ~Enrollment.reason.like("cooldown%")),
)


def identity_key(identity_id: int) -> str:
    """The key of an identity in `planning.assign` (zero-padded: string order is id order)."""
    return f"{identity_id:012d}"


def invitation_capacity(
    *,
    level: AccountLevel,
    first_sync_at: datetime | None,
    now: datetime,
    sent_last_day: int = 0,
    sent_before_horizon: int = 0,
    campaign_sent_last_day: int = 0,
    campaign_daily_cap: int | None = None,
    weekly_invitation_cap: int = 100,
    days: int = HORIZON_DAYS,
) -> int:
    """Invitations one identity may send over the next `days` days (never negative).

    `sent_last_day`: its invitations in the last 24 h (they use today's room);
    `sent_before_horizon`: those in the last `7 - days` days (they stay in the weekly window
    that ends with the horizon); `campaign_sent_last_day`: the campaign's share of today's.
    """
    full, _ = smart_limit(Action.connect, level)
    start = first_sync_at or now  # never synced: its ramp-up starts at its first pass

    def room(day: int) -> int:
        limit = ramp_up_limit(full, start, now + day * DAY)
        if campaign_daily_cap is not None:
            limit = min(limit, campaign_daily_cap)
        return limit

    today = room(0) - sent_last_day
    if campaign_daily_cap is not None:
        today = min(today, campaign_daily_cap - campaign_sent_last_day)
    total = max(0, today) + sum(room(d) for d in range(1, days))
    weekly = max(0, weekly_invitation_cap - sent_before_horizon) if days < _WEEK_DAYS else None
    if weekly is not None:
        total = min(total, weekly)
    return max(0, total)


def _campaign_cap(campaign: Campaign) -> int | None:
    caps = (campaign.spec or {}).get("caps") or {}
    value = caps.get("connect") if isinstance(caps, dict) else None
    return int(value) if isinstance(value, int) else None


def identity_slots(
    session: Session,
    campaign: Campaign,
    *,
    now: datetime,
    weekly_invitation_cap: int = 100,
) -> list[IdentitySlot]:
    """Each identity of the campaign, its free invitation capacity, and whether it is active."""
    identities = list(
        session.scalars(
            sa.select(Identity)
            .join(CampaignIdentity, CampaignIdentity.identity_id == Identity.id)
            .where(CampaignIdentity.campaign_id == campaign.id)
            .order_by(Identity.id)
        )
    )
    if not identities:
        return []
    sent = _recent_invitations(session, [i.id for i in identities], campaign.id, now)
    cap = _campaign_cap(campaign)
    slots: list[IdentitySlot] = []
    for identity in identities:
        day, before, mine = sent.get(identity.id, (0, 0, 0))
        capacity = invitation_capacity(
            level=AccountLevel.parse(identity.level.value),
            first_sync_at=identity.first_sync_at,
            now=now,
            sent_last_day=day,
            sent_before_horizon=before,
            campaign_sent_last_day=mine,
            campaign_daily_cap=cap,
            weekly_invitation_cap=weekly_invitation_cap,
        )
        active = identity.status is IdentityStatus.ACTIVE
        slots.append(IdentitySlot(identity_key(identity.id), capacity, active))
    return slots


def _recent_invitations(
    session: Session, identity_ids: Sequence[int], campaign_id: int, now: datetime
) -> dict[int, tuple[int, int, int]]:
    stamp = sa.func.coalesce(OutboxAction.sent_at, OutboxAction.created_at)
    day_ago = now - DAY
    horizon_ago = now - timedelta(days=_WEEK_DAYS - HORIZON_DAYS)
    since = min(day_ago, horizon_ago)

    def count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    rows = session.execute(
        sa.select(
            OutboxAction.identity_id,
            count(stamp > day_ago),
            count(stamp > horizon_ago),
            count(sa.and_(stamp > day_ago, Enrollment.campaign_id == campaign_id)),
        )
        .outerjoin(Enrollment, Enrollment.id == OutboxAction.enrollment_id)
        .where(
            OutboxAction.identity_id.in_(list(identity_ids)),
            OutboxAction.kind == ActionKind.CONNECT,
            OutboxAction.status.in_(_COUNTED),
            stamp > since,
        )
        .group_by(OutboxAction.identity_id)
    ).all()
    return {row[0]: (int(row[1] or 0), int(row[2] or 0), int(row[3] or 0)) for row in rows}


def pending_load(session: Session, campaign_id: int) -> dict[str, int]:
    """The campaign's not-yet-contacted leads each identity holds, by identity key."""
    rows = session.execute(
        sa.select(Enrollment.identity_id, sa.func.count())
        .where(Enrollment.campaign_id == campaign_id, NOT_CONTACTED)
        .group_by(Enrollment.identity_id)
    ).all()
    return {identity_key(identity_id): int(n) for identity_id, n in rows}
