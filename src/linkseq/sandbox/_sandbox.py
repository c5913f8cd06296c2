"""`Sandbox`: the simulated Edges API + LinkedIn, in-process (WSGI) or served (ASGI)."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from linkseq.clock import Clock, ensure_utc

from ._asgi import AsgiAdapter
from ._clock import VirtualClock
from ._core import Core, Deliver, iso
from ._errors import EdgesError
from ._faults import FaultConfig
from ._report import BREACHES
from ._runs import Runs
from ._wire import Response, Wire, json_response
from ._world import Identity, IdentitySpec, NetworkSpec, World

__all__ = ["Sandbox"]


class Sandbox:
    """A deterministic Edges + LinkedIn: the peer of every test and the world of the demo."""

    def __init__(
        self,
        seed: int = 7,
        world: World | str | Path | None = None,
        people: int = 300,
        clock: Clock | None = None,
        api_key: str = "sandbox-key",
        base_url: str = "http://sandbox.local/v1",
        deliver: Deliver | None = None,
        faults: FaultConfig | None = None,
        *,
        pacing_gap: timedelta | None = None,
    ) -> None:
        if world is None:
            world = World(seed, people)
        elif not isinstance(world, World):
            world = World.from_file(world, seed=seed)
        if pacing_gap is not None:
            world.pacing_gap = pacing_gap
        self.world = world
        self.seed = world.seed
        self.clock: Clock = clock if clock is not None else VirtualClock(world.start)
        self.faults = (
            faults
            if faults is not None and faults != FaultConfig()
            else (world.faults or faults or FaultConfig())
        )
        self._core = Core(world, self.clock, self.faults, deliver)
        self._runs = Runs(self._core)
        self._wire = Wire(self._core, self._runs, api_key, base_url, self._admin)
        self.asgi_app = AsgiAdapter(self._wire.wsgi)
        for spec in world.identity_specs:
            self._add_spec(spec)

    # -- in-process API --------------------------------------------------------------------

    @property
    def wsgi_app(self) -> Any:
        """The WSGI callable serving `/v1/...` and `/_sandbox/...`."""
        return self._wire.wsgi

    @property
    def log(self) -> list[dict[str, Any]]:
        """The append-only ground truth (calls, actions, events, deliveries, breaches)."""
        return self._core.ledger.entries

    @property
    def base_url(self) -> str:
        """The `/v1` base URL the sandbox answers under."""
        return self._wire.base_url

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        query: str = "",
    ) -> tuple[int, dict[str, str], Any]:
        """A thin in-process request: `(status, headers, decoded JSON)`; sends the API key."""
        raw = json.dumps(body).encode() if body is not None else b""
        hdrs = {"x-api-key": self._wire._api_key}
        hdrs.update({k.lower(): v for k, v in (headers or {}).items()})
        status, out_headers, data = self._wire.handle(method, path, query, hdrs, raw)
        hdrs_out = dict(out_headers)
        is_json = hdrs_out.get("Content-Type", "").startswith("application/json")
        decoded = json.loads(data) if data and is_json else data.decode()
        return status, hdrs_out, decoded

    def advance(self, to: datetime | None = None, by: timedelta | float | None = None) -> datetime:
        """Move virtual time forward, processing everything due on the way, in time order."""
        if (to is None) == (by is None):
            raise ValueError("give exactly one of to= or by=")
        if by is not None:
            step = by if isinstance(by, timedelta) else timedelta(seconds=by)
            target = self._core.clock.now() + step
        else:
            assert to is not None
            target = ensure_utc(to)
        if target < self.clock.now():
            raise ValueError("a clock never goes backwards")
        self._core.run_until(target)
        return self.clock.now()

    def set_webhook(self, url: str | None) -> None:
        """The workspace's integration-webhook URL (Edges: developer settings)."""
        self._core.webhook_url = url

    def report(self) -> dict[str, Any]:
        """`{"breaches": {name: count}, "totals": {...}}`."""
        with self._core.lock:
            out = self._core.ledger.report()
            out["now"] = iso(self.clock.now())
            return out

    def add_identity(
        self,
        name: str = "Sam Sender",
        timezone: str = "Europe/Paris",
        engagement: bool = True,
        level: str = "Classic",
        connected: bool = True,
        first_sync_at: datetime | None = None,
        network: NetworkSpec | None = None,
    ) -> str:
        """An identity with a LinkedIn account (connected by default); returns its uid."""
        core = self._core
        with core.lock:
            identity = core.create_identity(
                name,
                timezone,
                "engagement" if engagement else "standard",
                level=level,
                network=network,
            )
            if connected:
                core.connect_integration(identity, level=level, first_sync_at=first_sync_at)
        core.process_due()
        return identity.uid

    def _add_spec(self, spec: IdentitySpec) -> str:
        first = None
        if spec.first_sync_days_ago is not None:
            first = self.clock.now() - timedelta(days=spec.first_sync_days_ago)
        return self.add_identity(
            spec.name,
            spec.timezone,
            spec.engagement,
            spec.level,
            spec.connected,
            first,
            spec.network,
        )

    def identity(self, uid: str) -> Identity:
        """The identity with this uid."""
        return self.world.identities[uid]

    def connect(self, identity_uid: str) -> None:
        """Reconnect the identity's LinkedIn integration (restores an expired session)."""
        core = self._core
        with core.lock:
            core.connect_integration(self.identity(identity_uid))
        core.process_due()

    def expire_session(self, identity_uid: str, at: datetime | None = None) -> None:
        """The identity's LinkedIn session expires now (or at `at`): AUTH_EXPIRED + webhook."""
        core = self._core
        identity = self.identity(identity_uid)
        if at is None or ensure_utc(at) <= self.clock.now():
            with core.lock:
                core.expire_session(identity)
            core.process_due()
        else:
            core.schedule(ensure_utc(at), "expire", uid=identity.uid)

    def inject_reply(
        self, identity_uid: str, profile_url: str, text: str, at: datetime | None = None
    ) -> None:
        """The person writes to the identity now (or at `at`)."""
        core = self._core
        identity = self.identity(identity_uid)
        person = self.world.people.resolve_url(profile_url)
        if person is None:
            raise ValueError(f"nobody at {profile_url}")
        when = self.clock.now() if at is None else max(ensure_utc(at), self.clock.now())
        core.schedule(when, "reply", uid=identity.uid, person=person.index, text=text)
        core.process_due()

    def people_csv(self, count: int | None = None, *, variants: bool = True) -> str:
        """A CSV of the world's people as prospective leads, with URL variants."""
        people = self.world.people
        n = len(people) if count is None else min(count, len(people))
        rng = random.Random(f"{self.seed}/csv")
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            [
                "linkedin_profile_url",
                "full_name",
                "first_name",
                "last_name",
                "company_name",
                "location",
                "timezone",
            ]
        )
        for index in range(n):
            person = people[index]
            url = people.url_variant(person, rng) if variants else person.profile_url
            tz = person.timezone if rng.random() < 0.7 else ""
            writer.writerow(
                [
                    url,
                    person.full_name,
                    person.first_name,
                    person.last_name,
                    person.company,
                    person.location,
                    tz,
                ]
            )
        return out.getvalue()

    def pending_events(self) -> int:
        """How many events (acceptances, replies, deliveries...) are waiting."""
        return self._core.pending_events()

    # -- admin wire ------------------------------------------------------------------------

    def _admin(self, method: str, path: str, params: dict[str, list[str]], body: bytes) -> Response:
        try:
            return self._admin_route(method, path, params, body)
        except EdgesError as exc:
            return json_response(exc.status, exc.body("ERR-ADMIN"))
        except (ValueError, KeyError, TypeError) as exc:
            err = EdgesError("BAD_INPUT", 400, f"bad admin request: {exc}")
            return json_response(400, err.body("ERR-ADMIN"))

    def _clock_state(self) -> dict[str, Any]:
        return {
            "now": iso(self.clock.now()),
            "next_event_at": iso(self._core.next_event_at()),
            "pending_events": self._core.pending_events(),
        }

    def _admin_route(
        self, method: str, path: str, params: dict[str, list[str]], body: bytes
    ) -> Response:
        data: dict[str, Any] = json.loads(body) if body.strip() else {}
        route = (method, path.rstrip("/"))
        if route == ("GET", "/_sandbox/clock"):
            return json_response(200, self._clock_state())
        if route == ("POST", "/_sandbox/clock"):
            if "advance_seconds" in data:
                self.advance(by=float(data["advance_seconds"]))
            elif "to" in data:
                self.advance(to=datetime.fromisoformat(str(data["to"]).replace("Z", "+00:00")))
            else:
                raise ValueError("give advance_seconds or to")
            return json_response(200, self._clock_state())
        if route == ("GET", "/_sandbox/report"):
            return json_response(200, self.report())
        if route == ("GET", "/_sandbox/log"):
            since = int(params.get("since", ["0"])[0])
            limit = int(params.get("limit", ["1000"])[0])
            with self._core.lock:
                return json_response(200, self.log[since : since + limit])
        if route == ("GET", "/_sandbox/webhook"):
            return json_response(200, {"url": self._core.webhook_url})
        if route == ("POST", "/_sandbox/webhook"):
            url = data.get("url")
            if url is not None and not isinstance(url, str):
                raise ValueError("url must be a string or null")
            self.set_webhook(url)
            return json_response(200, {"url": url})
        if route == ("POST", "/_sandbox/identities"):
            first = data.get("first_sync_at")
            uid = self.add_identity(
                name=str(data.get("name", "Sam Sender")),
                timezone=str(data.get("timezone", "Europe/Paris")),
                engagement=bool(data.get("engagement", True)),
                level=str(data.get("level", "Classic")),
                connected=bool(data.get("connected", True)),
                first_sync_at=(
                    datetime.fromisoformat(first.replace("Z", "+00:00")) if first else None
                ),
            )
            with self._core.lock:
                obj = self._wire.identity_object(self.identity(uid), accounts=True)
            return json_response(201, obj)
        if route == ("POST", "/_sandbox/expire-session"):
            at = data.get("at")
            self.expire_session(
                str(data["identity_uid"]),
                datetime.fromisoformat(at.replace("Z", "+00:00")) if at else None,
            )
            return json_response(200, {})
        if route == ("POST", "/_sandbox/inject-reply"):
            self.inject_reply(
                str(data["identity_uid"]), str(data["profile_url"]), str(data["text"])
            )
            return json_response(200, {})
        if route == ("GET", "/_sandbox/people.csv"):
            count = int(params["count"][0]) if "count" in params else None
            text = self.people_csv(count).encode()
            return 200, [("Content-Type", "text/csv; charset=utf-8")], text
        if route == ("GET", "/_sandbox/login"):
            token = params.get("token", [""])[0]
            uid = self._wire.login_tokens.pop(token, "")
            if uid not in self.world.identities:
                raise EdgesError("NOT_FOUND", 404, "unknown or used login token")
            self.connect(uid)
            return 200, [("Content-Type", "text/plain")], b"LinkedIn connected.\n"
        if route == ("GET", "/_sandbox/world"):
            with self._core.lock:
                return json_response(200, self._world_summary())
        raise EdgesError("NOT_FOUND", 404, f"No admin route {method} {path}")

    def _world_summary(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "people": len(self.world.people),
            "breach_names": list(BREACHES),
            "identities": [
                {
                    "uid": i.uid,
                    "name": i.name,
                    "level": i.level,
                    "status": i.integration.status if i.integration else None,
                    "linkedin_profile_id": i.profile.profile_id,
                    "connections": len(i.connections),
                    "pending_invitations": len(i.invitations),
                    "threads": len(i.threads),
                }
                for i in self.world.identities.values()
            ],
        }
