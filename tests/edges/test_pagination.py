"""List actions follow X-Pagination-Next, POST the same body, dedupe page edges, stop early."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from linkseq.edges import Connection
from tests.edges.conftest import BASE, IDENTITY, Harness, ok

LIVE = f"{BASE}/actions/linkedin-extract-connections/run/live"


def page(ids: list[int], cursor: str | None) -> Any:
    headers = {"X-Pagination-Next": f"{LIVE}?cursor={cursor}"} if cursor else {}
    return ok([{"linkedin_profile_id": i, "full_name": f"P{i}"} for i in ids], headers=headers)


def test_follows_next_with_same_body_and_dedupes_overlap(harness: Harness) -> None:
    harness.fake.queue(page([1, 2, 3], "c2"), page([3, 4, 5], "c3"), page([5, 6], None))
    rows = list(harness.client.extract_connections(IDENTITY, incremental=True))
    assert [r.linkedin_profile_id for r in rows] == [1, 2, 3, 4, 5, 6]
    assert all(isinstance(r, Connection) for r in rows)
    urls = [str(r.url) for r in harness.fake.requests]
    assert urls == [LIVE, f"{LIVE}?cursor=c2", f"{LIVE}?cursor=c3"]
    bodies = [harness.fake.body(i) for i in range(3)]
    assert bodies[0] == bodies[1] == bodies[2]
    assert all(r.method == "POST" for r in harness.fake.requests)


def test_relative_next_url_is_resolved(harness: Harness) -> None:
    harness.fake.queue(
        ok(
            [{"linkedin_profile_id": 1}],
            headers={"X-Pagination-Next": "/v1/actions/x/run/live?cursor=z"},
        ),
        ok([{"linkedin_profile_id": 2}]),
    )
    assert len(list(harness.client.extract_connections(IDENTITY))) == 2
    assert (
        str(harness.fake.requests[1].url) == "https://api.edges.run/v1/actions/x/run/live?cursor=z"
    )


def test_max_results_stops_without_fetching_more(harness: Harness) -> None:
    harness.fake.queue(page([1, 2, 3], "c2"), page([4, 5, 6], None))
    rows = list(harness.client.extract_connections(IDENTITY, max_results=3))
    assert len(rows) == 3
    assert len(harness.fake.requests) == 1
    assert list(harness.client.extract_connections(IDENTITY, max_results=0)) == []
    assert len(harness.fake.requests) == 1


def test_lazy_until_iterated(harness: Harness) -> None:
    harness.fake.queue(page([1], None))
    iterator = harness.client.extract_connections(IDENTITY)
    assert harness.fake.requests == []
    assert next(iterator).linkedin_profile_id == 1


def test_cycle_and_empty_page_end_listing(harness: Harness) -> None:
    harness.fake.queue(page([1], "same"), page([2], "same"), page([3], "same"))
    rows = list(harness.client.extract_connections(IDENTITY))
    assert [r.linkedin_profile_id for r in rows] == [1, 2]
    harness.fake.answers[:] = [page([], "more")]
    harness.fake.requests.clear()
    assert list(harness.client.extract_connections(IDENTITY)) == []
    assert len(harness.fake.requests) == 1


def test_conversations_dedupe_on_thread_and_parse_strings(harness: Harness) -> None:
    conv = {
        "linkedin_thread_id": "2-a==",
        "total_received_messages": "3",
        "participants": [{"linkedin_profile_id": 123}],
        "last_message": {"linkedin_profile_id": 123, "delivered_at": ""},
    }
    nxt = {"X-Pagination-Next": f"{BASE}/actions/linkedin-extract-conversations/run/live?cursor=2"}
    harness.fake.queue(ok([conv], headers=nxt), ok([conv, {**conv, "linkedin_thread_id": "2-b=="}]))
    rows = list(harness.client.extract_conversations(IDENTITY))
    assert [r.linkedin_thread_id for r in rows] == ["2-a==", "2-b=="]
    assert rows[0].total_received_messages == 3
    assert rows[0].last_message is not None
    assert rows[0].last_message.delivered_at is None


def test_sent_invitations_dedupe_on_urn(harness: Harness) -> None:
    inv = {"linkedin_invitation_urn": "urn:li:fsd_invitation:1", "linkedin_profile_id": 9}
    nxt = {"X-Pagination-Next": f"{BASE}/actions/x/run/live?cursor=2"}
    harness.fake.queue(
        ok([inv], headers=nxt),
        ok([inv, {**inv, "linkedin_invitation_urn": "urn:li:fsd_invitation:2"}]),
    )
    assert len(list(harness.client.extract_sent_invitations(IDENTITY))) == 2


def test_generic_iterate_live(harness: Harness) -> None:
    nxt = {"X-Pagination-Next": f"{BASE}/actions/x/run/live?cursor=2"}
    harness.fake.queue(
        ok([{"linkedin_profile_id": 1, "x": "a"}], headers=nxt),
        ok([{"linkedin_profile_id": 1}, {"linkedin_profile_id": 2}]),
    )
    rows = list(harness.client.iterate_live("linkedin-extract-followers", IDENTITY))
    assert rows == [{"linkedin_profile_id": 1, "x": "a"}, {"linkedin_profile_id": 2}]


@settings(max_examples=30)
@given(
    pages=st.lists(st.lists(st.integers(1, 60), max_size=12), min_size=1, max_size=6),
    limit=st.none() | st.integers(0, 80),
)
def test_yields_each_id_once_in_first_seen_order(pages: list[list[int]], limit: int | None) -> None:
    import random

    from linkseq.edges import EdgesClient
    from linkseq.edges._http import Client, MockTransport
    from tests.edges.conftest import FakeEdges

    fake = FakeEdges()
    for index, ids in enumerate(pages):
        fake.queue(page(ids, f"p{index + 1}" if index + 1 < len(pages) else None))
    with Client(transport=MockTransport(fake.handler)) as http:
        client = EdgesClient("k", http=http, rate_limit=None, random=random.Random(0))
        got = [
            r.linkedin_profile_id for r in client.extract_connections(IDENTITY, max_results=limit)
        ]
    expected: list[int] = []
    for ids in pages:
        if not ids:
            break
        for i in ids:
            if i not in expected:
                expected.append(i)
    if limit is not None:
        expected = expected[:limit]
    assert got == expected
