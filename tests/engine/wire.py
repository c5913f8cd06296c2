"""A WSGI layer in front of the sandbox: answer some calls with an Edges error, or run a hook.

Deterministic stand-ins for Edges answers the sandbox only gives at random (STATUS_429) or not
at all (a server-side INVALID_INPUT), and a hook to act between two calls (expire a session,
inject a reply) at an exact point of a pass.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Call", "Refusal", "Wire"]


@dataclass(slots=True)
class Call:
    """A live call seen by the layer."""

    action: str
    url: str | None
    status: int


@dataclass(slots=True)
class Refusal:
    """Answer the next `times` calls of `action` (to `url`, if given) with this error."""

    action: str
    label: str
    status: int
    url: str | None = None
    times: int = 1
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class Wire:
    """Wraps the sandbox's WSGI app; `refusals` and `after` are set by the test."""

    def __init__(self) -> None:
        self.refusals: list[Refusal] = []
        self.after: Callable[[Call], None] | None = None
        self.seen: list[Call] = []

    def __call__(self, app: Any) -> Any:
        def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            path = str(environ.get("PATH_INFO", ""))
            if not path.startswith("/v1/actions/") or not path.endswith("/run/live"):
                return list(app(environ, start_response))
            action = path.split("/")[3]
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(size)
            environ["wsgi.input"] = io.BytesIO(body)
            data = json.loads(body or b"{}")
            url = (data.get("input") or {}).get("linkedin_profile_url")
            for refusal in self.refusals:
                if refusal.times > 0 and refusal.action == action and refusal.url in (None, url):
                    refusal.times -= 1
                    payload = {
                        "error_label": refusal.label,
                        "error_scope": "input",
                        "error_ref": "ERR-TEST",
                        "message": f"refused by the test ({refusal.label})",
                        "status_code": refusal.status,
                        "params": refusal.params,
                    }
                    start_response(
                        f"{refusal.status} Refused",
                        [("Content-Type", "application/json"), *refusal.headers.items()],
                    )
                    self.seen.append(Call(action, url, refusal.status))
                    return [json.dumps(payload).encode()]
            status: list[int] = []

            def capture(line: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
                status.append(int(line.split()[0]))
                return start_response(line, headers, exc) if exc else start_response(line, headers)

            out = list(app(environ, capture))
            call = Call(action, url, status[0] if status else 0)
            self.seen.append(call)
            if self.after is not None:
                self.after(call)
            return out

        return wrapped
