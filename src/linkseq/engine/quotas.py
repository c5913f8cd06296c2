"""What each identity may still send now: local counts from the outbox, Edges' holds, caps.

The SQL that matters is `recent_sends` (range scans of `ix_outbox_actions_quota`).

Actions in flight (`sending`, `uncertain`) count too: they may have reached LinkedIn.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.engine.config import EngineConfig
from linkseq.engine.outbox import hold_times
from linkseq.planning.quota import (
    DAY,
    INMAIL_WINDOW,
    WEEK,
    AccountLevel,
    Action,
    QuotaStatus,
    RemoteLimit,
    apply_remote_limits,
    quota_status,
)
from linkseq.store import fast
from linkseq.store.enums import ActionKind, ActionStatus
from linkseq.store.models import Enrollment, Identity, OutboxAction

__all__ = [
    "COUNTED",
    "OUTREACH",
    "RemoteLimits",
    "Sends",
    "identity_quotas",
    "quotas_of",
    "recent_sends",
]

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


@dataclass(frozen=True, slots=True)
class Sends:
    """One identity's counted outreach in its quota windows: per action, and per campaign."""

    per_action: dict[Action, list[datetime]] = field(default_factory=dict)
    per_campaign: dict[tuple[int, Action], list[datetime]] = field(default_factory=dict)


