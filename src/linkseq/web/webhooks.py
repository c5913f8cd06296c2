"""The Edges webhook receiver: run callbacks and integration events (guide §1, §12, §13, §16).

Edges signs nothing, so linkseq puts a secret (`LINKSEQ_WEBHOOK_SECRET`) in what Edges sends
back: the `X-Linkseq-Token` header of a run's `callback.headers`, and `?token=` (or the basic
auth password) of the workspace's integration-webhook URL. It is compared in constant time;
without it the answer is 401 and nothing is read. A malformed body is a 422 and nothing is
stored.

Every event is stored raw in `webhook_inbox` first (the dedupe key: `callback_ref_uid`,
`event_uid`, or a hash of the body), then applied in a savepoint of the same transaction, so a
redelivery is a no-op and a failure to apply leaves the raw event stored for `drain_inbox`.
The answer is 200 when applied, 202 when stored but not applied yet.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
import structlog
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from linkseq.clock import Clock
from linkseq.edges import CallbackPayload, IntegrationEvent
from linkseq.engine.background import FINAL, SECRET_HEADER, process_callback, process_integration
from linkseq.engine.config import EngineConfig
from linkseq.store.models import WebhookInbox
from linkseq.web.app import Services

__all__ = ["CallbackBody", "IntegrationBody", "drain_inbox", "receive", "router"]

log = structlog.get_logger("linkseq.webhooks")
router = APIRouter(prefix="/webhooks/edges", tags=["webhooks"])

Outputs = Callable[[str], Iterable[Mapping[str, Any]]]


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


async def _callback_auth(request: Request) -> bytes:
    """The raw body of a callback whose `X-Linkseq-Token` is right; 401 otherwise."""
    if not _same(request.headers.get(SECRET_HEADER), _secret(_services(request))):
        raise HTTPException(status_code=401, detail="missing or wrong token")
    return await request.body()


def _basic_password(header: str | None) -> str | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2]


async def _integration_auth(request: Request) -> bytes:
    """The raw body of an integration event whose `?token=` or basic auth is right; else 401."""
    secret = _secret(_services(request))
    token = request.query_params.get("token")
    if not (
        _same(token, secret) or _same(_basic_password(request.headers.get("authorization")), secret)
    ):
        raise HTTPException(status_code=401, detail="missing or wrong token")
    return await request.body()


# --- receiving --------------------------------------------------------------------------------


def _body_hash(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _engine_config(services: Services) -> EngineConfig:
    config = services.extra.get("engine_config")
    return config if isinstance(config, EngineConfig) else EngineConfig()


def _write_lock(services: Services) -> AbstractContextManager[Any]:
    """One lock per app: its webhook transactions take turns instead of racing for SQLite."""
    lock = services.extra.get("webhook_write_lock")
    if lock is None:
        lock = services.extra.setdefault("webhook_write_lock", threading.Lock())
    return lock  # type: ignore[no-any-return]


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


def _prefetched(payload: dict[str, Any], outputs: Outputs | None) -> Outputs | None:
    """For an `on: "final"` callback, read the outputs before any transaction is open."""
    run = payload.get("run") or {}
    final = str(run.get("status") or "").upper() in FINAL
    if outputs is None or not final or payload.get("results") or payload.get("custom_data"):
        return outputs
    run_uid = str(run.get("run_uid") or "")
    try:
        rows = list(outputs(run_uid))
    except Exception as exc:  # Edges unreachable: the event is stored and applied later
        log.warning("webhooks.outputs_failed", run_uid=run_uid, error=str(exc))
        return None
    return lambda uid: rows if uid == run_uid else []


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
) -> tuple[int, str]:
    """Store one event (deduplicated) and apply it; `(HTTP status, outcome)`.

    `lock` serialises the writing transactions of this process (SQLite has one writer: waiting
    on a Python lock is far cheaper than SQLite's busy-timeout sleeps).
    """
    cfg = config or EngineConfig()
    if source == "callback":
        outputs = _prefetched(payload, outputs)
    with lock or contextlib.nullcontext():
        return _store_and_apply(sessions, clock, source, dedupe_key, payload, cfg, outputs)


def _store_and_apply(
    sessions: sessionmaker[Session],
    clock: Clock,
    source: str,
    dedupe_key: str,
    payload: dict[str, Any],
    cfg: EngineConfig,
    outputs: Outputs | None,
) -> tuple[int, str]:
    now = clock.now()
    with sessions() as session:
        row = WebhookInbox(source=source, dedupe_key=dedupe_key, payload=payload, received_at=now)
        session.add(row)
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            existing = session.scalars(
                sa.select(WebhookInbox).where(WebhookInbox.dedupe_key == dedupe_key)
            ).first()
            if existing is None or existing.processed_at is not None:
                return 200, "duplicate"
            row = existing  # stored before but not applied yet: try again now
        try:
            with session.begin_nested():
                outcome = _apply(
                    session, row.source, row.payload, now=now, config=cfg, outputs=outputs
                )
        except Exception as exc:  # stored raw; `drain_inbox` applies it later
            log.exception("webhooks.apply_failed", key=dedupe_key)
            row.error = f"{type(exc).__name__}: {exc}"[:2000]
            session.commit()
            return 202, "stored"
        if outcome == "deferred":
            row.error = "waiting for the run's outputs"
            session.commit()
            return 202, outcome
        row.processed_at = now
        row.error = None
        session.commit()
    return 200, outcome


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


def _decode(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(status_code=422, detail="body is not JSON") from None
    if not isinstance(data, dict):
        raise HTTPException(status_code=422, detail="body must be a JSON object")
    return data


_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"description": "Stored, applied later"},
    401: {"description": "Missing or wrong token"},
}


@router.post("/callbacks", responses=_RESPONSES)
def callbacks(
    body: CallbackBody,
    request: Request,
    raw: Annotated[bytes, Depends(_callback_auth)],
) -> JSONResponse:
    """Receive an async or scheduled run's callback (header `X-Linkseq-Token`)."""
    services = _services(request)
    payload = _decode(raw)
    key = body.callback_ref_uid or _body_hash(raw)
    status, outcome = receive(
        sessions=services.sessions,
        clock=services.clock,
        source="callback",
        dedupe_key=key,
        payload=payload,
        config=_engine_config(services),
        outputs=_outputs(services),
        lock=_write_lock(services),
    )
    return JSONResponse({"status": outcome}, status_code=status)


@router.post("/integrations", responses=_RESPONSES)
def integrations(
    body: IntegrationBody,
    request: Request,
    raw: Annotated[bytes, Depends(_integration_auth)],
) -> JSONResponse:
    """Receive an integration status event (`?token=` or basic auth)."""
    services = _services(request)
    payload = _decode(raw)
    key = body.event_uid or _body_hash(raw)
    status, outcome = receive(
        sessions=services.sessions,
        clock=services.clock,
        source="integration",
        dedupe_key=key,
        payload=payload,
        lock=_write_lock(services),
    )
    return JSONResponse({"status": outcome}, status_code=status)
