"""Settings of the `linkseq` process (every command: the worker, the demo, the server) and of
the benchmarks that run the engine as it does.

A pass allocates many short-lived objects (ORM rows and their states, statements' parameters,
plans, candidates). Python's default collector runs a young-generation collection every 700
allocations and promotes what survives, so a worker spends about a tenth of its CPU collecting
(measured: 2,000 leads on 4 identities for 30 simulated days, 28.8 s of CPU with the defaults,
24.4–26.8 s with a young generation of 100,000). Reference cycles are still collected, later.
"""

from __future__ import annotations

import gc

__all__ = ["GC_THRESHOLDS", "tune_gc"]

# young collections every 100,000 allocations; the older generations at Python's own ratios (a
# long-running server's cyclic garbage is still collected in full every few million allocations)
GC_THRESHOLDS = (100_000, 10, 10)


def tune_gc() -> None:
    """Collect once, move everything alive (imports, settings, the database's metadata) out of
    the collector's sight for good, and collect young objects less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
