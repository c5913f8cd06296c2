"""One pass of the engine for one identity (DESIGN.md "One pass"), and running every identity.

A pass: know who we are (linkedin-me) → reconcile uncertain sends → sync what is stale →
admit new leads → close stale invitations → plan within limits, hours and pacing → send a small
batch through the outbox (sync-before-send for messages) → say when the identity next has work.
The identity's lease is released with that time, so no worker looks at it earlier.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from linkseq.campaigns import CampaignSpec, InmailStep, MessageStep
from linkseq.clock import Clock, ensure_utc
from linkseq.edges import AuthenticationError, AuthExpired, EdgesClient, EdgesError, NoValidAccount
from linkseq.engine.actions import ActionResult, kind_of, perform, reconcile, withdraw_or_close
from linkseq.engine.admission import admit
from linkseq.engine.config import EngineConfig
from linkseq.engine.limits import load_remote_limits, refresh_remote_limits
from linkseq.engine.memo import PlanMemo, goes_ahead, high_water
from linkseq.engine.outbox import IN_FLIGHT
from linkseq.engine.planner import (
    CampaignInfo,
    IdentityPlan,
    active_campaigns,
    build_plan,
    campaign_pacing,
)
from linkseq.engine.quotas import OUTREACH, identity_quotas
from linkseq.engine.recovery import pause_identity
from linkseq.engine.steps import load_spec, step_at, step_kind
from linkseq.engine.sync import (
    ensure_profile_id,
    hold_sync_rows,
    last_synced,
    pending_invitations,
    sync_connections,
    sync_conversations,
    sync_sent_invitations,
)
from linkseq.planning.hours import is_open, next_open
from linkseq.planning.pacing import ACTION_OF_KIND, StepKind, draw_gap, pass_rng
from linkseq.planning.quota import Action
from linkseq.planning.schedule import Candidate, Held, HoldReason, Plan, Planned
from linkseq.store import fast, is_sqlite
from linkseq.store.enums import EnrollmentState, IdentityStatus, SyncKind
from linkseq.store.fast import Runs
from linkseq.store.leases import (
    claim_identity_lease,
    ensure_lease_rows,
    release_lease,
    renew_lease,
)
from linkseq.store.models import (
    Campaign,
    Enrollment,
    Identity,
    Lead,
    OutboxAction,
    SentInvitation,
    SyncState,
    WorkerLease,
)

__all__ = ["Engine", "IdentityReport", "RunReport"]

log = structlog.get_logger("linkseq.engine")
_PLANNED_STATES = [EnrollmentState.READY, EnrollmentState.CONNECTED, EnrollmentState.MESSAGED]
_WAKE_STATES = [*_PLANNED_STATES, EnrollmentState.NEW, EnrollmentState.INVITED]
_MESSAGE_KINDS = {StepKind.first_message, StepKind.follow_up}
# how far a kept plan with nothing to send looks for the steps that fall due later (it is
# rebuilt after that at the latest)
_EMPTY_PLAN_HOLDS = timedelta(days=1)

# Statements of every pass, built once and run with parameters: constructing a statement
# costs more than running it.
_HAS_DUE: dict[tuple[EnrollmentState, ...], Any] = {}
# the active identities, their lease rows, the rows with a time (a row without one, never
# claimed, is free now), and the earliest time
_NEXT_WAKE = (
    sa.select(
        sa.func.count(Identity.id),
        sa.func.count(WorkerLease.identity_id),
        sa.func.count(WorkerLease.expires_at),
        sa.func.min(WorkerLease.expires_at),
    )
    .select_from(Identity)
    .outerjoin(WorkerLease, WorkerLease.identity_id == Identity.id)
    .where(Identity.status == IdentityStatus.ACTIVE)
)
# A pass's first statement: the identity, its sync_state rows (one row each), and whether an
# outbox action of it is in flight (reconciled first)
_IDENTITY = (
    sa.select(
        Identity,
        SyncState,
        sa.exists().where(
            OutboxAction.identity_id == Identity.id, OutboxAction.status.in_(IN_FLIGHT)
        ),
    )
    .outerjoin(SyncState, SyncState.identity_id == Identity.id)
    .where(Identity.id == sa.bindparam("identity_id"))
)
_LATER_STEPS = (
    sa.select(
        Enrollment.campaign_id,
        Enrollment.state,
        Enrollment.step_index,
        Enrollment.message_count,
        Lead.timezone,
        sa.func.min(Enrollment.next_action_at),
    )
    .join(Lead, Lead.id == Enrollment.lead_id)
    .where(
        Enrollment.identity_id == sa.bindparam("identity_id"),
        Enrollment.state.in_(_WAKE_STATES),
        Enrollment.campaign_id.in_(sa.bindparam("campaigns", expanding=True)),
        Enrollment.next_action_at > sa.bindparam("now"),
        # a step due at or after the wake already found cannot come earlier (its time only
        # moves later: into hours, to a quota's slot)
        Enrollment.next_action_at < sa.bindparam("before"),
    )
    .group_by(
        Enrollment.campaign_id,
        Enrollment.state,
        Enrollment.step_index,
        Enrollment.message_count,
        Lead.timezone,
    )
)


# a planned send's enrollment and lead, read afresh before it goes
_TO_SEND = (
    sa.select(Enrollment, Lead)
    .join(Lead, Lead.id == Enrollment.lead_id)
    .where(Enrollment.id == sa.bindparam("id"))
    .execution_options(populate_existing=True)
)
_STATUS = sa.select(Identity.status, Identity.updated_at).where(Identity.id == sa.bindparam("id"))


@dataclass(slots=True)
class IdentityReport:
    """What one pass did for one identity."""

    identity: str
    results: list[ActionResult] = field(default_factory=list)
    admitted: dict[str, int] = field(default_factory=dict)
    syncs: list[str] = field(default_factory=list)
    reconciled: int = 0
    next_wake: datetime | None = None
    error: str | None = None
    plan: Plan | None = None
    race_windows: list[float] = field(default_factory=list)

    @property
    def sent(self) -> int:
        """Actions that reached LinkedIn in this pass."""
        return sum(1 for r in self.results if r.outcome == "sent")


@dataclass(slots=True)
class RunReport:
    """What `run_once` did, identity by identity."""

    identities: list[IdentityReport] = field(default_factory=list)
    # `Engine.next_wake` as read in the transaction that found no more work (wake_read: it was)
    next_wake: datetime | None = None
    wake_read: bool = False

    @property
    def sent(self) -> int:
        """Actions sent in this run."""
        return sum(r.sent for r in self.identities)

    @property
    def errors(self) -> list[str]:
        """Identities whose pass failed, with the reason."""
        return [f"{r.identity}: {r.error}" for r in self.identities if r.error]


class Engine:
    """Runs campaigns: one pass per identity, each under its lease."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        client: EdgesClient,
        clock: Clock,
        config: EngineConfig | None = None,
        sleep: Callable[[float], None] | None = None,
        owner: str = "worker",
        dry_run: bool = False,
    ) -> None:
        self.sessions = sessions
        # the worker's loop (release, claim, wake) runs Core statements on a plain connection
        bind = sessions.kw.get("bind")
        if bind is None:
            with sessions() as session:
                bind = session.get_bind()
        self._bind: sa.Engine = bind.engine if isinstance(bind, sa.Connection) else bind
        # SQLite commits ids in their order (every writing transaction begins IMMEDIATE: one
        # writer at a time); PostgreSQL does not
        self._ids_in_order = is_sqlite(self._bind)
        self.client = client
        self.clock = clock
        self.config = config or EngineConfig()
        self.sleep = sleep or time.sleep
        self.owner = owner
        self.dry_run = dry_run
        self.stopping = False
        self._memos: dict[int, PlanMemo] = {}  # each identity's plan, kept between passes
        # an active identity without a lease row (a new one): seen by every wake read, the
        # rows are made at the next run (at the first run: always)
        self._missing_leases = True
        self._held_first: dict[int, tuple[tuple[Held, ...], dict[Action, datetime]]] = {}

    # --- running ------------------------------------------------------------------------------

    def run_once(self) -> RunReport:
        """Work every identity that has work now, once each."""
        report = RunReport()
        done: set[int] = set()
        # the identity just worked: released in the transaction that claims the next one
        worked: tuple[int, datetime | None] | None = None
        # one connection for the run: its passes' sessions and the leases between them
        with self._bind.connect() as connection:
            while not self.stopping:
                if worked is not None:
                    self._release(connection, *worked)
                identity_id, wake = self._claim(connection, look_first=worked is not None)
                worked = None
                if identity_id is None:  # no more work: when there is next, read meanwhile
                    report.next_wake, report.wake_read = wake, True
                connection.commit()  # the release, the claim
                if identity_id is None:
                    break
                if identity_id in done:
                    worked = (identity_id, None)
                    break
                done.add(identity_id)
                result = self.work(identity_id, connection=connection)
                report.identities.append(result)
                # a dry run sent nothing: it must not postpone the identity's real work
                worked = (identity_id, None if self.dry_run else result.next_wake)
            if worked is not None:
                self._release(connection, *worked)
                report.next_wake, report.wake_read = self._next_wake(connection), True
                connection.commit()
        return report

    def _claim(self, session: Runs, *, look_first: bool) -> tuple[int | None, datetime | None]:
        """Claim the free lease that waited longest (the caller commits): its identity, or None
        and when an identity next has work, read in the same transaction.

        `look_first` (after a pass, when usually no other lease is free): the wake is read
        before claiming, and the claim (a write that would find none) is not made when no lease
        is free now. A wake read that finds an active identity without a lease row has its row
        made, and the claim made (again)."""
        wake: datetime | None = None
        if look_first:
            wake = self._next_wake(session)
            if not self._missing_leases and (wake is None or wake > self.clock.now()):
                return None, wake
        for _ in range(2):  # again once the lease row an identity lacked is made
            if self._missing_leases:
                ensure_lease_rows(session, commit=False)
                self._missing_leases = False
            identity_id = claim_identity_lease(
                session,
                owner=self.owner,
                now=self.clock.now(),
                ttl=self.config.lease_ttl,
                ensure=False,
                commit=False,
            )
            if identity_id is not None:
                return identity_id, None
            wake = self._next_wake(session)
            if not self._missing_leases:
                break
        return None, wake

    def next_wake(self, after: RunReport | None = None) -> datetime | None:
        """The earliest time an active identity has work (None: no active identity).

        `after`: the report of the run just done, which read it on its way out (no statement).
        """
        if after is not None and after.wake_read:
            return after.next_wake
        with self._bind.connect() as connection:
            return self._next_wake(connection)

    def _next_wake(self, session: Runs) -> datetime | None:
        active, leased, timed, value = fast.one(session, _NEXT_WAKE, {})
        if leased < active:
            self._missing_leases = True
        if not active:
            return None
        if timed < active or value is None:
            return self.clock.now()  # a lease never claimed, or no row yet: work now
        return ensure_utc(value)

    def run_forever(self, *, sleep_until: Callable[[datetime], None]) -> None:
        """The worker loop: run, then sleep until the next identity has work; stop on request."""
        while not self.stopping:
            report = self.run_once()
            wake = self.next_wake(report) or self.clock.now() + self.config.idle_wake
            sleep_until(min(wake, self.clock.now() + timedelta(seconds=30)))

    def _release(self, session: Runs, identity_id: int, wake: datetime | None) -> None:
        """Free the identity's lease until `wake`; the caller commits."""
        release_lease(
            session,
            identity_id=identity_id,
            owner=self.owner,
            now=self.clock.now(),
            not_before=wake,
            commit=False,
        )

    # --- one identity -------------------------------------------------------------------------

    def work(self, identity_id: int, *, connection: sa.Connection | None = None) -> IdentityReport:
        """One pass for one identity (the caller holds its lease), on `connection` (the
        caller's, not in a transaction) or one of its own.

        The pass's session keeps one connection from its first statement to its end: its
        transactions (a send commits twice) do not each give the connection back to the pool
        and take it again."""
        if connection is None:
            with self._bind.connect() as own:
                return self.work(identity_id, connection=own)
        if connection.in_transaction():
            # the pass's session would join it, and its commits (the outbox's intent before
            # each call) would not be commits
            raise ValueError("Engine.work needs a connection outside any transaction")
        with self.sessions(bind=connection) as session:
            rows = session.execute(_IDENTITY, {"identity_id": identity_id}).all()
            assert rows
            identity, in_flight = rows[0][0], bool(rows[0][2])
            hold_sync_rows(session, identity_id, [row[1] for row in rows if row[1] is not None])
            report = IdentityReport(identity=identity.name)
            if identity.status is not IdentityStatus.ACTIVE:
                return report
            try:
                self._pass(session, identity, report, in_flight=in_flight)
            except (AuthExpired, NoValidAccount) as exc:
                session.rollback()
                pause_identity(
                    session,
                    identity_id=identity.id,
                    reason=exc.label or "AUTH_EXPIRED",
                    now=self.clock.now(),
                )
                session.commit()
                report.error = f"paused: {exc.label}"
            except AuthenticationError:
                session.rollback()
                raise
            except StaleDataError:
                # another worker changed the same enrollment (our lease was lost meanwhile):
                # nothing of ours is half-written; the next pass starts from the database
                session.rollback()
                report.error = "lost the identity's lease to another worker"
                report.next_wake = self.clock.now() + timedelta(minutes=1)
            except EdgesError as exc:
                session.rollback()
                report.error = str(exc)
                report.next_wake = self.clock.now() + self.config.retry_later
                log.warning("engine.pass_failed", identity=identity.name, error=str(exc))
        return report

    def _now(self) -> datetime:
        return self.clock.now()

    def _spec(self, session: Session) -> Callable[[int], CampaignSpec]:
        def get(campaign_id: int) -> CampaignSpec:
            campaign = session.get(Campaign, campaign_id)
            assert campaign is not None
            return load_spec(campaign.id, campaign.spec)

        return get

    def _stale(
        self, session: Session, identity: Identity, kind: SyncKind, every: timedelta
    ) -> bool:
        last = last_synced(session, identity.id, kind)
        return last is None or last + every <= self._now()

    def _due(
        self,
        session: Session,
        identity: Identity,
        states: list[EnrollmentState],
        campaign_ids: list[int],
        until: datetime,
        limit: int,
    ) -> list[Enrollment]:
        # index range scan on ix_enrollments_due (identity_id, state, next_action_at)
        return list(
            session.scalars(
                sa.select(Enrollment)
                .where(
                    Enrollment.identity_id == identity.id,
                    Enrollment.state.in_(states),
                    Enrollment.next_action_at <= until,
                    Enrollment.campaign_id.in_(campaign_ids),
                )
                .order_by(Enrollment.next_action_at, Enrollment.id)
                .limit(limit)
            )
        )

    def _has_due(
        self,
        session: Session,
        identity: Identity,
        states: tuple[EnrollmentState, ...],
        campaign_ids: list[int],
        until: datetime,
    ) -> tuple[bool, ...]:
        """For each state, True when an enrollment in it is due: one statement of cheap probes
        (`SELECT EXISTS (...), EXISTS (...)`, each an index range scan) before loading rows."""
        query = _HAS_DUE.get(states)
        if query is None:
            query = sa.select(
                *[
                    sa.exists().where(
                        Enrollment.identity_id == sa.bindparam("identity_id"),
                        Enrollment.state == state,
                        Enrollment.next_action_at <= sa.bindparam("until"),
                        Enrollment.campaign_id.in_(sa.bindparam("campaigns", expanding=True)),
                    )
                    for state in states
                ]
            )
            _HAS_DUE[states] = query
        params = {"identity_id": identity.id, "until": until, "campaigns": campaign_ids}
        return tuple(bool(x) for x in fast.one(session, query, params))

    def _pass(
        self, session: Session, identity: Identity, report: IdentityReport, *, in_flight: bool
    ) -> None:
        cfg = self.config
        start = self._now()  # a message goes only after a sync made since (in this pass)
        ensure_profile_id(session, self.client, identity, now=self._now())
        if session.dirty or session.new:
            session.commit()
        if in_flight:  # (without an action in flight, reconcile has nothing to settle)
            report.reconciled = reconcile(
                session,
                client=self.client,
                identity=identity,
                load_spec=self._spec(session),
                now=self._now,
            )
        campaigns = active_campaigns(session, identity.id)
        ids = list(campaigns)
        if not ids:
            report.next_wake = self._now() + cfg.idle_wake
            return
        now = self._now()
        has_new, has_expired = self._has_due(
            session, identity, (EnrollmentState.NEW, EnrollmentState.INVITED), ids, now
        )
        # --- syncs (guide §14) ---
        periodic = cfg.periodic_syncs == "live"
        if (
            periodic and self._stale(session, identity, SyncKind.CONNECTIONS, cfg.connections_every)
        ) or (
            has_new
            and self._stale(session, identity, SyncKind.CONNECTIONS, cfg.connections_before_new)
        ):
            sync_connections(session, self.client, identity, now=self._now())
            report.syncs.append("connections")
            session.commit()
        # the sent invitations: for admission's de-duplication, the withdrawals, and the
        # pending count under its cap (daily: the invitations counted since stay a day's)
        if (periodic or has_new or has_expired) and self._stale(
            session, identity, SyncKind.SENT_INVITATIONS, cfg.invitations_every
        ):
            sync_sent_invitations(session, self.client, identity, now=self._now())
            report.syncs.append("sent_invitations")
            session.commit()
        if (
            periodic
            and self._stale(session, identity, SyncKind.CONVERSATIONS, cfg.conversations_every)
        ) or (
            has_new and self._stale(session, identity, SyncKind.CONVERSATIONS, cfg.freshness * 60)
        ):
            sync_conversations(session, self.client, identity, now=self._now())
            report.syncs.append("conversations")
            session.commit()
        # Edges' own count of each action the campaigns use, at most once a day
        if not self.dry_run and refresh_remote_limits(
            session, self.client, identity, _actions_of(campaigns), now=self._now()
        ):
            report.syncs.append("limits")
            session.commit()
        # --- admission (guide §10, §17) ---
        if has_new:
            new = [
                e
                for e in self._due(
                    session, identity, [EnrollmentState.NEW], ids, self._now(), cfg.admission_batch
                )
                if e.state is EnrollmentState.NEW
            ]
            report.admitted = admit(
                session, identity=identity, enrollments=new, now=self._now(), cooldown=cfg.cooldown
            )
            session.commit()
        # --- stale invitations ---
        if has_expired:
            for enrollment in self._due(
                session,
                identity,
                [EnrollmentState.INVITED],
                ids,
                self._now(),
                cfg.withdrawals_per_pass,
            ):
                urn = self._pending_urn(session, identity, enrollment)
                report.results.append(
                    withdraw_or_close(
                        session,
                        client=self.client,
                        identity=identity,
                        enrollment=enrollment,
                        spec=campaigns[enrollment.campaign_id].spec,
                        invitation_urn=urn,
                        now=self._now,
                        dry_run=self.dry_run,
                    )
                )
        # --- plan and send (a kept plan serves unless this pass moved leads) ---
        # (a sync that moved leads wrote audit rows: the kept plan checks them before use)
        moved = bool("limits" in report.syncs or any(report.admitted.values()) or report.results)
        built = self._plan_and_send(
            session, identity, campaigns, report, reuse=not moved, since=start
        )
        report.next_wake = self._wake(session, identity, campaigns, report, built)

    def _pending_urn(
        self, session: Session, identity: Identity, enrollment: Enrollment
    ) -> str | None:
        lead = session.get(Lead, enrollment.lead_id)
        assert lead is not None
        keys = [k for k in (lead.linkedin_profile_id, lead.profile_url) if k]
        return session.scalars(
            sa.select(SentInvitation.invitation_urn).where(
                SentInvitation.identity_id == identity.id,
                SentInvitation.withdrawn_at.is_(None),
                sa.or_(
                    SentInvitation.linkedin_profile_id.in_(keys),
                    SentInvitation.profile_url.in_(keys),
                ),
            )
        ).first()

    def _plan_and_send(
        self,
        session: Session,
        identity: Identity,
        campaigns: dict[int, CampaignInfo],
        report: IdentityReport,
        *,
        reuse: bool,
        since: datetime,
    ) -> IdentityPlan:
        """Send the first planned action; a message opens a short burst of due messages.

        Each message goes right after a conversations sync (guide §15): one made in this pass
        (since `since`), at most `freshness` old, that no wait of the pass came after, so every
        message of a burst after the first (a human gap later) has its own; the burst stops
        once `max_race` has passed since its first sync, or after `max_batch` messages. Other
        actions go one per pass, at the pace the plan spread them; the plan is kept for the
        next passes while it holds (`linkseq.engine.memo`).
        """
        kept = self._memos.get(identity.id)
        memo = self._plan(session, identity, campaigns, reuse=reuse)
        built = memo.built
        plan = memo.plan()
        report.plan = plan
        if not plan.go or self.stopping:
            if not plan.go and not self.dry_run:
                self._memos[identity.id] = memo  # nothing to send: kept until a hold ends
            return built
        first = plan.go[0]
        if first.at > self._now() + built.pacing.max_gap and not self.dry_run:
            # a spread gap away: the worker serves the other identities meanwhile (a pass
            # waits at most one human gap); the plan is kept, and the identity woken for it
            self._memos[identity.id] = memo
            return built
        waits = first.at > self._now()
        if not self._wait_until(session, identity, first.at):
            return built
        if (
            first.candidate.kind in _MESSAGE_KINDS
            and (waits or (memo is kept and not self._ids_in_order))
            and not self._message_room(session, identity, campaigns, first.candidate.campaign)
        ):
            # The plan's first message is checked as a burst's next ones are when the plan's
            # count may be out of date: the pass waited for it (a message sent from the inbox
            # meanwhile), or the plan was kept on PostgreSQL (which commits ids out of their
            # order: the inbox's message can commit, after the plan was kept, an id below its
            # high-water mark, which `PlanMemo.usable` does not see). Refused, the plan is
            # dropped and the identity woken for a new one at once (it sees the limit)
            return built
        started = self._now()
        woke = started if waits else since  # a message's sync must come after this instant
        burst = [first.candidate]
        if first.candidate.kind in _MESSAGE_KINDS and not self.dry_run:
            burst += [
                c
                for c in [p.candidate for p in plan.go[1:]]
                + [h.candidate for h in plan.held if h.reason is HoldReason.pacing]
                if c.kind in _MESSAGE_KINDS
            ]
        schedules = {info.name: info.schedule for info in campaigns.values()}
        pacing = campaign_pacing(campaigns)
        rng = pass_rng(identity.uid, self._now())
        opened: datetime | None = None  # the burst's first sync
        sent = 0
        done: list[tuple[str, ActionResult]] = []  # (candidate, result) of this burst
        tried: set[str] = set()  # the burst's candidates it reached, sent or not
        for index, candidate in enumerate(burst):
            if sent >= self.config.max_batch or self.stopping:
                break
            tried.add(candidate.key)
            if index > 0:
                if not self._wait_until(session, identity, self._now() + draw_gap(pacing, rng)):
                    break
                woke = self._now()
                if not self._message_room(session, identity, campaigns, candidate.campaign):
                    break
            # the lead's hours now, when the send goes (a pass can come late to its plan)
            if not is_open(schedules[candidate.campaign], candidate.tz, self._now()):
                continue
            # the enrollment and its lead read afresh in one statement (`perform` finds the lead
            # in the session)
            row = session.execute(_TO_SEND, {"id": int(candidate.key)}).first()
            if row is None:
                continue
            enrollment = row[0]
            if not _as_planned(enrollment, identity, campaigns, candidate, self._now()):
                continue
            spec = campaigns[enrollment.campaign_id].spec
            step = step_at(spec.steps, enrollment.step_index)
            if isinstance(step, MessageStep | InmailStep) and not self.dry_run:
                synced_at = self._fresh_conversations(session, identity, woke, report)
                opened = opened or synced_at
                session.refresh(enrollment)
                if enrollment.state not in _PLANNED_STATES:
                    continue  # the lead replied: sync-before-send caught it
                if self._now() - opened > self.config.max_race:
                    break
                report.race_windows.append((self._now() - synced_at).total_seconds())
            result = perform(
                session,
                client=self.client,
                identity=identity,
                enrollment=enrollment,
                spec=spec,
                now=self._now,
                config=self.config,
                dry_run=self.dry_run,
            )
            report.results.append(result)
            done.append((candidate.key, result))
            more = result.outcome != "sent" or index + 1 < len(burst)
            if more and _disconnected(session, identity):
                break
            if result.outcome in ("sent", "uncertain"):
                sent += 1
        # what the plan still holds after this pass (the next wake is its first action)
        report.plan = Plan(tuple(p for p in plan.go if p.candidate.key not in tried), plan.held)
        # the plan is kept when this pass sent exactly its first action, and nothing else
        if not self.dry_run and len(done) == 1:
            key, result = done[0]
            if key == first.candidate.key and result.outcome == "sent":
                memo.sent(result.action_id, planned=first.at, at=started)
                self._memos[identity.id] = memo
        return built

    def _plan(
        self,
        session: Session,
        identity: Identity,
        campaigns: dict[int, CampaignInfo],
        *,
        reuse: bool,
    ) -> PlanMemo:
        """The identity's kept plan when it still holds, else a new one."""
        memo = self._memos.pop(identity.id, None)
        ids = frozenset(campaigns)
        now = self._now()
        if (
            memo is not None
            and reuse
            and memo.usable(session, identity_id=identity.id, now=now, campaigns=ids)
            and (not memo.plan().go or _still_open(memo.plan().go[0], campaigns, now))
            and not memo.overtaken(now)
        ):
            return memo
        marks = high_water(session)
        fresh = build_plan(
            session,
            identity,
            campaigns,
            now=now,
            config=self.config,
            # counted at every plan (a kept plan sends only the invitations it had room for)
            pending_invitations=pending_invitations(session, identity.id),
            ahead=None if self.dry_run else self.config.replan_every,
        )
        return PlanMemo.keep(fresh, now=now, campaigns=ids, high_water=marks)

    def _wait_until(self, session: Session, identity: Identity, at: datetime) -> bool:
        """Wait (the injected sleep) until `at`, keeping the lease; False when stopping."""
        wait = (at - self._now()).total_seconds()
        if wait <= 0:
            return not self.stopping
        if self.dry_run:
            return False
        session.commit()  # never hold SQLite's write lock while waiting
        self.sleep(wait)
        kept = renew_lease(
            session,
            identity_id=identity.id,
            owner=self.owner,
            now=self._now(),
            ttl=self.config.lease_ttl,
        )
        if not kept:
            # the lease expired and another worker may hold it now: send nothing more
            log.warning("engine.lease_lost", identity=identity.name, owner=self.owner)
            return False
        return not self.stopping

    def _message_room(
        self,
        session: Session,
        identity: Identity,
        campaigns: dict[int, CampaignInfo],
        campaign: str,
    ) -> bool:
        """True while the identity may still send a message of `campaign` now: its limits and
        the campaign's own cap recomputed (a plan may place a message at the instant a used-up
        cap frees a slot; a burst sends its messages sooner, so each is checked now)."""
        caps = {cid: info.caps() for cid, info in campaigns.items() if info.name == campaign}
        quotas, capped = identity_quotas(
            session,
            identity=identity,
            now=self._now(),
            config=self.config,
            campaign_caps=caps,
            remote=load_remote_limits(session, identity.id),
            actions=(Action.message,),
        )
        if quotas[Action.message].remaining <= 0:
            return False
        return all(q.remaining > 0 for (_, a), q in capped.items() if a is Action.message)

    def _fresh_conversations(
        self,
        session: Session,
        identity: Identity,
        woke: datetime,
        report: IdentityReport,
    ) -> datetime:
        """The last conversations sync, made now unless it is within the freshness window and
        made since `woke` (the pass's start or the end of its last wait): a reply written
        before this pass or while it waited is seen before the next message."""
        last = last_synced(session, identity.id, SyncKind.CONVERSATIONS)
        now = self._now()
        if last is None or now - last > self.config.freshness or last < woke:
            sync_conversations(session, self.client, identity, now=now)
            report.syncs.append("conversations")
            session.commit()
            return now
        return last

    def _wake(
        self,
        session: Session,
        identity: Identity,
        campaigns: dict[int, CampaignInfo],
        report: IdentityReport,
        built: IdentityPlan,
    ) -> datetime:
        """When the identity next has work: a planned or held action, a due step, a sync.

        A time at which the action would still be held by its quota is moved to the quota's
        next slot, so the identity is not woken only to find the limit still used up.
        """
        now = self._now()
        soon = now + timedelta(seconds=1)
        cfg = self.config
        times: list[datetime] = [now + cfg.idle_wake]
        quotas = built.quotas

        def usable(at: datetime | None, action: Action) -> datetime | None:
            if at is None:
                return None
            status = quotas.get(action)
            if status is None or status.remaining > 0:
                return at
            return None if status.next_slot_at is None else max(at, status.next_slot_at)

        plan = report.plan  # what this pass did not send of it
        later = plan.go if plan is not None else ()
        if plan is not None:
            # planned but not sent in this pass (batch full): as soon as the pacing allows
            times += [max(p.at, soon) for p in later]
            # `usable` grows with its time: each action's earliest hold is the one that counts
            kept = identity.id in self._memos
            for action, earliest in self._first_held(identity.id, plan.held).items():
                if later and (earliest <= now or kept) and not goes_ahead(action, later):
                    # a hold that waits for the plan's next action of its kind, which wakes the
                    # identity: one that has passed, or any while the plan is kept (it would
                    # not overtake the plan then either). One that goes ahead wakes it at its
                    # time: `PlanMemo.overtaken` then plans anew
                    continue
                at = usable(earliest, action)
                if at is not None:
                    times.append(at)
        times += self._sync_times(session, identity, now)
        if any(r.outcome == "uncertain" for r in report.results):
            times.append(now + timedelta(minutes=1))
        if not later:
            # a planned action is within the horizon and every step due before it was a
            # candidate of the plan; without one, the steps that become due later count
            memo = self._memos.get(identity.id)
            if memo is not None and memo.extensible():
                # a plan with nothing to send, just built: it holds until the first instant a
                # step due after its candidates (its horizon) could go, a day at most (nights
                # and weekends are not replanned at every horizon)
                horizon = memo.built_at + memo.built.pacing.horizon
                end = memo.built_at + _EMPTY_PLAN_HOLDS
                after = self._later_steps(session, identity, campaigns, horizon, end, usable)
                memo.hold_empty_until(min((opens for opens, _ in after), default=end))
            steps = self._later_steps(session, identity, campaigns, now, min(times), usable)
            times += [at for _, at in steps if at is not None]
        return max(min(times), soon)

    def _first_held(self, identity_id: int, holds: tuple[Held, ...]) -> dict[Action, datetime]:
        """Each action's earliest held time, counted once per plan (a kept plan's holds are
        the same between passes)."""
        cached = self._held_first.get(identity_id)
        if cached is not None and cached[0] is holds:
            return cached[1]
        first: dict[Action, datetime] = {}
        for held in holds:
            action = held.candidate.action
            if held.earliest is not None and (action not in first or held.earliest < first[action]):
                first[action] = held.earliest
        self._held_first[identity_id] = (holds, first)
        return first

    def _later_steps(
        self,
        session: Session,
        identity: Identity,
        campaigns: dict[int, CampaignInfo],
        now: datetime,
        before: datetime,
        usable: Callable[[datetime | None, Action], datetime | None],
    ) -> list[tuple[datetime, datetime | None]]:
        """When steps become due later and can go: per (campaign, step, message count, lead
        zone), the group's first due time moved into the campaign's hours in that zone (a step
        that falls due at night or at the weekend does not wake the identity then), and that
        time moved to its action's next free slot (None: no slot known). Only steps due before
        `before` (the wake found so far) are read: a later one cannot come sooner."""
        params = {
            "identity_id": identity.id,
            "campaigns": list(campaigns),
            "now": now,
            "before": before,
        }
        rows = fast.rows(session, _LATER_STEPS, params)
        times: list[tuple[datetime, datetime | None]] = []
        for cid, state, index, messages, lead_tz, due in rows:
            if due is None:
                continue
            opens = ensure_utc(due)
            when: datetime | None = opens
            if state in _PLANNED_STATES:
                info = campaigns[cid]
                zone = info.zone(lead_tz, identity.timezone)
                opens = when = next_open(info.schedule, zone, opens)
                step = step_at(info.spec.steps, index)
                kind = step_kind(step, messages) if step is not None else None
                if kind is not None:
                    when = usable(when, ACTION_OF_KIND[kind])
            times.append((opens, when))
        return times

    def _sync_times(self, session: Session, identity: Identity, now: datetime) -> list[datetime]:
        """When the identity's periodic syncs are next due."""
        cfg = self.config
        times: list[datetime] = []
        for sync_kind, every in (
            (SyncKind.CONVERSATIONS, cfg.conversations_every),
            (SyncKind.CONNECTIONS, cfg.connections_every),
        ):
            last = last_synced(session, identity.id, sync_kind)
            times.append(now if last is None else ensure_utc(last) + every)
        return times


