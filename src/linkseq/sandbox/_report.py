"""Ground truth: the append-only log and the breach counters."""

from __future__ import annotations

from collections import Counter
from typing import Any

__all__ = ["BREACHES", "Ledger"]

BREACHES = (
    "duplicate_invitation",
    "duplicate_message",
    "message_after_reply",
    "over_limit_attempt",
    "outside_hours",
    "pacing_gap",
    "parallel_live_calls",
)


class Ledger:
    """The log of every call, action and event, and the counts of breaches and totals."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.breaches: Counter[str] = Counter(dict.fromkeys(BREACHES, 0))
        self.totals: Counter[str] = Counter()

    def add(self, kind: str, at: str, **fields: Any) -> dict[str, Any]:
        """Append one entry and return it."""
        entry = {"seq": len(self.entries) + 1, "at": at, "kind": kind, **fields}
        self.entries.append(entry)
        return entry

    def breach(self, name: str, at: str, **fields: Any) -> None:
        """Count a breach and log it."""
        self.breaches[name] += 1
        self.add("breach", at, breach=name, **fields)

    def report(self) -> dict[str, Any]:
        """`{"breaches": {...}, "totals": {...}}`."""
        return {
            "breaches": {name: self.breaches[name] for name in BREACHES},
            "totals": dict(sorted(self.totals.items())),
        }
