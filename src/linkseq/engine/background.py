"""Background execution on Edges (guide §12–14): async runs, schedules, and their callbacks.

- Bulk work runs asynchronously: the connections or conversations of many identities (one run
  per identity), and bulk profile visits (one run per identity, one input per lead). Every
  input carries `custom_data` (`purpose`, identity, enrollment, step, outbox action) that maps
  its callback back. A run that never calls back with a final status is polled after
  `poll_after` (`Background.poll_overdue`).
- Schedule mode: a daily connections sync at 09:00 identity time and a conversations sync every
  4 hours, created on Edges and kept in step with the identities (`Background.ensure_schedules`).
  With `EngineConfig.periodic_syncs = "scheduled"` they replace the engine's periodic live syncs.
- `process_callback` / `process_integration` apply what Edges sends back, with the engine's own
  `apply_connections`, `apply_conversations`, `pause_identity`, `resume_identity`. Both are
  idempotent: a redelivered or late callback changes nothing already done (the outbox guards
  visits; a run's final status is never reopened by a late `RUNNING`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
import structlog
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from linkseq.campaigns import VisitStep
from linkseq.clock import Clock
from linkseq.edges import (
    Callback,
    CallbackPayload,
    Connection,
    Conversation,
    EdgesClient,
    EdgesError,
    IntegrationEvent,
    NotFound,
    UncertainSend,
)
from linkseq.engine import actions, outbox
from linkseq.engine.config import EngineConfig
from linkseq.engine.events_out import finish_campaigns
from linkseq.engine.lifecycle import IllegalTransition
from linkseq.engine.recovery import pause_identity, resume_identity
from linkseq.engine.steps import load_spec, step_at
from linkseq.engine.sync import (
    advance_synced,
    apply_connections,
    apply_conversations,
    last_synced,
)
from linkseq.store.enums import ActionKind, ActionStatus, EnrollmentState, IdentityStatus, SyncKind
from linkseq.store.models import (
    BackgroundRun,
    Campaign,
    EdgesSchedule,
    Enrollment,
    Identity,
    Lead,
    OutboxAction,
    WebhookInbox,
)

__all__ = [
    "FINAL",
    "SCHEDULES",
    "SECRET_HEADER",
    "Background",
    "ScheduleReport",
    "callback_for",
    "process_callback",
    "process_integration",
    "process_rows",
]

log = structlog.get_logger("linkseq.background")

Purpose = Literal["connections", "conversations", "visit"]
SECRET_HEADER = "X-Linkseq-Token"  # noqa: S105 - a header name, not a secret
FINAL = frozenset({"SUCCEEDED", "PARTIAL_SUCCEEDED", "FAILED"})
_ACTIONS: dict[str, str] = {
    "connections": "linkedin-extract-connections",
    "conversations": "linkedin-extract-conversations",
    "visit": "linkedin-visit-profile",
}
_SYNC_KIND = {"connections": SyncKind.CONNECTIONS, "conversations": SyncKind.CONVERSATIONS}
# schedule mode (guide §14): purpose → cron, read in the identity's time zone
SCHEDULES: dict[str, str] = {"connections": "0 9 * * *", "conversations": "0 */4 * * *"}
_SCHEDULE_PREFIX = "linkseq:"


def callback_for(
    public_url: str, secret: SecretStr, *, on: Literal["all", "final"] = "all"
) -> Callback:
    """The `callback` of a run: linkseq's receiver, with the secret Edges sends back."""
    url = public_url.rstrip("/") + "/webhooks/edges/callbacks"
    return Callback(url=url, headers={SECRET_HEADER: secret.get_secret_value()}, on=on)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- applying results ------------------------------------------------------------------------


def _apply_sync(
    session: Session,
    purpose: str,
    identity: Identity,
    rows: Sequence[Mapping[str, Any]],
    now: datetime,
) -> int:
    if purpose == "connections":
        moved = apply_connections(
            session, identity=identity, rows=[Connection.parse(r) for r in rows], now=now
        )
    else:
        moved = apply_conversations(
            session, identity=identity, rows=[Conversation.parse(r) for r in rows], now=now
        )
    advance_synced(session, identity.id, _SYNC_KIND[purpose], now)
    return moved


