"""The Edges error object, as the sandbox raises and renders it."""

from __future__ import annotations

from typing import Any

__all__ = ["AnswerLost", "EdgesError", "error_body"]

_SCOPES = {
    400: "input",
    401: "auth",
    403: "auth",
    404: "input",
    422: "input",
    429: "integ",
    500: "server",
    503: "server",
}


class AnswerLost(TimeoutError):
    """Raised by the in-process WSGI app when LinkedIn acted but the answer is lost.

    A subclass of the built-in `TimeoutError`, so that a client can treat it as a read timeout
    without importing the sandbox.
    """


class EdgesError(Exception):
    """An error answer of the simulated Edges API."""

    def __init__(
        self,
        label: str,
        status: int,
        message: str,
        *,
        scope: str | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.label = label
        self.status = status
        self.message = message
        self.scope = scope or _SCOPES.get(status, "integ")
        self.params = params or {}
        self.headers = headers or {}

    def body(self, ref: str) -> dict[str, Any]:
        """The standard error object (decision 7 for scopes)."""
        return error_body(self.label, self.status, self.message, self.scope, self.params, ref)


def error_body(
    label: str, status: int, message: str, scope: str, params: dict[str, Any], ref: str
) -> dict[str, Any]:
    """`{error_label, error_scope, error_ref, message, status_code, params}`."""
    return {
        "error_label": label,
        "error_scope": scope,
        "error_ref": ref,
        "message": message,
        "status_code": status,
        "params": params,
    }
