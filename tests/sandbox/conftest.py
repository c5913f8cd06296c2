"""Fixtures for the sandbox's tests: in-process calls, never through linkseq.edges."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from linkseq.sandbox import FaultConfig, Sandbox

MONDAY_10_PARIS = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class Recorder:
    """A `deliver` that records every POST and answers with a programmable status."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.status: Callable[[int], int] = lambda n: 200

    def __call__(self, url: str, headers: dict[str, str], body: bytes) -> int:
        self.posts.append((url, headers, json.loads(body)))
        return self.status(len(self.posts))

    def bodies(self, url_part: str = "") -> list[dict[str, Any]]:
        return [b for u, _, b in self.posts if url_part in u]


Live = Callable[..., tuple[int, dict[str, str], Any]]


def make(
    faults: FaultConfig | None = None, people: int = 300, seed: int = 7, **kwargs: Any
) -> tuple[Sandbox, Recorder]:
    rec = Recorder()
    sb = Sandbox(seed=seed, people=people, deliver=rec, faults=faults or FaultConfig(), **kwargs)
    sb.set_webhook("https://app.example/hooks/edges?token=t")
    return sb, rec


def live(
    sb: Sandbox,
    slug: str,
    uid: str | None,
    input: dict[str, Any] | None = None,
    parameters: dict[str, Any] | None = None,
    query: str = "",
    **extra: Any,
) -> tuple[int, dict[str, str], Any]:
    body: dict[str, Any] = {**extra}
    if input is not None:
        body["input"] = input
    if parameters is not None:
        body["parameters"] = parameters
    if uid is not None:
        body["identity_ids"] = [uid]
    return sb.call("POST", f"/v1/actions/{slug}/run/live", body, query=query)


def stranger(sb: Sandbox, uid: str, start: int = 0) -> int:
    """A person not connected, not invited, not deleted, in Europe (awake now), after `start`."""
    ident = sb.identity(uid)
    for i in range(start, len(sb.world.people)):
        p = sb.world.people[i]
        if (
            not p.deleted
            and i not in ident.connections
            and i not in ident.invitations
            and p.timezone.startswith("Europe/")
        ):
            return i
    raise AssertionError("no stranger")


@pytest.fixture
def sandbox() -> tuple[Sandbox, Recorder, str]:
    sb, rec = make()
    sb.advance(to=MONDAY_10_PARIS)
    uid = sb.add_identity(name="Alice Sender", first_sync_at=MONDAY_10_PARIS - timedelta(days=30))
    return sb, rec, uid
