"""`EdgesClient`: every action linkseq uses, typed, with retries, pacing and pagination.

One request goes: validate input → wait for the plan's rate limiter → send → on failure ask
`decide()` whether to try again. A send (connect, message, InMail, withdraw, run creation) whose
answer was lost is never retried: it raises `UncertainSend` for the engine to reconcile.
"""

from __future__ import annotations

import random as random_module
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

import structlog
from pydantic import SecretStr

from linkseq.clock import Clock, SystemClock
from linkseq.edges._errors import (
    AlreadyConnected,
    EdgesError,
    InvalidInput,
    ResponseLost,
    ServerError,
    UncertainSend,
)
from linkseq.edges._http import Client, HttpSession, RawResponse
from linkseq.edges._models import (
    Callback,
    Connection,
    ConnectResult,
    Conversation,
    EdgesModel,
    InmailResult,
    Me,
    MessageResult,
    Run,
    SearchPerson,
    SentInvitation,
    ThreadMessage,
    ThreadUrl,
    VisitResult,
    WithdrawResult,
)
from linkseq.edges._ratelimit import RateLimiter, _real_sleep
from linkseq.edges._resources import Identities, Runs, Schedules
from linkseq.edges._retry import RetryDecision, RetryPolicy, decide
from linkseq.edges._validate import (
    check_invitation_urn,
    check_message,
    check_note,
    check_profile_url,
    check_search_url,
    check_timezone,
    check_uid,
)
from linkseq.errors import ConfigError
from linkseq.settings import Settings

__all__ = ["ASYNC_BATCH", "DEFAULT_BASE_URL", "SEND_ACTIONS", "EdgesClient"]

DEFAULT_BASE_URL = "https://api.edges.run/v1"
#: Inputs per async/schedule request (decision 13).
ASYNC_BATCH = 100
#: Actions whose repetition LinkedIn would see: a lost answer is never retried blindly.
SEND_ACTIONS = frozenset(
    {
        "linkedin-connect-profile",
        "linkedin-message-profile",
        "linkedin-inmail-profile",
        "linkedin-withdraw-invitation",
    }
)
# Sent right after the conversations sync that checked for a reply (guide §15): a retry that
# waited long would send it after a reply that sync could not see. They are retried only while
# the waits add up to a few seconds of backoff; a longer wait (a `Retry-After`) hands the error
# back, and the engine sends them on a later pass, after a new sync.
SENT_AFTER_SYNC = frozenset({"linkedin-message-profile", "linkedin-inmail-profile"})
SYNC_SLACK = 10.0  # seconds: backoffs of ~2 s and ~4 s, not the third (~8 s)

M = TypeVar("M", bound=EdgesModel)
_log = structlog.get_logger("linkseq.edges")


