"""Server time of each dashboard page with 100,000 leads and 10,000 threads (p50 / p95).

Rows are bulk-inserted with SQLAlchemy Core into a SQLite file; requests go through starlette's
TestClient against the app in-process, so the time is the server's (no network).
Prints one JSON object per page and figure.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from linkseq.campaigns import parse_campaign
from linkseq.clock import ManualClock
from linkseq.demo.simulation import DEFAULT_CAMPAIGN
from linkseq.settings import Settings
from linkseq.store import build_engine, session_factory, upgrade
from linkseq.store.models import (
    AuditEvent,
    Campaign,
    CampaignIdentity,
    Conversation,
    Enrollment,
    Identity,
    Lead,
    OutboxAction,
)
from linkseq.web.app import create_app

LEADS = int(os.environ.get("BENCH_WEB_LEADS", "100000"))
THREADS = int(os.environ.get("BENCH_WEB_THREADS", "10000"))
IDENTITIES = 10
SPAN_DAYS = 400
CAMPAIGNS = 4
RUNS = int(os.environ.get("BENCH_WEB_RUNS", "20"))
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
STATES = ["new", "ready", "invited", "connected", "messaged", "replied", "completed", "withdrawn"]


def fill(url: str) -> None:
    """Identities, campaigns, leads, enrollments, outbox rows, audit rows and threads."""
    engine = build_engine(url)
    upgrade(engine)
    rng = random.Random(5)
    spec = parse_campaign(Path(DEFAULT_CAMPAIGN).read_text(encoding="utf-8"))
    # 100,000 leads take 10 identities about 400 days at 25 invitations a day: spread the
    # history that far, so the rolling 24 h windows hold what real identities could send
    t0 = NOW - timedelta(days=SPAN_DAYS)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Identity),
            [
                {
                    "id": i,
                    "uid": f"uid-{i}",
                    "name": f"identity-{i}",
                    "timezone": "Europe/Paris",
                    "is_engagement": True,
                    "level": "Classic",
                    "status": "active",
                    "linkedin_profile_id": f"{900000 + i}",
                    "first_sync_at": t0,
                    "created_at": t0,
                    "updated_at": t0,
                }
                for i in range(1, IDENTITIES + 1)
            ],
        )
        conn.execute(
            sa.insert(Campaign),
            [
                {
                    "id": c,
                    "name": f"campaign {c}",
                    "spec_yaml": "",
                    "spec": {**spec.to_json(), "name": f"campaign {c}"},
                    "status": "active",
                    "priority": 1,
                    "started_at": t0,
                    "created_at": t0,
                    "updated_at": t0,
                }
                for c in range(1, CAMPAIGNS + 1)
            ],
        )
        conn.execute(
            sa.insert(CampaignIdentity),
            [
                {"campaign_id": c, "identity_id": i}
                for c in range(1, CAMPAIGNS + 1)
                for i in range(1, IDENTITIES + 1)
            ],
        )
        leads, enrollments, actions, audit = [], [], [], []
        for n in range(1, LEADS + 1):
            at = t0 + timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))
            leads.append(
                {
                    "id": n,
                    "profile_url": f"https://www.linkedin.com/in/person-{n}",
                    "linkedin_profile_id": str(100000 + n),
                    "full_name": f"Person {n} {rng.choice(['Novak', 'García', 'Kim', 'Meyer'])}",
                    "first_name": f"Person {n}",
                    "company_name": rng.choice(["Kestrel Labs", "Fjord Robotics", "Acme"]),
                    "timezone": "Europe/Paris",
                    "timezone_source": "explicit",
                    "custom_fields": {},
                    "source": "csv",
                    "created_at": t0,
                    "updated_at": t0,
                }
            )
            state = rng.choice(STATES)
            identity = 1 + n % IDENTITIES
            invited = state not in ("new", "ready")
            accepted = state in ("connected", "messaged", "replied")
            messaged = state in ("messaged", "replied")
            enrollments.append(
                {
                    "id": n,
                    "campaign_id": 1 + n % CAMPAIGNS,
                    "lead_id": n,
                    "identity_id": identity,
                    "state": state,
                    "step_index": 3 if state in ("connected", "messaged", "replied") else 1,
                    "message_count": 1 if state in ("messaged", "replied") else 0,
                    "next_action_at": at + timedelta(days=2),
                    "reason": "bench",
                    "version": 1,
                    # the funnel's milestones, as the engine records them with these rows
                    "visited_at": at,
                    "invited_at": at if invited else None,
                    "accepted_at": at if accepted else None,
                    "messaged_at": at if messaged else None,
                    "created_at": t0,
                    "updated_at": at,
                }
            )
            kinds = ["visit"] + (["connect"] if invited else [])
            if messaged:
                kinds.append("message")
            for kind in kinds:
                step = {"visit": "visit", "connect": "invite", "message": "thanks"}[kind]
                actions.append(
                    {
                        "enrollment_id": n,
                        "identity_id": identity,
                        "step_id": step,
                        "kind": kind,
                        "idempotency_key": f"e{n}:{step}:{kind}",
                        "status": "sent",
                        "request": {},
                        "attempts": 1,
                        "sent_at": at,
                        "created_at": at,
                        "updated_at": at,
                    }
                )
            audit.append(
                {
                    "enrollment_id": n,
                    "lead_id": n,
                    "from_state": "new",
                    "to_state": "ready",
                    "reason": "checked",
                    "at": t0,
                }
            )
            if accepted:
                audit.append(
                    {
                        "enrollment_id": n,
                        "lead_id": n,
                        "from_state": "invited",
                        "to_state": "connected",
                        "reason": "invitation accepted",
                        "at": at,
                    }
                )
        for table, rows in (
            (Lead, leads),
            (Enrollment, enrollments),
            (OutboxAction, actions),
            (AuditEvent, audit),
        ):
            for start in range(0, len(rows), 20000):
                conn.execute(sa.insert(table), rows[start : start + 20000])
        conn.execute(
            sa.insert(Conversation),
            [
                {
                    "identity_id": 1 + t % IDENTITIES,
                    "thread_id": f"thread-{t}",
                    "thread_url": f"https://www.linkedin.com/messaging/thread/{t}/",
                    "participant_profile_id": str(100000 + 1 + (t * 7) % LEADS),
                    "participant_profile_url": (
                        f"https://www.linkedin.com/in/person-{1 + (t * 7) % LEADS}"
                    ),
                    "last_message_sender_id": rng.choice([None, "x"]),
                    "last_message_at": t0 + timedelta(seconds=rng.randrange(SPAN_DAYS * 86400)),
                    "last_message_text": "Hello there, thanks for connecting!",
                    "unread": rng.random() < 0.2,
                    "synced_at": NOW,
                }
                for t in range(THREADS)
            ],
        )
    engine.dispose()


def main() -> None:
    """Fill a database, then time every page."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        started = time.perf_counter()
        fill(url)
        print(f"filled in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        engine = build_engine(url)
        app = create_app(
            Settings(database_url=url), sessions=session_factory(engine), clock=ManualClock(NOW)
        )
        pages = {
            "campaigns": "/campaigns",
            "identities": "/identities",
            "leads": "/leads",
            "leads_filtered": "/leads?campaign=2&state=invited&identity=3",
            "leads_search": "/leads?q=kestrel",
            "lead": f"/leads/{LEADS // 2}",
            "inbox": "/inbox",
            "inbox_unread": "/inbox?unread=1",
            "api_campaigns": "/api/campaigns",
            "api_threads": "/api/threads",
        }
        with TestClient(app) as client:
            for name, path in pages.items():
                assert client.get(path).status_code == 200, path  # warm caches
                times, cpu = [], []
                for _ in range(RUNS):
                    t, c = time.perf_counter(), time.process_time()
                    response = client.get(path)
                    times.append((time.perf_counter() - t) * 1000)
                    cpu.append((time.process_time() - c) * 1000)
                    assert response.status_code == 200
                times.sort()
                p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
                for figure, value in (("p50", statistics.median(times)), ("p95", p95)):
                    print(
                        json.dumps(
                            {
                                "name": f"web.{name}.{figure}",
                                "value": round(value, 2),
                                "unit": "ms",
                                # CPU of the process (app and TestClient) for the median
                                # request: the wall time is noisy on a shared machine
                                "cpu_p50_ms": round(statistics.median(cpu), 2),
                                "cores": os.cpu_count(),
                                "leads": LEADS,
                                "threads": THREADS,
                                "budget_ms": 300,
                                "within_budget": value <= 300,
                            }
                        )
                    )
        engine.dispose()


if __name__ == "__main__":
    main()
