"""The simulator's core: time and events, identities and sessions, the LinkedIn side effects."""

from __future__ import annotations

import base64
import heapq
import itertools
import json
import random
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from linkseq.clock import Clock

from ._clock import VirtualClock
from ._errors import EdgesError
from ._faults import FaultConfig
from ._limits import ACTION_LIMITS, LimitState
from ._people import Person
from ._report import Ledger
from ._world import (
    Identity,
    Integration,
    Invitation,
    Message,
    NetworkSpec,
    Thread,
    World,
    zone,
)

__all__ = ["Core", "Deliver", "Delivery", "integration_object", "iso", "urllib_deliver"]

Deliver = Callable[[str, dict[str, str], bytes], int]
RETRY_BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
)
MAX_ATTEMPTS = 5
REPLY_TEXTS = (
    "Thanks for reaching out! Happy to chat next week.",
    "Not interested at the moment, thanks.",
    "Sounds interesting, can you send more details?",
    "Who gave you my name?",
    "Let's talk. What time works for you?",
)
OOO_TEXT = "Thank you for your message. I am out of the office and will reply when I return."
INBOUND_TEXTS = ("Hi! Saw your profile, are you open to a chat?", "Hello, quick question for you.")


def iso(when: datetime | None) -> str | None:
    """ISO-8601 UTC with a `Z`, or None."""
    if when is None:
        return None
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def urllib_deliver(url: str, headers: dict[str, str], body: bytes) -> int:
    """POST `body` to `url` with urllib; the HTTP status, or 0 when nothing answered."""
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


@dataclass(frozen=True, slots=True)
class Delivery:
    """One POST to make: a callback or an integration webhook."""

    kind: str
    url: str
    headers: dict[str, str]
    body: bytes
    ref: str
    attempt: int = 1


