"""Scale-out: three `linkseq worker` processes on one PostgreSQL database share one campaign.

The sandbox is served over real HTTP from this process; each worker is the real CLI
(`python -m linkseq worker --sandbox-clock`) in its own process and lives in the sandbox's virtual
time (it reads the clock over HTTP on every `now()`, caches nothing). Virtual time passes only when
every worker waits for it (`SharedTime`), as real time would not jump under a busy worker. A tap
in front of the sandbox records, at each live call, which worker held the identity's lease in the
database: the ground truth of who did what, without trusting the workers' own account.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from linkseq.engine.lifecycle import State
from linkseq.store import build_engine
from linkseq.store.enums import ActionStatus
from linkseq.store.models import Enrollment, Identity, OutboxAction, WorkerLease
from tests.engine.harness import Harness, person
from tests.engine.served import OUTREACH_SLUGS, ROOT, Served, SharedTime, Tap, serve
from tests.store.dbfixtures import create_pg_database, drop_pg_database

IDENTITIES = [f"ident-{i}" for i in range(1, 7)]
LEADS = 60
WORKERS = 3
DAYS = 2
VALID = {s.value for s in State} - {"paused"}


@pytest.fixture
def pg_database() -> Iterator[str]:
    url = create_pg_database()
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        drop_pg_database(url)


@pytest.fixture
def server() -> Iterator[Served]:
    with serve() as served:
        yield served


class LeaseWitness:
    """At each live call, who holds the calling identity's lease (read from the database)."""

    def __init__(self, database_url: str) -> None:
        self.db = build_engine(database_url)
        self.calls: list[tuple[str, str, str | None]] = []  # (slug, identity uid, owner)
        self._lock = threading.Lock()

    def __call__(self, slug: str, body: dict[str, Any]) -> None:
        uid = (body.get("identity_ids") or [""])[0]
        with self.db.connect() as connection:
            owner = connection.execute(
                sa.select(WorkerLease.owner)
                .join(Identity, Identity.id == WorkerLease.identity_id)
                .where(Identity.uid == uid)
            ).scalar_one_or_none()
        with self._lock:
            self.calls.append((slug, uid, owner))

    def close(self) -> None:
        """Release the witness's connections."""
        self.db.dispose()


def _run_workers(
    args: list[str], env: dict[str, str], time: SharedTime, logs: Path
) -> list[int | None]:
    """Start the workers, retire each from the barrier when it ends; their exit codes."""
    codes: list[int | None] = [None] * WORKERS

    def one(index: int) -> None:
        with (logs / f"w{index}.err").open("w") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "linkseq", *args, "--owner", f"w{index}"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            try:
                codes[index] = proc.wait(timeout=150)
            finally:
                if proc.poll() is None:
                    proc.kill()
                time.retire()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


@pytest.mark.postgres
@pytest.mark.timeout(180)
def test_three_workers_share_one_campaign_on_postgresql(
    pg_database: str, server: Served, tmp_path: Path
) -> None:
    persons = [
        person(f"lead-{i:02d}", accept_delay_hours=1 + i % 4, reply_probability=0.2)
        for i in range(LEADS)
    ]
    h = Harness(pg_database, persons=persons, identities=IDENTITIES, seed=23)
    h.client.close()  # the workers have their own clients, over HTTP
    witness = LeaseWitness(pg_database)
    time = SharedTime(h.sandbox, Tap(h.sandbox.wsgi_app, witness), workers=WORKERS)
    server.mount(time)
    env = {
        **os.environ,
        "LINKSEQ_DATABASE_URL": pg_database,
        "LINKSEQ_EDGES_API_KEY": "sandbox-key",
        "LINKSEQ_EDGES_BASE_URL": server.base_url,
    }
    end = (h.clock.now() + timedelta(days=DAYS)).isoformat()
    args = ["worker", "--sandbox-clock", "--until", end, "--idle-minutes", "60"]
    try:
        codes = _run_workers(args, env, time, tmp_path)
        assert codes == [0] * WORKERS, [(tmp_path / f"w{i}.err").read_text() for i in range(3)]
        assert time.moves > DAYS  # virtual time really moved in steps, through the barrier

        report = h.sandbox.report()
        assert report["breaches"]["duplicate_invitation"] == 0
        assert report["breaches"]["duplicate_message"] == 0
        assert report["breaches"]["parallel_live_calls"] == 0
        assert report["totals"]["invitations_sent"] > LEADS // 2

        # every live call was made under a lease held in the database
        assert witness.calls
        assert all(owner is not None for _, _, owner in witness.calls)
        outreach = Counter(owner for slug, _, owner in witness.calls if slug in OUTREACH_SLUGS)
        print("outreach calls per worker:", dict(sorted(outreach.items())))
        assert set(outreach) <= {f"w{i}" for i in range(WORKERS)}
        assert len(outreach) > 1  # the work really was shared

        with h.sessions() as session:
            states = Counter(e.state.value for e in session.scalars(sa.select(Enrollment)))
            print("states:", dict(sorted(states.items())))
            assert sum(states.values()) == LEADS
            assert set(states) <= VALID
            assert "new" not in states  # every lead progressed
            owners = session.scalars(sa.select(WorkerLease.owner)).all()
            assert len(owners) == len(IDENTITIES)
            assert set(owners) == {None}  # every worker released its leases on the way out
            in_flight = session.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxAction)
                .where(OutboxAction.status.in_([ActionStatus.SENDING, ActionStatus.UNCERTAIN]))
            )
            assert in_flight == 0
            sent = session.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxAction)
                .where(OutboxAction.status.in_([ActionStatus.SENT, ActionStatus.RECONCILED]))
            )
        # what linkseq believes went out is what LinkedIn received
        totals = report["totals"]
        assert sent == (
            totals.get("visits", 0)
            + totals.get("invitations_sent", 0)
            + totals.get("messages_sent", 0)
        )
    finally:
        witness.close()
        h.close()
