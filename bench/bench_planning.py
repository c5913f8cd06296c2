"""Plans per second for one identity with 5,000 due candidates across time zones (JSON lines)."""

from __future__ import annotations

import json
import os
import random
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from linkseq.planning.hours import WorkingSchedule
from linkseq.planning.pacing import Pacing, StepKind
from linkseq.planning.quota import Action, QuotaStatus
from linkseq.planning.schedule import Candidate, plan_identity_pass

ZONES = [
    "Europe/Paris",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Sydney",
    "UTC",
    "America/Santiago",
    "Europe/London",
    "Asia/Tokyo",
]
N = 5_000


def main() -> None:
    """Time repeated passes over the same 5,000 candidates and print one JSON figure."""
    rng = random.Random(42)
    now = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    zones = [ZoneInfo(z) for z in ZONES]
    candidates = [
        Candidate(
            key=f"e{i}",
            kind=rng.choice(list(StepKind)),
            campaign=f"c{i % 5}",
            due_at=now - timedelta(minutes=rng.randint(-600, 600)),
            tz=rng.choice(zones),
            priority=1 + i % 3,
        )
        for i in range(N)
    ]
    schedules = {f"c{i}": WorkingSchedule() for i in range(5)}
    quotas = {a: QuotaStatus(25, None, "smart_limit") for a in Action}
    runs, started = 0, time.perf_counter()
    while time.perf_counter() - started < 3.0 or runs < 5:
        plan_identity_pass(
            now=now,
            candidates=candidates,
            quotas=quotas,
            schedules=schedules,
            last_action_at=now - timedelta(minutes=3),
            pacing=Pacing(),
            rng=random.Random(runs),
        )
        runs += 1
    elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {
                "name": "planning.plans_per_second_5000_candidates",
                "value": round(runs / elapsed, 2),
                "unit": "plans/s",
                "cores": os.cpu_count(),
                "candidates": N,
                "runs": runs,
                "ms_per_plan": round(1000 * elapsed / runs, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