def _branch(stamp: Any, *where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    return (
        sa.select(
            OutboxAction.identity_id,
            OutboxAction.kind,
            OutboxAction.status,
            stamp,
            Enrollment.campaign_id,
        )
        .outerjoin(Enrollment, Enrollment.id == OutboxAction.enrollment_id)
        .where(OutboxAction.identity_id.in_(sa.bindparam("ids", expanding=True)), *where)
    )


# How far back each action is read: its longest window (visits and messages a day, invitations
# a week for the weekly cap, InMails their credit window), by bind parameter.
_READ_BACK: dict[str, tuple[timedelta, tuple[Action, ...]]] = {
    "connect_ago": (WEEK, (Action.connect,)),
    "daily_ago": (DAY, (Action.visit, Action.message)),
    "inmail_ago": (INMAIL_WINDOW, (Action.inmail,)),
}
_KIND_OF = {action: kind for kind, action in OUTREACH.items()}
# a row's status and kind, as members or as their stored text (StrEnum: both hash alike)
_COUNTED = frozenset(COUNTED)
_ACTION_OF: dict[str, Action] = {kind.value: action for kind, action in OUTREACH.items()}


def _sends_of(actions: frozenset[Action]) -> sa.CompoundSelect[Any]:
    """The statement that reads the counted sends of `actions` (its branches only: a check of
    one action reads that action's rows, not the week of invitations beside it)."""
    kinds = sorted(_KIND_OF[a] for a in actions if a in _KIND_OF)
    branches = [
        _branch(
            OutboxAction.sent_at,
            OutboxAction.kind.in_([_KIND_OF[a] for a in read if a in actions]),
            OutboxAction.sent_at > sa.bindparam(name),
        )
        for name, (_, read) in _READ_BACK.items()
        if any(a in actions for a in read)
    ]
    branches.append(
        _branch(
            OutboxAction.created_at,
            OutboxAction.kind.in_(kinds),
            OutboxAction.sent_at.is_(None),
            OutboxAction.created_at > sa.bindparam("flight_ago"),
        )
    )
    return sa.union_all(*branches)


# built once per set of actions (constructing one cost more than running it): every action's,
# and one action's for a check of that action alone
_ALL_ACTIONS = frozenset(OUTREACH.values())
_SENDS_OF: dict[frozenset[Action], sa.CompoundSelect[Any]] = {_ALL_ACTIONS: _sends_of(_ALL_ACTIONS)}


def _reach(
    now: datetime, window: timedelta, actions: Sequence[Action], remote: RemoteLimits | None
) -> datetime:
    """How far back `actions` must be read: their own `window`, or the start of the oldest
    window an answer of Edges' limits endpoint counted for them (the identity's own sends must
    not look like another tool's)."""
    starts = [r.observed_at - r.window for a in actions for r in (remote or {}).get(a, [])]
    return min([now - window, *starts])


def recent_sends(
    session: Session,
    identity_ids: Sequence[int],
    now: datetime,
    *,
    remote: RemoteLimits | None = None,
    actions: Collection[Action] | None = None,
) -> dict[int, Sends]:
    """Each identity's outreach that counts against its quotas now, in one statement
    (`actions`: only theirs).

    An action counts at coalesce(sent_at, created_at) when it is in flight or reached LinkedIn,
    within its longest window: 24 h for visits and messages, 7 days for invitations (the weekly
    cap), ~31 days for InMails; with `remote`, back to the start of the oldest window Edges
    counted for the action, so that the identity's own sends are recognised in its answer.
    Written as four ranges of `ix_outbox_actions_quota` (identity_id, kind, sent_at):

        SELECT identity_id, kind, status, sent_at, campaign_id FROM outbox_actions
          LEFT JOIN enrollments ON ...
        WHERE identity_id IN (...) AND kind = 'connect' AND sent_at > :connect_ago
        UNION ALL SELECT ... AND kind IN ('visit', 'message') AND sent_at > :daily_ago
        UNION ALL SELECT ... AND kind = 'inmail' AND sent_at > :inmail_ago
        UNION ALL SELECT ..., created_at ... AND sent_at IS NULL AND created_at > :flight_ago

    The status is checked here, not in SQL, and there is no OR: either made SQLite read each
    identity's whole history (a status IN list picks `ix_outbox_actions_status`; an OR of the
    branches defeats the range scan).
    """
    out: dict[int, Sends] = {}
    if not identity_ids:
        return out
    reach = {name: _reach(now, window, read, remote) for name, (window, read) in _READ_BACK.items()}
    # in flight (no sent_at yet): a week back, as far as the daily and weekly windows reach
    flight_ago = min(reach["connect_ago"], reach["daily_ago"])
    params = {"ids": list(identity_ids), "flight_ago": flight_ago, **reach}
    # (a week of an identity's sends per plan: plain dict lookups, no enum construction per row)
    wanted = _ALL_ACTIONS if actions is None else frozenset(actions) & _ALL_ACTIONS
    if not wanted:
        return out
    statement = _SENDS_OF.get(wanted)
    if statement is None:
        statement = _SENDS_OF[wanted] = _sends_of(wanted)
    for identity_id, kind, status, at, campaign_id in fast.rows(session, statement, params):
        if status not in _COUNTED:
            continue
        action = _ACTION_OF[kind]
        sends = out.get(identity_id)
        if sends is None:
            sends = out[identity_id] = Sends()
        sends.per_action.setdefault(action, []).append(at)
        if campaign_id is not None:
            sends.per_campaign.setdefault((campaign_id, action), []).append(at)
    return out


def identity_quotas(
    session: Session,
    *,
    identity: Identity,
    now: datetime,
    config: EngineConfig,
    campaign_caps: dict[int, dict[Action, int | None]],
    remote: RemoteLimits | None,
    pending_invitations: int | None = None,
    actions: Collection[Action] | None = None,
) -> tuple[dict[Action, QuotaStatus], dict[tuple[int, Action], QuotaStatus]]:
    """Every limit on the identity's actions now, and each campaign's own daily caps
    (`actions`: only theirs, read and counted alone; a send's own check).

    `remote`: Edges' kept answers for the identity (`limits.load_remote_limits`), asked of
    every caller (a send checked without them can go over what Edges counted); None where none
    can apply."""
    sends = recent_sends(session, [identity.id], now, remote=remote, actions=actions)
    mine = sends.get(identity.id, Sends())
    holds = hold_times(session, identity.id, now)
    return quotas_of(
        identity,
        mine,
        holds,
        now=now,
        config=config,
        campaign_caps=campaign_caps,
        remote=remote,
        pending_invitations=pending_invitations,
        actions=actions,
    )


def quotas_of(
    identity: Identity,
    sends: Sends,
    holds: dict[str, datetime],
    *,
    now: datetime,
    config: EngineConfig,
    campaign_caps: dict[int, dict[Action, int | None]],
    remote: RemoteLimits | None = None,
    pending_invitations: int | None = None,
    actions: Collection[Action] | None = None,
) -> tuple[dict[Action, QuotaStatus], dict[tuple[int, Action], QuotaStatus]]:
    """The quotas from what was read: `sends`, `holds` in force by action (`*`: every action);
    with `actions`, theirs only (`sends` need hold no other).

    `remote` (Edges' limits endpoint) corrects the local counts: the more conservative wins.
    `pending_invitations` leaves room for at most the configured cap minus that many new
    invitations (no slot is known beyond: an acceptance or a withdrawal frees one, which a sync
    sees).
    """
    per_action, per_campaign = sends.per_action, sends.per_campaign
    everything = holds.get("*")
    level = AccountLevel.parse(identity.level.value)
    quotas: dict[Action, QuotaStatus] = {}
    for action in Action if actions is None else actions:
        hold = holds.get(action.value)
        until = max((h for h in (hold, everything) if h is not None), default=None)
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
    if pending_invitations is not None and Action.connect in quotas:
        room = max(0, config.pending_invitations_cap - pending_invitations)
        status = quotas[Action.connect]
        if room == 0 or room < status.remaining:
            # withdrawals (or acceptances) free room; the next sync says when
            quotas[Action.connect] = QuotaStatus(room, None, "pending_invitations_cap")
        elif len(status.frees) > room - status.remaining:
            # the slots the windows free beyond the room are no slots
            quotas[Action.connect] = replace(status, frees=status.frees[: room - status.remaining])
    caps: dict[tuple[int, Action], QuotaStatus] = {}
    for campaign_id, by_action in campaign_caps.items():
        for action, cap in by_action.items():
            if cap is None or action not in quotas:
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