def _actions_of(campaigns: dict[int, CampaignInfo]) -> list[Action]:
    """The limited actions the identity's campaigns use."""
    kinds = {kind_of(step) for info in campaigns.values() for step in info.spec.steps} - {None}
    return [OUTREACH[k] for k in sorted(k for k in kinds if k is not None) if k in OUTREACH]


def _still_open(planned: Planned, campaigns: dict[int, CampaignInfo], now: datetime) -> bool:
    """True when a kept plan's action is still within hours when it would go: at its planned
    instant (moved later by a late send), or now when the pass itself comes late."""
    schedule = next(
        (i.schedule for i in campaigns.values() if i.name == planned.candidate.campaign), None
    )
    at = max(planned.at, now)
    return schedule is not None and is_open(schedule, planned.candidate.tz, at)


def _as_planned(
    enrollment: Enrollment,
    identity: Identity,
    campaigns: dict[int, CampaignInfo],
    candidate: Candidate,
    now: datetime,
) -> bool:
    """True when the enrollment is still due for the step the plan counted (a reply, a move
    by a sync or by hand since the plan was built: it is not sent on that plan)."""
    if enrollment.state not in _PLANNED_STATES or enrollment.next_action_at is None:
        return False
    if enrollment.identity_id != identity.id or enrollment.campaign_id not in campaigns:
        return False
    if ensure_utc(enrollment.next_action_at) > now:
        return False
    step = step_at(campaigns[enrollment.campaign_id].spec.steps, enrollment.step_index)
    return step is not None and step_kind(step, enrollment.message_count) is candidate.kind


def _disconnected(session: Session, identity: Identity) -> bool:
    """True when the identity was paused during the pass (AUTH_EXPIRED on a send, or by hand):
    its status read again, and the whole row when it changed (every writer of an identity moves
    its `updated_at`: a level or a ramp-up start changed meanwhile reaches the next check)."""
    status, updated_at = session.execute(_STATUS, {"id": identity.id}).one()
    if status != identity.status or updated_at != identity.updated_at:
        session.refresh(identity)
    return status != IdentityStatus.ACTIVE