def _apply_visit(
    session: Session,
    custom: Mapping[str, Any],
    row: Mapping[str, Any] | None,
    error: EdgesError | None,
    now: datetime,
    config: EngineConfig,
) -> int:
    """One visit input's outcome; applied once (only while its outbox action is `sending`)."""
    action = session.get(OutboxAction, _int(custom.get("action_id")) or -1)
    if action is None or action.status is not ActionStatus.SENDING:
        return 0
    enrollment = session.get(Enrollment, action.enrollment_id or -1)
    identity = session.get(Identity, action.identity_id)
    if enrollment is None or identity is None:
        outbox.mark_sent(session, action, response=dict(row or {}), now=now)
        return 0
    campaign = session.get(Campaign, enrollment.campaign_id)
    spec = load_spec(enrollment.campaign_id, campaign.spec if campaign is not None else {})
    step = step_at(spec.steps, enrollment.step_index)
    current = step is not None and step.id == action.step_id
    if error is not None:
        if current and enrollment.state is EnrollmentState.READY:
            # the engine's own reading of the error labels (guide §7)
            actions._on_error(session, identity, enrollment, spec, action, error, now, config)
        else:
            outbox.mark_failed(session, action, label=error.label, detail=str(error), now=now)
        return 1
    outbox.mark_sent(session, action, response=dict(row or {}), now=now)
    lead = session.get(Lead, enrollment.lead_id)
    if not current or lead is None or enrollment.state is not EnrollmentState.READY:
        return 0  # the lead moved on meanwhile (replied, paused): the visit is recorded only
    try:
        actions._on_success(
            session, identity, enrollment, lead, spec, ActionKind.VISIT, dict(row or {}), now
        )
    except IllegalTransition:
        return 0
    return 1


def process_rows(
    session: Session,
    *,
    purpose: str,
    identity_id: int,
    custom: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    error: EdgesError | None,
    now: datetime,
    config: EngineConfig,
) -> int:
    """Apply the result rows of one input of a run; how many leads moved."""
    if purpose in _SYNC_KIND:
        identity = session.get(Identity, identity_id)
        if identity is None or error is not None:
            return 0
        return _apply_sync(session, purpose, identity, rows, now)
    if purpose == "visit":
        return _apply_visit(session, custom, rows[0] if rows else None, error, now, config)
    return 0


def process_callback(
    session: Session,
    payload: CallbackPayload,
    *,
    now: datetime,
    config: EngineConfig | None = None,
    outputs: Callable[[str], Iterable[Mapping[str, Any]]] | None = None,
) -> str:
    """Apply one run callback; the outcome (`applied`, `ignored: …`, `deferred`). No commit.

    A final callback without results (`on: "final"`) is applied from the run's outputs, read
    with `outputs(run_uid)`; without that reader the callback is `deferred` (applied later).
    """
    cfg = config or EngineConfig()
    run_uid = payload.run.run_uid or ""
    status = payload.run.status or ""
    run = session.get(BackgroundRun, run_uid) if run_uid else None
    # a late RUNNING never reopens a run; a sync's stale rows are not applied over fresher
    # ones (a visit's own outcome still is, once, guarded by its outbox action)
    finished = run is not None and run.finished_at is not None
    if finished and status not in FINAL and run is not None and run.purpose in _SYNC_KIND:
        return "ignored: late RUNNING after the final status"
    custom = payload.custom_data
    purpose = str(custom.get("purpose") or (run.purpose if run is not None else ""))
    identity_id = _int(custom.get("identity_id")) or (run.identity_id if run is not None else None)
    moved = 0
    if custom.get("purpose"):
        rows = payload.results
        moved = process_rows(
            session,
            purpose=purpose,
            identity_id=identity_id or -1,
            custom=custom,
            rows=rows,
            error=payload.exception(),
            now=now,
            config=cfg,
        )
    elif status in FINAL and run_uid and (run is None or run.finished_at is None):
        if outputs is None:
            return "deferred"
        moved = _apply_outputs(session, outputs(run_uid), now=now, config=cfg)
    elif not purpose:
        return "ignored: not a linkseq run"
    if run is not None and status and run.finished_at is None:
        run.status = status
        if status in FINAL:
            run.finished_at = now
    if moved:
        finish_campaigns(session, now=now)
    return "applied"


