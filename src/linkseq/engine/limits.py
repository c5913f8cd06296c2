"""Edges' limits endpoint: read at most once a day per identity and action, kept, applied.

Edges counts every action it performs for an identity, including those another tool (or a
person) made through it; its answer corrects linkseq's local count from the outbox. Reading it
costs a call, so the answer is fetched at most once every `every` (a day) per identity and
action and kept in `sync_state` (kind `limits:<action>`, the rows as JSON in `cursor`). The
planner applies it with `planning.quota.apply_remote_limits`: local sends after the observation
are subtracted from Edges' `remaining`, and an observation older than its window is ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.orm import Session

from linkseq.clock import ensure_utc
from linkseq.edges import AuthenticationError, AuthExpired, EdgesClient, EdgesError, NoValidAccount
from linkseq.engine.quotas import RemoteLimits
from linkseq.engine.sync import put_sync_row, sync_row
from linkseq.planning.quota import DAY, Action, RemoteLimit
from linkseq.store.enums import SyncKind
from linkseq.store.models import Identity

__all__ = ["ACTION_SLUGS", "load_remote_limits", "parse_window", "refresh_remote_limits"]

log = structlog.get_logger("linkseq.engine")

ACTION_SLUGS: dict[Action, str] = {
    Action.visit: "linkedin-visit-profile",
    Action.connect: "linkedin-connect-profile",
    Action.message: "linkedin-message-profile",
    Action.inmail: "linkedin-inmail-profile",
}
_KINDS: dict[Action, SyncKind] = {
    Action.visit: SyncKind.LIMITS_VISIT,
    Action.connect: SyncKind.LIMITS_CONNECT,
    Action.message: SyncKind.LIMITS_MESSAGE,
    Action.inmail: SyncKind.LIMITS_INMAIL,
}
_WINDOW = re.compile(r"^\s*(\d+)\s*([hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_window(text: str | None) -> timedelta:
    """`24h`, `7d`, `31d`, `1w` as a timedelta; anything else reads as a day."""
    match = _WINDOW.match(text or "")
    if match is None:
        return DAY
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def _rows_to_limits(rows: Iterable[dict[str, Any]], observed_at: datetime) -> list[RemoteLimit]:
    out: list[RemoteLimit] = []
    for row in rows:
        limit, remaining = row.get("limit"), row.get("remaining")
        if limit is None or remaining is None:
            continue
        slot = row.get("next_slot_at")
        out.append(
            RemoteLimit(
                window=parse_window(row.get("window")),
                limit=int(limit),
                remaining=int(remaining),
                observed_at=observed_at,
                next_slot_at=ensure_utc(datetime.fromisoformat(slot)) if slot else None,
            )
        )
    return out


def load_remote_limits(session: Session, identity_id: int) -> RemoteLimits:
    """The kept answers of the limits endpoint for the identity, by action."""
    out: RemoteLimits = {}
    for action, kind in _KINDS.items():
        row = sync_row(session, identity_id, kind)
        if row is None or row.last_synced_at is None or not row.cursor:
            continue
        try:
            rows = json.loads(row.cursor)
        except ValueError:
            continue
        limits = _rows_to_limits(rows, ensure_utc(row.last_synced_at))
        if limits:
            out[action] = limits
    return out


def refresh_remote_limits(
    session: Session,
    client: EdgesClient,
    identity: Identity,
    actions: Iterable[Action],
    *,
    now: datetime,
    every: timedelta = DAY,
) -> list[Action]:
    """Ask Edges for the limits of `actions` whose kept answer is older than `every`.

    Returns the actions refreshed. A refusal other than an authentication problem is kept as
    an empty answer, so the endpoint is not asked again before `every` has passed.
    """
    done: list[Action] = []
    for action in actions:
        kind = _KINDS[action]
        row = sync_row(session, identity.id, kind)
        last = row.last_synced_at if row is not None else None
        if last is not None and ensure_utc(last) + every > now:
            continue
        try:
            answer = client.identities.limits(identity.uid, ACTION_SLUGS[action])
            rows = [limit.model_dump(mode="json") for limit in answer.limits]
        except (AuthExpired, NoValidAccount, AuthenticationError):
            raise
        except EdgesError as exc:
            log.info("engine.limits_unavailable", identity=identity.name, error=str(exc))
            rows = []
        put_sync_row(session, identity.id, kind, now, cursor=json.dumps(rows))
        done.append(action)
    return done
