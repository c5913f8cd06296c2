"""`linkseq run --once`, `linkseq worker` and `linkseq sync`: the engine from the command line.

Exit codes of `run --once`: 0 every identity's pass went through, 1 at least one failed (its
error is printed), 2 a usage error. `worker` loops until SIGTERM/SIGINT: the send in progress
finishes, the identity's lease is released, and it exits 0. With `--sandbox-clock` the worker
lives in the virtual time of a sandbox served over HTTP (`linkseq sandbox serve`).
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import FrameType
from typing import Annotated, Any

import typer

from linkseq.cli._common import clock as system_clock
from linkseq.cli._common import console, open_engine, print_json
from linkseq.clock import Clock
from linkseq.errors import NotFoundError

__all__ = ["register", "run", "sync", "worker"]


@dataclass(slots=True)
class _Time:
    """The clock a command runs on and how it waits."""

    clock: Clock
    sleep: Callable[[float], None]
    sleep_until: Callable[[datetime], None]


def _real_time(stop: threading.Event) -> _Time:
    clock = system_clock()

    def sleep(seconds: float) -> None:
        stop.wait(max(0.0, seconds))  # a stop request ends the wait at once

    def sleep_until(when: datetime) -> None:
        sleep((when - clock.now()).total_seconds())

    return _Time(clock, sleep, sleep_until)


def _sandbox_time(base_url: str) -> _Time:
    from linkseq.engine.remote import RemoteClock, sandbox_root

    remote = RemoteClock(sandbox_root(base_url))
    return _Time(remote, remote.sleep, remote.sleep_until)


@contextmanager
def _engine(
    *,
    dry_run: bool,
    sandbox_clock: bool,
    owner: str | None,
    stop: threading.Event,
    idle_minutes: float | None = None,
) -> Iterator[Any]:
    """An `Engine` on the configured database and Edges account."""
    from linkseq.edges import EdgesClient
    from linkseq.engine.config import EngineConfig
    from linkseq.engine.runner import Engine
    from linkseq.logging import configure_logging
    from linkseq.settings import Settings
    from linkseq.store import session_factory

    configure_logging("WARNING")
    settings = Settings()
    time_ = _sandbox_time(settings.edges_base_url) if sandbox_clock else _real_time(stop)
    overrides: dict[str, Any] = {"clock": time_.clock, "sleep": time_.sleep}
    if sandbox_clock:
        overrides["rate_limit"] = None  # the sandbox has no plan rate; virtual time anyway
    idle = {"idle_wake": timedelta(minutes=idle_minutes)} if idle_minutes else {}
    with open_engine(settings) as db:
        client = EdgesClient.from_settings(settings, **overrides)
        try:
            engine = Engine(
                sessions=session_factory(db),
                client=client,
                clock=time_.clock,
                config=EngineConfig.from_settings(settings, **idle),
                sleep=time_.sleep,
                owner=owner or f"{socket.gethostname()}:{os.getpid()}",
                dry_run=dry_run,
            )
            yield engine, time_
        finally:
            client.close()


def _report_json(report: Any) -> dict[str, Any]:
    return {
        "sent": report.sent,
        "errors": report.errors,
        "identities": [
            {
                "identity": r.identity,
                "sent": r.sent,
                "syncs": r.syncs,
                "admitted": r.admitted,
                "reconciled": r.reconciled,
                "error": r.error,
                "next_wake": r.next_wake,
                "race_windows": r.race_windows,
                "results": [
                    {
                        "outcome": x.outcome,
                        "kind": x.kind.value if x.kind else None,
                        "detail": x.detail,
                        "request": x.request,
                    }
                    for x in r.results
                ],
            }
            for r in report.identities
        ],
    }


def run(
    once: Annotated[bool, typer.Option("--once", help="One pass over every identity.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Send nothing; record and show what would go out.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    sandbox_clock: Annotated[
        bool, typer.Option("--sandbox-clock", help="Use the virtual clock of the sandbox served.")
    ] = False,
) -> None:
    """One pass of the engine over every identity that has work now (for cron).

    Exit code 0 when every pass went through, 1 when an identity's pass failed.

    Example: linkseq run --once --dry-run
    """
    if not once:
        raise typer.BadParameter("give --once (or run `linkseq worker` for a loop)")
    stop = threading.Event()
    with _engine(dry_run=dry_run, sandbox_clock=sandbox_clock, owner=None, stop=stop) as (
        engine,
        _,
    ):
        report = engine.run_once()
    if json_out:
        print_json(_report_json(report))
    else:
        for r in report.identities:
            line = f"{r.identity}: {r.sent} sent"
            would = [x for x in r.results if x.outcome == "dry_run"]
            if would:
                line += f", {len(would)} would go (dry run)"
            if r.error:
                line += f", error: {r.error}"
            console.print(line)
            for x in would:
                console.print(f"  would {x.kind.value if x.kind else '?'}: {x.request}")
        if not report.identities:
            console.print("nothing due")
    if report.errors:
        raise typer.Exit(1)


def worker(
    until: Annotated[
        datetime | None,
        typer.Option(help="Stop once the clock reaches this time (ISO 8601, UTC if naive)."),
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Lease owner name (default host:pid).")] = None,
    idle_minutes: Annotated[
        float, typer.Option(help="How long an identity with nothing due waits before a look.")
    ] = 30.0,
    sandbox_clock: Annotated[
        bool, typer.Option("--sandbox-clock", help="Use the virtual clock of the sandbox served.")
    ] = False,
) -> None:
    """Run the engine in a loop; SIGTERM finishes the current send, releases leases, exits 0.

    Example: linkseq worker
    """
    from linkseq.clock import ensure_utc

    stop = threading.Event()
    end = ensure_utc(until) if until is not None else None
    with _engine(
        dry_run=False,
        sandbox_clock=sandbox_clock,
        owner=owner,
        stop=stop,
        idle_minutes=idle_minutes,
    ) as (
        engine,
        time_,
    ):

        def on_signal(signum: int, frame: FrameType | None) -> None:
            engine.stopping = True
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

        # Real time: look again every 30 s (new leads, a campaign started from the CLI).
        # Virtual time: nothing happens between wakes but what the sandbox schedules, so sleep
        # straight to the next wake (capped by the engine's idle wake).
        cap = engine.config.idle_wake if sandbox_clock else timedelta(seconds=30)
        while not engine.stopping:
            now = time_.clock.now()
            if end is not None and now >= end:
                break
            report = engine.run_once()
            if engine.stopping:
                break
            now = time_.clock.now()
            # (the run read the next wake on its way out: no statement)
            wake = min(engine.next_wake(report) or now + cap, now + cap)
            if end is not None:
                wake = min(wake, end)
            time_.sleep_until(max(wake, now + timedelta(seconds=1)))


def sync(
    identity: Annotated[
        str | None, typer.Option("--identity", help="Only this identity (its name).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
    sandbox_clock: Annotated[
        bool, typer.Option("--sandbox-clock", help="Use the virtual clock of the sandbox served.")
    ] = False,
) -> None:
    """Sync connections, conversations and sent invitations now (replies and acceptances).

    Example: linkseq sync --identity alice
    """
    import sqlalchemy as sa

    from linkseq.engine.sync import (
        ensure_profile_id,
        sync_connections,
        sync_conversations,
        sync_sent_invitations,
    )
    from linkseq.store.enums import IdentityStatus
    from linkseq.store.leases import claim_this_lease, release_lease
    from linkseq.store.models import Identity

    stop = threading.Event()
    rows: list[dict[str, Any]] = []
    with (
        _engine(dry_run=False, sandbox_clock=sandbox_clock, owner=None, stop=stop) as (
            engine,
            time_,
        ),
        engine.sessions() as session,
    ):
        query = sa.select(Identity).where(Identity.status == IdentityStatus.ACTIVE)
        if identity is not None:
            query = sa.select(Identity).where(Identity.name == identity)
        identities = session.scalars(query.order_by(Identity.id)).all()
        if identity is not None and not identities:
            raise NotFoundError(f"no identity named {identity!r}")
        owner = f"sync:{os.getpid()}"
        for ident in identities:
            now = time_.clock.now
            # one caller per identity at a time (no two live calls at once): a worker busy with
            # this identity keeps it, and this sync skips it
            if not claim_this_lease(
                session, identity_id=ident.id, owner=owner, now=now(), ttl=engine.config.lease_ttl
            ):
                rows.append({"identity": ident.name, "skipped": "a worker is working it"})
                continue
            try:
                ensure_profile_id(session, engine.client, ident, now=now())
                accepted = sync_connections(session, engine.client, ident, now=now())
                replied = sync_conversations(session, engine.client, ident, now=now())
                pending = sync_sent_invitations(session, engine.client, ident, now=now())
                session.commit()
            finally:
                session.rollback()
                release_lease(session, identity_id=ident.id, owner=owner, now=now())
            rows.append(
                {
                    "identity": ident.name,
                    "connected": accepted,
                    "replied": replied,
                    "pending_invitations": pending,
                }
            )
    if json_out:
        print_json(rows)
        return
    for row in rows:
        if "skipped" in row:
            console.print(f"{row['identity']}: skipped ({row['skipped']})")
            continue
        console.print(
            f"{row['identity']}: {row['connected']} connected, {row['replied']} replied, "
            f"{row['pending_invitations']} invitations pending"
        )


def register(app: typer.Typer) -> None:
    """Add `run`, `worker` and `sync` to the root app."""
    app.command("run")(run)
    app.command("worker")(worker)
    app.command("sync")(sync)
