"""The virtual clock of a sandbox served over HTTP, for workers running against it.

A worker process cannot share the sandbox's in-memory clock, so it reads and moves it over the
sandbox's admin API (`GET`/`POST /_sandbox/clock`). The clock only moves forward: moving to a time
another worker already passed is a no-op. Standard library only (no sandbox import, no httpx2).
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from datetime import datetime
from typing import Any

from linkseq.clock import ensure_utc

__all__ = ["RemoteClock", "sandbox_root"]


def sandbox_root(edges_base_url: str) -> str:
    """The sandbox's root URL from its Edges base URL (`http://host:port/v1` → `http://host:port`)."""
    url = edges_base_url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def _parse(value: str) -> datetime:
    return ensure_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))


class RemoteClock:
    """A `Clock` that is the sandbox's virtual clock; `sleep` and `advance_to` move it."""

    def __init__(self, root_url: str, *, timeout: float = 30.0) -> None:
        parts = urllib.parse.urlsplit(root_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {root_url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self.path = parts.path.rstrip("/") + "/_sandbox/clock"
        self.timeout = timeout
        self.requests = 0
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self.timeout)
        return self._conn

    def _request(self, body: dict[str, Any] | None) -> tuple[int, dict[str, Any]]:
        """One request on a kept-alive connection (reopened once if the server closed it)."""
        data = None if body is None else json.dumps(body).encode()
        method = "GET" if body is None else "POST"
        headers = {"Content-Type": "application/json"}
        self.requests += 1
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, self.path, body=data, headers=headers)
                response = conn.getresponse()
                payload = response.read()
            except (http.client.HTTPException, ConnectionError):
                conn.close()
                self._conn = None
                if attempt == 2:
                    raise
                continue
            return response.status, json.loads(payload) if payload else {}
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close the kept-alive connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def now(self) -> datetime:
        """The sandbox's current virtual time."""
        status, answer = self._request(None)
        if status != 200:
            raise RuntimeError(f"sandbox clock: HTTP {status}")
        return _parse(str(answer["now"]))

    def sleep(self, seconds: float) -> None:
        """Let `seconds` of virtual time pass (everything due on the way happens)."""
        if seconds > 0:
            status, _ = self._request({"advance_seconds": seconds})
            if status != 200:
                raise RuntimeError(f"sandbox clock: HTTP {status}")

    def advance_to(self, when: datetime) -> datetime:
        """Move the clock to `when` unless it is already later; the time after."""
        status, answer = self._request({"to": ensure_utc(when).isoformat()})
        if status == 400:  # another worker moved the clock past `when` already
            return self.now()
        if status != 200:
            raise RuntimeError(f"sandbox clock: HTTP {status}")
        return _parse(str(answer["now"]))

    def sleep_until(self, when: datetime) -> None:
        """Virtual sleep until `when`."""
        self.advance_to(when)
