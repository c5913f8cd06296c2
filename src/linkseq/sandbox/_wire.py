"""The Edges wire: a plain WSGI app over the core (routing, validation, pagination, faults)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import available_timezones

from ._actions import ACTIONS, ActionSpec, Rows, perform, validate_body_part
from ._clock import VirtualClock
from ._core import Core, integration_object, iso
from ._cron import parse_cron
from ._errors import AnswerLost, EdgesError
from ._limits import ACTION_LIMITS
from ._runs import Run, Runs
from ._world import Identity

__all__ = ["Response", "Wire", "canonical_timezone"]

Response = tuple[int, list[tuple[str, str]], bytes]
Admin = Callable[[str, str, dict[str, list[str]], bytes], Response]
_REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    422: "Unprocessable Entity",
    424: "Failed Dependency",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
LIVE_KEYS = frozenset({"input", "parameters", "identity_ids", "identity_mode"})
ASYNC_KEYS = frozenset(
    {"inputs", "parameters", "identity_ids", "identity_mode", "callback", "name"}
)
SCHEDULE_KEYS = ASYNC_KEYS | {"cron", "timezone"}
ASYNC_PARAMS = {"max_results": "int", "sync_mode": "str"}
MAX_INPUTS = 100  # decision 13
IDENTITIES_PAGE = 100


@lru_cache(maxsize=1)
def _aliases() -> frozenset[str]:
    text = resources.files("tzdata.zoneinfo").joinpath("tzdata.zi").read_text(encoding="utf-8")
    return frozenset(line.split()[2] for line in text.splitlines() if line.startswith("L "))


def canonical_timezone(name: str) -> bool:
    """Whether `name` is a canonical IANA zone (aliases such as `Europe/Kiev` are not)."""
    return name in available_timezones() and name not in _aliases()


def json_response(status: int, data: Any, headers: Iterable[tuple[str, str]] = ()) -> Response:
    """A JSON answer."""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return status, [("Content-Type", "application/json"), *headers], body


class Wire:
    """Routes `/v1/...` to the simulated Edges and `/_sandbox/...` to the admin handler."""

    def __init__(self, core: Core, runs: Runs, api_key: str, base_url: str, admin: Admin) -> None:
        self.core = core
        self.runs = runs
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.base_path = urlsplit(self.base_url).path.rstrip("/")
        self.root_url = self.base_url[: len(self.base_url) - len(self.base_path)]
        self.admin = admin
        self.login_tokens: dict[str, str] = {}
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = [
            ("POST", re.compile(r"/actions/([\w-]+)/run/live"), self._live),
            ("POST", re.compile(r"/actions/([\w-]+)/run/async"), self._async),
            ("POST", re.compile(r"/actions/([\w-]+)/run/schedule"), self._schedule),
            ("GET", re.compile(r"/identities"), self._list_identities),
            ("POST", re.compile(r"/identities"), self._create_identity),
            ("GET", re.compile(r"/identities/([\w-]+)"), self._get_identity),
            ("PUT", re.compile(r"/identities/([\w-]+)"), self._put_identity),
            ("DELETE", re.compile(r"/identities/([\w-]+)"), self._delete_identity),
            ("POST", re.compile(r"/identities/([\w-]+)/integrations/([\w-]+)"), self._connect),
            ("GET", re.compile(r"/identities/([\w-]+)/integrations/([\w-]+)"), self._integ),
            ("DELETE", re.compile(r"/identities/([\w-]+)/integrations/([\w-]+)"), self._del_integ),
            ("POST", re.compile(r"/identities/([\w-]+)/generate-login-links"), self._login_links),
            ("GET", re.compile(r"/identities/([\w-]+)/actions/([\w-]+)/limits"), self._limits),
            ("GET", re.compile(r"/runs"), self._list_runs),
            ("GET", re.compile(r"/runs/([\w-]+)"), self._get_run),
            ("GET", re.compile(r"/runs/([\w-]+)/status"), self._run_status),
            ("GET", re.compile(r"/runs/([\w-]+)/outputs"), self._run_outputs),
            ("GET", re.compile(r"/runs/([\w-]+)/inputs"), self._run_inputs),
            ("POST", re.compile(r"/runs/([\w-]+)/resume"), self._resume),
            ("GET", re.compile(r"/schedules"), self._list_schedules),
            ("DELETE", re.compile(r"/schedules/([\w-]+)"), self._delete_schedule),
        ]

    # -- entry points ------------------------------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        """The WSGI callable. Raises `AnswerLost` when the answer of an action is lost."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")
        }
        status, out_headers, data = self.handle(
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("PATH_INFO", "/"),
            environ.get("QUERY_STRING", ""),
            headers,
            body,
        )
        out_headers.append(("Content-Length", str(len(data))))
        start_response(f"{status} {_REASONS.get(status, 'Status')}", out_headers)
        return [data]

    def handle(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Response:
        """Answer one request; `headers` keys are lower-case.

        What falls due (a webhook of this very request, a callback) is delivered before and
        after, outside the lock.
        """
        self.core.process_due()
        try:
            return self._handle(method, path, query, headers, body)
        finally:
            self.core.process_due()

    def _handle(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Response:
        params = parse_qs(query, keep_blank_values=True)
        if path.startswith("/_sandbox/"):
            return self.admin(method, path, params, body)
        if not path.startswith(self.base_path + "/"):
            return self._error(EdgesError("NOT_FOUND", 404, f"No route {path}"))
        if headers.get("x-api-key") != self._api_key:
            return self._error(
                EdgesError("UNAUTHORIZED", 401, "Invalid or missing X-API-Key", scope="auth")
            )
        sub = path[len(self.base_path) :].rstrip("/")
        allowed = False
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(sub)
            if match is None:
                continue
            allowed = True
            if route_method != method:
                continue
            try:
                return handler(*match.groups(), params=params, body=body)
            except EdgesError as exc:
                return self._error(exc)
        if allowed:
            return self._error(EdgesError("METHOD_NOT_ALLOWED", 405, f"{method} not allowed"))
        return self._error(EdgesError("NOT_FOUND", 404, f"No route {path}"))

    def _error(self, exc: EdgesError) -> Response:
        with self.core.lock:
            ref = self.core.error_ref()
        return json_response(exc.status, exc.body(ref), exc.headers.items())

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _json(body: bytes) -> dict[str, Any]:
        if not body.strip():
            return {}
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise EdgesError("BAD_INPUT", 400, "body must be valid JSON") from exc
        if not isinstance(data, dict):
            raise EdgesError("BAD_INPUT", 400, "body must be object")
        return data

    @staticmethod
    def _no_extra(data: dict[str, Any], allowed: frozenset[str]) -> None:
        for key in data:
            if key not in allowed:
                raise EdgesError(
                    "BAD_INPUT",
                    400,
                    f"body must NOT have additional properties ({key})",
                    params={"field": key},
                )

    def _identity(self, uid: str) -> Identity:
        identity = self.core.world.identities.get(uid)
        if identity is None:
            raise EdgesError("NOT_FOUND", 404, f"No identity {uid}", params={"field": "uid"})
        return identity

    def _identity_for(self, data: dict[str, Any], spec: ActionSpec) -> Identity:
        mode = data.get("identity_mode") or "direct"
        if mode not in ("direct", "auto", "managed"):
            raise EdgesError(
                "BAD_INPUT",
                400,
                "identity_mode must be direct, auto or managed",
                params={"field": "identity_mode"},
            )
        ids = data.get("identity_ids")
        if ids is not None and (
            not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)
        ):
            raise EdgesError(
                "BAD_INPUT",
                400,
                "identity_ids must be an array of strings",
                params={"field": "identity_ids"},
            )
        if mode == "direct":
            if not ids:
                raise EdgesError(
                    "BAD_INPUT",
                    400,
                    "identity_ids is required in direct mode",
                    params={"field": "identity_ids"},
                )
            return self._identity(ids[0])
        if mode == "managed" and spec.slug != "linkedin-search-people":
            raise EdgesError(
                "BAD_INPUT",
                400,
                "managed mode does not work for this action",
                params={"field": "identity_mode"},
            )
        for identity in self.core.world.identities.values():
            if identity.usable and (not ids or identity.uid in ids):
                return identity
        raise EdgesError("NO_VALID_ACCOUNT_CONFIGURED", 403, "No usable identity", scope="auth")

    def _spec(self, slug: str) -> ActionSpec:
        spec = ACTIONS.get(slug)
        if spec is None:
            raise EdgesError("NOT_FOUND", 404, f"Unknown action {slug}")
        return spec

    # -- actions ---------------------------------------------------------------------------

    def _offset(self, params: dict[str, list[str]], size: int) -> int:
        if "cursor" in params:
            try:
                raw = base64.urlsafe_b64decode(params["cursor"][0].encode() + b"==")
                return int(json.loads(raw)["o"])
            except (ValueError, KeyError, TypeError, binascii.Error) as exc:
                raise EdgesError(
                    "BAD_INPUT", 400, "invalid cursor", params={"field": "cursor"}
                ) from exc
        if "page" in params:  # decision 10: tolerated
            try:
                return max(0, int(params["page"][0]) - 1) * size
            except ValueError as exc:
                raise EdgesError(
                    "BAD_INPUT", 400, "invalid page", params={"field": "page"}
                ) from exc
        return 0

    def _cursor_url(self, slug: str, offset: int) -> str:
        token = base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")
        return f"{self.base_url}/actions/{slug}/run/live?{urlencode({'cursor': token})}"

    def _live(self, slug: str, *, params: dict[str, list[str]], body: bytes) -> Response:
        core = self.core
        spec = self._spec(slug)
        data = self._json(body)
        self._no_extra(data, LIVE_KEYS)
        inp = validate_body_part(
            data.get("input"), spec.inputs, "BAD_INPUT", "input", spec.required
        )
        par = validate_body_part(
            data.get("parameters"), spec.parameters, "BAD_PARAMETERS", "parameters"
        )
        identity = self._identity_for(data, spec)
        offset = self._offset(params, spec.page_size or 1)
        with core.flight_lock:
            flying = core.in_flight[identity.uid] = core.in_flight.get(identity.uid, 0) + 1
        try:
            status, headers, out, effect = self._live_locked(
                spec, identity, inp, par, offset, flying
            )
        finally:
            with core.flight_lock:
                core.in_flight[identity.uid] -= 1
        faults = core.faults
        if status == 200 and faults.slow and core.fault_rng.random() < faults.slow:
            headers.append(("X-Sandbox-Latency", str(faults.slow_seconds)))
            if isinstance(core.clock, VirtualClock):
                core.clock.advance(faults.slow_seconds)
        if effect and faults.answer_lost and core.fault_rng.random() < faults.answer_lost:
            with core.lock:
                core.ledger.totals["answers_lost"] += 1
                core.ledger.add(
                    "fault",
                    core.now_iso(),
                    fault="answer_lost",
                    action=slug,
                    identity_uid=identity.uid,
                )
            raise AnswerLost(f"{slug}: LinkedIn acted, the answer was lost")
        return status, headers, out

    def _live_locked(
        self,
        spec: ActionSpec,
        identity: Identity,
        inp: dict[str, Any],
        par: dict[str, Any],
        offset: int,
        flying: int,
    ) -> tuple[int, list[tuple[str, str]], bytes, bool]:
        core = self.core
        faults = core.faults
        with core.lock:
            at = core.now_iso()
            core.ledger.totals["live_calls"] += 1
            entry = core.ledger.add(
                "call", at, action=spec.slug, identity_uid=identity.uid, input=inp, parameters=par
            )
            if flying > 1:
                core.ledger.breach(
                    "parallel_live_calls", at, identity_uid=identity.uid, action=spec.slug
                )
            try:
                if (
                    core.burst_left == 0
                    and faults.status_429
                    and (core.fault_rng.random() < faults.status_429)
                ):
                    core.burst_left = max(1, faults.burst_length)
                if core.burst_left > 0:
                    core.burst_left -= 1
                    raise EdgesError(
                        "STATUS_429",
                        429,
                        "Too many requests",
                        params={"retry_after": faults.retry_after_seconds},
                        headers={"Retry-After": str(faults.retry_after_seconds)},
                    )
                if faults.server_error and core.fault_rng.random() < faults.server_error:
                    code = 500 if core.fault_rng.random() < 0.5 else 503
                    raise EdgesError(f"STATUS_{code}", code, "Internal error", scope="server")
                if (
                    faults.auth_expired_mid_batch
                    and identity.usable
                    and core.fault_rng.random() < faults.auth_expired_mid_batch / 20
                ):
                    core.expire_session(identity)
                result = perform(core, spec, identity, inp, par)
            except EdgesError as exc:
                entry["status"] = exc.status
                entry["error_label"] = exc.label
                core.ledger.totals[f"errors:{exc.label}"] += 1
                if exc.label == "LIMIT_REACHED":
                    core.ledger.breach(
                        "over_limit_attempt", at, identity_uid=identity.uid, action=spec.slug
                    )
                status, headers, out = self._error(exc)
                return status, headers, out, False
            entry["status"] = 200
            headers = []
            if spec.page_size is not None:
                rows = result if isinstance(result, Rows) else list(result)
                size = spec.page_size
                page = list(rows[offset : offset + size])
                if offset + size < len(rows):
                    headers.append(
                        ("X-Pagination-Next", self._cursor_url(spec.slug, offset + size))
                    )
                if offset > 0:
                    headers.append(
                        (
                            "X-Pagination-Previous",
                            self._cursor_url(spec.slug, max(0, offset - size)),
                        )
                    )
                result = page
            entry["output"] = result if spec.outreach else None
        status, out_headers, out = json_response(200, result, headers)
        return status, out_headers, out, spec.outreach

    def _batch_body(
        self, slug: str, body: bytes, keys: frozenset[str]
    ) -> tuple[ActionSpec, dict[str, Any], Identity]:
        spec = self._spec(slug)
        data = self._json(body)
        self._no_extra(data, keys)
        inputs = data.get("inputs")
        if not isinstance(inputs, list) or not 1 <= len(inputs) <= MAX_INPUTS:
            raise EdgesError(
                "BAD_INPUT",
                400,
                f"inputs must be an array of 1 to {MAX_INPUTS}",
                params={"field": "inputs"},
            )
        for i, item in enumerate(inputs):
            validate_body_part(item, spec.inputs, "BAD_INPUT", f"inputs[{i}]", spec.required)
            if not isinstance(item, dict):
                raise EdgesError("BAD_INPUT", 400, "input must be object")
        validate_body_part(
            data.get("parameters"),
            {**spec.parameters, **ASYNC_PARAMS},
            "BAD_PARAMETERS",
            "parameters",
        )
        callback = data.get("callback")
        if callback is not None:
            ok = (
                isinstance(callback, dict)
                and set(callback) <= {"url", "headers", "on"}
                and isinstance(callback.get("url"), str)
                and str(callback["url"]).lower().startswith(("http://", "https://"))
                and isinstance(callback.get("headers", {}), dict)
                and all(isinstance(v, str) for v in (callback.get("headers") or {}).values())
                and callback.get("on", "all") in ("all", "final")
            )
            if not ok:
                raise EdgesError(
                    "BAD_INPUT",
                    400,
                    "callback must be {url, headers?, on?}",
                    params={"field": "callback"},
                )
        if data.get("name") is not None and not isinstance(data["name"], str):
            raise EdgesError("BAD_INPUT", 400, "name must be string", params={"field": "name"})
        identity = self._identity_for(data, spec)
        return spec, data, identity

    def _async(self, slug: str, *, params: dict[str, list[str]], body: bytes) -> Response:
        spec, data, identity = self._batch_body(slug, body, ASYNC_KEYS)
        with self.core.lock:
            run = self.runs.create(spec.slug, identity.uid, data)
            return json_response(201, self.runs.run_object(run))

    def _schedule(self, slug: str, *, params: dict[str, list[str]], body: bytes) -> Response:
        spec, data, identity = self._batch_body(slug, body, SCHEDULE_KEYS)
        if not isinstance(data.get("callback"), dict):
            raise EdgesError("BAD_INPUT", 400, "callback is required", params={"field": "callback"})
        cron = data.get("cron")
        if not isinstance(cron, str) or not 1 <= len(cron) <= 256:
            raise EdgesError("BAD_INPUT", 400, "cron is required", params={"field": "cron"})
        tz = data.get("timezone", "UTC")
        if not isinstance(tz, str) or not (tz == "UTC" or canonical_timezone(tz)):
            raise EdgesError(
                "BAD_INPUT",
                400,
                "timezone must be a canonical IANA name",
                params={"field": "timezone"},
            )
        try:
            parse_cron(cron)
        except ValueError as exc:
            raise EdgesError(
                "BAD_INPUT", 400, f"invalid cron: {exc}", params={"field": "cron"}
            ) from exc
        with self.core.lock:
            sched = self.runs.create_schedule(spec.slug, identity.uid, data)
            return json_response(201, self.runs.schedule_object(sched))

    # -- identities and integrations -------------------------------------------------------

    def identity_object(
        self, identity: Identity, *, accounts: bool | None = None
    ) -> dict[str, Any]:
        """An identity as Edges shows it."""
        obj: dict[str, Any] = {
            "uid": identity.uid,
            "created_at": iso(identity.created_at),
            "workspace_uid": "00000000-0000-4000-8000-000000000001",
            "name": identity.name,
            "type": identity.type,
            "is_engagement": identity.type == "engagement",
            "timezone": identity.timezone,
            "is_active": "true",
        }
        if accounts is None:
            obj["integrations"] = ["linkedin"] if identity.integration else []
        elif accounts:
            obj["integrations"] = [integration_object(identity)] if identity.integration else []
        return obj

    def _list_identities(self, *, params: dict[str, list[str]], body: bytes) -> Response:
        accounts = params.get("retrieve_accounts", ["false"])[0].lower() == "true"
        needle = params.get("query", [""])[0].lower()
        with self.core.lock:
            items = [i for i in self.core.world.identities.values() if needle in i.name.lower()]
            page = int(params.get("page", ["1"])[0] or 1)
            chunk = items[(page - 1) * IDENTITIES_PAGE : page * IDENTITIES_PAGE]
            headers = []
            if page * IDENTITIES_PAGE < len(items):
                query = {k: v[0] for k, v in params.items()} | {"page": str(page + 1)}
                headers.append(
                    ("X-Pagination-Next", f"{self.base_url}/identities?{urlencode(query)}")
                )
            rows = [self.identity_object(i, accounts=accounts) for i in chunk]
            if not accounts:
                for row in rows:
                    row.pop("integrations", None)
            return json_response(200, rows, headers)

    def _create_identity(self, *, params: dict[str, list[str]], body: bytes) -> Response:
        data = self._json(body)
        self._no_extra(data, frozenset({"name", "timezone", "type", "is_engagement"}))
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise EdgesError("BAD_INPUT", 400, "name is required", params={"field": "name"})
        tz = data.get("timezone", "Europe/Paris")
        if not isinstance(tz, str) or not canonical_timezone(tz):
            raise EdgesError(
                "BAD_INPUT",
                400,
                f"timezone must be a canonical IANA name: {tz}",
                params={"field": "timezone"},
            )
        type_ = data.get("type", "engagement" if data.get("is_engagement") else "standard")
        if type_ not in ("standard", "engagement"):
            raise EdgesError(
                "BAD_INPUT", 400, "type must be standard or engagement", params={"field": "type"}
            )
        with self.core.lock:
            identity = self.core.create_identity(name, tz, type_)
            obj = self.identity_object(identity, accounts=True)
            obj["identity_login_links"] = self._make_login_links(identity)
            return json_response(201, obj)

    def _get_identity(self, uid: str, *, params: dict[str, list[str]], body: bytes) -> Response:
        with self.core.lock:
            return json_response(200, self.identity_object(self._identity(uid)))

    def _put_identity(self, uid: str, *, params: dict[str, list[str]], body: bytes) -> Response:
        data = self._json(body)
        self._no_extra(data, frozenset({"name", "timezone"}))
        with self.core.lock:
            identity = self._identity(uid)
            if "name" in data:
                if not isinstance(data["name"], str):
                    raise EdgesError(
                        "BAD_INPUT", 400, "name must be string", params={"field": "name"}
                    )
                identity.name = data["name"]
            if "timezone" in data:
                if not isinstance(data["timezone"], str) or not canonical_timezone(
                    data["timezone"]
                ):
                    raise EdgesError(
                        "BAD_INPUT",
                        400,
                        "timezone must be a canonical IANA name",
                        params={"field": "timezone"},
                    )
                identity.timezone = data["timezone"]
            return json_response(200, self.identity_object(identity))

    def _delete_identity(self, uid: str, *, params: dict[str, list[str]], body: bytes) -> Response:
        with self.core.lock:
            identity = self._identity(uid)
            self.core.delete_integration(identity)
            del self.core.world.identities[uid]
            return json_response(200, {})

    def _integration_name(self, name: str) -> None:
        if name != "linkedin":
            raise EdgesError("NOT_FOUND", 404, f"Unknown integration {name}")

    def _connect(
        self, uid: str, name: str, *, params: dict[str, list[str]], body: bytes
    ) -> Response:
        self._integration_name(name)
        data = self._json(body)
        self._no_extra(data, frozenset({"auth_data", "account_name"}))
        auth = data.get("auth_data")
        if not isinstance(auth, dict) or len(auth) != 1 or not set(auth) <= {"cookies", "basic"}:
            raise EdgesError(
                "BAD_INPUT",
                400,
                "auth_data must hold cookies or basic",
                params={"field": "auth_data"},
            )
        valid = True
        level = None
        auth_type = "COOKIES"
        if "cookies" in auth:
            cookies = auth["cookies"]
            if not isinstance(cookies, dict) or not isinstance(cookies.get("li_at"), str):
                raise EdgesError(
                    "BAD_INPUT",
                    400,
                    "auth_data.cookies.li_at is required",
                    params={"field": "auth_data.cookies.li_at"},
                )
            valid = bool(cookies["li_at"]) and not cookies["li_at"].startswith("invalid")
            if cookies.get("li_a"):
                level = "Sales Navigator"
        else:
            basic = auth["basic"]
            auth_type = "BASIC"
            if (
                not isinstance(basic, dict)
                or not isinstance(basic.get("username"), str)
                or (not isinstance(basic.get("password"), str))
            ):
                raise EdgesError(
                    "BAD_INPUT",
                    400,
                    "auth_data.basic needs username, password",
                    params={"field": "auth_data.basic"},
                )
            valid = basic["password"] != "wrong"  # noqa: S105 - the sandbox's "bad password"
        with self.core.lock:
            identity = self._identity(uid)
            created = identity.integration is None
            self.core.connect_integration(
                identity,
                level=level,
                auth_type=auth_type,
                account_name=str(data.get("account_name") or ""),
                valid=valid,
            )
            return json_response(201 if created else 200, integration_object(identity))

    def _integ(self, uid: str, name: str, *, params: dict[str, list[str]], body: bytes) -> Response:
        self._integration_name(name)
        with self.core.lock:
            identity = self._identity(uid)
            if identity.integration is None:
                raise EdgesError("NOT_FOUND", 404, "No LinkedIn integration")
            return json_response(200, integration_object(identity))

    def _del_integ(
        self, uid: str, name: str, *, params: dict[str, list[str]], body: bytes
    ) -> Response:
        self._integration_name(name)
        with self.core.lock:
            self.core.delete_integration(self._identity(uid))
            return json_response(200, {})

    def _make_login_links(self, identity: Identity) -> dict[str, str]:
        token = self.core.new_uid().replace("-", "")
        self.login_tokens[token] = identity.uid
        return {"linkedin": f"{self.root_url}/_sandbox/login?token={token}"}

    def _login_links(self, uid: str, *, params: dict[str, list[str]], body: bytes) -> Response:
        with self.core.lock:
            return json_response(200, self._make_login_links(self._identity(uid)))

    def _limits(
        self, uid: str, slug: str, *, params: dict[str, list[str]], body: bytes
    ) -> Response:
        self._spec(slug)
        core = self.core
        with core.lock:
            identity = self._identity(uid)
            first = identity.integration.first_sync_at if identity.integration else None
            rows = []
            for rule in ACTION_LIMITS.get(slug, ()):
                usage = core.limits.usage(uid, rule, identity.level, first, core.now())
                rows.append(
                    {
                        "name": rule.name,
                        "window": rule.appendix,
                        "limit": usage.limit,
                        "used": usage.used,
                        "remaining": usage.remaining,
                        "ramp_up_day": usage.ramp_day if rule.ramps else None,
                        "next_slot_at": iso(usage.next_slot_at) if usage.remaining == 0 else None,
                    }
                )
            return json_response(200, {"identity_uid": uid, "action_name": slug, "limits": rows})

    # -- runs ------------------------------------------------------------------------------

    def _run(self, uid: str) -> Run:
        run = self.runs.runs.get(uid)
        if run is None:
            raise EdgesError("NOT_FOUND", 404, f"No run {uid}")
        return run

    def _list_runs(self, *, params: dict[str, list[str]], body: bytes) -> Response:
        def first(key: str) -> str | None:
            return params[key][0] if key in params else None

        try:
            limit = min(100, max(1, int(first("limit") or 10)))
            offset = max(0, int(first("offset") or 0))
        except ValueError as exc:
            raise EdgesError("BAD_INPUT", 400, "limit/offset must be integers") from exc
        with self.core.lock:
            runs = [
                r
                for r in self.runs.runs.values()
                if (first("status") in (None, r.status))
                and (first("action_name") in (None, r.action_name))
                and (first("execution_mode") in (None, r.mode))
                and (first("uid") in (None, r.uid))
            ]
            runs.sort(key=lambda r: (r.created_at, r.id), reverse=True)
            return json_response(
                200, [self.runs.run_object(r) for r in runs[offset : offset + limit]]
            )

    def _get_run(self, uid: str, *, params: dict[str, list[str]], body: bytes) -> Response:
        with self.core.lock:
            return json_response(200, self.runs.run_object(self._run(uid)))

    def _run_status(self, uid: str, *, params: dict[str, list[str]], body: bytes) -> Response:
        with self.core.lock:
            run = self._run(uid)
            return json_response(
                200,
                {
                    "id": run.id,
                    "uid": run.uid,
                    "run_uid": run.uid,
                    "status": run.status,
                    "postponed_until": iso(run.postponed_until),
                    "started_at": iso(run.started_at),
                    "finished_at": iso(run.finished_at),
                    "created_at": iso(run.created_at),
                    "updated_at": iso(run.updated_at),
                },
            )

    def _paged(
        self, uid: str, rows: list[dict[str, Any]], params: dict[str, list[str]], what: str
    ) -> Response:
        try:
            limit = min(500, max(1, int(params.get("limit", ["100"])[0])))
        except ValueError as exc:
            raise EdgesError("BAD_INPUT", 400, "limit must be an integer") from exc
        offset = (
            self._offset(params, limit)
            if "cursor" in params
            else int(params.get("offset", ["0"])[0] or 0)
        )
        headers = []
        if offset + limit < len(rows):
            token = (
                base64.urlsafe_b64encode(json.dumps({"o": offset + limit}).encode())
                .decode()
                .rstrip("=")
            )
            headers.append(
                (
                    "X-Pagination-Next",
                    f"{self.base_url}/runs/{uid}/{what}?"
                    f"{urlencode({'cursor': token, 'limit': limit})}",
                )
            )
        return json_response(200, rows[offset : offset + limit], headers)

    def _run_outputs(self, uid: str, *, params: dict[str, list[str]], body: bytes) -> Response:
        with self.core.lock:
            return self._paged(uid, list(self._run(uid).outputs), params, "outputs")

    def _run_inputs(self, uid: str, *, params: dict[str, list[str]], body: bytes) -> Response:
        with self.core.lock:
            rows = [
                {
                    "index": i.index,
                    "input": i.data,
                    "custom_data": i.custom_data,
                    "status": i.status,
                    "error": i.error,
                    "postponed_until": iso(i.postponed_until),
                }
                for i in self._run(uid).inputs
            ]
            return self._paged(uid, rows, params, "inputs")

    def _resume(self, uid: str, *, params: dict[str, list[str]], body: bytes) -> Response:
        with self.core.lock:
            run = self._run(uid)
            self.runs.resume(run)
            return json_response(200, self.runs.run_object(run))

    def _list_schedules(self, *, params: dict[str, list[str]], body: bytes) -> Response:
        with self.core.lock:
            return json_response(
                200,
                [
                    self.runs.schedule_object(s)
                    for s in self.runs.schedules.values()
                    if s.status != "DELETED"
                ],
            )

    def _delete_schedule(self, uid: str, *, params: dict[str, list[str]], body: bytes) -> Response:
        with self.core.lock:
            sched = self.runs.schedules.get(uid)
            if sched is None or sched.status == "DELETED":
                raise EdgesError("NOT_FOUND", 404, f"No schedule {uid}")
            sched.status = "DELETED"
            return json_response(200, {})
