"""The Edges webhook receiver: run callbacks and integration events (guide §1, §12, §13, §16).

Edges signs nothing, so linkseq puts a secret (`LINKSEQ_WEBHOOK_SECRET`) in what Edges sends
back: the `X-Linkseq-Token` header of a run's `callback.headers`, and `?token=` (or the basic
auth password) of the workspace's integration-webhook URL. It is compared in constant time;
without it the answer is 401 and the body is not even read. A malformed body is a 422 (worded
as FastAPI words it) and nothing is stored.

Every event is stored raw in `webhook_inbox` first (the dedupe key: `callback_ref_uid`,
`event_uid`, or a hash of the body), then applied in the same transaction, so a redelivery is
a no-op and a failure to apply leaves the raw event stored for `drain_inbox`. The answer is
200 when applied, 202 when stored but not applied yet, and only once committed.

Group commit (`WebhookWriter`): the endpoints are `async` and hand their event to one writer
thread per app, which takes every event queued meanwhile and stores and applies them all in ONE
transaction (`store_and_apply`): one dedupe query (`IN`), one multi-row insert, the events, one
commit; the inbox is written with prebuilt Core statements. Consecutive sync callbacks of the
same identity and purpose that touch different threads/people are applied by one `process_rows`
call (whose caches are written in bulk). Should anything fail, the batch is done again with a
savepoint per event (or group), so a bad event never takes the others with it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import queue
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import structlog
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from linkseq.clock import Clock
from linkseq.edges import CallbackPayload, IntegrationEvent
from linkseq.engine.background import (
    FINAL,
    SECRET_HEADER,
    process_callback,
    process_integration,
    process_rows,
)
from linkseq.engine.config import EngineConfig
from linkseq.engine.events_out import finish_campaigns
from linkseq.store.models import BackgroundRun, WebhookInbox
from linkseq.web.app import Services

__all__ = [
    "CallbackBody",
    "Delivery",
    "IntegrationBody",
    "WebhookWriter",
    "drain_inbox",
    "receive",
    "router",
    "store_and_apply",
]

log = structlog.get_logger("linkseq.webhooks")
router = APIRouter(prefix="/webhooks/edges", tags=["webhooks"])

Outputs = Callable[[str], Iterable[Mapping[str, Any]]]
Result = tuple[int, str]  # (HTTP status, outcome)
_SYNCS = frozenset({"connections", "conversations"})
_LATE = "ignored: late RUNNING after the final status"


# --- the wire (what a well-formed event looks like; unknown keys are kept) -------------------


class _RunBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    run_uid: str = Field(min_length=1, max_length=200)
    batch_uid: str | None = None
    status: str | None = None


class CallbackBody(BaseModel):
    """A run callback (decision 15); `custom_data` may also come merged at the root."""

    model_config = ConfigDict(extra="allow")

    callback_ref_uid: str | None = Field(default=None, min_length=1, max_length=190)
    run: _RunBody
    action_name: str | None = None
    custom_data: dict[str, Any] | None = None
    input: dict[str, Any] | None = None
    results: list[dict[str, Any]] | None = None
    error: dict[str, Any] | None = None


class IntegrationBody(BaseModel):
    """An integration status event (decision 16)."""

    model_config = ConfigDict(extra="allow")

    event: str = Field(min_length=1, max_length=64)
    event_uid: str | None = Field(default=None, min_length=1, max_length=190)
    action_to_be_taken: str | None = None
    occurred_at: datetime | None = None
    identity_uid: str | None = None
    integration: dict[str, Any] | None = None


# --- authentication ---------------------------------------------------------------------------


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _same(given: str | None, secret: str) -> bool:
    # hmac.compare_digest on bytes: constant time whatever the content
    return given is not None and hmac.compare_digest(given.encode(), secret.encode())


def _secret(services: Services) -> str:
    secret = services.settings.webhook_secret
    value = secret.get_secret_value() if secret is not None else ""
    if not value:
        # no secret configured: nobody can be authenticated
        raise HTTPException(status_code=401, detail="webhook secret not configured")
    return value


def _callback_auth(request: Request, services: Services) -> None:
    """Nothing when the callback's `X-Linkseq-Token` is right; a 401 otherwise."""
    if not _same(request.headers.get(SECRET_HEADER), _secret(services)):
        raise HTTPException(status_code=401, detail="missing or wrong token")


