"""Every error the Edges client raises, grouped by what the caller can do about it.

EdgesError                    any failure talking to Edges; `.label` shows unknown labels
│
├── the caller must act (never retried by the client)
│   ├── LimitReached          LIMIT_REACHED: a smart limit is spent; reschedule at
│   │                         `.postponed_until` (or 24 h later when Edges gave no time)
│   ├── NotConnected          NOT_CONNECTED: message a 1st-degree connection only; connect first
│   ├── AlreadyConnected      ALREADY_CONNECTED / SN_CONFLICT: skip connect, go to messaging
│   ├── InvitationPending     INVITATION_PENDING: wait for the accept, or withdraw
│   ├── ProfileNotAccessible  PROFILE_NOT_ACCESSIBLE: deleted, blocked or moved; drop the lead
│   ├── AuthExpired           AUTH_EXPIRED: the LinkedIn session is gone; pause the identity
│   ├── NoValidAccount        NO_VALID_ACCOUNT_CONFIGURED: identity has no LinkedIn integration
│   ├── BadInput              BAD_INPUT / INVALID_INPUT / BAD_PARAMETERS / MISSING_PARAMETER
│   │   └── InvalidInput      refused by the client before any request (also a ValueError)
│   ├── AuthenticationError   HTTP 401: the API key is wrong
│   └── NotFound              HTTP 404 / NOT_FOUND: unknown action, run or identity
│
├── transient (retried with backoff by the client, raised once attempts run out)
│   ├── RateLimited           STATUS_429: too many requests; honours `.retry_after`
│   ├── LinkedInTransient     LK_ERROR / LK_524 / GENERIC_ERROR / NO_DATA_LOADED
│   ├── ServerError           HTTP 5xx
│   └── TransportFailure      no HTTP answer at all
│       ├── ConnectionFailed  the request never left (connect error / connect timeout)
│       └── ResponseLost      sent, but no answer came back (read timeout, dropped connection)
│
└── UncertainSend             a send (connect, message, InMail, withdraw) may have reached
                              Edges but no answer says so; never retried blindly: reconcile
                              with LinkedIn state (sent invitations, the thread) first
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

__all__ = [
    "AlreadyConnected",
    "AuthExpired",
    "AuthenticationError",
    "BadInput",
    "ConnectionFailed",
    "EdgesError",
    "InvalidInput",
    "InvitationPending",
    "LimitReached",
    "LinkedInTransient",
    "NoValidAccount",
    "NotConnected",
    "NotFound",
    "ProfileNotAccessible",
    "RateLimited",
    "ResponseLost",
    "ServerError",
    "TransportFailure",
    "UncertainSend",
    "error_class_for",
    "parse_retry_after",
    "parse_timestamp",
]

#: How long a caller waits after a LIMIT_REACHED that names no time (decision 5).
DEFAULT_LIMIT_WAIT = timedelta(hours=24)


class EdgesError(Exception):
    """A failure talking to Edges, with everything needed to debug it."""

    default_message: ClassVar[str] = "Edges request failed"

    def __init__(
        self,
        label: str | None = None,
        status_code: int | None = None,
        scope: str | None = None,
        ref: str | None = None,
        message: str | None = None,
        params: Mapping[str, Any] | None = None,
        postponed_until: datetime | None = None,
        retry_after: float | None = None,
        request_id: str | None = None,
        *,
        action: str | None = None,
        body: Any = None,
    ) -> None:
        self.label = label
        self.status_code = status_code
        self.scope = scope
        self.ref = ref
        self.message = message or self.default_message
        self.params: dict[str, Any] = dict(params or {})
        self.postponed_until = postponed_until
        self.retry_after = retry_after
        self.request_id = request_id
        self.action = action
        self.body = body
        super().__init__(self.message)

    def __str__(self) -> str:
        head = self.label or type(self).__name__
        bits = []
        if self.status_code is not None:
            bits.append(f"HTTP {self.status_code}")
        if self.action:
            bits.append(self.action)
        if self.scope:
            bits.append(f"scope={self.scope}")
        if self.ref:
            bits.append(f"ref={self.ref}")
        text = f"{head} ({', '.join(bits)}): {self.message}" if bits else f"{head}: {self.message}"
        if self.postponed_until is not None:
            text += f"; postponed until {self.postponed_until.isoformat()}"
        if self.retry_after is not None:
            text += f"; retry after {self.retry_after:g}s"
        if self.request_id:
            text += f" [request_id={self.request_id}]"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(label={self.label!r}, status_code={self.status_code!r}, "
            f"message={self.message!r})"
        )

    @classmethod
    def from_response(
        cls,
        status_code: int,
        body: Any,
        headers: Mapping[str, str] | None = None,
        *,
        now: datetime | None = None,
        action: str | None = None,
    ) -> EdgesError:
        """Build the right subclass from an HTTP error answer (body may be any JSON or None)."""
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        data: dict[str, Any] = body if isinstance(body, dict) else {}
        # Edges writes `error_label`; the smart-limits page and run objects write `label`.
        label = _str_or_none(data.get("error_label") or data.get("label"))
        params_raw = data.get("params")
        params: dict[str, Any] = dict(params_raw) if isinstance(params_raw, dict) else {}
        postponed = parse_timestamp(params.get("postponed_until") or data.get("postponed_until"))
        retry_after = parse_retry_after(headers.get("retry-after"), now=now)
        if retry_after is None:
            retry_after = parse_retry_after(
                params.get("retry_after") or data.get("retry_after"), now=now
            )
        message = data.get("message") or data.get("error") if data else None
        if not isinstance(message, str):
            message = body.strip()[:500] if isinstance(body, str) and body.strip() else None
        klass = error_class_for(label, status_code)
        return klass(
            label=label,
            status_code=status_code,
            scope=_str_or_none(data.get("error_scope") or data.get("scope")),
            ref=_str_or_none(data.get("error_ref") or data.get("ref")),
            message=message or f"HTTP {status_code}",
            params=params,
            postponed_until=postponed,
            retry_after=retry_after,
            request_id=headers.get("x-request-id") or headers.get("request-id"),
            action=action,
            body=body,
        )

    @classmethod
    def from_body(cls, body: Mapping[str, Any], *, action: str | None = None) -> EdgesError:
        """Build an error from a standard error object found inside a payload (callbacks, runs)."""
        status = body.get("status_code")
        return cls.from_response(
            status if isinstance(status, int) else 0, dict(body), action=action
        )


class LimitReached(EdgesError):
    """A smart limit is spent: do not retry now, reschedule at `postponed_until`."""

    default_message = "smart limit reached"

    @property
    def appendix(self) -> str | None:
        """The window that was exhausted ("24h", "7d"), when Edges said."""
        value = self.params.get("appendix")
        return value if isinstance(value, str) else None

    def resume_at(self, now: datetime) -> datetime:
        """When to try again: Edges' `postponed_until`, or 24 h from `now` when it gave none."""
        return self.postponed_until or (now + DEFAULT_LIMIT_WAIT)


