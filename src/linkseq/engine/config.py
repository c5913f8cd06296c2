"""The engine's knobs, with the defaults the guide and DESIGN.md give."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from linkseq.settings import Settings

__all__ = ["EngineConfig"]


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """How often to sync, how fresh a sync must be before a message, and the pass's limits."""

    # sync-before-send (guide §15): every message goes right after a conversations sync at most
    # `freshness` old that no wait of the pass came after (each message of a burst after the
    # first has its own, a human gap later); a burst ends once `max_race` has passed since its
    # first sync
    freshness: timedelta = timedelta(seconds=60)
    max_race: timedelta = timedelta(minutes=5)
    max_batch: int = 4
    # due messages wait (at most `batch_wait`) until `batch_min` are due, so one pass sends them
    batch_min: int = 3
    batch_wait: timedelta = timedelta(hours=3)
    conversations_every: timedelta = timedelta(hours=4)
    connections_every: timedelta = timedelta(hours=24)
    connections_before_new: timedelta = timedelta(hours=6)
    invitations_every: timedelta = timedelta(hours=24)
    admission_batch: int = 500
    cooldown: timedelta = timedelta(days=3)
    messages_per_day: int = 50
    weekly_invitation_cap: int = 100
    pending_invitations_cap: int = 500
    retry_later: timedelta = timedelta(minutes=15)
    backoff_429: timedelta = timedelta(minutes=5)
    idle_wake: timedelta = timedelta(hours=3)
    lease_ttl: timedelta = timedelta(minutes=10)
    withdrawals_per_pass: int = 10
    # a pass plans this far ahead and the next passes send from that plan (engine/memo.py):
    # a step that becomes due meanwhile, or a lead whose hours open, waits at most this long
    # for a kept plan that has more of its action (a message, or an action the plan has no
    # more of, goes ahead of it at once: `memo.goes_ahead`); three hours keep each action's
    # spread as drawn and build a fifth fewer plans than one hour (4-day, 10,000-lead run)
    replan_every: timedelta = timedelta(minutes=180)
    # "scheduled": the periodic connections/conversations syncs run on Edges (schedule mode,
    # `linkseq.engine.background`) and arrive by callback; the pass then syncs live only
    # before admitting new leads and before sending messages
    periodic_syncs: Literal["live", "scheduled"] = "live"

    @classmethod
    def from_settings(cls, settings: Settings, **changes: Any) -> EngineConfig:
        """The engine's limits as the settings give them (`LINKSEQ_MESSAGES_PER_DAY`, …), with
        `changes`: the worker, `leads why`, `campaigns status`, the dashboard and the webhooks
        all count quotas alike."""
        return replace(
            cls(
                messages_per_day=settings.messages_per_day,
                weekly_invitation_cap=settings.weekly_invitation_cap,
                pending_invitations_cap=settings.pending_invitations_cap,
            ),
            **changes,
        )