def _apply_outputs(
    session: Session,
    rows: Iterable[Mapping[str, Any]],
    *,
    now: datetime,
    config: EngineConfig,
) -> int:
    """Apply a run's output rows (each carries its input's `custom_data`), grouped by input."""
    groups: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    for row in rows:
        data = dict(row)
        custom = data.pop("custom_data", None) or {}
        if not isinstance(custom, dict) or not custom.get("purpose"):
            continue
        data.pop("input", None)
        key = repr(sorted(custom.items()))
        groups.setdefault(key, (custom, []))[1].append(data)
    moved = 0
    for custom, group in groups.values():
        moved += process_rows(
            session,
            purpose=str(custom["purpose"]),
            identity_id=_int(custom.get("identity_id")) or -1,
            custom=custom,
            rows=group,
            error=None,
            now=now,
            config=config,
        )
    return moved


def process_integration(session: Session, event: IntegrationEvent, *, now: datetime) -> str:
    """AUTH_EXPIRED / AUTH_FAILED / DELETED pause the identity and its leads; AUTH_SUCCESS
    resumes them (guide §16). No commit."""
    identity = session.scalars(
        sa.select(Identity).where(Identity.uid == (event.identity_uid or ""))
    ).first()
    if identity is None:
        return "ignored: unknown identity"
    kind = event.event or ""
    if _superseded(session, event):
        return "ignored: an event that happened later was applied already"
    if event.needs_login:
        paused = pause_identity(session, identity_id=identity.id, reason=kind, now=now)
        return f"paused {paused}"
    if kind == "AUTH_SUCCESS":
        if identity.status is IdentityStatus.PAUSED:
            return "ignored: paused by the user"
        return f"resumed {resume_identity(session, identity_id=identity.id, now=now)}"
    return f"ignored: event {kind!r}"


def _superseded(session: Session, event: IntegrationEvent, window: int = 200) -> bool:
    """Whether a later event of the same identity was applied already (out-of-order delivery).

    Reads the last `window` applied integration events: an identity's events are rare, so an
    older one arriving late is always among them.
    """
    if event.occurred_at is None:
        return False
    recent = session.scalars(
        sa.select(WebhookInbox.payload)
        .where(WebhookInbox.source == "integration", WebhookInbox.processed_at.is_not(None))
        .order_by(WebhookInbox.id.desc())
        .limit(window)
    )
    for payload in recent:
        seen = IntegrationEvent.parse(payload)
        if (
            seen.identity_uid == event.identity_uid
            and seen.occurred_at is not None
            and seen.occurred_at > event.occurred_at
        ):
            return True
    return False


# --- starting and following runs -------------------------------------------------------------


