"""Engine benchmarks (issue 5), one JSON object per figure on stdout.

(a) Edges calls per outreach action on the standard simulated campaign (300 leads, 3 identities,
    LINKSEQ_BENCH_DAYS virtual days, default 7), counted at the client's transport; beside it the
    count a per-lead sync-before-send would make (every message preceded by its own conversations
    sync instead of one per batch), and the same with the periodic syncs run by Edges schedules
    (`EngineConfig(periodic_syncs="scheduled")`, callbacks applied in-process).
(b) One `Engine.run_once()` when nothing is due with 1,000,000 enrollments and 1,000 identities on
    SQLite, and one `Engine.work(identity_id)` for an identity with nothing due.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import SecretStr

from linkseq.campaigns import parse_campaign
from linkseq.clock import ManualClock
from linkseq.demo.simulation import Simulation
from linkseq.edges import CallbackPayload, EdgesClient
from linkseq.engine.background import Background, process_callback
from linkseq.engine.config import EngineConfig
from linkseq.engine.runner import Engine
from linkseq.logging import configure_logging
from linkseq.store import build_engine, session_factory, upgrade
from linkseq.store.enums import CampaignStatus, EnrollmentState, IdentityLevel, SyncKind
from linkseq.store.models import (
    Campaign,
    CampaignIdentity,
    Enrollment,
    Identity,
    Lead,
    SyncState,
    WorkerLease,
)

OUTREACH = {
    "linkedin-visit-profile",
    "linkedin-connect-profile",
    "linkedin-message-profile",
    "linkedin-inmail-profile",
}
CORES = os.cpu_count()


def emit(name: str, value: float, unit: str, **extra: Any) -> None:
    """One figure."""
    print(json.dumps({"name": name, "value": value, "unit": unit, "cores": CORES, **extra}))


class CountingApp:
    """The WSGI app between the client and the sandbox: counts every Edges request by kind."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.counts: Counter[str] = Counter()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith("/v1/actions/") and path.endswith("/run/live"):
            self.counts[path[len("/v1/actions/") : -len("/run/live")]] += 1
        elif path.startswith("/v1/"):
            self.counts[f"{environ.get('REQUEST_METHOD')} other"] += 1
        return self.app(environ, start_response)


# --- (a) calls per outreach action --------------------------------------------------------------


def simulate(days: float, *, scheduled: bool) -> dict[str, Any]:
    """Run the standard campaign; the counts of Edges requests the client made."""
    holder: dict[str, Background] = {}
    config = EngineConfig(periodic_syncs="scheduled" if scheduled else "live")

    def deliver(url: str, headers: dict[str, str], body: bytes) -> int:
        background = holder.get("bg")
        if background is None or not url.endswith("/webhooks/edges/callbacks"):
            return 0
        payload = CallbackPayload.parse(json.loads(body))
        with background.sessions() as session:
            process_callback(
                session,
                payload,
                now=background.clock.now(),
                config=config,
                outputs=background.outputs,
            )
            session.commit()
        return 200

    with tempfile.TemporaryDirectory() as tmp:
        sim = Simulation(
            database_url=f"sqlite:///{Path(tmp) / 'sim.db'}",
            people=300,
            identities=3,
            config=config,
            deliver=deliver,
        )
        counting = CountingApp(sim.sandbox.wsgi_app)
        sim.client.close()
        sim.client = EdgesClient(
            sim.sandbox_api_key,
            base_url=sim.sandbox.base_url,
            app=counting,
            rate_limit=None,
            clock=sim.clock,
            sleep=sim._sleep,
        )
        sim.engine.client = sim.client
        if scheduled:
            holder["bg"] = Background(
                sessions=sim.sessions,
                client=sim.client,
                clock=sim.clock,
                public_url="http://linkseq.invalid",
                secret=SecretStr("bench-secret"),
                config=config,
            )
            holder["bg"].ensure_schedules()
        started = time.perf_counter()
        sim.run(days=days)
        wall = time.perf_counter() - started
        report = sim.sandbox.report()
        sim.close()
    counts = counting.counts
    outreach = sum(n for slug, n in counts.items() if slug in OUTREACH)
    messages = counts["linkedin-message-profile"] + counts["linkedin-inmail-profile"]
    conversations = counts["linkedin-extract-conversations"]
    total = sum(counts.values())
    # per-lead sync-before-send: each message has its own conversations sync (one request) in
    # place of the batched ones; the periodic 4-hourly syncs stay (live mode: 6 a day per
    # identity; scheduled mode: Edges runs them); every other request as measured
    periodic = 0 if scheduled else min(conversations, int(3 * days * 6))
    naive = total - conversations + messages + periodic
    return {
        "total": total,
        "outreach": outreach,
        "messages": messages,
        "conversations_requests": conversations,
        "naive": naive,
        "wall": wall,
        "breaches": sum(report["breaches"].values()),
        "counts": dict(sorted(counts.items())),
    }


def bench_calls(days: float) -> None:
    """Figure (a), live and scheduled periodic syncs."""
    for scheduled in (False, True):
        r = simulate(days, scheduled=scheduled)
        mode = "scheduled" if scheduled else "live"
        extra = {
            "days": days,
            "leads": 300,
            "identities": 3,
            "outreach_actions": r["outreach"],
            "edges_requests": r["total"],
            "breaches": r["breaches"],
            "wall_seconds": round(r["wall"], 1),
            "requests_by_kind": r["counts"],
        }
        emit(
            f"edges_calls_per_outreach_action[{mode}]",
            round(r["total"] / max(1, r["outreach"]), 3),
            "calls/action",
            **extra,
        )
        emit(
            f"edges_calls_per_outreach_action_per_lead_sync[{mode}]",
            round(r["naive"] / max(1, r["outreach"]), 3),
            "calls/action",
            days=days,
            messages=r["messages"],
            note="each message with its own conversations sync; periodic syncs kept",
        )


