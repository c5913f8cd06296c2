"""`linkseq run --once` and `linkseq worker` as real processes against a sandbox served over HTTP.

The sandbox runs in this process (uvicorn in a thread); each command is `python -m linkseq ...`
with `--sandbox-clock`, so it lives in the sandbox's virtual time. A tap in front of the sandbox
sees every live call: it is the ground truth of what went out, and it is also how the SIGTERM
test picks its moment (the worker's first outreach call), with no wall-clock timing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from linkseq.store.enums import ActionStatus
from linkseq.store.models import OutboxAction, WorkerLease
from tests.engine.harness import Harness, person
from tests.engine.served import OUTREACH_SLUGS, ROOT, Served, Tap, serve

HANDLES = ["ada-lovelace", "alan-turing", "grace-hopper"]


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    with serve() as served:
        yield served


@dataclass
class Calls:
    """The live calls the sandbox received; a hook may act on the first outreach call."""

    seen: list[str] = field(default_factory=list)
    on_first_outreach: Any = None

    def __call__(self, slug: str, body: dict[str, Any]) -> None:
        first = slug in OUTREACH_SLUGS and not self.outreach()
        self.seen.append(slug)
        if first and self.on_first_outreach is not None:
            self.on_first_outreach()

    def outreach(self) -> list[str]:
        """The outreach calls (visit, connect, message, InMail)."""
        return [s for s in self.seen if s in OUTREACH_SLUGS]


@dataclass
class World:
    """A harness served over HTTP, the env for the CLI, and the tap's record."""

    h: Harness
    env: dict[str, str]
    calls: Calls

    def linkseq(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `linkseq <args>` to the end."""
        return subprocess.run(
            [sys.executable, "-m", "linkseq", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def outbox(self, *statuses: ActionStatus) -> int:
        """Outbox rows in these statuses."""
        with self.h.sessions() as session:
            return int(
                session.scalar(
                    sa.select(sa.func.count())
                    .select_from(OutboxAction)
                    .where(OutboxAction.status.in_(statuses))
                )
                or 0
            )


@pytest.fixture
def world(server: Served, tmp_path: Path) -> Iterator[World]:
    url = f"sqlite:///{tmp_path / 'linkseq.db'}"
    h = Harness(url, persons=[person(handle) for handle in HANDLES], seed=5)
    h.client.close()
    h.advance(timedelta(hours=2))  # 10:00 in London: inside the campaign's hours
    calls = Calls()
    server.mount(Tap(h.sandbox.wsgi_app, calls))
    env = {
        **os.environ,
        "LINKSEQ_DATABASE_URL": url,
        "LINKSEQ_EDGES_API_KEY": "sandbox-key",
        "LINKSEQ_EDGES_BASE_URL": server.base_url,
    }
    try:
        yield World(h, env, calls)
    finally:
        h.close()


def test_run_without_once_is_a_usage_error(world: World) -> None:
    result = world.linkseq("run")
    assert result.returncode == 2
    assert "--once" in result.stderr
    assert world.calls.seen == []


def test_run_once_json_is_one_object_and_matches_what_went_out(world: World) -> None:
    result = world.linkseq("run", "--once", "--sandbox-clock", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # the whole of stdout is one JSON document...
    assert isinstance(report, dict)  # ...and it is an object
    assert report["errors"] == []
    assert [r["identity"] for r in report["identities"]] == ["alice"]
    assert report["sent"] == len(world.calls.outreach()) == 1
    assert world.outbox(ActionStatus.SENT) == 1


def test_dry_run_sends_nothing_and_shows_what_would_go(world: World) -> None:
    result = world.linkseq("run", "--once", "--dry-run", "--sandbox-clock", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert world.calls.outreach() == []  # LinkedIn saw nothing
    assert world.h.sandbox.report()["totals"].get("invitations_sent", 0) == 0
    assert report["sent"] == 0
    would = [x for r in report["identities"] for x in r["results"] if x["outcome"] == "dry_run"]
    assert would
    assert {x["kind"] for x in would} == {"connect"}
    assert world.outbox(ActionStatus.SENT, ActionStatus.SENDING) == 0
    text = world.linkseq("run", "--once", "--dry-run", "--sandbox-clock")
    assert text.returncode == 0, text.stderr
    assert "would connect" in text.stdout
    assert world.calls.outreach() == []
    # a dry run does not postpone the real work: the next real run sends at once
    real = world.linkseq("run", "--once", "--sandbox-clock", "--json")
    assert real.returncode == 0, real.stderr
    assert json.loads(real.stdout)["sent"] == 1
    assert world.calls.outreach() == ["linkedin-connect-profile"]


def test_run_once_exits_1_when_an_identity_pass_fails(world: World) -> None:
    world.h.sandbox.expire_session(world.h.uids["alice"])
    result = world.linkseq("run", "--once", "--sandbox-clock", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert len(report["errors"]) == 1
    assert report["errors"][0].startswith("alice: paused")
    assert world.calls.outreach() == []
    text = world.linkseq("run", "--once", "--sandbox-clock")
    # the identity is paused now: nothing to do, nothing failed
    assert text.returncode == 0, text.stderr


def test_worker_on_sigterm_finishes_the_send_releases_its_lease_and_exits_0(
    world: World,
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "linkseq", "worker", "--sandbox-clock", "--owner", "term"],
        cwd=ROOT,
        env=world.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    signalled = threading.Event()

    def terminate() -> None:  # on the server's thread, before the sandbox acts on the call
        os.kill(proc.pid, signal.SIGTERM)
        signalled.set()

    world.calls.on_first_outreach = terminate
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert signalled.is_set()
    assert proc.returncode == 0, err
    assert out == ""
    # the send in progress went through and was recorded; nothing was sent after it
    assert world.calls.outreach() == ["linkedin-connect-profile"]
    assert world.h.sandbox.report()["totals"]["invitations_sent"] == 1
    assert world.outbox(ActionStatus.SENT) == 1
    assert world.outbox(ActionStatus.SENDING, ActionStatus.UNCERTAIN) == 0
    with world.h.sessions() as session:
        leases = session.execute(sa.select(WorkerLease.owner, WorkerLease.expires_at)).all()
    assert len(leases) == 1
    assert leases[0].owner is None  # released
    assert leases[0].expires_at is not None  # with the time the identity next has work


@pytest.mark.parametrize("cap", [None, 1])
def test_the_worker_takes_its_limits_from_the_settings(world: World, cap: int | None) -> None:
    """`LINKSEQ_PENDING_INVITATIONS_CAP` (like `LINKSEQ_MESSAGES_PER_DAY`) reaches the worker's
    own plan, not only `leads why` and the dashboard."""
    if cap is not None:
        world.env["LINKSEQ_PENDING_INVITATIONS_CAP"] = str(cap)
    for _ in range(3):
        result = world.linkseq("run", "--once", "--sandbox-clock", "--json")
        assert result.returncode == 0, result.stderr
        world.h.advance(timedelta(hours=1))
    invited = world.calls.outreach()
    assert set(invited) == {"linkedin-connect-profile"}
    if cap is None:
        assert len(invited) == len(HANDLES)  # the default cap (500) is far
        return
    assert len(invited) == cap
    assert sorted(world.h.state(h) for h in HANDLES) == ["invited", "ready", "ready"]