@dataclass(slots=True)
class ScheduleReport:
    """What `ensure_schedules` changed on Edges."""

    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Background:
    """Starts async runs and schedules on Edges and follows them to their end."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        client: EdgesClient,
        clock: Clock,
        public_url: str,
        secret: SecretStr,
        config: EngineConfig | None = None,
        poll_after: timedelta = timedelta(hours=2),
    ) -> None:
        if not secret.get_secret_value():
            raise ValueError("a webhook secret is required for callbacks")
        self.sessions = sessions
        self.client = client
        self.clock = clock
        self.config = config or EngineConfig()
        self.poll_after = poll_after
        self.callback = callback_for(public_url, secret)

    def __repr__(self) -> str:
        return f"Background(callback={self.callback.url!r})"

    def _track(self, session: Session, run_uid: str, purpose: str, identity_id: int) -> None:
        now = self.clock.now()
        session.add(
            BackgroundRun(
                run_uid=run_uid,
                purpose=purpose,
                identity_id=identity_id,
                status="QUEUED",
                created_at=now,
                poll_at=now + self.poll_after,
            )
        )

    def start_syncs(
        self, purpose: Literal["connections", "conversations"], identity_ids: Iterable[int]
    ) -> list[str]:
        """One async sync run per active identity; the run uids."""
        uids: list[str] = []
        with self.sessions() as session:
            for identity_id in identity_ids:
                identity = session.get(Identity, identity_id)
                if identity is None or identity.status is not IdentityStatus.ACTIVE:
                    continue
                custom = {"purpose": purpose, "identity_id": identity.id}
                parameters = None
                if purpose == "connections" and last_synced(
                    session, identity.id, SyncKind.CONNECTIONS
                ):
                    parameters = {"sync_mode": "incremental"}
                runs = self.client.run_async(
                    _ACTIONS[purpose],
                    identity.uid,
                    inputs=[{"custom_data": custom}],
                    parameters=parameters,
                    callback=self.callback,
                    name=f"linkseq {purpose} {identity.name}",
                )
                for run in runs:
                    self._track(session, run.uid or "", purpose, identity.id)
                    uids.append(run.uid or "")
                session.commit()
        return uids

    def start_visits(self, enrollment_ids: Iterable[int]) -> list[str]:
        """Visit these leads (their current step must be a visit) in one async run per identity.

        Each visit goes through the outbox first (intent committed before the run is created),
        so a visit is never made twice; the lead's next action waits for the callback.
        """
        now = self.clock.now()
        by_identity: dict[int, list[tuple[OutboxAction, Lead]]] = {}
        uids: list[str] = []
        with self.sessions() as session:
            for enrollment_id in enrollment_ids:
                enrollment = session.get(Enrollment, enrollment_id)
                if enrollment is None or enrollment.state is not EnrollmentState.READY:
                    continue
                campaign = session.get(Campaign, enrollment.campaign_id)
                spec = load_spec(enrollment.campaign_id, campaign.spec if campaign else {})
                step = step_at(spec.steps, enrollment.step_index)
                lead = session.get(Lead, enrollment.lead_id)
                if not isinstance(step, VisitStep) or lead is None:
                    continue
                action = outbox.begin(
                    session,
                    enrollment_id=enrollment.id,
                    identity_id=enrollment.identity_id,
                    step_id=step.id,
                    kind=ActionKind.VISIT,
                    request={"profile_url": lead.profile_url, "mode": "async"},
                    now=now,
                )
                if action is None:
                    continue
                # the live planner leaves the lead alone until the callback (or the poll)
                enrollment.next_action_at = now + self.poll_after
                session.commit()
                by_identity.setdefault(enrollment.identity_id, []).append((action, lead))
            for identity_id, items in by_identity.items():
                identity = session.get(Identity, identity_id)
                assert identity is not None
                inputs = [
                    {
                        "linkedin_profile_url": lead.profile_url,
                        "custom_data": {
                            "purpose": "visit",
                            "identity_id": identity_id,
                            "enrollment_id": action.enrollment_id,
                            "step_id": action.step_id,
                            "action_id": action.id,
                        },
                    }
                    for action, lead in items
                ]
                try:
                    runs = self.client.run_async(
                        _ACTIONS["visit"], identity.uid, inputs=inputs, callback=self.callback
                    )
                except UncertainSend:
                    # maybe created: the actions stay `sending`; the engine reconciles them
                    continue
                except EdgesError as exc:
                    for action, _ in items:
                        outbox.void(session, action, reason=f"async run refused: {exc}", now=now)
                    session.commit()
                    continue
                for run in runs:
                    self._track(session, run.uid or "", "visit", identity_id)
                    uids.append(run.uid or "")
                for action, _ in items:
                    action.run_uid = runs[0].uid if len(runs) == 1 else None
                session.commit()
        return uids

    def outputs(self, run_uid: str) -> list[dict[str, Any]]:
        """Every output row of a run, as plain dicts (for `on: "final"` and polling)."""
        return [row.model_dump(mode="json") for row in self.client.runs.outputs(run_uid)]

    def poll_overdue(self) -> int:
        """Poll the runs that have not called back with a final status in time; how many ended."""
        now = self.clock.now()
        ended = 0
        with self.sessions() as session:
            overdue = session.scalars(
                sa.select(BackgroundRun).where(
                    BackgroundRun.finished_at.is_(None), BackgroundRun.poll_at <= now
                )
            ).all()
            todo = [(r.run_uid, r.purpose) for r in overdue]
        for run_uid, purpose in todo:
            try:
                status = (self.client.runs.get(run_uid).status or "").upper()
                rows = self.outputs(run_uid) if status in FINAL else []
                failed = (
                    [r.model_dump(mode="json") for r in self.client.runs.inputs(run_uid)]
                    if status in FINAL and purpose == "visit"
                    else []
                )
            except NotFound:
                status, rows, failed = "FAILED", [], []
            except EdgesError as exc:
                log.warning("background.poll_failed", run_uid=run_uid, error=str(exc))
                continue
            with self.sessions() as session:
                run = session.get(BackgroundRun, run_uid)
                if run is None or run.finished_at is not None:
                    continue
                run.status = status or run.status
                if status in FINAL:
                    _apply_outputs(session, rows, now=now, config=self.config)
                    for item in failed:
                        custom = item.get("custom_data") or {}
                        if item.get("error") and isinstance(custom, dict):
                            refusal = EdgesError.from_body(item["error"], action=_ACTIONS["visit"])
                            _apply_visit(session, custom, None, refusal, now, self.config)
                    run.finished_at = now
                    finish_campaigns(session, now=now)
                    ended += 1
                else:
                    run.poll_at = now + self.poll_after
                session.commit()
        return ended

    def ensure_schedules(self) -> ScheduleReport:
        """Make Edges' schedules match the active identities (schedule mode); what changed."""
        report = ScheduleReport()
        now = self.clock.now()
        with self.sessions() as session:
            identities = {
                i.id: i
                for i in session.scalars(
                    sa.select(Identity).where(Identity.status == IdentityStatus.ACTIVE)
                )
            }
            rows = list(session.scalars(sa.select(EdgesSchedule)))
            have: set[tuple[int, str]] = set()
            for row in rows:
                identity = identities.get(row.identity_id)
                wanted = identity is not None and (
                    SCHEDULES.get(row.purpose) == row.cron and identity.timezone == row.timezone
                )
                if wanted:
                    have.add((row.identity_id, row.purpose))
                    continue
                if self._delete_schedule(row.schedule_uid, report):
                    session.delete(row)
            session.commit()
            known = {r.schedule_uid for r in session.scalars(sa.select(EdgesSchedule))}
            for identity in identities.values():
                for purpose, cron in SCHEDULES.items():
                    if (identity.id, purpose) in have:
                        continue
                    name = f"{_SCHEDULE_PREFIX}{purpose}:{identity.uid}"
                    try:
                        run = self.client.run_schedule(
                            _ACTIONS[purpose],
                            identity.uid,
                            inputs=[
                                {"custom_data": {"purpose": purpose, "identity_id": identity.id}}
                            ],
                            cron=cron,
                            timezone=identity.timezone or "UTC",
                            callback=self.callback,
                            name=name,
                        )
                    except EdgesError as exc:
                        report.errors.append(f"{identity.name} {purpose}: {exc}")
                        continue
                    uid = run.uid or ""
                    session.add(
                        EdgesSchedule(
                            identity_id=identity.id,
                            purpose=purpose,
                            schedule_uid=uid,
                            cron=cron,
                            timezone=identity.timezone or "UTC",
                            created_at=now,
                        )
                    )
                    session.commit()
                    known.add(uid)
                    report.created.append(uid)
        # schedules linkseq made whose identity is gone (the rows went with it)
        try:
            remote = list(self.client.schedules.list())
        except EdgesError as exc:
            report.errors.append(f"listing schedules: {exc}")
            return report
        for sched in remote:
            name = str((sched.model_extra or {}).get("name") or "")
            if name.startswith(_SCHEDULE_PREFIX) and sched.uid and sched.uid not in known:
                self._delete_schedule(sched.uid, report)
        return report

    def _delete_schedule(self, uid: str, report: ScheduleReport) -> bool:
        try:
            self.client.schedules.delete(uid)
        except NotFound:
            pass  # already gone
        except EdgesError as exc:
            report.errors.append(f"deleting schedule {uid}: {exc}")
            return False
        report.deleted.append(uid)
        return True
