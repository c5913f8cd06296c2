"""An identity's plan, kept between passes: one plan serves the sends it spread ahead.

Building a plan is the heaviest read of a pass (every due candidate, every quota). The runner's
plan looks `replan_every` ahead (three hours) and says what goes at which paced instant; a pass
sends only its first action, and the next passes take the following ones from the kept plan
instead of rebuilding it, as long as nothing the plan was built from has changed:

- the plan is younger than `replan_every`, and no action it held for a used-up quota could go
  yet (that quota's next slot);
- a plan with no action at all (every lead held: hours, delays, quotas) holds until the first
  instant one of them could go: a pass woken meanwhile (a periodic sync) does not rebuild it.
  When every hold ends at a known instant, the runner reads the steps due after the plan's
  horizon (a day ahead of its build, once) and the plan holds until the first of them could go
  too, not only to its horizon: nights and weekends are not replanned every `replan_every`;
- its next action is within one human gap, or nothing it held could go yet: a pass does not
  wait longer than that gap for the next action (its worker serves the other identities), so
  the identity is woken for it, but a step that fell due meanwhile gets a new plan;
- the pass admitted no lead, withdrew no invitation and read no new limits from Edges, and the
  previous pass ended in exactly one send;
- the identity's active campaigns are the same;
- no outbox row was written for the identity since the plan was built, but the engine's own
  sends (a message from the inbox, another process): the quotas the plan spent are still true.
  PostgreSQL does not commit ids in their order: a reply from the inbox committed after the
  plan was built can have an id below its mark, unseen here; the runner checks a kept plan's
  first message against the limits before it goes (SQLite, one writer at a time: in order);
- no lead of the identity changed state since, but those the plan sent to (a sync or a callback
  saw an acceptance: every change of state writes an audit row), and those that left their
  sequence (a reply, a stop, the end): such a lead only loses its place in the plan, which the
  runner sees when its turn comes (it reads the enrollment again before each send), and the
  plan is planned anew after that turn.

A step that becomes due meanwhile, or a lead whose hours open, waits for the next plan: at most
`replan_every`. Before each send the runner still reloads the enrollment (a reply, a pause, the
do-not-contact list stop it as before) and checks that its step is the one planned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.engine.lifecycle import TERMINAL, State
from linkseq.engine.planner import IdentityPlan
from linkseq.planning.quota import Action
from linkseq.planning.schedule import HoldReason, Plan, Planned
from linkseq.store import fast
from linkseq.store.models import AuditEvent, Enrollment, OutboxAction

__all__ = ["PlanMemo", "goes_ahead", "high_water"]


# A lead that leaves its sequence (replied, stopped, done) takes nothing from a kept plan but
# its own place in it: the plan's actions for it are not sent (the runner reads each
# enrollment again before its send: `_as_planned`), and the rest of the plan still holds.
# (A hold on the identity's actions, which the probe does not read, is written with a note of
# the lead's current state (`actions._on_error`), never a leaving one: it is still seen.)
_LEAVING = frozenset(state.value for state in TERMINAL | {State.paused})
# built once (a statement costs more to construct than to run)
_HIGH_WATER = sa.select(
    sa.select(sa.func.max(OutboxAction.id)).scalar_subquery(),
    sa.select(sa.func.max(AuditEvent.id)).scalar_subquery(),
)
# one statement per kept plan: has anything but the plan's own sends changed since it was built.
# Both probes walk their table's primary key from the plan's high-water mark (the few rows
# written since), never the identity's whole history: the outbox's identity column is read as
# an expression (`+ 0`) so that SQLite does not pick its identity index, and an audit row's
# identity is looked up by the row's enrollment.
_CHANGED = sa.select(
    sa.exists().where(
        OutboxAction.id > sa.bindparam("outbox"),
        OutboxAction.identity_id + 0 == sa.bindparam("identity_id"),
        OutboxAction.id.not_in(sa.bindparam("ours", expanding=True)),
    ),
    sa.exists().where(
        AuditEvent.id > sa.bindparam("audit"),
        AuditEvent.enrollment_id.not_in(sa.bindparam("sent_to", expanding=True)),
        sa.or_(AuditEvent.to_state.is_(None), AuditEvent.to_state.not_in(sorted(_LEAVING))),
        sa.select(Enrollment.identity_id)
        .where(Enrollment.id == AuditEvent.enrollment_id)
        .scalar_subquery()
        == sa.bindparam("identity_id"),
    ),
)


def goes_ahead(action: Action, go: Sequence[Planned]) -> bool:
    """True when `action`, held by a plan whose actions still to go are `go`, would go ahead
    of them once it can: a message (messages are not spread), or an action the plan has
    nothing more of. Otherwise it keeps its place in the action's spread cadence: the plan's
    next one of it."""
    return action is Action.message or all(p.candidate.action is not action for p in go)


def high_water(session: Session) -> tuple[int, int]:
    """The highest outbox and audit ids so far (each its primary key's last entry: no scan)."""
    outbox, audit = fast.one(session, _HIGH_WATER, {})
    return int(outbox or 0), int(audit or 0)


@dataclass(slots=True)
class PlanMemo:
    """A built plan, what of it was sent, and until when it holds."""

    built: IdentityPlan
    campaigns: frozenset[int]
    valid_until: datetime
    high_water: tuple[int, int]  # outbox, audit
    built_at: datetime
    consumed: int = 0
    ours: set[int] = field(default_factory=set)
    sent_to: set[int] = field(default_factory=set)  # enrollments
    late: timedelta = timedelta(0)  # how much later than planned the sends went
    extended: bool = False  # an empty plan's validity was set past its horizon

    @classmethod
    def keep(
        cls,
        built: IdentityPlan,
        *,
        now: datetime,
        campaigns: frozenset[int],
        high_water: tuple[int, int],
    ) -> PlanMemo:
        """Remember `built` (made at `now`) until its horizon, or a used-up quota's next slot;
        a plan that sends nothing, until the first instant a lead it held could go."""
        until = now + built.pacing.horizon
        empty = not built.plan.go
        for held in built.plan.held:
            if held.earliest is not None and (empty or held.reason is HoldReason.quota):
                until = min(until, held.earliest)
        return cls(built, campaigns, until, high_water, now)

    def extensible(self) -> bool:
        """True for a plan with nothing to send, not extended yet, whose holds all end at a
        known instant and that read every enrollment due by its horizon (`hold_empty_until`)."""
        plan = self.built.plan
        return (
            not self.extended
            and not plan.go
            and all(h.earliest is not None for h in plan.held)
            and self.built.complete
        )

    def hold_empty_until(self, later: datetime) -> None:
        """A plan with no action holds until the first instant one of its held leads could
        go, or `later`: the first instant a step due after its horizon (none of its
        candidates) could go, a bounded time after it was built. Once: what the plan was built
        from does not change without an audit or an outbox row, which `usable` sees, or (a
        lead's zone, a sync that frees a slot the plan did not know of) is seen at `later`."""
        assert self.extensible()
        self.extended = True
        self.valid_until = min(
            [later, *(h.earliest for h in self.built.plan.held if h.earliest is not None)]
        )

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
        # (the actions keep their place in the plan when the sends ran late)
        if now >= self.valid_until + self.late or campaigns != self.campaigns:
            return False
        if self.built.plan.go and self.consumed >= len(self.built.plan.go):
            return False  # every action sent (a plan that had none holds until `valid_until`)
        outbox, audit = self.high_water
        other_sends, moved = fast.one(  # a Core probe: nothing to flush first, as before
            session,
            _CHANGED,
            {
                "outbox": outbox,
                "audit": audit,
                "identity_id": identity_id,
                "ours": sorted(self.ours),
                "sent_to": sorted(self.sent_to),
            },
            flush=False,
        )
        return not other_sends and not moved

    def overtaken(self, now: datetime) -> bool:
        """True when the plan's next action is more than one human gap away and something it
        held could go by now (a step fell due, a zone opened, a slot freed) ahead of it: a
        message (messages are not spread), or an action the plan has nothing more of. A new
        plan may send that first; the kept one would only wait (and its held times, all past,
        would wake the identity again and again). An action the plan has more of keeps its
        own spread cadence: a new plan would send it no sooner."""
        go = self.plan().go
        if not go or go[0].at <= now + self.built.pacing.max_gap:
            return False
        return any(
            h.earliest is not None and h.earliest <= now and goes_ahead(h.candidate.action, go)
            for h in self.built.plan.held
        )

    def sent(self, action_id: int | None, *, planned: datetime, at: datetime) -> None:
        """The plan's next action, planned at `planned`, went out at `at` as outbox row
        `action_id`."""
        self.late += max(timedelta(0), at - planned)
        self.sent_to.add(int(self.built.plan.go[self.consumed].candidate.key))
        self.consumed += 1
        if action_id is not None:
            self.ours.add(action_id)
