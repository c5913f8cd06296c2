"""`client.runs` and `client.identities`: the bookkeeping endpoints around actions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import SecretStr

from linkseq.edges._errors import InvalidInput
from linkseq.edges._models import (
    ActionLimits,
    Identity,
    Integration,
    LoginLinks,
    Run,
    RunRow,
    RunStatus,
)
from linkseq.edges._validate import check_timezone, check_uid

if TYPE_CHECKING:
    from linkseq.edges._client import EdgesClient
    from linkseq.edges._ratelimit import RateLimiter

__all__ = ["Identities", "Runs", "Schedules"]


class Runs:
    """Async and scheduled runs: get, status, outputs, inputs, resume."""

    def __init__(self, client: EdgesClient) -> None:
        self._client = client

    def get(self, uid: str) -> Run:
        """`GET /v1/runs/{uid}`."""
        return Run.parse(self._client._request("GET", self._path(uid)).body)

    def status(self, uid: str) -> RunStatus:
        """`GET /v1/runs/{uid}/status`."""
        return RunStatus.parse(self._client._request("GET", self._path(uid, "/status")).body)

    def outputs(self, uid: str, *, limit: int = 100) -> Iterator[RunRow]:
        """Every output row (each with `custom_data` and `input`), following pagination."""
        url = self._path(uid, "/outputs")
        return self._rows(url, limit, self._client._outputs_limiter)

    def inputs(self, uid: str, *, limit: int = 100) -> Iterator[RunRow]:
        """Every input of the run with its status and error, following pagination."""
        return self._rows(self._path(uid, "/inputs"), limit, None)

    def resume(self, uid: str) -> Run:
        """`POST /v1/runs/{uid}/resume`: a BLOCKED run goes back to SCHEDULED."""
        body = self._client._request("POST", self._path(uid, "/resume")).body
        return Run.parse(body if isinstance(body, dict) else {"uid": uid})

    def _path(self, uid: str, suffix: str = "") -> str:
        return self._client._url(f"/runs/{quote(check_uid(uid, field='run_uid'))}{suffix}")

    def _rows(self, url: str, limit: int, limiter: RateLimiter | None) -> Iterator[RunRow]:
        if not 1 <= limit <= 500:
            raise InvalidInput("limit must be 1 to 500", field="limit")
        return _get_pages(self._client, url, {"limit": limit}, RunRow, limiter)


class Schedules:
    """Recurring runs (decision 21, an assumption: `GET /v1/schedules`, `DELETE .../{uid}`)."""

    def __init__(self, client: EdgesClient) -> None:
        self._client = client

    def list(self) -> Iterator[Run]:
        """Every schedule of the workspace, as run objects."""
        return _get_pages(self._client, self._client._url("/schedules"), {}, Run, None)

    def delete(self, uid: str) -> None:
        """Stop and delete a schedule; a `NotFound` here may mean Edges has no such endpoint."""
        path = self._client._url(f"/schedules/{quote(check_uid(uid, field='schedule_uid'))}")
        self._client._request("DELETE", path)


class Identities:
    """Identities and their LinkedIn integration: `client.identities.create(...)` and friends."""

    def __init__(self, client: EdgesClient) -> None:
        self._client = client

    def create(self, name: str, *, timezone: str, engagement: bool = True) -> Identity:
        """`POST /v1/identities` with `type` engagement or standard (decision 1)."""
        if not name.strip():
            raise InvalidInput("identity name is empty", field="name")
        body = {
            "name": name,
            "timezone": check_timezone(timezone),
            "type": "engagement" if engagement else "standard",
        }
        # Creating twice would make two identities: a lost answer is an UncertainSend.
        raw = self._client._request("POST", self._client._url("/identities"), json=body, send=True)
        return Identity.parse(raw.body)

    def get(self, uid: str) -> Identity:
        """`GET /v1/identities/{uid}`."""
        return Identity.parse(self._client._request("GET", self._path(uid)).body)

    def list(self) -> Iterator[Identity]:
        """Every identity with its integrations (`retrieve_accounts=true`), across pages."""
        url = self._client._url("/identities")
        return _get_pages(self._client, url, {"retrieve_accounts": "true"}, Identity, None)

    def update(self, uid: str, *, name: str | None = None, timezone: str | None = None) -> Identity:
        """`PUT /v1/identities/{uid}` with the fields given (type cannot change)."""
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if timezone is not None:
            body["timezone"] = check_timezone(timezone)
        if not body:
            raise InvalidInput("update needs a name or a timezone")
        return Identity.parse(self._client._request("PUT", self._path(uid), json=body).body)

    def delete(self, uid: str) -> None:
        """`DELETE /v1/identities/{uid}`."""
        self._client._request("DELETE", self._path(uid))

    def connect_linkedin_cookies(
        self,
        uid: str,
        li_at: SecretStr | str,
        li_a: SecretStr | str | None = None,
        account_name: str | None = None,
    ) -> Integration:
        """Connect (or refresh) LinkedIn with the `li_at` cookie (and `li_a` for Sales Nav)."""
        cookies = {"li_at": _secret(li_at)}
        if li_a is not None:
            cookies["li_a"] = _secret(li_a)
        if not cookies["li_at"]:
            raise InvalidInput("li_at cookie is empty", field="li_at")
        body: dict[str, Any] = {"auth_data": {"cookies": cookies}}
        if account_name:
            body["account_name"] = account_name
        return self._integration("POST", uid, body)

    def connect_linkedin_password(
        self, uid: str, username: str, password: SecretStr | str
    ) -> Integration:
        """Connect LinkedIn with a login; a challenge comes back as `.checkpoint`."""
        body = {"auth_data": {"basic": {"username": username, "password": _secret(password)}}}
        return self._integration("POST", uid, body)

    def linkedin_status(self, uid: str) -> Integration:
        """The LinkedIn integration's current status (`VALID`, `INVALID`, …)."""
        return self._integration("GET", uid, None)

    def disconnect_linkedin(self, uid: str) -> None:
        """Delete the LinkedIn integration and its stored cookie."""
        self._client._request("DELETE", self._path(uid, "/integrations/linkedin"))

    def login_links(self, uid: str) -> LoginLinks:
        """`POST .../generate-login-links`: a hosted login page URL, valid 48 h."""
        raw = self._client._request("POST", self._path(uid, "/generate-login-links"))
        return LoginLinks.parse(raw.body if isinstance(raw.body, dict) else {})

    def limits(self, uid: str, action_slug: str) -> ActionLimits:
        """The smart limits an action consumes for this identity, as Edges counts them."""
        path = self._path(uid, f"/actions/{quote(check_uid(action_slug, field='action_slug'))}")
        return ActionLimits.parse(self._client._request("GET", path + "/limits").body)

    def _integration(self, method: str, uid: str, body: dict[str, Any] | None) -> Integration:
        raw = self._client._request(method, self._path(uid, "/integrations/linkedin"), json=body)
        return Integration.parse(raw.body if isinstance(raw.body, dict) else {})

    def _path(self, uid: str, suffix: str = "") -> str:
        return self._client._url(f"/identities/{quote(check_uid(uid))}{suffix}")


def _secret(value: SecretStr | str) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _get_pages(
    client: EdgesClient,
    url: str,
    params: dict[str, Any],
    model: type[Any],
    limiter: RateLimiter | None,
) -> Iterator[Any]:
    from linkseq.edges._client import rows_of

    def pages() -> Iterator[Any]:
        next_url: str | None = url
        query: dict[str, Any] | None = params
        visited: set[str] = set()
        while next_url and next_url not in visited:
            visited.add(next_url)
            raw = client._request("GET", next_url, params=query, limiter=limiter)
            rows = rows_of(raw.body)
            for row in rows:
                yield model.parse(row)
            # The next URL carries its own query (cursor): do not add ours again.
            next_url, query = raw.next_url, None
            if not rows:
                return

    return pages()
