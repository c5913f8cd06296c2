"""The package surface: a complete sorted `__all__`, and httpx2 imported in one module only."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import linkseq
import linkseq.edges as edges
from linkseq.edges import _client, _errors, _models, _ratelimit, _resources, _retry, _validate

SRC = Path(linkseq.__file__).parent


MODULES = (_client, _errors, _models, _ratelimit, _resources, _retry, _validate)
# Helpers that stay behind their module on purpose.
INTERNAL = {
    "DEFAULT_POLICY",
    "OUTPUTS_PLANS",
    "PlanRate",
    "error_class_for",
    "parse_retry_after",
    "parse_timestamp",
    "RETRYABLE",
    "INVITATION_URN_RE",
    "MAX_MESSAGE",
    "MAX_NOTE",
    "PROFILE_URL_RE",
    "SEARCH_URL_RE",
    "check_invitation_urn",
    "check_message",
    "check_note",
    "check_search_url",
    "check_uid",
}


def isort_key(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then Classes, then functions."""
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name


def test_all_is_sorted_and_complete() -> None:
    assert edges.__all__ == sorted(edges.__all__, key=isort_key)
    assert len(set(edges.__all__)) == len(edges.__all__)
    public = {name for module in MODULES for name in module.__all__}
    assert public - set(edges.__all__) - INTERNAL == set()
    for name in edges.__all__:
        assert hasattr(edges, name), name


def test_every_error_is_exported_and_documented_in_the_tree() -> None:
    doc = _errors.__doc__ or ""
    for name in _errors.__all__:
        obj = getattr(_errors, name)
        if inspect.isclass(obj) and issubclass(obj, Exception):
            assert name in edges.__all__
            assert re.search(rf"\b{name}\b", doc), f"{name} missing from the tree"


def test_only_http_module_imports_httpx2() -> None:
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if re.search(r"^\s*(import|from)\s+httpx2\b", path.read_text(), re.MULTILINE)
    ]
    assert offenders == ["edges/_http.py"]


def test_public_signature_of_the_client() -> None:
    params = inspect.signature(edges.EdgesClient).parameters
    assert list(params) == [
        "api_key",
        "base_url",
        "http",
        "app",
        "rate_limit",
        "clock",
        "sleep",
        "timeout",
        "max_attempts",
        "random",
    ]
    for name in (
        "me",
        "visit_profile",
        "connect_profile",
        "message_profile",
        "inmail_profile",
        "extract_conversations",
        "extract_messages",
        "extract_connections",
        "search_people",
        "extract_sent_invitations",
        "withdraw_invitation",
        "get_thread_url",
        "run_live",
        "run_async",
        "run_schedule",
        "close",
    ):
        assert callable(getattr(edges.EdgesClient, name)), name