def _basic_password(header: str | None) -> str | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2]


def _integration_auth(request: Request, services: Services) -> None:
    """Nothing when the event's `?token=` or basic auth password is right; a 401 otherwise."""
    secret = _secret(services)
    token = request.query_params.get("token")
    if not (
        _same(token, secret) or _same(_basic_password(request.headers.get("authorization")), secret)
    ):
        raise HTTPException(status_code=401, detail="missing or wrong token")


# --- receiving --------------------------------------------------------------------------------


def _body_hash(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _engine_config(services: Services) -> EngineConfig:
    config = services.extra.get("engine_config")
    return (
        config
        if isinstance(config, EngineConfig)
        else EngineConfig.from_settings(services.settings)
    )


def _outputs(services: Services) -> Outputs | None:
    factory = services.edges
    if factory is None:
        return None

    def read(run_uid: str) -> list[dict[str, Any]]:
        client = factory()
        return [row.model_dump(mode="json") for row in client.runs.outputs(run_uid)]

    return read


def _apply(
    session: Session,
    source: str,
    payload: dict[str, Any],
    *,
    now: datetime,
    config: EngineConfig,
    outputs: Outputs | None,
) -> str:
    if source == "callback":
        return process_callback(
            session, CallbackPayload.parse(payload), now=now, config=config, outputs=outputs
        )
    return process_integration(session, IntegrationEvent.parse(payload), now=now)


def _needs_outputs(payload: dict[str, Any], outputs: Outputs | None) -> bool:
    """Whether this is an `on: "final"` callback whose rows must be read from the runs API."""
    run = payload.get("run") or {}
    if not isinstance(run, dict) or outputs is None:
        return False
    final = str(run.get("status") or "").upper() in FINAL
    return final and not payload.get("results") and not payload.get("custom_data")


def _prefetched(payload: dict[str, Any], outputs: Outputs | None) -> Outputs | None:
    """For an `on: "final"` callback, read the outputs before any transaction is open."""
    if outputs is None or not _needs_outputs(payload, outputs):
        return outputs
    run = payload.get("run") or {}
    run_uid = str(run.get("run_uid") or "")
    try:
        rows = list(outputs(run_uid))
    except Exception as exc:  # Edges unreachable: the event is stored and applied later
        log.warning("webhooks.outputs_failed", run_uid=run_uid, error=str(exc))
        return None
    return lambda uid: rows if uid == run_uid else []


@dataclass(slots=True)
class Delivery:
    """One event to store and apply: its source, dedupe key and raw payload."""

    source: str  # "callback" or "integration"
    dedupe_key: str
    payload: dict[str, Any]
    config: EngineConfig = field(default_factory=EngineConfig)
    outputs: Outputs | None = None  # for an `on: "final"` callback: its outputs, read already


@dataclass(slots=True)
class _Todo:
    """A delivery to apply in this batch (new, or stored before and not applied yet)."""

    index: int
    source: str
    payload: dict[str, Any]
    delivery: Delivery
    parsed: CallbackPayload | None = None


def receive(
    *,
    sessions: sessionmaker[Session],
    clock: Clock,
    source: str,
    dedupe_key: str,
    payload: dict[str, Any],
    config: EngineConfig | None = None,
    outputs: Outputs | None = None,
    lock: AbstractContextManager[Any] | None = None,
) -> Result:
    """Store one event (deduplicated) and apply it, in its own transaction; `(status, outcome)`.

    `lock` serialises the writing transactions of this process (SQLite has one writer: waiting
    on a Python lock is far cheaper than SQLite's busy-timeout sleeps).
    """
    if source == "callback":
        outputs = _prefetched(payload, outputs)
    delivery = Delivery(source, dedupe_key, payload, config or EngineConfig(), outputs)
    with lock or contextlib.nullcontext():
        return store_and_apply(sessions=sessions, clock=clock, deliveries=[delivery])[0]


def store_and_apply(
    *, sessions: sessionmaker[Session], clock: Clock, deliveries: Sequence[Delivery]
) -> list[Result]:
    """Store and apply these events in ONE transaction (group commit); each one's result.

    Deduplicated on `dedupe_key` against the inbox and within the batch. First tried without
    savepoints (the usual case: nothing fails); if anything fails, the transaction is rolled
    back and the batch done again with each event (or group of mergeable sync callbacks) in its
    own savepoint: a failure rolls back that event only, which stays stored with its error
    (202). Should the batch itself fail (the insert, the commit), each event is tried alone in
    its own transaction; an event that cannot even be stored gets a 503, so Edges delivers it
    again.
    """
    if not deliveries:
        return []
    try:
        return _batch(sessions, clock, deliveries, careful=False)
    except Exception as exc:
        log.info("webhooks.batch_retried", size=len(deliveries), error=_describe(exc))
    try:
        return _batch(sessions, clock, deliveries, careful=True)
    except Exception:
        if len(deliveries) == 1:
            log.exception("webhooks.store_failed", key=deliveries[0].dedupe_key)
            return [(503, "not stored")]
        log.exception("webhooks.batch_failed", size=len(deliveries))
    results: list[Result] = []
    for delivery in deliveries:
        results.extend(store_and_apply(sessions=sessions, clock=clock, deliveries=[delivery]))
    return results


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def _batch(
    sessions: sessionmaker[Session],
    clock: Clock,
    deliveries: Sequence[Delivery],
    *,
    careful: bool,
) -> list[Result]:
    """One transaction for the batch; `careful`: a savepoint per unit (else any failure raises)."""
    now = clock.now()
    results: list[Result | None] = [None] * len(deliveries)
    with sessions() as session:
        connection = session.connection()  # the inbox: prebuilt Core statements, no ORM
        keys = list({d.dedupe_key for d in deliveries})
        stored = {row.dedupe_key: row for row in connection.execute(_STORED, {"keys": keys})}
        pending = [k for k, row in stored.items() if row.processed_at is None]
        stored_payloads: dict[str, dict[str, Any]] = (
            {
                row.dedupe_key: row.payload
                for row in connection.execute(_PAYLOADS, {"keys": pending})
            }
            if pending
            else {}
        )
        first: dict[str, int] = {}
        copies: list[tuple[int, int]] = []  # (a later delivery, the first of its key)
        todo: list[_Todo] = []
        premarked: set[str] = set()  # inserted as applied: only a failure updates them
        new_rows: list[dict[str, Any]] = []
        for i, delivery in enumerate(deliveries):
            key = delivery.dedupe_key
            if key in first:
                copies.append((i, first[key]))
                continue
            first[key] = i
            old = stored.get(key)
            if old is None:
                # a callback is inserted as applied (same transaction; a failure updates it):
                # no update in the usual case. Not an integration event: `_superseded` reads
                # the applied ones, and the batch's later events are not applied yet
                applied = now if delivery.source == "callback" else None
                if applied is not None:
                    premarked.add(key)
                new_rows.append(
                    {
                        "source": delivery.source,
                        "dedupe_key": key,
                        "payload": delivery.payload,
                        "received_at": now,
                        "processed_at": applied,
                    }
                )
                todo.append(_Todo(i, delivery.source, delivery.payload, delivery))
            elif old.processed_at is not None:
                results[i] = (200, "duplicate")
            else:  # stored before but not applied yet: try again now, from what was stored
                todo.append(_Todo(i, old.source, stored_payloads[key], delivery))
        if new_rows:
            connection.execute(_INSERT, new_rows)  # raw first: one multi-row insert
        marks: list[dict[str, Any]] = []
        for unit in _plan(todo):
            merged = _apply_group(session, unit, now, careful) if len(unit) > 1 else None
            for n, item in enumerate(unit):
                error: str | None = None
                if merged is not None:
                    outcome = merged[n]
                else:
                    outcome, error = _apply_one(session, item, now, careful)
                if error is not None:
                    results[item.index] = (202, "stored")
                elif outcome == "deferred":
                    error = "waiting for the run's outputs"
                    results[item.index] = (202, outcome)
                else:
                    results[item.index] = (200, outcome)
                if error is None and item.delivery.dedupe_key in premarked:
                    continue
                marks.append(
                    {
                        "k": item.delivery.dedupe_key,
                        "p": now if error is None else None,
                        "e": error,
                    }
                )
        if marks:
            connection.execute(_MARK, marks)
        session.commit()
    for i, j in copies:
        status, outcome = results[j] or (503, "not stored")
        results[i] = (200, "duplicate") if status == 200 else (status, outcome)
    return [r or (503, "not stored") for r in results]


_INBOX: sa.Table = WebhookInbox.__table__  # type: ignore[assignment]
_STORED = sa.select(_INBOX.c.dedupe_key, _INBOX.c.source, _INBOX.c.processed_at).where(
    _INBOX.c.dedupe_key.in_(sa.bindparam("keys", expanding=True))
)
_PAYLOADS = sa.select(_INBOX.c.dedupe_key, _INBOX.c.payload).where(
    _INBOX.c.dedupe_key.in_(sa.bindparam("keys", expanding=True))
)
_INSERT = sa.insert(_INBOX)
_RUNS = sa.select(BackgroundRun).where(
    BackgroundRun.run_uid.in_(sa.bindparam("uids", expanding=True))
)
_MARK = (
    sa.update(_INBOX)
    .where(_INBOX.c.dedupe_key == sa.bindparam("k"))
    .values(processed_at=sa.bindparam("p"), error=sa.bindparam("e"))
)


def _forget_caches(session: Session) -> None:
    # the engine keeps per-session caches of rows in `session.info` (sync_state); a rolled
    # back savepoint may have added rows held there that no longer exist
    for key in [k for k in session.info if str(k).startswith("linkseq.")]:
        del session.info[key]


def _scope(session: Session, careful: bool) -> AbstractContextManager[Any]:
    return session.begin_nested() if careful else contextlib.nullcontext()


def _apply_one(
    session: Session, item: _Todo, now: datetime, careful: bool
) -> tuple[str, str | None]:
    """Apply one event (`careful`: in a savepoint); `(outcome, error or None)`."""
    try:
        with _scope(session, careful):
            outcome = _apply(
                session,
                item.source,
                item.payload,
                now=now,
                config=item.delivery.config,
                outputs=item.delivery.outputs,
            )
    except Exception as exc:  # stored raw; `drain_inbox` applies it later
        if not careful:
            raise  # the whole batch is done again, carefully
        _forget_caches(session)
        error = _describe(exc)
        # no traceback: rendering one costs seconds, and a poison event would stall the writer
        log.warning("webhooks.apply_failed", key=item.delivery.dedupe_key, error=error)
        return "stored", error
    return outcome, None


def _merge_key(item: _Todo) -> tuple[tuple[str, int], set[str]] | None:
    """`((purpose, identity), what it touches)` for a sync callback that can share one
    `process_rows` call with its neighbours; None for any other event."""
    if item.source != "callback":
        return None
    try:
        parsed = CallbackPayload.parse(item.payload)
    except Exception:
        return None  # applied alone, where its error is recorded
    custom = parsed.custom_data
    purpose = custom.get("purpose")
    identity_id = custom.get("identity_id")
    if purpose not in _SYNCS or parsed.error is not None:
        return None
    if not isinstance(identity_id, int) or isinstance(identity_id, bool) or identity_id <= 0:
        return None
    item.parsed = parsed
    if purpose == "conversations":
        touched = {f"t:{row.get('linkedin_thread_id')}" for row in parsed.results}
    else:
        touched = {f"p:{row.get('linkedin_profile_id')}" for row in parsed.results} | {
            f"u:{row.get('linkedin_profile_url')}" for row in parsed.results
        }
    return (str(purpose), identity_id), touched


def _plan(todo: Sequence[_Todo]) -> list[list[_Todo]]:
    """Units to apply, in order: a run of consecutive sync callbacks of one identity and purpose
    touching different threads (or people) is one unit; any other event is a unit alone."""
    units: list[list[_Todo]] = []
    group: list[_Todo] = []
    group_key: tuple[str, int] | None = None
    touched: set[str] = set()
    for item in todo:
        merge = _merge_key(item)
        if merge is not None and group and merge[0] == group_key and not (merge[1] & touched):
            group.append(item)
            touched |= merge[1]
            continue
        if group:
            units.append(group)
            group = []
        if merge is None:
            units.append([item])
        else:
            group, group_key, touched = [item], merge[0], set(merge[1])
    if group:
        units.append(group)
    return units


def _apply_group(
    session: Session, unit: Sequence[_Todo], now: datetime, careful: bool
) -> list[str] | None:
    """Apply a run of sync callbacks with one `process_rows` call (`careful`: in a savepoint);
    their outcomes, or None when it failed (rolled back: the caller applies them one by one).

    The same decisions as `process_callback`, taken per callback in order: a RUNNING after its
    run's final status is ignored, the others' rows are applied and their runs' statuses kept.
    """
    payloads = [item.parsed for item in unit if item.parsed is not None]
    if len(payloads) != len(unit):
        return None
    custom = payloads[0].custom_data
    try:
        with _scope(session, careful):
            uids = {p.run.run_uid for p in payloads if p.run.run_uid}
            runs = {run.run_uid: run for run in session.scalars(_RUNS, {"uids": list(uids)})}
            outcomes: list[str] = []
            rows: list[dict[str, Any]] = []
            for payload in payloads:
                status = payload.run.status or ""
                run = runs.get(payload.run.run_uid or "")
                finished = run is not None and run.finished_at is not None
                if finished and status not in FINAL and run is not None and run.purpose in _SYNCS:
                    outcomes.append(_LATE)
                    continue
                rows.extend(payload.results)
                if run is not None and status and run.finished_at is None:
                    run.status = status
                    if status in FINAL:
                        run.finished_at = now
                outcomes.append("applied")
            if "applied" in outcomes:
                moved = process_rows(
                    session,
                    purpose=str(custom["purpose"]),
                    identity_id=int(custom["identity_id"]),
                    custom=custom,
                    rows=rows,
                    error=None,
                    now=now,
                    config=unit[0].delivery.config,
                )
                if moved:
                    finish_campaigns(session, now=now)
    except Exception as exc:
        if not careful:
            raise
        _forget_caches(session)
        log.info("webhooks.group_failed", size=len(unit), error=_describe(exc))
        return None
    return outcomes


class WebhookWriter:
    """Group commit for one app: a thread that stores and applies every queued event at once.

    `await writer.deliver(delivery)` queues the event and waits; the thread takes everything
    queued (up to `max_batch`), runs `store_and_apply` on it (one transaction), then answers
    every waiting request. No timer: while one batch is written, the next one gathers.
    """

    def __init__(
        self, *, sessions: sessionmaker[Session], clock: Clock, max_batch: int = 256
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[
            tuple[Delivery, asyncio.AbstractEventLoop, asyncio.Future[Result]] | None
        ] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self.batches = 0  # how many transactions so far (for tests and benchmarks)

    def __repr__(self) -> str:
        return f"WebhookWriter(max_batch={self.max_batch}, batches={self.batches})"

    async def deliver(self, delivery: Delivery) -> Result:
        """Store and apply `delivery` with whatever else is queued; its `(status, outcome)`."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._ensure_started()
        self._queue.put((delivery, loop, future))
        return await future

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="webhook-writer", daemon=True)
                thread.start()
                self._thread = thread

    def close(self, timeout: float = 10) -> None:
        """Stop the thread once what is queued is written."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._write(batch)
            if stop:
                return

    def _write(
        self, batch: list[tuple[Delivery, asyncio.AbstractEventLoop, asyncio.Future[Result]]]
    ) -> None:
        try:
            results = store_and_apply(
                sessions=self.sessions, clock=self.clock, deliveries=[d for d, _, _ in batch]
            )
        except Exception:  # never leave a request waiting
            log.exception("webhooks.writer_failed", size=len(batch))
            results = [(503, "not stored")] * len(batch)
        self.batches += 1
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Result], Result]]] = {}
        for (_, loop, future), result in zip(batch, results, strict=True):
            by_loop.setdefault(loop, []).append((future, result))
        for loop, settled in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
                loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple[asyncio.Future[Result], Result]]) -> None:
    for future, result in settled:
        if not future.done():
            future.set_result(result)


