"""Where a simulated campaign's CPU goes, pass by pass: each kind of pass, its count and cost.

A pass is classed by whether it built a plan or used the kept one, the syncs it made, and what
it sent (`kept / - / visit`: a kept plan's visit, no sync). The classes that cost the most come
first: the hot path to work on. The figures are CPU milliseconds per pass (the worker's loop
between passes, its lease release and claim, is counted apart).

Scale with LINKSEQ_BENCH_PASSES="people,identities,days" (default "2000,4,10": the load of the
issue's campaign per identity, on fewer identities and days).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from linkseq.demo.simulation import Simulation
from linkseq.engine import runner
from linkseq.logging import configure_logging
from linkseq.runtime import tune_gc

SHOWN = 8  # the costliest classes


def main() -> None:
    """Run the simulation with each pass timed and classed; one JSON object per class."""
    configure_logging("WARNING")
    tune_gc()  # as the `linkseq` process that runs the engine does
    scale = os.environ.get("LINKSEQ_BENCH_PASSES", "2000,4,10")
    people, identities, days = (int(x) for x in scale.split(","))
    builds = [0]
    build_plan = vars(runner)["build_plan"]

    def counted_build(*args: Any, **kwargs: Any) -> Any:
        builds[0] += 1
        return build_plan(*args, **kwargs)

    classes: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    work = runner.Engine.work

    def timed_work(self: runner.Engine, identity_id: int, **kwargs: Any) -> Any:
        before, start = builds[0], time.process_time()
        report = work(self, identity_id, **kwargs)
        spent = time.process_time() - start
        sent = [r.kind.value for r in report.results if r.outcome == "sent" and r.kind]
        name = "/".join(
            (
                "build" if builds[0] > before else "kept",
                ",".join(sorted(set(report.syncs))) or "-",
                ",".join(sent) or "none",
            )
        )
        classes[name][0] += 1
        classes[name][1] += spent
        return report

    vars(runner)["build_plan"] = counted_build
    runner.Engine.work = timed_work  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sim = Simulation(
                database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
                people=people,
                identities=identities,
            )
            try:
                start = time.process_time()
                actions = sim.run(days=days)
                total = time.process_time() - start
            finally:
                sim.close()
    finally:
        vars(runner)["build_plan"] = build_plan
        runner.Engine.work = work  # type: ignore[method-assign]
    in_passes = sum(spent for _, spent in classes.values())
    common = {"cores": os.cpu_count(), "people": people, "identities": identities, "days": days}
    print(
        json.dumps(
            {
                "name": "passes_total_cpu",
                "value": round(total, 2),
                "unit": "s",
                "actions": actions,
                "passes": int(sum(count for count, _ in classes.values())),
                "plans_built": builds[0],
                "outside_passes_s": round(total - in_passes, 2),
                **common,
            }
        )
    )
    costliest = sorted(classes.items(), key=lambda item: -item[1][1])[:SHOWN]
    for name, (count, spent) in costliest:
        print(
            json.dumps(
                {
                    "name": f"pass[{name}]",
                    "value": round(1000 * spent / count, 2),
                    "unit": "ms/pass",
                    "passes": int(count),
                    "share": round(spent / total, 3),
                    **common,
                }
            )
        )


if __name__ == "__main__":
    main()