class NotConnected(EdgesError):
    """The lead is not a 1st-degree connection: connect before messaging."""

    default_message = "not connected to this profile"


class AlreadyConnected(EdgesError):
    """The lead is already a connection: skip the invitation."""

    default_message = "already connected to this profile"


class InvitationPending(EdgesError):
    """An invitation to this lead is already pending."""

    default_message = "an invitation is already pending"


class ProfileNotAccessible(EdgesError):
    """The profile is deleted, blocked or its URL changed."""

    default_message = "profile not accessible"


class AuthExpired(EdgesError):
    """The identity's LinkedIn session expired: pause it until it reconnects."""

    default_message = "LinkedIn session expired"


class NoValidAccount(EdgesError):
    """The identity has no usable LinkedIn integration."""

    default_message = "no valid LinkedIn account configured for this identity"


class BadInput(EdgesError):
    """Edges refused the input or parameters; fix them, do not retry."""

    default_message = "bad input"


class InvalidInput(BadInput, ValueError):
    """Input refused by the client before any request was made."""

    default_message = "invalid input"

    def __init__(self, message: str, *, field: str | None = None, suggestion: str | None = None):
        params = {k: v for k, v in (("field", field), ("suggestion", suggestion)) if v}
        super().__init__(label="BAD_INPUT", scope="input", message=message, params=params)
        self.field = field
        self.suggestion = suggestion


