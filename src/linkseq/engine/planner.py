"""Building one identity's plan from the database: campaigns, due candidates, quotas, pacing.

Shared by the runner (step 4 of a pass) and `explain` (`leads why`), so both read the same
plan. The hot path reads plain tuples with Core selects (no ORM objects for the hundreds of
candidates a pass looks at), and caches what does not change between passes: parsed specs,
working schedules, time zones.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.campaigns import CampaignSpec
from linkseq.engine.config import EngineConfig
from linkseq.engine.limits import load_remote_limits
from linkseq.engine.outbox import hold_times
from linkseq.engine.quotas import Sends, quotas_of, recent_sends
from linkseq.engine.steps import load_spec, step_at, step_kind
from linkseq.planning.hours import WorkingSchedule
from linkseq.planning.pacing import Pacing, StepKind, pass_rng
from linkseq.planning.quota import Action, QuotaStatus
from linkseq.planning.schedule import Candidate, Plan, plan_identity_pass
from linkseq.store import fast
from linkseq.store.enums import CampaignStatus, EnrollmentState, IdentityStatus
from linkseq.store.models import Campaign, CampaignIdentity, Enrollment, Identity, Lead

__all__ = [
    "MAX_CANDIDATES",
    "MESSAGE_KINDS",
    "PLANNED_STATES",
    "CampaignInfo",
    "IdentityPlan",
    "active_campaigns",
    "build_plan",
    "campaign_pacing",
    "due_candidates",
    "lead_zone",
]

PLANNED_STATES = (EnrollmentState.READY, EnrollmentState.CONNECTED, EnrollmentState.MESSAGED)
MESSAGE_KINDS = frozenset({StepKind.first_message, StepKind.follow_up})
MAX_CANDIDATES = 2000  # the due enrollments one plan reads (rows)


@dataclass(frozen=True, slots=True)
class CampaignInfo:
    """An active campaign of the identity, parsed once."""

    id: int
    name: str
    spec: CampaignSpec
    schedule: WorkingSchedule

    @property
    def priority(self) -> int:
        """The campaign's weight when identities share capacity (≥ 1)."""
        return max(1, self.spec.priority)

    def zone(self, lead_tz: str | None, identity_tz: str | None) -> ZoneInfo:
        """The zone a lead's hours are read in, by the campaign's schedule."""
        hours = self.spec.schedule
        return lead_zone(
            hours.timezone, lead_tz, identity_tz, hours.fixed_timezone, hours.default_timezone
        )

    def caps(self) -> dict[Action, int | None]:
        """The campaign's own per-identity daily caps."""
        caps = self.spec.caps
        return {
            Action.visit: caps.visit,
            Action.connect: caps.connect,
            Action.message: caps.message,
            Action.inmail: caps.inmail,
        }


_SCHEDULES: dict[int, tuple[int, WorkingSchedule]] = {}

# built once, run at every pass with parameters (constructing costs more than running)
_ACTIVE_CAMPAIGNS = (
    sa.select(Campaign.id, Campaign.name, Campaign.spec)
    .join(CampaignIdentity, CampaignIdentity.campaign_id == Campaign.id)
    .where(
        CampaignIdentity.identity_id == sa.bindparam("identity_id"),
        Campaign.status == CampaignStatus.ACTIVE,
    )
)
_DUE = (
    sa.select(
        Enrollment.id,
        Enrollment.campaign_id,
        Enrollment.step_index,
        Enrollment.message_count,
        Enrollment.next_action_at,
        Lead.timezone,
    )
    .join(Lead, Lead.id == Enrollment.lead_id)
    .where(
        Enrollment.identity_id == sa.bindparam("identity_id"),
        Enrollment.state.in_(PLANNED_STATES),
        Enrollment.next_action_at <= sa.bindparam("until"),
        Enrollment.campaign_id.in_(sa.bindparam("campaigns", expanding=True)),
    )
    .order_by(Enrollment.next_action_at, Enrollment.id)
    .limit(sa.bindparam("n"))
)


