"""The store: tables, migrations, sessions and the queries that claim work."""

from __future__ import annotations

from linkseq.store.engine import build_engine, is_sqlite, session_factory
from linkseq.store.leases import claim_identity_lease, release_lease, renew_lease
from linkseq.store.migrate import current_revision, downgrade, head_revision, upgrade

__all__ = [
    "build_engine",
    "claim_identity_lease",
    "current_revision",
    "downgrade",
    "head_revision",
    "is_sqlite",
    "release_lease",
    "renew_lease",
    "session_factory",
    "upgrade",
]
