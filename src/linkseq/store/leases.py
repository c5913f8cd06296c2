"""Work leases: one worker per identity at a time, shared safely by many workers.

A lease row exists per identity (created on demand). A worker claims the free lease that has
waited longest, works the identity, renews while busy and releases when done. A crashed worker's
lease expires after its TTL and is claimed again.

The claim, as rendered on PostgreSQL (concurrent workers skip rows another one has locked, so no
two claim the same identity and none waits for another):

    SELECT worker_leases.identity_id FROM worker_leases
    JOIN identities ON identities.id = worker_leases.identity_id
    WHERE identities.status = 'active'
      AND (worker_leases.expires_at IS NULL OR worker_leases.expires_at <= %(now)s)
    ORDER BY worker_leases.expires_at NULLS FIRST, worker_leases.identity_id
    LIMIT 1 FOR UPDATE OF worker_leases SKIP LOCKED

then a guarded UPDATE (`... WHERE identity_id = :id AND (expires_at IS NULL OR expires_at <=
:now)`) that must change exactly one row. SQLite has no locking clause: the session began with
`BEGIN IMMEDIATE`, so the whole claim runs under the database's single write lock, and it is one
statement, the same SELECT as a subquery of the guarded UPDATE (`UPDATE worker_leases SET ...
WHERE identity_id = (SELECT ... LIMIT 1) AND (...) RETURNING identity_id`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from linkseq.clock import ensure_utc
from linkseq.store import fast
from linkseq.store.enums import IdentityStatus
from linkseq.store.models import Identity, WorkerLease

__all__ = [
    "claim_identity_lease",
    "claim_this_lease",
    "ensure_lease_rows",
    "release_lease",
    "renew_lease",
]


# Built once, run with parameters: constructing a statement costs more than running it, and a
# worker claims and releases at every pass.
# (in the identities' order: two workers inserting at once lock their rows in the same order)
_MISSING = (
    sa.select(Identity.id, sa.null(), sa.null())
    .where(~sa.exists().where(WorkerLease.identity_id == Identity.id))
    .order_by(Identity.id)
)
_COLUMNS = ["identity_id", "owner", "expires_at"]
_ENSURE_PG = (
    postgresql.insert(WorkerLease)
    .from_select(_COLUMNS, _MISSING)
    .on_conflict_do_nothing(index_elements=["identity_id"])
)
_ENSURE_LITE = (
    sqlite.insert(WorkerLease)
    .from_select(_COLUMNS, _MISSING)
    .on_conflict_do_nothing(index_elements=["identity_id"])
)


# A worker's lease statements run on a session, or on a plain connection (the worker's loop:
# none of the ORM's transaction work between two passes): `fast.Runs`
Runs = fast.Runs


def _ensure_lease_rows(session: Runs) -> None:
    """Insert a free lease row for every identity that has none (idempotent under races)."""
    if _dialect(session) == "postgresql":
        _run(session).execute(_ENSURE_PG)
    else:
        _run(session).execute(_ENSURE_LITE)


def _free(now: Any, lease: Any = WorkerLease) -> sa.ColumnElement[bool]:
    return sa.or_(lease.expires_at.is_(None), lease.expires_at <= now)


_UNTIL = sa.bindparam("until", type_=WorkerLease.expires_at.type)
_NOW = sa.bindparam("now", type_=WorkerLease.expires_at.type)
_FIRST_FREE = (
    sa.select(WorkerLease.identity_id)
    .join(Identity, Identity.id == WorkerLease.identity_id)
    .where(Identity.status == IdentityStatus.ACTIVE, _free(sa.bindparam("now")))
    .order_by(WorkerLease.expires_at.asc().nulls_first(), WorkerLease.identity_id)
    .limit(1)
)
_FIRST_FREE_LOCKED = _FIRST_FREE.with_for_update(skip_locked=True, of=WorkerLease)
_CLAIM = (
    sa.update(WorkerLease)
    .where(WorkerLease.identity_id == sa.bindparam("id"), _free(sa.bindparam("now")))
    .values(owner=sa.bindparam("b_owner"), expires_at=_UNTIL)
    .execution_options(synchronize_session=False)
)
# SQLite: the SELECT above as the UPDATE's subquery (on its own alias of the table), one statement
_WAITED = aliased(WorkerLease)
_CLAIM_FIRST = (
    sa.update(WorkerLease)
    .where(
        WorkerLease.identity_id
        == sa.select(_WAITED.identity_id)
        .join(Identity, Identity.id == _WAITED.identity_id)
        .where(Identity.status == IdentityStatus.ACTIVE, _free(_NOW, _WAITED))
        .order_by(_WAITED.expires_at.asc().nulls_first(), _WAITED.identity_id)
        .limit(1)
        .scalar_subquery(),
        _free(_NOW),
    )
    .values(owner=sa.bindparam("b_owner"), expires_at=_UNTIL)
    .returning(WorkerLease.identity_id)
    .execution_options(synchronize_session=False)
)
_MINE = sa.and_(
    WorkerLease.identity_id == sa.bindparam("id"), WorkerLease.owner == sa.bindparam("b_owner")
)
_RENEW = (
    sa.update(WorkerLease)
    .where(_MINE)
    .values(expires_at=_UNTIL)
    .execution_options(synchronize_session=False)
)
_RELEASE = (
    sa.update(WorkerLease)
    .where(_MINE)
    .values(owner=None, expires_at=_UNTIL)
    .execution_options(synchronize_session=False)
)


def ensure_lease_rows(session: Runs, *, commit: bool = True) -> None:
    """Give every identity a lease row (idempotent); commits unless `commit=False`."""
    _ensure_lease_rows(session)
    if commit:
        session.commit()


def claim_identity_lease(
    session: Runs,
    *,
    owner: str,
    now: datetime,
    ttl: timedelta,
    ensure: bool = True,
    commit: bool = True,
) -> int | None:
    """Claim the free lease of an active identity for `owner`; commit; its id, or None if none.

    `commit=False` leaves the commit to the caller (who may read more in the same transaction;
    on PostgreSQL the claimed row stays locked until then).
    """
    now = ensure_utc(now)
    identity_id = _claim_first(session, owner, now, ttl)
    if identity_id is None and ensure:
        # a new identity has no lease row yet: create the missing rows, then look again
        _ensure_lease_rows(session)
        identity_id = _claim_first(session, owner, now, ttl)
    if commit:
        session.commit()
    return identity_id


def _claim_first(session: Runs, owner: str, now: datetime, ttl: timedelta) -> int | None:
    """Claim the free lease that waited longest; its identity, or None (the caller commits)."""
    params = {"now": now, "b_owner": owner, "until": now + ttl}
    if _dialect(session) != "postgresql":
        # one statement under SQLite's write lock (the session began IMMEDIATE)
        claimed: int | None = fast.scalar(session, _CLAIM_FIRST, params)
        return claimed
    identity_id = _first_free(session, now)
    if identity_id is None:
        return None
    result = _run(session).execute(_CLAIM, {"id": identity_id, **params})
    return identity_id if _rowcount(result) == 1 else None


def _first_free(session: Runs, now: datetime) -> int | None:
    """The free lease that waited longest (locked on PostgreSQL until the caller commits)."""
    locked = _dialect(session) == "postgresql"
    query = _FIRST_FREE_LOCKED if locked else _FIRST_FREE
    return _run(session).execute(query, {"now": now}).scalar_one_or_none()


def claim_this_lease(
    session: Session, *, identity_id: int, owner: str, now: datetime, ttl: timedelta
) -> bool:
    """Claim the lease of one given identity if it is free (a one-off job such as
    `linkseq sync`); commits; False when a worker holds it."""
    now = ensure_utc(now)
    _ensure_lease_rows(session)
    result = _run(session).execute(
        _CLAIM, {"id": identity_id, "now": now, "b_owner": owner, "until": now + ttl}
    )
    session.commit()
    return _rowcount(result) == 1


def renew_lease(
    session: Session, *, identity_id: int, owner: str, now: datetime, ttl: timedelta
) -> bool:
    """Extend `owner`'s lease on `identity_id`; False when it was lost (expired and taken)."""
    result = _run(session).execute(
        _RENEW, {"id": identity_id, "b_owner": owner, "until": ensure_utc(now) + ttl}
    )
    session.commit()
    return _rowcount(result) == 1


def release_lease(
    session: Runs,
    *,
    identity_id: int,
    owner: str,
    now: datetime,
    not_before: datetime | None = None,
    commit: bool = True,
) -> bool:
    """Free `owner`'s lease on `identity_id`; False when `owner` did not hold it.

    `not_before` (default `now`) is when the identity next has work: no worker claims it earlier.
    `commit=False` leaves the commit to the caller (a worker releases and claims the next
    identity in one transaction).
    """
    # expires_at = now (not NULL): the identity queues behind those that waited longer.
    released = fast.execute(
        session,
        _RELEASE,
        {"id": identity_id, "b_owner": owner, "until": ensure_utc(not_before or now)},
    )
    if commit:
        session.commit()
    return released == 1


def _run(session: Runs) -> sa.Connection:
    """The session's connection, its pending changes flushed: the lease statements are Core
    statements, run without the ORM's per-statement work (a connection: itself)."""
    if isinstance(session, sa.Connection):
        return session
    session.flush()
    return session.connection()


def _dialect(session: Runs) -> str:
    bind = session if isinstance(session, sa.Connection) else session.get_bind()
    return bind.dialect.name


def _rowcount(result: sa.Result[object]) -> int:
    return int(getattr(result, "rowcount", 0))