# --- (b) a pass with nothing due on a big database -----------------------------------------------


def _refuse(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    raise AssertionError(f"no Edges call expected: {environ.get('PATH_INFO')}")


def build_big(path: Path, *, identities: int, enrollments: int, now: datetime) -> None:
    """A migrated SQLite database with one campaign and nothing due anywhere (bulk inserts)."""
    db = build_engine(f"sqlite:///{path}")
    upgrade(db)
    spec = parse_campaign(
        {
            "name": "Big",
            "identities": ["i-1"],
            "steps": [
                {"id": "invite", "type": "connect", "note": "Hi {{ first_name }}"},
                {"id": "accepted", "type": "wait_for_acceptance", "timeout_days": 7},
                {"id": "hello", "type": "message", "text": "Thanks, {{ first_name }}!"},
            ],
        }
    )
    later = now + timedelta(days=30)
    states = [EnrollmentState.READY, EnrollmentState.INVITED, EnrollmentState.CONNECTED]
    with db.begin() as c:
        c.execute(
            sa.insert(Campaign),
            [
                {
                    "name": "Big",
                    "spec_yaml": "",
                    "spec": spec.to_json(),
                    "status": CampaignStatus.ACTIVE,
                    "priority": 0,
                    "started_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        c.execute(
            sa.insert(Identity),
            [
                {
                    "uid": f"00000000-0000-4000-8000-{i:012d}",
                    "name": f"i-{i}",
                    "timezone": "Europe/London",
                    "is_engagement": True,
                    "level": IdentityLevel.CLASSIC,
                    "linkedin_profile_id": f"ACo{i}",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(1, identities + 1)
            ],
        )
        c.execute(
            sa.insert(CampaignIdentity),
            [{"campaign_id": 1, "identity_id": i} for i in range(1, identities + 1)],
        )
        # leases released into the future: no identity is due
        c.execute(
            sa.insert(WorkerLease),
            [
                {"identity_id": i, "owner": None, "expires_at": later - timedelta(minutes=i)}
                for i in range(1, identities + 1)
            ],
        )
        c.execute(
            sa.insert(SyncState),
            [
                {"identity_id": i, "kind": kind, "last_synced_at": now}
                for i in range(1, identities + 1)
                for kind in SyncKind
            ],
        )
    chunk = 100_000
    for start in range(0, enrollments, chunk):
        ids = range(start + 1, min(enrollments, start + chunk) + 1)
        with db.begin() as c:
            c.execute(
                sa.insert(Lead),
                [
                    {
                        "profile_url": f"https://www.linkedin.com/in/lead-{n}",
                        "first_name": "Lead",
                        "custom_fields": {},
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n in ids
                ],
            )
            c.execute(
                sa.insert(Enrollment),
                [
                    {
                        "campaign_id": 1,
                        "lead_id": n,
                        "identity_id": 1 + n % identities,
                        "state": states[n % len(states)],
                        "step_index": 0,
                        "next_action_at": later + timedelta(seconds=n),
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n in ids
                ],
            )
    with db.connect() as c:
        c.exec_driver_sql("ANALYZE")
    db.dispose()


def bench_idle_pass(identities: int, enrollments: int) -> None:
    """Figure (b)."""
    now = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    clock = ManualClock(now)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.db"
        started = time.perf_counter()
        build_big(path, identities=identities, enrollments=enrollments, now=now)
        build = time.perf_counter() - started
        db = build_engine(f"sqlite:///{path}")
        client = EdgesClient(
            "bench-key",
            base_url="http://edges.invalid/v1",
            app=_refuse,
            rate_limit=None,
            clock=clock,
            sleep=lambda _s: None,
        )
        engine = Engine(sessions=session_factory(db), client=client, clock=clock, owner="bench")
        engine.run_once()  # warm the connection pool and the statement caches
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            report = engine.run_once()
            samples.append(time.perf_counter() - started)
            assert report.identities == []
        emit(
            "idle_run_once_seconds",
            round(min(samples), 4),
            "s",
            enrollments=enrollments,
            identities=identities,
            median=round(sorted(samples)[len(samples) // 2], 4),
            target=1.0,
            build_seconds=round(build, 1),
        )
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            result = engine.work(1)
            samples.append(time.perf_counter() - started)
            assert result.error is None, result
            assert not result.results, result
        emit(
            "idle_work_one_identity_seconds",
            round(min(samples), 4),
            "s",
            enrollments=enrollments,
            identity_enrollments=enrollments // identities,
            median=round(sorted(samples)[len(samples) // 2], 4),
        )
        client.close()
        db.dispose()


def main() -> None:
    """Run every figure."""
    configure_logging("WARNING")
    bench_idle_pass(
        int(os.environ.get("LINKSEQ_BENCH_IDENTITIES", "1000")),
        int(os.environ.get("LINKSEQ_BENCH_ENROLLMENTS", "1000000")),
    )
    bench_calls(float(os.environ.get("LINKSEQ_BENCH_DAYS", "7")))


if __name__ == "__main__":
    main()