def _writer(services: Services) -> WebhookWriter:
    writer = services.extra.get("webhook_writer")
    if not isinstance(writer, WebhookWriter):
        with _WRITER_LOCK:
            writer = services.extra.get("webhook_writer")
            if not isinstance(writer, WebhookWriter):
                writer = WebhookWriter(sessions=services.sessions, clock=services.clock)
                services.extra["webhook_writer"] = writer
    return writer


_WRITER_LOCK = threading.Lock()


def drain_inbox(
    *,
    sessions: sessionmaker[Session],
    clock: Clock,
    config: EngineConfig | None = None,
    outputs: Outputs | None = None,
    limit: int = 500,
) -> int:
    """Apply stored events not applied yet (a failure, or outputs unreachable); how many."""
    with sessions() as session:
        pending = session.execute(
            sa.select(WebhookInbox.source, WebhookInbox.dedupe_key, WebhookInbox.payload)
            .where(WebhookInbox.processed_at.is_(None))
            .order_by(WebhookInbox.id)
            .limit(limit)
        ).all()
    done = 0
    for source, key, payload in pending:
        status, _ = receive(
            sessions=sessions,
            clock=clock,
            source=source,
            dedupe_key=key,
            payload=payload,
            config=config,
            outputs=outputs,
        )
        done += status == 200
    return done


