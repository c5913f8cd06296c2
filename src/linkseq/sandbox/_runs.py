"""Async and scheduled runs: postponement on limits, BLOCKED on expired sessions, callbacks."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ._actions import ACTIONS, Rows, perform
from ._core import Core, Delivery, iso
from ._cron import next_fire
from ._errors import EdgesError

__all__ = ["Run", "RunInput", "Runs", "Schedule"]

TERMINAL = ("SUCCEEDED", "FAILED")


@dataclass(slots=True)
class RunInput:
    """One input of a run and what became of it."""

    index: int
    data: dict[str, Any]
    custom_data: Any
    status: str = "QUEUED"  # QUEUED, POSTPONED, BLOCKED, SUCCEEDED, FAILED
    error: dict[str, Any] | None = None
    postponed_until: datetime | None = None


@dataclass(slots=True)
class Run:
    """An async or scheduled run."""

    uid: str
    id: int
    action_name: str
    identity_uid: str
    parameters: dict[str, Any]
    callback: dict[str, Any] | None
    name: str | None
    mode: str
    created_at: datetime
    inputs: list[RunInput]
    status: str = "QUEUED"
    updated_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    postponed_until: datetime | None = None
    last_error: dict[str, Any] | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)
    scheduled_run_uid: str | None = None
    retry_count: int = 0
    expire_at_input: int | None = None


@dataclass(slots=True)
class Schedule:
    """A scheduled (cron) action."""

    uid: str
    action_name: str
    identity_uid: str
    body: dict[str, Any]
    cron: str
    timezone: str
    created_at: datetime
    next_run_at: datetime | None
    status: str = "SCHEDULED"
    run_uids: list[str] = field(default_factory=list)


class Runs:
    """The runs and schedules of the workspace."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.runs: dict[str, Run] = {}
        self.schedules: dict[str, Schedule] = {}
        self._ids = itertools.count(1)
        core.handlers["run_input"] = self._on_input
        core.handlers["schedule_fire"] = self._on_fire

    # -- creation --------------------------------------------------------------------------

    def create(
        self,
        action: str,
        identity_uid: str,
        body: dict[str, Any],
        *,
        mode: str = "ASYNC",
        scheduled_run_uid: str | None = None,
    ) -> Run:
        """Queue a run of `body["inputs"]`; its inputs execute as virtual time passes."""
        core = self.core
        now = core.now()
        inputs = []
        for i, raw in enumerate(body["inputs"]):
            data = {k: v for k, v in raw.items() if k != "custom_data"}
            inputs.append(RunInput(i, data, raw.get("custom_data")))
        run = Run(
            uid=core.new_uid(),
            id=next(self._ids),
            action_name=action,
            identity_uid=identity_uid,
            parameters=dict(body.get("parameters") or {}),
            callback=body.get("callback"),
            name=body.get("name"),
            mode=mode,
            created_at=now,
            inputs=inputs,
            updated_at=now,
            scheduled_run_uid=scheduled_run_uid,
        )
        rate = core.faults.auth_expired_mid_batch
        if rate > 0 and len(inputs) >= 2 and core.fault_rng.random() < rate:
            run.expire_at_input = core.fault_rng.randrange(1, len(inputs))
        self.runs[run.uid] = run
        core.ledger.totals["runs_created"] += 1
        core.ledger.add(
            "run",
            core.now_iso(),
            run_uid=run.uid,
            action=action,
            mode=mode,
            identity_uid=identity_uid,
            inputs=len(inputs),
        )
        self._queue(run, [inp.index for inp in inputs])
        return run

    def _queue(self, run: Run, indexes: list[int]) -> None:
        core = self.core
        identity = core.world.identities.get(run.identity_uid)
        spec = ACTIONS[run.action_name]
        # Edges paces an identity's outreach itself; reads go quickly.
        spacing = (
            core.world.pacing_gap + timedelta(seconds=15) if spec.outreach else timedelta(seconds=3)
        )
        at = core.now() + timedelta(seconds=5)
        if identity is not None and identity.async_next_free and identity.async_next_free > at:
            at = identity.async_next_free
        for index in indexes:
            core.schedule(at, "run_input", run=run.uid, index=index)
            at += spacing
        if identity is not None and spec.outreach:
            identity.async_next_free = at

    def create_schedule(self, action: str, identity_uid: str, body: dict[str, Any]) -> Schedule:
        """Register a cron schedule; each firing creates a run."""
        core = self.core
        tz = str(body.get("timezone") or "UTC")
        sched = Schedule(
            core.new_uid(),
            action,
            identity_uid,
            body,
            body["cron"],
            tz,
            core.now(),
            next_fire(body["cron"], core.now(), tz),
        )
        self.schedules[sched.uid] = sched
        assert sched.next_run_at is not None
        core.schedule(sched.next_run_at, "schedule_fire", uid=sched.uid)
        core.ledger.add(
            "schedule", core.now_iso(), schedule_uid=sched.uid, action=action, cron=sched.cron
        )
        return sched

    def _on_fire(self, payload: dict[str, Any]) -> None:
        sched = self.schedules.get(payload["uid"])
        if sched is None or sched.status != "SCHEDULED":
            return
        run = self.create(
            sched.action_name,
            sched.identity_uid,
            sched.body,
            mode="SCHEDULE",
            scheduled_run_uid=sched.uid,
        )
        sched.run_uids.append(run.uid)
        sched.next_run_at = next_fire(sched.cron, self.core.now(), sched.timezone)
        self.core.schedule(sched.next_run_at, "schedule_fire", uid=sched.uid)

    def resume(self, run: Run) -> None:
        """BLOCKED → SCHEDULED; blocked inputs are queued again (API.md §2.7)."""
        if run.status != "BLOCKED":
            raise EdgesError("RUN_NOT_BLOCKED", 422, "Only a BLOCKED run can be resumed")
        run.status = "SCHEDULED"
        run.last_error = None
        run.retry_count = 0
        run.postponed_until = None
        blocked = [inp.index for inp in run.inputs if inp.status == "BLOCKED"]
        for index in blocked:
            run.inputs[index].status = "QUEUED"
        self._queue(run, blocked)

    # -- execution -------------------------------------------------------------------------

    def _on_input(self, payload: dict[str, Any]) -> None:
        core = self.core
        run = self.runs.get(payload["run"])
        if run is None or run.status in ("BLOCKED", "STOPPED") or run.status in TERMINAL:
            return
        inp = run.inputs[payload["index"]]
        if inp.status not in ("QUEUED", "POSTPONED"):
            return
        now = core.now()
        if run.status in ("QUEUED", "SCHEDULED"):
            run.status = "RUNNING"
            run.started_at = run.started_at or now
        run.updated_at = now
        identity = core.world.identities.get(run.identity_uid)
        if identity is None:
            self._finish_input(run, inp, None, EdgesError("NOT_FOUND", 404, "No such identity"))
            return
        if run.expire_at_input == inp.index:
            run.expire_at_input = None
            core.expire_session(identity)
        spec = ACTIONS[run.action_name]
        try:
            result = perform(core, spec, identity, inp.data, run.parameters)
        except EdgesError as exc:
            if exc.label == "AUTH_EXPIRED":
                self._block(run, exc)
                return
            if exc.label == "LIMIT_REACHED":
                until_text = exc.params.get("postponed_until")
                until = (
                    datetime.fromisoformat(until_text.replace("Z", "+00:00"))
                    if until_text
                    else now + timedelta(hours=24)
                )
                inp.status = "POSTPONED"
                inp.postponed_until = until
                run.postponed_until = until
                core.ledger.totals["postponed_inputs"] += 1
                core.schedule(until, "run_input", run=run.uid, index=inp.index)
                return
            self._finish_input(run, inp, None, exc)
            return
        rows = result if isinstance(result, list | Rows) else [result]
        cap = run.parameters.get("max_results")
        rows = list(rows[:cap] if isinstance(cap, int) else rows)
        self._finish_input(run, inp, rows, None)

    def _block(self, run: Run, exc: EdgesError) -> None:
        core = self.core
        run.status = "BLOCKED"
        run.last_error = _last_error(exc, core.error_ref())
        for inp in run.inputs:
            if inp.status in ("QUEUED", "POSTPONED"):
                inp.status = "BLOCKED"
        core.ledger.totals["runs_blocked"] += 1
        core.ledger.add(
            "run", core.now_iso(), run_uid=run.uid, status="BLOCKED", error_label=exc.label
        )

    def _finish_input(
        self,
        run: Run,
        inp: RunInput,
        rows: list[dict[str, Any]] | None,
        exc: EdgesError | None,
    ) -> None:
        core = self.core
        now = core.now()
        if exc is not None:
            inp.status = "FAILED"
            inp.error = exc.body(core.error_ref())
            run.last_error = _last_error(exc, inp.error["error_ref"])
        else:
            inp.status = "SUCCEEDED"
            for row in rows or []:
                run.outputs.append(
                    {
                        **row,
                        "custom_data": inp.custom_data,
                        "input": inp.data,
                        "extracted_at": iso(now),
                    }
                )
        done = all(i.status in TERMINAL for i in run.inputs)
        if done:
            failed = sum(1 for i in run.inputs if i.status == "FAILED")
            run.status = (
                "SUCCEEDED"
                if failed == 0
                else "FAILED"
                if failed == len(run.inputs)
                else "PARTIAL_SUCCEEDED"
            )
            run.finished_at = now
            run.postponed_until = None
            core.ledger.add("run", core.now_iso(), run_uid=run.uid, status=run.status)
        callback = run.callback
        if not callback:
            return
        on = callback.get("on", "all")
        if on == "all":
            body = {
                "callback_ref_uid": f"cb_{core.new_uid().replace('-', '')}",
                "run": {
                    "run_uid": run.uid,
                    "batch_uid": core.new_uid(),
                    "status": run.status if done else "RUNNING",
                },
                "action_name": run.action_name,
                "custom_data": inp.custom_data,
                "input": inp.data,
                "results": rows or [],
                "error": inp.error,
            }
            self._send(callback, body)
        elif done:
            body = {
                "callback_ref_uid": f"cb_{core.new_uid().replace('-', '')}",
                "run": {"run_uid": run.uid, "batch_uid": core.new_uid(), "status": run.status},
                "action_name": run.action_name,
                "results": [],
                "error": None,
            }
            self._send(callback, body)

    def _send(self, callback: dict[str, Any], body: dict[str, Any]) -> None:
        core = self.core
        headers = {"Content-Type": "application/json", **dict(callback.get("headers") or {})}
        delivery = Delivery(
            "callback",
            str(callback["url"]),
            headers,
            json.dumps(body).encode(),
            body["callback_ref_uid"],
        )
        at = core.now()
        faults = core.faults
        if faults.out_of_order_callback and core.fault_rng.random() < faults.out_of_order_callback:
            at += timedelta(seconds=core.fault_rng.uniform(60, 300))
            core.ledger.totals["callbacks_delayed"] += 1
        core.queue_delivery(delivery, at)
        if faults.duplicate_callback and core.fault_rng.random() < faults.duplicate_callback:
            core.queue_delivery(delivery, at + timedelta(seconds=core.fault_rng.uniform(5, 60)))
            core.ledger.totals["callbacks_duplicated"] += 1

    # -- rendering ---------------------------------------------------------------------------

    def run_object(self, run: Run) -> dict[str, Any]:
        """The run object (decision 22)."""
        return {
            "id": run.id,
            "uid": run.uid,
            "run_uid": run.uid,
            "action_name": run.action_name,
            "status": run.status,
            "execution_mode": run.mode,
            "name": run.name,
            "output_count": len(run.outputs),
            "input_count": len(run.inputs),
            "retry_count": run.retry_count,
            "postponed_until": iso(run.postponed_until),
            "created_at": iso(run.created_at),
            "updated_at": iso(run.updated_at),
            "started_at": iso(run.started_at),
            "finished_at": iso(run.finished_at),
            "last_error": run.last_error,
            "parameters": run.parameters,
            "callback": {"url": run.callback["url"]} if run.callback else None,
            "scheduled_run_uid": run.scheduled_run_uid,
            "identity_ids": [run.identity_uid],
            "workspace_uid": WORKSPACE_UID,
            "user_uid": USER_UID,
        }

    def schedule_object(self, sched: Schedule) -> dict[str, Any]:
        """A schedule, shaped like a run object (decision 12) plus its cron fields."""
        return {
            "id": 0,
            "uid": sched.uid,
            "run_uid": sched.uid,
            "schedule_uid": sched.uid,
            "action_name": sched.action_name,
            "status": sched.status,
            "execution_mode": "SCHEDULE",
            "cron": sched.cron,
            "timezone": sched.timezone,
            "name": sched.body.get("name"),
            "next_run_at": iso(sched.next_run_at),
            "created_at": iso(sched.created_at),
            "updated_at": iso(sched.created_at),
            "postponed_until": None,
            "output_count": 0,
            "run_uids": list(sched.run_uids),
            "identity_ids": [sched.identity_uid],
            "workspace_uid": WORKSPACE_UID,
            "user_uid": USER_UID,
        }


WORKSPACE_UID = "00000000-0000-4000-8000-000000000001"
USER_UID = "00000000-0000-4000-8000-000000000002"


def _last_error(exc: EdgesError, ref: str) -> dict[str, Any]:
    return {
        "label": exc.label,
        "error_label": exc.label,
        "message": exc.message,
        "params": exc.params,
        "error_ref": ref,
    }