class AuthenticationError(EdgesError):
    """The API key was refused (HTTP 401)."""

    default_message = "invalid Edges API key"


class NotFound(EdgesError):
    """The action, run or identity does not exist (HTTP 404)."""

    default_message = "not found"


class RateLimited(EdgesError):
    """Too many requests (STATUS_429); retried after `retry_after`."""

    default_message = "rate limited"


class LinkedInTransient(EdgesError):
    """A LinkedIn-side hiccup that is worth retrying with backoff."""

    default_message = "transient LinkedIn error"


class ServerError(EdgesError):
    """Edges answered with a 5xx."""

    default_message = "Edges server error"


class TransportFailure(EdgesError):
    """No HTTP answer was received."""

    default_message = "no answer from Edges"


class ConnectionFailed(TransportFailure):
    """The request never reached Edges (connection refused, DNS, connect timeout)."""

    default_message = "could not connect to Edges"


class ResponseLost(TransportFailure):
    """The request was sent, but the answer never came (read timeout, dropped connection)."""

    default_message = "no answer from Edges after sending"


class UncertainSend(EdgesError):
    """A send may have reached Edges without an answer saying so: reconcile, never resend."""

    default_message = "the send may or may not have happened"

    def __init__(self, cause: EdgesError, *, action: str | None = None) -> None:
        super().__init__(
            label=cause.label,
            status_code=cause.status_code,
            scope=cause.scope,
            ref=cause.ref,
            message=f"{self.default_message}: {cause.message}",
            params=cause.params,
            request_id=cause.request_id,
            action=action or cause.action,
            body=cause.body,
        )
        self.cause = cause


_BY_LABEL: dict[str, type[EdgesError]] = {
    "LIMIT_REACHED": LimitReached,
    "NOT_CONNECTED": NotConnected,
    "ALREADY_CONNECTED": AlreadyConnected,
    "SN_CONFLICT": AlreadyConnected,
    "INVITATION_PENDING": InvitationPending,
    "PROFILE_NOT_ACCESSIBLE": ProfileNotAccessible,
    "AUTH_EXPIRED": AuthExpired,
    "NO_VALID_ACCOUNT_CONFIGURED": NoValidAccount,
    "BAD_INPUT": BadInput,
    "INVALID_INPUT": BadInput,
    "BAD_PARAMETERS": BadInput,
    "MISSING_PARAMETER": BadInput,
    "NOT_FOUND": NotFound,
    "STATUS_429": RateLimited,
    "LK_ERROR": LinkedInTransient,
    "LK_524": LinkedInTransient,
    "GENERIC_ERROR": LinkedInTransient,
    "NO_DATA_LOADED": LinkedInTransient,
}


def error_class_for(label: str | None, status_code: int | None) -> type[EdgesError]:
    """The exception class for a label; the HTTP status decides when the label is unknown."""
    if label and label.upper() in _BY_LABEL:
        return _BY_LABEL[label.upper()]
    if status_code == 401:
        return AuthenticationError
    if status_code == 404:
        return NotFound
    if status_code == 429:
        return RateLimited
    if status_code == 400 and not label:
        return BadInput
    if status_code is not None and status_code >= 500:
        return ServerError
    return EdgesError


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO-8601 timestamp (``Z`` allowed) or epoch seconds as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_retry_after(value: Any, *, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: a number, or an HTTP date (needs `now`)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return max(0.0, float(value))
    text = str(value).strip()
    if not text:
        return None
    with contextlib.suppress(ValueError):
        return max(0.0, float(text))
    if now is None:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _str_or_none(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)
