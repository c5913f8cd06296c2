"""Client overhead per live call through MockTransport: validation, body, headers, parsing.

Prints one JSON object per figure: {"name", "value", "unit", "cores", ...}.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable

from linkseq.edges import EdgesClient
from linkseq.edges._http import Client, MockTransport, Request, Response

IDENTITY = "44444444-4444-4444-4444-444444444444"
PROFILE = "https://www.linkedin.com/in/jane-doe"
BASE = "https://api.edges.run/v1"


def handler(request: Request) -> Response:
    path = request.url.path
    if path.endswith("linkedin-message-profile/run/live"):
        return Response(
            200,
            json={
                "is_sent": True,
                "linkedin_thread_id": "2-a==",
                "delivered_at": "2026-01-05T08:00:00Z",
            },
        )
    if path.endswith("linkedin-extract-connections/run/live"):
        cursor = int(request.url.params.get("cursor", "0"))
        rows = [{"linkedin_profile_id": cursor * 40 + i, "full_name": "P"} for i in range(40)]
        headers = {"X-Pagination-Next": f"{BASE}{path}?cursor={cursor + 1}"} if cursor < 24 else {}
        return Response(200, json=rows, headers=headers)
    return Response(200, json={"id": 1, "linkedin_profile_id": 1})


def measure(name: str, calls: int, fn: Callable[[], object], unit: str, **extra: object) -> None:
    for _ in range(min(50, calls)):
        fn()  # warm-up
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    elapsed = time.perf_counter() - start
    print(
        json.dumps(
            {
                "name": name,
                "value": round(calls / elapsed, 1),
                "unit": unit,
                "cores": os.cpu_count(),
                "calls": calls,
                "us_per_call": round(elapsed / calls * 1e6, 1),
                **extra,
            }
        )
    )


def raw_transport_baseline(http: Client) -> Callable[[], object]:
    body = {"input": {"linkedin_profile_url": PROFILE}, "identity_ids": [IDENTITY]}

    def call() -> object:
        return http.post(f"{BASE}/actions/linkedin-visit-profile/run/live", json=body).json()

    return call


def main() -> None:
    with Client(transport=MockTransport(handler)) as http:
        client = EdgesClient("sk-bench", http=http, rate_limit=None, random=random.Random(0))
        measure(
            "edges_client_httpx2_mock_baseline",
            3000,
            raw_transport_baseline(http),
            "calls/s",
            note="bare httpx2 POST + .json() through MockTransport, no client",
        )
        measure(
            "edges_client_visit_profile",
            3000,
            lambda: client.visit_profile(IDENTITY, PROFILE),
            "calls/s",
        )
        measure(
            "edges_client_message_profile",
            3000,
            lambda: client.message_profile(IDENTITY, PROFILE, "Hello Jane"),
            "calls/s",
        )
        measure(
            "edges_client_extract_connections_1000_rows",
            20,
            lambda: sum(1 for _ in client.extract_connections(IDENTITY)),
            "listings/s",
            rows_per_listing=1000,
            pages_per_listing=25,
        )


if __name__ == "__main__":
    main()
