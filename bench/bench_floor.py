"""The floor under the campaign benchmark: what one outreach action costs at the least.

Every action of the simulated campaign (`bench_campaign.py`) does at least three things, whatever
the planning around it:
- the outbox's intent, committed before the call (never twice), and its result, committed after
  (nothing lost): `outbox.begin` + `outbox.mark_sent`, two SQLite transactions;
- one live call through the Edges client to the sandbox (in-process WSGI, the real client);
- the virtual clock moved by the human gap that follows it (the sandbox's world advances).

Each is timed alone here (CPU per action, the median of several rounds), then summed and
multiplied by the actions of the issue's 30-day campaign (10,000 leads, 20 identities:
LINKSEQ_BENCH_FLOOR_ACTIONS, default 24,713 as measured): the time no scheduling change can go
under. Prints one JSON object per figure.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from linkseq.demo.simulation import Simulation
from linkseq.edges import EdgesError
from linkseq.engine import outbox
from linkseq.logging import configure_logging
from linkseq.runtime import tune_gc
from linkseq.store.enums import ActionKind
from linkseq.store.models import Enrollment, Lead

ROUNDS = 5
PER_ROUND = 200
TARGET_S = 60.0


def emit(name: str, value: float, unit: str, **extra: Any) -> None:
    """One figure."""
    print(
        json.dumps({"name": name, "value": value, "unit": unit, "cores": os.cpu_count(), **extra})
    )


def per_action_ms(step: Callable[[int], None]) -> float:
    """CPU milliseconds per call of `step(i)`: the median of ROUNDS rounds of PER_ROUND calls."""
    rounds = []
    for r in range(ROUNDS):
        start = time.process_time()
        for i in range(PER_ROUND):
            step(r * PER_ROUND + i)
        rounds.append(1000 * (time.process_time() - start) / PER_ROUND)
    return statistics.median(rounds)


def main() -> None:
    """Time each part of one action, then the floor of the 30-day campaign."""
    configure_logging("WARNING")
    tune_gc()  # as the `linkseq` process that runs the engine does
    actions = int(os.environ.get("LINKSEQ_BENCH_FLOOR_ACTIONS", "24713"))
    total = ROUNDS * PER_ROUND
    with tempfile.TemporaryDirectory() as tmp:
        sim = Simulation(database_url=f"sqlite:///{Path(tmp) / 'floor.db'}", people=total)
        try:
            uid = sim.identity_uids[0]
            with sim.sessions() as session:
                rows = session.execute(
                    sa.select(Enrollment.id, Enrollment.identity_id, Lead.profile_url)
                    .join(Lead, Lead.id == Enrollment.lead_id)
                    .order_by(Enrollment.id)
                ).all()
            assert len(rows) >= total, len(rows)

            def gap(i: int) -> None:  # the human gap after an action: 20 minutes of the world
                sim.sandbox.advance(by=timedelta(minutes=20))

            def call(i: int) -> None:  # one visit a gap (3 an hour stays under 80 a day)
                # an error answer (a profile the world hides) is the same round trip
                with contextlib.suppress(EdgesError):
                    sim.client.visit_profile(uid, rows[i][2])
                sim.sandbox.advance(by=timedelta(minutes=20))

            def commits(i: int) -> None:
                eid, identity_id, url = rows[i]
                with sim.sessions() as session:
                    action = outbox.begin(
                        session,
                        enrollment_id=eid,
                        identity_id=identity_id,
                        step_id="floor",
                        kind=ActionKind.VISIT,
                        request={"profile_url": url},
                        now=sim.clock.now(),
                    )
                    assert action is not None
                    outbox.mark_sent(session, action, response={"ok": True}, now=sim.clock.now())
                    session.commit()

            gap_ms = per_action_ms(gap)
            call_and_gap_ms = per_action_ms(call)
            commits_ms = per_action_ms(commits)
        finally:
            sim.close()
    call_ms = max(0.0, call_and_gap_ms - gap_ms)
    floor_ms = call_ms + gap_ms + commits_ms
    common = {"rounds": ROUNDS, "per_round": PER_ROUND}
    emit("floor_edges_call_cpu", round(call_ms, 3), "ms/action", **common)
    emit("floor_clock_advance_cpu", round(gap_ms, 3), "ms/action", **common)
    emit("floor_outbox_commits_cpu", round(commits_ms, 3), "ms/action", **common)
    emit("floor_per_action_cpu", round(floor_ms, 3), "ms/action", **common)
    emit(
        "floor_campaign_30d_cpu",
        round(floor_ms * actions / 1000, 1),
        "s",
        actions=actions,
        target_s=TARGET_S,
        target_ms_per_action=round(1000 * TARGET_S / actions, 3),
    )


if __name__ == "__main__":
    main()
