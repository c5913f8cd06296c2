"""An identity's plan, kept between passes: one plan serves the sends it spread ahead.

Building a plan is the heaviest read of a pass (every due candidate, every quota). The runner's
plan looks `replan_every` ahead (30 minutes) and says what goes at which paced instant; a pass
sends only its first action, and the next passes take the following ones from the kept plan
instead of rebuilding it, as long as nothing the plan was built from has changed:

- the plan is younger than `replan_every`, and no action it held for a used-up quota could go
  yet (that quota's next slot);
- the pass ran no sync, admission or withdrawal (they move leads and due times), and the
  previous pass ended in exactly one send;
- the identity's active campaigns are the same;
- no outbox row was written for the identity since the plan was built, but the engine's own
  sends (a message from the inbox, another process): the quotas the plan spent are still true.

A step that becomes due meanwhile, or a lead whose hours open, waits for the next plan: at most
`replan_every`. Before each send the runner still reloads the enrollment (a reply, a pause, the
do-not-contact list stop it as before) and checks that its step is the one planned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.engine.planner import IdentityPlan
from linkseq.planning.schedule import HoldReason, Plan, Planned
from linkseq.store.models import OutboxAction

__all__ = ["PlanMemo", "outbox_high_water"]


def outbox_high_water(session: Session) -> int:
    """The highest outbox id so far (the primary key's last entry: no scan)."""
    return int(session.execute(sa.select(sa.func.max(OutboxAction.id))).scalar_one() or 0)


@dataclass(slots=True)
class PlanMemo:
    """A built plan, what of it was sent, and until when it holds."""

    built: IdentityPlan
    campaigns: frozenset[int]
    valid_until: datetime
    high_water: int
    consumed: int = 0
    ours: set[int] = field(default_factory=set)
    late: timedelta = timedelta(0)  # how much later than planned the sends went

    @classmethod
    def keep(
        cls, built: IdentityPlan, *, now: datetime, campaigns: frozenset[int], high_water: int
    ) -> PlanMemo:
        """Remember `built` (made at `now`) until its horizon, or a used-up quota's next slot."""
        until = now + built.pacing.horizon
        for held in built.plan.held:
            if held.reason is HoldReason.quota and held.earliest is not None:
                until = min(until, held.earliest)
        return cls(built, campaigns, until, high_water)

    def plan(self) -> Plan:
        """The plan's actions not sent yet (as late as the sends went: the gaps between two
        actions stay as drawn), and what it held."""
        go = self.built.plan.go[self.consumed :]
        if self.late:
            go = tuple(Planned(p.candidate, p.at + self.late) for p in go)
        return Plan(go, self.built.plan.held)

    def usable(
        self, session: Session, *, identity_id: int, now: datetime, campaigns: frozenset[int]
    ) -> bool:
        """True when the plan still says what a new one would (see the module's docstring)."""
        if now >= self.valid_until or campaigns != self.campaigns:
            return False
        if self.consumed >= len(self.built.plan.go):
            return False
        others = session.execute(
            sa.select(OutboxAction.id)
            .where(OutboxAction.id > self.high_water, OutboxAction.identity_id == identity_id)
            .limit(len(self.ours) + 1)
        ).scalars()
        return all(action_id in self.ours for action_id in others)

    def sent(self, action_id: int | None, *, planned: datetime, at: datetime) -> None:
        """The plan's next action, planned at `planned`, went out at `at` as outbox row
        `action_id`."""
        self.late += max(timedelta(0), at - planned)
        self.consumed += 1
        if action_id is not None:
            self.ours.add(action_id)