class Core:
    """Everything the wire and the runs act upon; one lock guards it all."""

    def __init__(
        self, world: World, clock: Clock, faults: FaultConfig, deliver: Deliver | None
    ) -> None:
        self.world = world
        self.clock = clock
        self.faults = faults
        self.deliver: Deliver = deliver or urllib_deliver
        self.seed = world.seed
        self.ledger = Ledger()
        self.limits = LimitState()
        self.lock = threading.RLock()
        self.flight_lock = threading.Lock()
        self.in_flight: dict[str, int] = {}
        self.webhook_url: str | None = None
        self.ids_rng = random.Random(f"{self.seed}/ids")
        self.fault_rng = random.Random(f"{self.seed}/faults")
        self.burst_left = 0
        self.reply_race: set[tuple[str, int]] = set()
        self._events: list[tuple[datetime, int, str, dict[str, Any]]] = []
        self._event_seq = itertools.count()
        self._override: datetime | None = None
        self._invitation_ids = itertools.count(6_900_000_001)
        self._message_ids = itertools.count(1)
        self._error_refs = itertools.count(1)
        self.handlers: dict[str, Callable[[dict[str, Any]], Delivery | None]] = {
            "accept": self._on_accept,
            "reply": self._on_reply,
            "expire": self._on_expire,
            "deliver": self._on_deliver,
        }
        if isinstance(clock, VirtualClock):
            clock.set_listener(self.run_until)

    # -- time and events ---------------------------------------------------------------------

    def now(self) -> datetime:
        """The time of the event being processed, else the clock's time."""
        return self._override or self.clock.now()

    def now_iso(self) -> str:
        """`now()` as ISO-8601 `Z`."""
        return iso(self.now()) or ""

    def schedule(self, at: datetime, kind: str, **payload: Any) -> None:
        """Queue an event to happen at `at`."""
        with self.lock:
            heapq.heappush(self._events, (at, next(self._event_seq), kind, payload))

    def pending_events(self) -> int:
        """How many events are waiting."""
        return len(self._events)

    def next_event_at(self) -> datetime | None:
        """When the next event is due."""
        with self.lock:
            return self._events[0][0] if self._events else None

    def run_until(self, target: datetime) -> None:
        """Process every event due up to `target` in time order, then move the clock there.

        Deliveries are made outside the lock, so a receiver may call the sandbox back.
        """
        while True:
            delivery: Delivery | None = None
            with self.lock:
                if not self._events or self._events[0][0] > target:
                    self._set_time(target)
                    return
                at, _, kind, payload = heapq.heappop(self._events)
                self._set_time(at)
                self._override = at
                try:
                    delivery = self.handlers[kind](payload)
                finally:
                    self._override = None
            if delivery is not None:
                self._perform(delivery)

    def _set_time(self, when: datetime) -> None:
        if isinstance(self.clock, VirtualClock):
            self.clock._set_raw(when)

    def process_due(self) -> None:
        """Process what is due at the clock's current time (the clock may be moved by others)."""
        if self._events and self._events[0][0] <= self.clock.now():
            self.run_until(self.clock.now())

    # -- deliveries ------------------------------------------------------------------------

    def queue_delivery(self, delivery: Delivery, at: datetime | None = None) -> None:
        """Deliver later (at `at`, default now) in time order."""
        self.schedule(at or self.now(), "deliver", delivery=delivery)

    def _on_deliver(self, payload: dict[str, Any]) -> Delivery | None:
        delivery: Delivery = payload["delivery"]
        return delivery

    def _perform(self, delivery: Delivery) -> None:
        try:
            status = int(self.deliver(delivery.url, dict(delivery.headers), delivery.body))
        except Exception:  # the receiver's failure is its own; retry like Edges would
            status = 0
        with self.lock:
            ok = 200 <= status < 300
            self.ledger.totals[f"{delivery.kind}_deliveries"] += 1
            self.ledger.add(
                delivery.kind,
                self.now_iso(),
                ref=delivery.ref,
                url=delivery.url,
                attempt=delivery.attempt,
                http_status=status,
                payload=json.loads(delivery.body),
            )
            if not ok:
                self.ledger.totals[f"{delivery.kind}_failures"] += 1
                if delivery.attempt < MAX_ATTEMPTS:
                    retry = replace(delivery, attempt=delivery.attempt + 1)
                    self.queue_delivery(retry, self.now() + RETRY_BACKOFF[delivery.attempt - 1])

    def new_uid(self) -> str:
        """A deterministic UUID4."""
        return str(uuid.UUID(int=self.ids_rng.getrandbits(128), version=4))

    def error_ref(self) -> str:
        """A deterministic `ERR-…` reference."""
        return f"ERR-{next(self._error_refs):06d}"

    # -- identities and sessions -----------------------------------------------------------

    def create_identity(
        self,
        name: str,
        timezone: str,
        type_: str = "standard",
        *,
        level: str = "Classic",
        network: NetworkSpec | None = None,
    ) -> Identity:
        """A new identity (no integration yet) with its own LinkedIn profile."""
        with self.lock:
            ordinal = len(self.world.identities) + 1
            first, _, last = name.partition(" ")
            pid = 900_000_000 + ordinal
            profile = Person(
                index=-ordinal,
                handle=f"{'-'.join(name.lower().split()) or 'me'}-sbx{ordinal}",
                profile_id=pid,
                sales_navigator_id=f"ACwAAA{pid:X}",
                first_name=first or name,
                last_name=last,
                company="linkseq sandbox",
                headline="Business Developer",
                location="",
                timezone=timezone,
            )
            identity = Identity(
                uid=self.new_uid(),
                ordinal=ordinal,
                name=name,
                timezone=timezone,
                type=type_,
                created_at=self.now(),
                profile=profile,
                level=level,
                network=network or NetworkSpec(),
            )
            self.world.identities[identity.uid] = identity
            self.ledger.add("identity", self.now_iso(), identity_uid=identity.uid, name=name)
            return identity

    def webhook(self, event: str, identity: Identity) -> None:
        """Send an integration webhook (decision 16) if a URL is set; log it either way."""
        integ = identity.integration
        body: dict[str, Any] = {
            "event": event,
            "event_uid": f"evt_{self.new_uid().replace('-', '')[:20]}",
            "occurred_at": self.now_iso(),
            "identity_uid": identity.uid,
            "integration": integration_object(identity) if integ is not None else None,
        }
        if event in ("AUTH_EXPIRED", "AUTH_FAILED"):
            body["action_to_be_taken"] = "RETRY_LOGIN"
        self.ledger.add("event", self.now_iso(), event=event, identity_uid=identity.uid)
        self.ledger.totals[f"webhook_{event.lower()}"] += 1
        if self.webhook_url:
            data = json.dumps(body).encode()
            headers = {"Content-Type": "application/json"}
            self.queue_delivery(
                Delivery("webhook", self.webhook_url, headers, data, body["event_uid"])
            )

    def connect_integration(
        self,
        identity: Identity,
        *,
        level: str | None = None,
        auth_type: str = "COOKIES",
        account_name: str = "",
        valid: bool = True,
        first_sync_at: datetime | None = None,
    ) -> Integration:
        """Connect (or reconnect) LinkedIn: VALID + AUTH_SUCCESS, or INVALID + AUTH_FAILED."""
        with self.lock:
            integ = identity.integration
            if integ is None:
                integ = identity.integration = Integration(
                    uid=self.new_uid(), created_at=self.now()
                )
            integ.level = level or identity.level
            identity.level = integ.level
            integ.auth_type = auth_type
            integ.account_name = account_name or identity.name
            if not valid:
                integ.status = "INVALID"
                self.webhook("AUTH_FAILED", identity)
                return integ
            integ.status = "VALID"
            if integ.first_sync_at is None:
                integ.first_sync_at = first_sync_at or self.now()
            if not identity.network_built:
                self._build_network(identity)
            identity.next_expiry_seq += 1
            self._schedule_random_expiry(identity)
            self.webhook("AUTH_SUCCESS", identity)
            return integ

    def expire_session(self, identity: Identity) -> None:
        """The LinkedIn session dies: actions fail AUTH_EXPIRED, a webhook goes out."""
        with self.lock:
            if identity.integration is None or identity.integration.status != "VALID":
                return
            identity.integration.status = "INVALID"
            self.ledger.totals["sessions_expired"] += 1
            self.webhook("AUTH_EXPIRED", identity)

    def delete_integration(self, identity: Identity) -> None:
        """Remove the LinkedIn integration; a DELETED webhook goes out."""
        with self.lock:
            if identity.integration is None:
                return
            self.webhook("DELETED", identity)
            identity.integration = None

    def _schedule_random_expiry(self, identity: Identity) -> None:
        rate = self.faults.session_expiry_per_day
        if rate <= 0:
            return
        rng = random.Random(f"{self.seed}/expiry/{identity.ordinal}/{identity.next_expiry_seq}")
        delay = timedelta(days=rng.expovariate(rate))
        self.schedule(self.now() + delay, "expire", uid=identity.uid, seq=identity.next_expiry_seq)

    def _on_expire(self, payload: dict[str, Any]) -> None:
        identity = self.world.identities.get(payload["uid"])
        if identity is None:
            return
        seq = payload.get("seq")
        if seq is not None and seq != identity.next_expiry_seq:
            return  # a random expiry planned before a reconnect
        self.expire_session(identity)

    def _build_network(self, identity: Identity) -> None:
        spec = identity.network
        people = self.world.people
        rng = random.Random(f"{self.seed}/network/{identity.ordinal}")
        want = spec.connections + spec.pending_invitations + spec.inbound
        chosen = rng.sample(range(people.count), min(people.count, want * 2))
        alive = [i for i in chosen if not people[i].deleted][:want]
        now = self.now()
        conns = alive[: spec.connections]
        for index in conns:
            identity.connections[index] = now - timedelta(days=rng.uniform(30, 900))
        for index in alive[spec.connections : spec.connections + spec.pending_invitations]:
            inv = Invitation(
                next(self._invitation_ids),
                identity.uid,
                index,
                now - timedelta(days=rng.uniform(1, 20)),
                "",
                via_api=False,
            )
            identity.invitations[index] = inv
            self.world.invitations_by_id[inv.invitation_id] = inv
        for index in conns[: spec.threads]:
            thread = self.thread_for(identity, index, now - timedelta(days=rng.uniform(5, 60)))
            first_from_me = rng.random() < 0.5
            for k in range(rng.randint(1, 4)):
                mine = (k % 2 == 0) == first_from_me
                when = thread.created_at + timedelta(hours=k * rng.uniform(2, 30))
                self.add_message(
                    thread,
                    identity,
                    mine,
                    "Hello again" if mine else "Hi there",
                    min(when, now - timedelta(minutes=5)),
                )
            thread.unread_count = 0
        inbound = alive[spec.connections + spec.pending_invitations :][: spec.inbound]
        for index in inbound:
            identity.connections[index] = now - timedelta(days=rng.uniform(30, 900))
            self.schedule(
                now + timedelta(hours=rng.uniform(1, 72)),
                "reply",
                uid=identity.uid,
                person=index,
                text=rng.choice(INBOUND_TEXTS),
                inbound=True,
            )
        identity.network_built = True

    # -- LinkedIn state --------------------------------------------------------------------

    def thread_for(self, identity: Identity, person_index: int, created: datetime) -> Thread:
        """The identity's thread with a person, created when absent."""
        thread = identity.threads.get(person_index)
        if thread is None:
            rng = random.Random(f"{self.seed}/thread/{identity.ordinal}/{person_index}")
            raw = rng.randbytes(16)
            thread_id = "2-" + base64.b64encode(raw).decode()
            if not thread_id.endswith("=="):
                thread_id += "=="
            thread = Thread(thread_id, identity.uid, person_index, created)
            identity.threads[person_index] = thread
            self.world.threads_by_id[thread_id] = thread
        return thread

    def add_message(
        self,
        thread: Thread,
        identity: Identity,
        from_identity: bool,
        text: str,
        when: datetime,
        *,
        raced: bool = False,
    ) -> Message:
        """Append a message to a thread."""
        person = self.world.people[thread.person_index]
        sender = identity.profile.profile_id if from_identity else person.profile_id
        message = Message(
            f"msg-{next(self._message_ids)}",
            sender,
            text,
            when,
            len(thread.messages) + 1,
            from_identity,
            raced,
        )
        thread.messages.append(message)
        if not from_identity:
            thread.unread_count += 1
        return message

    def person_of(self, data: dict[str, Any]) -> Person:
        """The person an input names (URL or Sales Navigator id); PROFILE_NOT_ACCESSIBLE else."""
        url = data.get("linkedin_profile_url")
        person = None
        if isinstance(url, str):
            person = self.world.people.resolve_url(url)
        elif isinstance(data.get("sales_navigator_profile_id"), str):
            person = self.world.people.by_sales_navigator_id(data["sales_navigator_profile_id"])
        if person is None or person.deleted:
            raise EdgesError(
                "PROFILE_NOT_ACCESSIBLE",
                424,
                "The profile is not accessible (deleted, blocked or URL changed)",
                scope="integ",
            )
        return person

    def check_limits(self, identity: Identity, action: str) -> None:
        """Raise LIMIT_REACHED (or the rule's label) when a window is full."""
        integ = identity.integration
        first = integ.first_sync_at if integ else None
        for rule in ACTION_LIMITS.get(action, ()):
            usage = self.limits.usage(identity.uid, rule, identity.level, first, self.now())
            if usage.used >= usage.limit:
                params = {
                    "postponed_until": iso(usage.next_slot_at),
                    "appendix": rule.appendix,
                    "limit": rule.name,
                    "value": usage.limit,
                }
                status = 429 if rule.label == "LIMIT_REACHED" else 424
                raise EdgesError(
                    rule.label,
                    status,
                    f"Smart limit {rule.name} reached ({rule.appendix})",
                    scope="integ",
                    params=params,
                )

    def count_outreach(
        self, identity: Identity, person: Person, action: str, *, human: bool = False
    ) -> None:
        """Count the action against its limits and check hours and pacing (breaches).

        `human`: a person wrote it from linkseq's inbox; it counts against the limits, but hours
        and pacing are rules for automation, not for someone answering a reply.
        """
        now = self.now()
        self.limits.record(identity.uid, ACTION_LIMITS.get(action, ()), now)
        if human:
            return
        if not self.world.working_hours.contains(now, person.timezone):
            self.ledger.breach(
                "outside_hours",
                self.now_iso(),
                identity_uid=identity.uid,
                person=person.handle,
                action=action,
            )
        last = identity.last_outreach_at
        if last is not None and now - last < self.world.pacing_gap:
            self.ledger.breach(
                "pacing_gap",
                self.now_iso(),
                identity_uid=identity.uid,
                action=action,
                gap_seconds=(now - last).total_seconds(),
            )
        identity.last_outreach_at = now

    def waking(self, when: datetime, tz: str, rng: random.Random) -> datetime:
        """`when`, moved to the next 07:00–22:00 local window when it falls at night."""
        local = when.astimezone(zone(tz))
        if 7 <= local.hour < 22:
            return when
        day = local.date() if local.hour < 7 else local.date() + timedelta(days=1)
        morning = datetime(day.year, day.month, day.day, 7, tzinfo=zone(tz))
        return (morning + timedelta(minutes=rng.uniform(0, 180))).astimezone(when.tzinfo)

    def plan_acceptance(self, identity: Identity, person: Person, inv: Invitation) -> None:
        """Decide (from the person's own RNG) whether and when they accept."""
        rng = random.Random(f"{self.seed}/accept/{identity.ordinal}/{person.index}")
        if rng.random() >= person.accept_probability:
            return
        low, high = person.accept_delay_hours
        at = self.waking(self.now() + timedelta(hours=rng.uniform(low, high)), person.timezone, rng)
        self.schedule(at, "accept", uid=identity.uid, invitation=inv.invitation_id)

    def plan_reply(self, identity: Identity, person: Person, thread: Thread) -> None:
        """Decide whether and when the person answers the identity's latest message."""
        if person.never_answers:
            return
        k = sum(1 for m in thread.messages if m.from_identity)
        rng = random.Random(f"{self.seed}/reply/{identity.ordinal}/{person.index}/{k}")
        if person.out_of_office and not thread.ooo_sent:
            thread.ooo_sent = True
            self.schedule(
                self.now() + timedelta(minutes=rng.uniform(1, 10)),
                "reply",
                uid=identity.uid,
                person=person.index,
                text=OOO_TEXT,
                ooo=True,
            )
            return
        if rng.random() >= person.reply_probability:
            return
        low, high = person.reply_delay_hours
        at = self.waking(self.now() + timedelta(hours=rng.uniform(low, high)), person.timezone, rng)
        self.schedule(
            at, "reply", uid=identity.uid, person=person.index, text=rng.choice(REPLY_TEXTS)
        )

    def _on_accept(self, payload: dict[str, Any]) -> None:
        identity = self.world.identities.get(payload["uid"])
        inv = self.world.invitations_by_id.get(payload["invitation"])
        if identity is None or inv is None or inv.status != "PENDING":
            return
        inv.status = "ACCEPTED"
        identity.invitations.pop(inv.person_index, None)
        identity.connections[inv.person_index] = self.now()
        self.ledger.totals["invitations_accepted"] += 1
        self.ledger.add(
            "event",
            self.now_iso(),
            event="accepted",
            identity_uid=identity.uid,
            person=self.world.people[inv.person_index].handle,
        )
        if inv.note:
            # The note of an accepted invitation opens the conversation (no note, no thread).
            thread = self.thread_for(identity, inv.person_index, inv.sent_at)
            self.add_message(thread, identity, True, inv.note, inv.sent_at)
            self.plan_reply(identity, self.world.people[inv.person_index], thread)

    def _on_reply(self, payload: dict[str, Any]) -> None:
        identity = self.world.identities.get(payload["uid"])
        if identity is None:
            return
        index = int(payload["person"])
        thread = self.thread_for(identity, index, self.now())
        self.add_message(thread, identity, False, str(payload["text"]), self.now())
        kind = "inbound" if payload.get("inbound") else "replies"
        self.ledger.totals[kind] += 1
        self.ledger.add(
            "event",
            self.now_iso(),
            event="inbound" if payload.get("inbound") else "reply",
            identity_uid=identity.uid,
            person=self.world.people[index].handle,
            text=payload["text"],
        )

    def new_invitation(self, identity: Identity, person: Person, note: str) -> Invitation:
        """Record a connection request and plan the person's answer."""
        inv = Invitation(next(self._invitation_ids), identity.uid, person.index, self.now(), note)
        identity.invitations[person.index] = inv
        identity.invited_ever.add(person.index)
        self.world.invitations_by_id[inv.invitation_id] = inv
        self.plan_acceptance(identity, person, inv)
        return inv


def integration_object(identity: Identity) -> dict[str, Any]:
    """The integration object of API.md §4.2."""
    integ = identity.integration
    assert integ is not None
    return {
        "auth_type": integ.auth_type,
        "setup_source": "API",
        "auth_method": "BASIC" if integ.auth_type == "BASIC" else "COOKIES",
        "is_shared": False,
        "name": integ.account_name,
        "uid": integ.uid,
        "integration_permalink": "linkedin",
        "created_at": iso(integ.created_at),
        "level": integ.level,
        "identity_uid": identity.uid,
        "meta": {
            "linkedin_profile_id": str(identity.profile.profile_id),
            "first_sync_at": iso(integ.first_sync_at),
        },
        "status": integ.status,
    }
