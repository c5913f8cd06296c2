"""Outgoing events for CRMs: signed webhooks, retried with backoff, replayable from a cursor.

The engine writes `outgoing_events` rows (`lead.replied`, `lead.connected`, `lead.completed`,
`identity.paused`, `identity.resumed`; `campaign.finished` is written by `finish_campaigns`
here). `EventDispatcher.deliver_due` POSTs each one to the configured URL:

    X-Linkseq-Event-Id: 42
    X-Linkseq-Timestamp: 1767600000            (unix seconds)
    X-Linkseq-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

A receiver recomputes the signature over the raw body and compares in constant time, and
refuses timestamps older than a few minutes (replay protection). Delivery is at least once:
receivers dedupe on the event id. The state of each delivery is in `event_deliveries`; an
event without a row there has never been tried. `replay(after=cursor)` sends again every event
whose id is greater than the cursor.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from linkseq.clock import Clock
from linkseq.engine.transitions import emit
from linkseq.store.enums import CampaignStatus, EnrollmentState
from linkseq.store.models import Campaign, Enrollment, EventDelivery, OutgoingEvent

__all__ = [
    "BACKOFF",
    "EVENT_KINDS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "DeliveryReport",
    "EventDispatcher",
    "Post",
    "event_body",
    "finish_campaigns",
    "sign",
    "urllib_post",
    "verify",
]

log = structlog.get_logger("linkseq.events")

EVENT_KINDS = (
    "lead.replied",
    "lead.connected",
    "lead.completed",
    "identity.paused",
    "identity.resumed",
    "campaign.finished",
)
TIMESTAMP_HEADER = "X-Linkseq-Timestamp"
SIGNATURE_HEADER = "X-Linkseq-Signature"
EVENT_ID_HEADER = "X-Linkseq-Event-Id"
# wait before attempt n+1 after attempt n failed; after the last one the event is given up
BACKOFF: tuple[timedelta, ...] = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(hours=24),
)
_TERMINAL = [EnrollmentState(s) for s in ("replied", "completed", "withdrawn", "skipped", "failed")]

# POST (url, headers, body) → HTTP status (0: nothing answered)
Post = Callable[[str, dict[str, str], bytes], int]


def urllib_post(url: str, headers: dict[str, str], body: bytes) -> int:
    """POST with the standard library; the status, or 0 when nothing answered."""
    if not url.lower().startswith(("http://", "https://")):
        return 0
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError, ValueError):
        return 0


def sign(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """`v1=<hex>`: HMAC-SHA256 of `"<timestamp>." + body` under `secret`."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def verify(
    secret: str | bytes,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime,
    tolerance: timedelta = timedelta(minutes=5),
) -> bool:
    """Whether `body` was signed with `secret` (constant time) at a time close enough to `now`."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        timestamp = int(lower.get(TIMESTAMP_HEADER.lower(), ""))
    except ValueError:
        return False
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        return False
    given = lower.get(SIGNATURE_HEADER.lower(), "")
    return hmac.compare_digest(sign(secret, timestamp, body), given)


def event_body(event: OutgoingEvent) -> bytes:
    """The JSON body of an outgoing event (what the signature covers)."""
    data = {
        "id": event.id,
        "kind": event.kind,
        "created_at": event.created_at.isoformat(),
        "lead_id": event.lead_id,
        "enrollment_id": event.enrollment_id,
        "data": event.payload,
    }
    return json.dumps(data, separators=(",", ":"), sort_keys=True, default=str).encode()


def finish_campaigns(session: Session, *, now: datetime) -> list[int]:
    """Mark active campaigns whose every lead reached a final state as finished; their ids.

    Emits `campaign.finished` once per campaign (the status change is the guard). The caller
    commits.
    """
    open_leads = (
        sa.select(Enrollment.id)
        .where(Enrollment.campaign_id == Campaign.id, Enrollment.state.not_in(_TERMINAL))
        .exists()
    )
    any_leads = sa.select(Enrollment.id).where(Enrollment.campaign_id == Campaign.id).exists()
    done = session.scalars(
        sa.select(Campaign).where(Campaign.status == CampaignStatus.ACTIVE, any_leads, ~open_leads)
    ).all()
    for campaign in done:
        campaign.status = CampaignStatus.FINISHED
        campaign.updated_at = now
        counts = dict(
            session.execute(
                sa.select(Enrollment.state, sa.func.count())
                .where(Enrollment.campaign_id == campaign.id)
                .group_by(Enrollment.state)
            ).all()
        )
        emit(
            session,
            "campaign.finished",
            now=now,
            payload={
                "campaign_id": campaign.id,
                "campaign": campaign.name,
                "leads": {state.value: n for state, n in counts.items()},
            },
        )
    return [c.id for c in done]


@dataclass(slots=True)
class DeliveryReport:
    """What one `deliver_due` call did."""

    delivered: int = 0
    retrying: int = 0
    gave_up: int = 0
    skipped: int = 0


class EventDispatcher:
    """Delivers outgoing events to one CRM webhook URL, signed, with retries."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clock: Clock,
        url: str,
        secret: SecretStr,
        post: Post | None = None,
        kinds: Collection[str] | None = None,
        backoff: Sequence[timedelta] = BACKOFF,
        batch: int = 200,
    ) -> None:
        if not secret.get_secret_value():
            raise ValueError("an events secret is required to sign outgoing events")
        self.sessions = sessions
        self.clock = clock
        self.url = url
        self._secret = secret
        self.post = post or urllib_post
        self.kinds = frozenset(kinds) if kinds is not None else frozenset(EVENT_KINDS)
        self.backoff = tuple(backoff)
        self.batch = batch

    def __repr__(self) -> str:
        return f"EventDispatcher(url={self.url!r})"

    def headers(self, event_id: int, body: bytes) -> dict[str, str]:
        """The headers of one delivery, signed now."""
        timestamp = int(self.clock.now().timestamp())
        return {
            "Content-Type": "application/json",
            "User-Agent": "linkseq-events/1",
            EVENT_ID_HEADER: str(event_id),
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self._secret.get_secret_value(), timestamp, body),
        }

    def due(self, session: Session) -> list[OutgoingEvent]:
        """Events never tried, and pending ones whose next attempt has come, oldest first."""
        now = self.clock.now()
        # LEFT OUTER JOIN event_deliveries: no row yet, or pending and due
        return list(
            session.scalars(
                sa.select(OutgoingEvent)
                .outerjoin(EventDelivery, EventDelivery.event_id == OutgoingEvent.id)
                .where(
                    sa.or_(
                        EventDelivery.event_id.is_(None),
                        sa.and_(
                            EventDelivery.status == "pending",
                            EventDelivery.next_attempt_at <= now,
                        ),
                    )
                )
                .order_by(OutgoingEvent.id)
                .limit(self.batch)
            )
        )

    def deliver_due(self) -> DeliveryReport:
        """Try every due event once; the HTTP calls happen outside any transaction."""
        report = DeliveryReport()
        with self.sessions() as session:
            finish_campaigns(session, now=self.clock.now())
            session.commit()
            events = [(e.id, e.kind, event_body(e)) for e in self.due(session)]
        for event_id, kind, body in events:
            if kind not in self.kinds:
                self._record(event_id, status=None, error="kind not subscribed")
                report.skipped += 1
                continue
            try:
                status = int(self.post(self.url, self.headers(event_id, body), body))
                error = None if 200 <= status < 300 else f"HTTP {status}"
            except Exception as exc:  # a failing receiver is retried, never fatal
                status, error = 0, f"{type(exc).__name__}: {exc}"
            outcome = self._record(event_id, status=status, error=error)
            if outcome == "delivered":
                report.delivered += 1
            elif outcome == "failed":
                report.gave_up += 1
            else:
                report.retrying += 1
        return report

    def _record(self, event_id: int, *, status: int | None, error: str | None) -> str:
        now = self.clock.now()
        with self.sessions() as session:
            row = session.get(EventDelivery, event_id)
            if row is None:
                row = EventDelivery(event_id=event_id, status="pending", attempts=0)
                session.add(row)
            if status is None:
                row.status, row.last_error, row.next_attempt_at = "skipped", error, None
            elif error is None:
                row.attempts += 1
                row.status, row.last_status, row.last_error = "delivered", status, None
                row.delivered_at, row.next_attempt_at = now, None
            else:
                row.attempts += 1
                row.last_status, row.last_error = status, error[:500]
                if row.attempts > len(self.backoff):
                    row.status, row.next_attempt_at = "failed", None
                    log.warning("events.gave_up", event_id=event_id, error=error)
                else:
                    row.status = "pending"
                    row.next_attempt_at = now + self.backoff[row.attempts - 1]
            outcome = row.status
            session.commit()
        return outcome

    def replay(self, *, after: int) -> int:
        """Deliver again every event whose id is greater than `after`; how many were queued."""
        now = self.clock.now()
        with self.sessions() as session:
            result = session.execute(
                sa.update(EventDelivery)
                .where(EventDelivery.event_id > after)
                .values(status="pending", attempts=0, next_attempt_at=now, last_error=None)
            )
            never = session.execute(
                sa.select(sa.func.count())
                .select_from(OutgoingEvent)
                .outerjoin(EventDelivery, EventDelivery.event_id == OutgoingEvent.id)
                .where(OutgoingEvent.id > after, EventDelivery.event_id.is_(None))
            ).scalar_one()
            session.commit()
        return int(getattr(result, "rowcount", 0) or 0) + int(never)
