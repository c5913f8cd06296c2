"""Benchmark: import 100,000 CSV rows into SQLite, then the same file again (all duplicates).

Targets: each import ≤ 5 s; peak memory (process RSS high-water mark) ≤ 300 MB.
Prints one JSON object per figure.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from linkseq.leads.importer import import_csv
from linkseq.store import build_engine, session_factory, upgrade

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
LOCATIONS = ["Paris, Île-de-France, France", "San Francisco Bay Area", "Berlin, Germany",
             "London, England, United Kingdom", "Austin, Texas, United States", "Lyon, France",
             "Somewhere", ""]  # fmt: skip


def _write_csv(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["linkedin_profile_url", "first_name", "last_name", "full_name",
                         "company_name", "location", "email", "job_title"])  # fmt: skip
        for n in range(ROWS):
            writer.writerow([
                f"https://www.linkedin.com/in/person-{n}/", f"First{n}", f"Last{n}",
                f"First{n} Last{n}", f"Company {n % 5000}", LOCATIONS[n % len(LOCATIONS)],
                f"p{n}@example.com", "Head of Sales",
            ])  # fmt: skip


def _emit(name: str, value: float, unit: str, **extra: object) -> None:
    print(json.dumps({"name": name, "value": round(value, 3), "unit": unit,
                      "cores": os.cpu_count(), "rows": ROWS, **extra}))  # fmt: skip


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "leads.csv"
        _write_csv(source)
        engine = build_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine)
        make = session_factory(engine)
        timings = []
        for run in ("import_100k", "reimport_100k_duplicates"):
            with make() as session:
                started, cpu = time.perf_counter(), time.process_time()
                report = import_csv(session, source, now=NOW)
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            timings.append(elapsed)
            # cpu_seconds: this process's CPU time, steadier than wall time on a shared machine.
            _emit(f"{run}_seconds", elapsed, "s", created=report.created,
                  unchanged=report.unchanged, cpu_seconds=round(cpu, 3), target=5.0)  # fmt: skip
        engine.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _emit("import_peak_rss_mb", peak_mb, "MB", target=300)
    return 0 if max(timings) <= 5.0 and peak_mb <= 300 else 1


if __name__ == "__main__":
    sys.exit(main())