def _schedule(campaign_id: int, spec: CampaignSpec) -> WorkingSchedule:
    cached = _SCHEDULES.get(campaign_id)
    if cached is not None and cached[0] == id(spec):
        return cached[1]
    schedule = spec.schedule.working_schedule()
    _SCHEDULES[campaign_id] = (id(spec), schedule)
    return schedule


def active_campaigns(session: Session, identity_id: int) -> dict[int, CampaignInfo]:
    """The identity's active campaigns, by id."""
    rows = fast.rows(session, _ACTIVE_CAMPAIGNS, {"identity_id": identity_id})
    out: dict[int, CampaignInfo] = {}
    for cid, name, spec_json in rows:
        spec = load_spec(cid, spec_json)
        out[cid] = CampaignInfo(cid, name, spec, _schedule(cid, spec))
    return out


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@functools.lru_cache(maxsize=4096)
def lead_zone(
    policy: str, lead_tz: str | None, identity_tz: str | None, fixed: str | None, default: str
) -> ZoneInfo:
    """The zone a lead's hours are read in: the campaign's policy, then its default zone."""
    if policy == "fixed":
        return _zone(fixed) or _zone(default) or ZoneInfo("UTC")
    if policy == "lead":
        return _zone(lead_tz) or _zone(identity_tz) or _zone(default) or ZoneInfo("UTC")
    return _zone(identity_tz) or _zone(default) or ZoneInfo("UTC")


def campaign_pacing(campaigns: dict[int, CampaignInfo]) -> Pacing:
    """The most careful pacing of the identity's campaigns."""
    paces = [info.spec.pacing.pacing() for info in campaigns.values()]
    if not paces:
        return Pacing()
    return Pacing(
        min_gap=max(p.min_gap for p in paces),
        max_gap=max(p.max_gap for p in paces),
    )


def due_candidates(
    session: Session,
    identity: Identity,
    campaigns: dict[int, CampaignInfo],
    until: datetime,
    *,
    limit: int = MAX_CANDIDATES,
) -> tuple[list[Candidate], bool]:
    """The identity's enrollments whose next step is due by `until`, as planner candidates, and
    whether they are all of them (False: the read stopped at `limit` rows).

    One covered index range scan (`ix_enrollments_due`) joined to the lead for its time zone; the
    candidate's key is the enrollment id.
    """
    if not campaigns:
        return [], True
    params = {"identity_id": identity.id, "until": until, "campaigns": list(campaigns)}
    rows = fast.rows(session, _DUE, {**params, "n": limit})
    out: list[Candidate] = []
    # many leads share a few steps and zones: each is resolved once per call
    kinds: dict[tuple[int, int, int], StepKind | None] = {}
    zones: dict[tuple[int, str | None], ZoneInfo] = {}
    names = {cid: (info.name, info.priority) for cid, info in campaigns.items()}
    for eid, cid, index, messages, due_at, lead_tz in rows:
        key = (cid, index, messages)
        if key not in kinds:
            step = step_at(campaigns[cid].spec.steps, index)
            kinds[key] = step_kind(step, messages) if step is not None else None
        kind = kinds[key]
        if kind is None or due_at is None:
            continue
        tz = zones.get((cid, lead_tz))
        if tz is None:
            tz = zones[(cid, lead_tz)] = campaigns[cid].zone(lead_tz, identity.timezone)
        name, priority = names[cid]
        out.append(Candidate(str(eid), kind, name, due_at, tz, priority))
    # (a row without an outreach step is no candidate: the rows, not the candidates, tell)
    return out, len(rows) < limit


