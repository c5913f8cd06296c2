"""Work leases: one worker per identity, shared by several OS processes without double claims."""

from __future__ import annotations

import multiprocessing
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from linkseq.store import (
    build_engine,
    claim_identity_lease,
    release_lease,
    renew_lease,
    session_factory,
)
from linkseq.store.enums import IdentityStatus
from linkseq.store.leases import claim_this_lease
from tests.store.factories import T0, add_identity

TTL = timedelta(minutes=5)


def test_claims_go_to_different_identities_then_run_out(engine: Engine) -> None:
    make = session_factory(engine)
    with make() as session:
        ids = {add_identity(session, f"id-{n}").id for n in range(3)}
        add_identity(session, "paused", status=IdentityStatus.PAUSED)
        session.commit()
    with make() as session:
        claimed = [claim_identity_lease(session, owner=f"w{n}", now=T0, ttl=TTL) for n in range(4)]
    assert set(claimed[:3]) == ids
    assert claimed[3] is None


def test_expired_lease_is_claimed_again_and_the_old_owner_loses_it(engine: Engine) -> None:
    make = session_factory(engine)
    with make() as session:
        identity_id = add_identity(session).id
        session.commit()
        assert claim_identity_lease(session, owner="a", now=T0, ttl=TTL) == identity_id
        assert claim_identity_lease(session, owner="b", now=T0 + TTL / 2, ttl=TTL) is None
        assert renew_lease(session, identity_id=identity_id, owner="a", now=T0 + TTL / 2, ttl=TTL)
        later = T0 + TTL / 2 + TTL
        assert claim_identity_lease(session, owner="b", now=later, ttl=TTL) == identity_id
        assert not renew_lease(session, identity_id=identity_id, owner="a", now=later, ttl=TTL)
        assert not release_lease(session, identity_id=identity_id, owner="a", now=later)
        assert release_lease(session, identity_id=identity_id, owner="b", now=later)
        assert claim_identity_lease(session, owner="c", now=later, ttl=TTL) == identity_id


def test_released_identity_queues_behind_those_waiting_longer(engine: Engine) -> None:
    make = session_factory(engine)
    with make() as session:
        first, second = add_identity(session, "a").id, add_identity(session, "b").id
        session.commit()
        assert claim_identity_lease(session, owner="w", now=T0, ttl=TTL) == first
        assert release_lease(session, identity_id=first, owner="w", now=T0 + TTL)
        assert claim_identity_lease(session, owner="w", now=T0 + TTL, ttl=TTL) == second


def _claim_until_empty(
    url: str, owner: str, start: Any, queue: multiprocessing.Queue[list[int]]
) -> None:
    engine = build_engine(url)
    claimed: list[int] = []
    start.wait(60)  # every process is connected before any claims: they contend
    with session_factory(engine)() as session:
        while (got := claim_identity_lease(session, owner=owner, now=T0, ttl=TTL)) is not None:
            claimed.append(got)
    engine.dispose()
    queue.put(claimed)


@pytest.mark.timeout(120)
def test_several_processes_never_claim_one_identity_twice(engine: Engine) -> None:
    make = session_factory(engine)
    with make() as session:
        expected = {add_identity(session, f"id-{n}").id for n in range(40)}
        session.commit()
    url = engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[list[int]] = context.Queue()
    start = context.Barrier(4)
    workers = [
        context.Process(target=_claim_until_empty, args=(url, f"worker-{n}", start, queue))
        for n in range(4)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=90) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    everything = [identity_id for claimed in results for identity_id in claimed]
    assert len(everything) == len(set(everything)), "an identity was claimed twice"
    assert set(everything) == expected
    # How the 40 are split between the processes depends on the scheduler (one process may
    # win them all on a loaded machine), so only the guarantees are asserted.


def test_a_one_off_job_claims_one_identity_only_when_no_worker_holds_it(engine: Engine) -> None:
    with session_factory(engine)() as session:
        identity_id = add_identity(session, "id-sync").id
        session.commit()
        assert claim_this_lease(session, identity_id=identity_id, owner="sync", now=T0, ttl=TTL)
        # a worker cannot take it meanwhile, and a second one-off job neither
        assert claim_identity_lease(session, owner="worker", now=T0, ttl=TTL) is None
        assert not claim_this_lease(
            session, identity_id=identity_id, owner="sync-2", now=T0, ttl=TTL
        )
        assert release_lease(session, identity_id=identity_id, owner="sync", now=T0)
        assert claim_identity_lease(session, owner="worker", now=T0, ttl=TTL) == identity_id
        assert not claim_this_lease(session, identity_id=identity_id, owner="sync", now=T0, ttl=TTL)
