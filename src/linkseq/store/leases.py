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

and on SQLite, the same SELECT without the locking clause (SQLite has none): the session began
with `BEGIN IMMEDIATE`, so the whole claim runs under the database's single write lock. Both then
run a guarded UPDATE (`... WHERE identity_id = :id AND (expires_at IS NULL OR expires_at <=
:now)`) and check that exactly one row changed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from linkseq.clock import ensure_utc
from linkseq.store.enums import IdentityStatus
from linkseq.store.models import Identity, WorkerLease

__all__ = [
    "claim_identity_lease",
    "claim_this_lease",
    "ensure_lease_rows",
    "release_lease",
    "renew_lease",
]


def _ensure_lease_rows(session: Session) -> None:
    """Insert a free lease row for every identity that has none (idempotent under races)."""
    missing = sa.select(Identity.id, sa.null(), sa.null()).where(
        ~sa.exists().where(WorkerLease.identity_id == Identity.id)
    )
    columns = ["identity_id", "owner", "expires_at"]
    if session.get_bind().dialect.name == "postgresql":
        pg = postgresql.insert(WorkerLease).from_select(columns, missing)
        session.execute(pg.on_conflict_do_nothing(index_elements=["identity_id"]))
    else:
        lite = sqlite.insert(WorkerLease).from_select(columns, missing)
        session.execute(lite.on_conflict_do_nothing(index_elements=["identity_id"]))


def _free(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(WorkerLease.expires_at.is_(None), WorkerLease.expires_at <= now)


def ensure_lease_rows(session: Session) -> None:
    """Give every identity a lease row (idempotent); commits."""
    _ensure_lease_rows(session)
    session.commit()


def claim_identity_lease(
    session: Session, *, owner: str, now: datetime, ttl: timedelta, ensure: bool = True
) -> int | None:
    """Claim the free lease of an active identity for `owner`; commit; its id, or None if none."""
    now = ensure_utc(now)
    identity_id = _first_free(session, now)
    if identity_id is None and ensure:
        # a new identity has no lease row yet: create the missing rows, then look again
        _ensure_lease_rows(session)
        identity_id = _first_free(session, now)
    if identity_id is None:
        session.commit()
        return None
    result = session.execute(
        sa.update(WorkerLease)
        .where(WorkerLease.identity_id == identity_id, _free(now))
        .values(owner=owner, expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    claimed = _rowcount(result) == 1
    session.commit()
    return identity_id if claimed else None


def _first_free(session: Session, now: datetime) -> int | None:
    """The free lease that waited longest (locked on PostgreSQL until the caller commits)."""
    query = (
        sa.select(WorkerLease.identity_id)
        .join(Identity, Identity.id == WorkerLease.identity_id)
        .where(Identity.status == IdentityStatus.ACTIVE, _free(now))
        .order_by(WorkerLease.expires_at.asc().nulls_first(), WorkerLease.identity_id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=WorkerLease)
    return session.execute(query).scalar_one_or_none()


def claim_this_lease(
    session: Session, *, identity_id: int, owner: str, now: datetime, ttl: timedelta
) -> bool:
    """Claim the lease of one given identity if it is free (a one-off job such as
    `linkseq sync`); commits; False when a worker holds it."""
    now = ensure_utc(now)
    _ensure_lease_rows(session)
    result = session.execute(
        sa.update(WorkerLease)
        .where(WorkerLease.identity_id == identity_id, _free(now))
        .values(owner=owner, expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return _rowcount(result) == 1


def renew_lease(
    session: Session, *, identity_id: int, owner: str, now: datetime, ttl: timedelta
) -> bool:
    """Extend `owner`'s lease on `identity_id`; False when it was lost (expired and taken)."""
    result = session.execute(
        sa.update(WorkerLease)
        .where(WorkerLease.identity_id == identity_id, WorkerLease.owner == owner)
        .values(expires_at=ensure_utc(now) + ttl)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return _rowcount(result) == 1


def release_lease(
    session: Session,
    *,
    identity_id: int,
    owner: str,
    now: datetime,
    not_before: datetime | None = None,
) -> bool:
    """Free `owner`'s lease on `identity_id`; False when `owner` did not hold it.

    `not_before` (default `now`) is when the identity next has work: no worker claims it earlier.
    """
    # expires_at = now (not NULL): the identity queues behind those that waited longer.
    result = session.execute(
        sa.update(WorkerLease)
        .where(WorkerLease.identity_id == identity_id, WorkerLease.owner == owner)
        .values(owner=None, expires_at=ensure_utc(not_before or now))
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return _rowcount(result) == 1


def _rowcount(result: sa.Result[object]) -> int:
    return int(getattr(result, "rowcount", 0))
