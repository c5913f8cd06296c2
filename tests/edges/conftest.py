"""A scripted fake of Edges over MockTransport: queue answers, read back what was sent."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from linkseq.clock import ManualClock
from linkseq.edges import EdgesClient
from linkseq.edges._http import Client, MockTransport, Request, Response

API_KEY = "sk-test-4f9c2e-do-not-leak"
IDENTITY = "44444444-4444-4444-4444-444444444444"
BASE = "https://api.edges.run/v1"
PROFILE = "https://www.linkedin.com/in/jane-doe"

Answer = Response | Exception | Callable[[Request], Response]


@dataclass
class FakeEdges:
    """Answers requests from a queue (the last answer repeats) and records them."""

    answers: list[Answer] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    def queue(self, *answers: Answer) -> FakeEdges:
        self.answers.extend(answers)
        return self

    def handler(self, request: Request) -> Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, Response):
            return answer(request)
        return answer

    @property
    def last(self) -> Request:
        return self.requests[-1]

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


@dataclass
class Harness:
    fake: FakeEdges
    client: EdgesClient
    sleeps: list[float]
    clock: ManualClock


@pytest.fixture
def harness() -> Iterator[Harness]:
    fake = FakeEdges()
    sleeps: list[float] = []
    clock = ManualClock()
    http = Client(transport=MockTransport(fake.handler))
    client = EdgesClient(
        API_KEY,
        http=http,
        rate_limit=None,
        clock=clock,
        sleep=sleeps.append,
        random=random.Random(7),
    )
    yield Harness(fake, client, sleeps, clock)
    client.close()
    http.close()


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json=body, headers=headers or {})


def err(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Response:
    if body is None:
        return Response(status, headers=headers or {})
    return Response(status, json=body, headers=headers or {})