def _payload(raw: bytes, model: type[BaseModel]) -> dict[str, Any]:
    """The body decoded once and validated once by `model`; else a 422 worded as FastAPI's."""
    if not raw:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        )
    try:
        data = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        error = {
            "type": "json_invalid",
            "loc": ("body", getattr(exc, "pos", 0)),
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": getattr(exc, "msg", str(exc))},
        }
        raise RequestValidationError([error]) from None
    try:
        model.model_validate(data, from_attributes=True)  # as FastAPI validates bodies
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in errors]
        ) from None
    assert isinstance(data, dict)  # a model validates JSON objects only
    return data


def _inline(node: Any, defs: Mapping[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.rsplit("/", 1)[1]], defs)
        return {key: _inline(value, defs) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(value, defs) for value in node]
    return node


def _openapi(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI `requestBody` of an endpoint that reads its body itself (schema inlined)."""
    schema = model.model_json_schema()
    schema = _inline(schema, schema.pop("$defs", {}))
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"description": "Stored, applied later"},
    401: {"description": "Missing or wrong token"},
    422: {"description": "Malformed body: nothing stored"},
}

# The endpoints take the bare request: the token is checked before the body is read, the body
# is decoded once and validated once (FastAPI's body parameters would decode and validate it,
# then the raw bytes are needed again); the OpenAPI description still shows both bodies.


@router.post("/callbacks", responses=_RESPONSES, openapi_extra=_openapi(CallbackBody))
async def callbacks(request: Request) -> JSONResponse:
    """Receive an async or scheduled run's callback (header `X-Linkseq-Token`)."""
    # async: no threadpool hop per request; the database work is the writer thread's
    services = _services(request)
    _callback_auth(request, services)
    raw = await request.body()
    payload = _payload(raw, CallbackBody)
    outputs = _outputs(services)
    if _needs_outputs(payload, outputs):  # rare: a network read, kept off the event loop
        outputs = await run_in_threadpool(_prefetched, payload, outputs)
    delivery = Delivery(
        "callback",
        payload.get("callback_ref_uid") or _body_hash(raw),
        payload,
        _engine_config(services),
        outputs,
    )
    status, outcome = await _writer(services).deliver(delivery)
    return JSONResponse({"status": outcome}, status_code=status)


@router.post("/integrations", responses=_RESPONSES, openapi_extra=_openapi(IntegrationBody))
async def integrations(request: Request) -> JSONResponse:
    """Receive an integration status event (`?token=` or basic auth)."""
    services = _services(request)
    _integration_auth(request, services)
    raw = await request.body()
    payload = _payload(raw, IntegrationBody)
    delivery = Delivery("integration", payload.get("event_uid") or _body_hash(raw), payload)
    status, outcome = await _writer(services).deliver(delivery)
    return JSONResponse({"status": outcome}, status_code=status)
