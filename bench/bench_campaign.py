"""A whole campaign simulated end to end (sandbox + real engine, virtual clock): wall time.

Scale with LINKSEQ_BENCH_CAMPAIGN="people,identities,days" (the issue's figure is
"10000,20,30"); the default is the demo's 300 people, 3 identities, 21 days.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from linkseq.demo.simulation import Simulation
from linkseq.logging import configure_logging
from linkseq.runtime import tune_gc


def main() -> None:
    """Run the simulation and print one JSON object per figure."""
    configure_logging("WARNING")
    tune_gc()  # as the `linkseq` process that runs the engine does
    scale = os.environ.get("LINKSEQ_BENCH_CAMPAIGN", "300,3,21")
    people, identities, days = (int(x) for x in scale.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        wall, cpu = time.perf_counter(), time.process_time()
        sim = Simulation(
            database_url=f"sqlite:///{Path(tmp) / 'bench.db'}", people=people, identities=identities
        )
        try:
            sent = sim.run(days=days)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            breaches = sum(sim.sandbox.report()["breaches"].values())
        finally:
            sim.close()
    common = {
        "cores": os.cpu_count(),
        "people": people,
        "identities": identities,
        "days": days,
        "actions": sent,
        "breaches": breaches,
        "load_avg": os.getloadavg()[0],
    }
    print(json.dumps({"name": "campaign_wall", "value": round(wall, 2), "unit": "s", **common}))
    print(json.dumps({"name": "campaign_cpu", "value": round(cpu, 2), "unit": "s", **common}))
    per_action = 1000 * cpu / max(1, sent)
    print(
        json.dumps(
            {
                "name": "campaign_cpu_per_action",
                "value": round(per_action, 2),
                "unit": "ms",
                **common,
            }
        )
    )


if __name__ == "__main__":
    main()