def batch_messages(
    candidates: list[Candidate], now: datetime, config: EngineConfig
) -> list[Candidate]:
    """Hold due messages until `batch_min` are due or the oldest waited `batch_wait`.

    One pass then sends them as a burst, a conversations sync before each (guide §15). A
    message not due yet is held the same way from its due time on: its candidate is due when
    its burst would go (with `batch_min` due by then, or its oldest waiting `batch_wait`), so
    the identity is not woken at its due time only to hold it.
    """
    messages = sorted(
        (c for c in candidates if c.kind in MESSAGE_KINDS), key=lambda c: (c.due_at, c.key)
    )
    if not messages:
        return candidates
    release: dict[str, datetime] = {}
    waiting: list[Candidate] = []  # due by the instant looked at, not gone yet

    def burst(at: datetime) -> None:
        """The waiting messages go at `at` (those due now and going now stay as they are)."""
        for c in waiting:
            if at > now and at > c.due_at:
                release[c.key] = at
        waiting.clear()

    due = [c for c in messages if c.due_at <= now]
    later = messages[len(due) :]
    waiting += due
    if due and (len(due) >= config.batch_min or due[0].due_at + config.batch_wait <= now):
        burst(now)  # they go now
    for at, arriving in itertools.groupby(later, key=lambda c: c.due_at):
        if waiting and waiting[0].due_at + config.batch_wait < at:
            burst(waiting[0].due_at + config.batch_wait)  # the oldest waited long enough
        waiting += arriving
        if len(waiting) >= config.batch_min:
            burst(at)
    if waiting:
        burst(max(now, waiting[0].due_at + config.batch_wait))
    if not release:
        return candidates
    return [
        dataclasses.replace(c, due_at=release[c.key]) if c.key in release else c for c in candidates
    ]


@dataclass(frozen=True, slots=True)
class IdentityPlan:
    """A plan and what it was built from."""

    plan: Plan
    quotas: dict[Action, QuotaStatus]
    pacing: Pacing
    candidates: tuple[Candidate, ...]
    # every enrollment due by the horizon was read (the read did not stop at its limit)
    complete: bool


def build_plan(
    session: Session,
    identity: Identity,
    campaigns: dict[int, CampaignInfo],
    *,
    now: datetime,
    config: EngineConfig,
    pending_invitations: int | None = None,
    ahead: timedelta | None = None,
) -> IdentityPlan:
    """The identity's plan now: due candidates within the pacing horizon (or `ahead`, when
    longer), every limit applied, Edges' own counts (`limits.load_remote_limits`) included."""
    remote = load_remote_limits(session, identity.id)
    pacing = campaign_pacing(campaigns)
    if ahead is not None and ahead > pacing.horizon:
        pacing = dataclasses.replace(pacing, horizon=ahead)
    due, complete = due_candidates(session, identity, campaigns, now + pacing.horizon)
    candidates = batch_messages(due, now, config)
    sends = recent_sends(session, [identity.id], now, remote=remote).get(identity.id, Sends())
    quotas, campaign_caps = quotas_of(
        identity,
        sends,
        hold_times(session, identity.id, now),
        now=now,
        config=config,
        campaign_caps={cid: info.caps() for cid, info in campaigns.items()},
        remote=remote,
        pending_invitations=pending_invitations,
    )
    names = {cid: info.name for cid, info in campaigns.items()}
    # pacing needs the last action only when it is minutes old: the week's sends hold it
    last_sent = {a: max(times) for a, times in sends.per_action.items() if times}
    last = max(last_sent.values(), default=None)
    plan = plan_identity_pass(
        now=now,
        candidates=candidates,
        quotas=quotas,
        schedules={info.name: info.schedule for info in campaigns.values()},
        last_action_at=last,
        pacing=pacing,
        rng=pass_rng(identity.uid, last),
        campaign_quotas={(names[cid], a): q for (cid, a), q in campaign_caps.items()},
        identity_paused=identity.status is not IdentityStatus.ACTIVE,
        last_sent=last_sent,
        orders={info.name: info.spec.pacing.priority() for info in campaigns.values()},
    )
    return IdentityPlan(plan, quotas, pacing, tuple(candidates), complete)
