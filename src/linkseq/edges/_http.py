"""The only module in linkseq that imports httpx2: one request in, one `RawResponse` out.

Transport failures are translated here into `ConnectionFailed` (the request never left, so it
is always safe to retry) or `ResponseLost` (it may have reached Edges). Tests import
`MockTransport`, `Request`, `Response` and friends from this module.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import httpx2
from httpx2 import (
    Client,
    ConnectError,
    ConnectTimeout,
    MockTransport,
    ReadTimeout,
    RemoteProtocolError,
    Request,
    Response,
    WriteTimeout,
    WSGITransport,
)

from linkseq.edges._errors import ConnectionFailed, ResponseLost

__all__ = [
    "Client",
    "ConnectError",
    "ConnectTimeout",
    "HttpSession",
    "MockTransport",
    "RawResponse",
    "ReadTimeout",
    "RemoteProtocolError",
    "Request",
    "Response",
    "WSGITransport",
    "WriteTimeout",
]

# Failures raised before a single byte of the request could have reached the server.
_NEVER_SENT: tuple[type[Exception], ...] = (
    httpx2.ConnectError,
    httpx2.ConnectTimeout,
    httpx2.PoolTimeout,
    httpx2.UnsupportedProtocol,
    httpx2.LocalProtocolError,
    httpx2.ProxyError,
)


@dataclass(frozen=True)
class RawResponse:
    """An HTTP answer reduced to what the client reads: status, headers, decoded body."""

    status_code: int
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None

    @property
    def next_url(self) -> str | None:
        """The `X-Pagination-Next` URL, resolved against this response's URL."""
        value = self.headers.get("x-pagination-next")
        return urljoin(self.url, value) if value else None


class HttpSession:
    """Owns (or borrows) an httpx2 client and turns its exceptions into Edges errors.

    An injected client keeps its own timeout and transport; any httpx-compatible client works
    (e.g. starlette's TestClient for an ASGI app in-process).
    """

    def __init__(
        self,
        *,
        http: Client | None = None,
        app: Any = None,
        timeout: float = 30.0,
    ) -> None:
        if http is not None and app is not None:
            raise ValueError("pass either http= or app=, not both")
        self._owned = http is None
        if http is not None:
            self._client = http
        elif app is not None:
            self._client = Client(transport=WSGITransport(app=app), timeout=timeout)
        else:
            self._client = Client(timeout=timeout)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> RawResponse:
        """Send one request; raise `ConnectionFailed` / `ResponseLost` when no answer came."""
        try:
            response = self._client.request(
                method,
                url,
                headers=dict(headers),
                json=json,
                params=dict(params) if params else None,
            )
        except _NEVER_SENT as exc:
            raise ConnectionFailed(message=f"{type(exc).__name__}: {exc}") from exc
        except httpx2.TransportError as exc:
            raise ResponseLost(message=f"{type(exc).__name__}: {exc}") from exc
        return RawResponse(
            status_code=response.status_code,
            url=str(response.url),
            headers={k.lower(): v for k, v in response.headers.items()},
            body=_decode(response),
        )

    def close(self) -> None:
        """Close the underlying client if this session created it."""
        if self._owned:
            self._client.close()


def _decode(response: Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except (jsonlib.JSONDecodeError, UnicodeDecodeError):
        return response.text