class EdgesClient:
    """A typed, thread-safe client for the Edges API (live, async and schedule modes)."""

    def __init__(
        self,
        api_key: str | SecretStr,
        *,
        base_url: str = DEFAULT_BASE_URL,
        http: Client | None = None,
        app: Any = None,
        rate_limit: RateLimiter | str | None = "trial",
        clock: Clock | None = None,
        sleep: Callable[[float], None] | None = None,
        timeout: float = 30.0,
        max_attempts: int = 4,
        random: random_module.Random | None = None,
    ) -> None:
        self._api_key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        if not self._api_key.get_secret_value():
            raise ValueError("an Edges API key is required")
        self.base_url = base_url.rstrip("/")
        self._session = HttpSession(http=http, app=app, timeout=timeout)
        self._clock: Clock = clock or SystemClock()
        self._sleep = sleep or _real_sleep
        self._rng = random or random_module.Random()
        self.policy = RetryPolicy(max_attempts=max_attempts)
        self._live_limiter: RateLimiter | None
        self._outputs_limiter: RateLimiter | None = None
        if isinstance(rate_limit, str):
            self._live_limiter = RateLimiter.for_plan(rate_limit, clock=clock, sleep=self._sleep)
            self._outputs_limiter = RateLimiter.for_plan(
                rate_limit, clock=clock, sleep=self._sleep, outputs=True
            )
        else:
            self._live_limiter = rate_limit
        self.runs = Runs(self)
        self.identities = Identities(self)
        self.schedules = Schedules(self)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> EdgesClient:
        """A client for `LINKSEQ_EDGES_API_KEY`, `..._BASE_URL` and `..._PLAN`."""
        if settings.edges_api_key is None:
            raise ConfigError("LINKSEQ_EDGES_API_KEY is not set")
        options: dict[str, Any] = {
            "base_url": settings.edges_base_url,
            "rate_limit": settings.edges_plan,
        }
        options.update(overrides)
        return cls(settings.edges_api_key, **options)

    def __repr__(self) -> str:
        return f"EdgesClient(base_url={self.base_url!r}, rate_limit={self._live_limiter!r})"

    def __enter__(self) -> EdgesClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the HTTP connection pool (an injected `http` client is left open)."""
        self._session.close()

    # --- live actions ----------------------------------------------------------------------

    def me(self, identity_uid: str) -> Me:
        """linkedin-me: the identity's own profile; `.linkedin_profile_id` detects replies."""
        return Me.parse(self._live_object("linkedin-me", identity_uid))

    def visit_profile(
        self,
        identity_uid: str,
        linkedin_profile_url: str,
        *,
        custom_data: Mapping[str, Any] | None = None,
    ) -> VisitResult:
        """linkedin-visit-profile."""
        data = self._live_object(
            "linkedin-visit-profile",
            identity_uid,
            input=_profile_input(linkedin_profile_url, custom_data),
        )
        return VisitResult.parse(data)

    def connect_profile(
        self,
        identity_uid: str,
        linkedin_profile_url: str,
        *,
        note: str = "",
        custom_data: Mapping[str, Any] | None = None,
    ) -> ConnectResult:
        """linkedin-connect-profile with an optional note (≤ 300 chars, sent as `message`)."""
        slug = "linkedin-connect-profile"
        data = self._live_object(
            slug,
            identity_uid,
            input=_profile_input(linkedin_profile_url, custom_data),
            parameters={"message": check_note(note)} if note else None,
        )
        result = ConnectResult.parse(data)
        if result.connected:
            # Decision 4 (tolerated reading): a 200 saying `connected: true` is ALREADY_CONNECTED.
            raise AlreadyConnected(
                label="ALREADY_CONNECTED", status_code=200, action=slug, body=data
            )
        return result

    def message_profile(
        self,
        identity_uid: str,
        linkedin_profile_url: str,
        message: str,
        *,
        custom_data: Mapping[str, Any] | None = None,
    ) -> MessageResult:
        """linkedin-message-profile (≤ 8,000 chars, sent as `parameters.message`)."""
        data = self._live_object(
            "linkedin-message-profile",
            identity_uid,
            input=_profile_input(linkedin_profile_url, custom_data),
            parameters={"message": check_message(message)},
        )
        return MessageResult.parse(data)

    def inmail_profile(
        self,
        identity_uid: str,
        linkedin_profile_url: str,
        *,
        subject: str,
        message: str,
        custom_data: Mapping[str, Any] | None = None,
    ) -> InmailResult:
        """linkedin-inmail-profile."""
        data = self._live_object(
            "linkedin-inmail-profile",
            identity_uid,
            input=_profile_input(linkedin_profile_url, custom_data),
            parameters={"subject": subject, "message": check_message(message)},
        )
        return InmailResult.parse(data)

    def withdraw_invitation(
        self,
        identity_uid: str,
        linkedin_invitation_urn: str,
        *,
        invitation_type: str = "CONNECTION",
        custom_data: Mapping[str, Any] | None = None,
    ) -> WithdrawResult:
        """linkedin-withdraw-invitation."""
        item: dict[str, Any] = {
            "linkedin_invitation_urn": check_invitation_urn(linkedin_invitation_urn),
            "linkedin_invitation_type": invitation_type,
        }
        if custom_data:
            item["custom_data"] = dict(custom_data)
        data = self._live_object("linkedin-withdraw-invitation", identity_uid, input=item)
        return WithdrawResult.parse(data)

    def get_thread_url(self, identity_uid: str, linkedin_profile_url: str) -> ThreadUrl:
        """linkedin-get-thread-url: the 1:1 thread with a profile, `linkedin_thread_url` or None."""
        data = self._live_object(
            "linkedin-get-thread-url",
            identity_uid,
            input=_profile_input(linkedin_profile_url, None),
        )
        return ThreadUrl.parse(data if data is not None else {})

    # --- list actions (paginated) ----------------------------------------------------------

    def extract_conversations(
        self, identity_uid: str, *, unread_only: bool = False, max_results: int | None = None
    ) -> Iterator[Conversation]:
        """linkedin-extract-conversations, newest first; `unread_only` sends `read: false`."""
        return self._iterate(
            "linkedin-extract-conversations",
            identity_uid,
            Conversation,
            key=lambda c: c.linkedin_thread_id or c.linkedin_thread_url,
            parameters={"read": not unread_only},
            max_results=max_results,
        )

    def extract_messages(
        self, identity_uid: str, linkedin_thread_url: str, *, max_results: int | None = None
    ) -> Iterator[ThreadMessage]:
        """linkedin-extract-messages of one thread (URL or bare thread id)."""
        if not linkedin_thread_url or not linkedin_thread_url.strip():
            raise InvalidInput("linkedin_thread_url is empty", field="linkedin_thread_url")
        return self._iterate(
            "linkedin-extract-messages",
            identity_uid,
            ThreadMessage,
            key=lambda m: m.message_id or (m.linkedin_thread_id, m.position),
            input={"linkedin_thread_url": linkedin_thread_url},
            max_results=max_results,
        )

    def extract_connections(
        self, identity_uid: str, *, incremental: bool = False, max_results: int | None = None
    ) -> Iterator[Connection]:
        """linkedin-extract-connections; `incremental` sends `sync_mode: "incremental"`."""
        return self._iterate(
            "linkedin-extract-connections",
            identity_uid,
            Connection,
            key=_profile_key,
            parameters={"sync_mode": "incremental"} if incremental else None,
            max_results=max_results,
        )

    def search_people(
        self, identity_uid: str, search_url: str, *, max_results: int | None = None
    ) -> Iterator[SearchPerson]:
        """linkedin-search-people from a LinkedIn people-search URL."""
        return self._iterate(
            "linkedin-search-people",
            identity_uid,
            SearchPerson,
            key=_profile_key,
            input={"linkedin_people_search_url": check_search_url(search_url)},
            max_results=max_results,
        )

    def extract_sent_invitations(
        self, identity_uid: str, *, max_results: int | None = None
    ) -> Iterator[SentInvitation]:
        """linkedin-extract-sent-invitations (pending invitations this identity sent)."""
        return self._iterate(
            "linkedin-extract-sent-invitations",
            identity_uid,
            SentInvitation,
            key=lambda i: i.linkedin_invitation_urn or i.linkedin_invitation_id,
            max_results=max_results,
        )

    # --- generic ---------------------------------------------------------------------------

    def run_live(
        self,
        action_slug: str,
        identity_uid: str,
        *,
        input: Mapping[str, Any] | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> Any:
        """Run any action live and return its raw JSON (first page only for list actions)."""
        raw = self._request(
            "POST",
            self._action_url(action_slug, "live"),
            json=_live_body(identity_uid, input, parameters),
            send=action_slug in SEND_ACTIONS,
            action=action_slug,
            limiter=self._live_limiter,
        )
        return raw.body

    run = run_live

    def iterate_live(
        self,
        action_slug: str,
        identity_uid: str,
        *,
        input: Mapping[str, Any] | None = None,
        parameters: Mapping[str, Any] | None = None,
        max_results: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every row of any list action, following `X-Pagination-Next`, deduplicated."""

        def key(row: EdgesModel) -> Any:
            extra = row.model_extra or {}
            return extra.get("linkedin_profile_id") or extra.get("sales_navigator_profile_id")

        rows = self._iterate(
            action_slug,
            identity_uid,
            EdgesModel,
            key=key,
            input=input,
            parameters=parameters,
            max_results=max_results,
        )
        return (row.model_dump() for row in rows)

    def run_async(
        self,
        action_slug: str,
        identity_uid: str,
        *,
        inputs: Sequence[Mapping[str, Any]],
        parameters: Mapping[str, Any] | None = None,
        callback: Callback,
        name: str | None = None,
    ) -> list[Run]:
        """Start async runs, `ASYNC_BATCH` inputs per request; one `Run` per request."""
        if not inputs:
            raise InvalidInput("run_async needs at least one input", field="inputs")
        chunks = [inputs[i : i + ASYNC_BATCH] for i in range(0, len(inputs), ASYNC_BATCH)]
        runs: list[Run] = []
        for index, chunk in enumerate(chunks, start=1):
            body = _live_body(identity_uid, None, parameters)
            body["inputs"] = [dict(item) for item in chunk]
            body["callback"] = callback.wire()
            if name:
                body["name"] = name if len(chunks) == 1 else f"{name} ({index}/{len(chunks)})"
            try:
                raw = self._request(
                    "POST",
                    self._action_url(action_slug, "async"),
                    json=body,
                    send=True,
                    action=action_slug,
                    limiter=self._live_limiter,
                )
            except EdgesError as exc:
                if runs:
                    exc.add_note(f"runs already created: {[r.uid for r in runs]}")
                raise
            runs.append(Run.parse(raw.body))
        return runs

    def run_schedule(
        self,
        action_slug: str,
        identity_uid: str,
        *,
        inputs: Sequence[Mapping[str, Any]],
        cron: str,
        timezone: str,
        callback: Callback,
        parameters: Mapping[str, Any] | None = None,
        name: str | None = None,
    ) -> Run:
        """Create a recurring run (`cron` in `timezone`, a canonical IANA name)."""
        if not 1 <= len(inputs) <= ASYNC_BATCH:
            raise InvalidInput(
                f"a schedule takes 1 to {ASYNC_BATCH} inputs, not {len(inputs)}", field="inputs"
            )
        if not cron.strip() or len(cron) > 256:
            raise InvalidInput("cron must be 1 to 256 characters", field="cron")
        body = _live_body(identity_uid, None, parameters)
        body["inputs"] = [dict(item) for item in inputs]
        body["cron"] = cron
        body["timezone"] = check_timezone(timezone)
        body["callback"] = callback.wire()
        if name:
            body["name"] = name
        raw = self._request(
            "POST",
            self._action_url(action_slug, "schedule"),
            json=body,
            send=True,
            action=action_slug,
            limiter=self._live_limiter,
        )
        return Run.parse(raw.body)

    # --- plumbing --------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _action_url(self, action_slug: str, mode: str) -> str:
        check_uid(action_slug, field="action_slug")
        return self._url(f"/actions/{quote(action_slug)}/run/{mode}")

    def _headers(self) -> dict[str, str]:
        return {
            "X-API-Key": self._api_key.get_secret_value(),
            "Accept": "application/json",
            "User-Agent": "linkseq-edges/0.1",
        }

    def _request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        send: bool = False,
        action: str | None = None,
        limiter: RateLimiter | None = None,
    ) -> RawResponse:
        """One logical request: paced, retried by `decide()`, errors raised as `EdgesError`."""
        attempt = 0
        waited = 0.0
        while True:
            attempt += 1
            if limiter is not None:
                limiter.acquire()
            try:
                raw = self._session.request(
                    method, url, headers=self._headers(), json=json, params=params
                )
                if not 200 <= raw.status_code < 300:
                    raise EdgesError.from_response(
                        raw.status_code, raw.body, raw.headers, now=self._clock.now(), action=action
                    )
                return raw
            except EdgesError as exc:
                failure: EdgesError = exc
                if exc.action is None:
                    exc.action = action
                if send and _maybe_delivered(exc):
                    failure = UncertainSend(exc, action=action)
                decision = decide(failure, attempt, rng=self._rng, policy=self.policy)
                if (
                    decision.retry
                    and action in SENT_AFTER_SYNC
                    and waited + decision.after > SYNC_SLACK
                ):
                    decision = RetryDecision(False, 0.0, "sent after a sync: no long wait after it")
                _log.info(
                    "edges.retry" if decision.retry else "edges.fail",
                    method=method,
                    path=url.removeprefix(self.base_url).split("?")[0],
                    label=failure.label,
                    status=failure.status_code,
                    attempt=attempt,
                    after=round(decision.after, 3),
                    reason=decision.reason,
                )
                if not decision.retry:
                    if failure is exc:
                        raise
                    raise failure from exc
                self._sleep(decision.after)
                waited += decision.after

    def _live_object(
        self,
        action_slug: str,
        identity_uid: str,
        *,
        input: Mapping[str, Any] | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> Any:
        body = self.run_live(action_slug, identity_uid, input=input, parameters=parameters)
        # Single-result actions answer an object; tolerate a one-row array.
        if isinstance(body, list):
            return body[0] if body else {}
        return body if body is not None else {}

    def _iterate(
        self,
        action_slug: str,
        identity_uid: str,
        model: type[M],
        *,
        key: Callable[[M], Any],
        input: Mapping[str, Any] | None = None,
        parameters: Mapping[str, Any] | None = None,
        max_results: int | None = None,
    ) -> Iterator[M]:
        # Validation happens here, eagerly; only the paging is lazy.
        body = _live_body(identity_uid, input, parameters)
        url = self._action_url(action_slug, "live")
        if max_results is not None and max_results < 0:
            raise InvalidInput("max_results must be >= 0", field="max_results")
        return self._pages(action_slug, url, body, model, key, max_results)

    def _pages(
        self,
        action_slug: str,
        url: str,
        body: dict[str, Any],
        model: type[M],
        key: Callable[[M], Any],
        max_results: int | None,
    ) -> Iterator[M]:
        seen: set[Any] = set()
        visited: set[str] = set()
        count = 0
        next_url: str | None = url
        while next_url and (max_results is None or count < max_results):
            visited.add(next_url)
            raw = self._request(
                "POST",
                next_url,
                json=body,
                send=False,
                action=action_slug,
                limiter=self._live_limiter,
            )
            rows = rows_of(raw.body)
            for row in rows:
                item = model.parse(row)
                k = key(item)
                if k is not None:
                    if k in seen:
                        continue  # overlap at a page edge
                    seen.add(k)
                yield item
                count += 1
                if max_results is not None and count >= max_results:
                    return
            next_url = raw.next_url
            if not rows or next_url in visited:
                return  # an empty page or a cycle ends the listing


def rows_of(body: Any) -> list[Any]:
    """The rows of a list answer: a JSON array, or tolerated `{"data": [...]}` envelopes."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in ("data", "results", "items"):
            if isinstance(body.get(key), list):
                return list(body[key])
    return []


def _live_body(
    identity_uid: str,
    input: Mapping[str, Any] | None,
    parameters: Mapping[str, Any] | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if input is not None:
        body["input"] = dict(input)
    if parameters:
        body["parameters"] = dict(parameters)
    body["identity_ids"] = [check_uid(identity_uid)]
    body["identity_mode"] = "direct"
    return body


def _profile_input(url: str, custom_data: Mapping[str, Any] | None) -> dict[str, Any]:
    item: dict[str, Any] = {"linkedin_profile_url": check_profile_url(url)}
    if custom_data:
        item["custom_data"] = dict(custom_data)
    return item


def _profile_key(row: Connection | SearchPerson) -> Any:
    return row.linkedin_profile_id or row.sales_navigator_profile_id or row.linkedin_profile_url


def _maybe_delivered(exc: EdgesError) -> bool:
    """A failure after which a send may still have happened (no answer, or a bare 5xx)."""
    if isinstance(exc, ResponseLost):
        return True
    return isinstance(exc, ServerError) and not exc.label
