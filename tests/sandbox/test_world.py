"""The world: people, URL variants, determinism, world files, the CSV of leads."""

from __future__ import annotations

import csv
import io
import random
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from linkseq.sandbox import Sandbox, World
from linkseq.sandbox._people import People

from .conftest import live, make


def test_people_are_a_function_of_the_seed() -> None:
    a, b, c = People(7, 1000), People(7, 1000), People(8, 1000)
    assert [a[i] for i in range(50)] == [b[i] for i in range(50)]
    assert [a[i].handle for i in range(50)] != [c[i].handle for i in range(50)]


@settings(max_examples=60, deadline=None)
@given(index=st.integers(0, 99_999), variant=st.integers(0, 10_000))
def test_every_url_variant_resolves_to_the_same_person(index: int, variant: int) -> None:
    people = People(7, 100_000)
    person = people[index]
    url = people.url_variant(person, random.Random(variant))
    assert people.resolve_url(url) == person
    assert people.by_profile_id(person.profile_id) == person
    assert people.by_sales_navigator_id(person.sales_navigator_id) == person


def test_explicit_variants_resolve() -> None:
    people = People(7, 50)
    p = people[3]
    h = p.profile_url.split("/in/")[1].rstrip("/")
    for url in (
        f"https://www.linkedin.com/in/{h}",
        f"https://fr.linkedin.com/in/{h}/",
        f"https://www.linkedin.com/pub/{h}/1/2/3",
        f"https://www.linkedin.com/in/{h}?trk=x",
        f"https://WWW.LINKEDIN.COM/in/{h.upper()}/",
        f"https://m.linkedin.com/in/{h}",
        f"https://www.linkedin.com/sales/lead/{p.sales_navigator_id},NAME_SEARCH,abc",
    ):
        assert people.resolve_url(url) == p, url
    assert people.resolve_url("https://www.linkedin.com/in/nobody-here-ffffffff") is None


def test_a_world_of_100k_people_builds_fast() -> None:
    start = time.perf_counter()
    sb = Sandbox(seed=7, people=100_000)
    assert len(sb.world.people) == 100_000
    assert sb.world.people[99_999].handle
    assert time.perf_counter() - start < 5


def test_deleted_profiles_are_not_accessible(sandbox) -> None:  # type: ignore[no-untyped-def]
    sb, _, uid = sandbox
    deleted = next(p for p in (sb.world.people[i] for i in range(300)) if p.deleted)
    status, _, body = live(
        sb, "linkedin-visit-profile", uid, {"linkedin_profile_url": deleted.profile_url}
    )
    assert (status, body["error_label"]) == (424, "PROFILE_NOT_ACCESSIBLE")


def test_world_file(tmp_path: Path) -> None:
    path = tmp_path / "world.yaml"
    path.write_text(
        "seed: 11\npeople: 40\nstart: 2026-02-02T09:00:00Z\n"
        "working_hours: {start: '09:00', end: '17:00', days: [0,1,2,3]}\n"
        "pacing_gap_seconds: 60\n"
        "identities:\n  - {name: Bo Boss, timezone: Europe/Berlin, level: Sales Navigator,"
        " network: {connections: 5, pending_invitations: 1, threads: 2, inbound: 0}}\n"
        "persons:\n  - {handle: ada-lovelace, first_name: Ada, last_name: Lovelace,"
        " timezone: Europe/London, accept_probability: 1.0, accept_delay_hours: 2}\n"
        "faults: {status_429: 0.0}\n",
        encoding="utf-8",
    )
    sb = Sandbox(world=path, seed=11)
    assert sb.seed == 11
    assert len(sb.world.people) == 41
    ada = sb.world.people.resolve_url("https://uk.linkedin.com/in/Ada-Lovelace/")
    assert ada is not None
    assert ada.first_name == "Ada"
    (ident,) = sb.world.identities.values()
    assert ident.level == "Sales Navigator"
    assert len(ident.connections) == 5
    assert sb.world.pacing_gap.total_seconds() == 60
    assert sb.clock.now().isoformat().startswith("2026-02-02T09:00")


def test_people_csv_has_variants_and_resolves() -> None:
    sb, _ = make()
    rows = list(csv.DictReader(io.StringIO(sb.people_csv(100))))
    assert len(rows) == 100
    assert {
        "linkedin_profile_url",
        "full_name",
        "first_name",
        "last_name",
        "company_name",
        "location",
        "timezone",
    } <= set(rows[0])
    canon = {r["linkedin_profile_url"] for r in rows}
    assert len({u.split("/")[2] for u in canon}) > 3  # several host spellings
    for i, row in enumerate(rows):
        assert sb.world.people.resolve_url(row["linkedin_profile_url"]) == sb.world.people[i]


def test_world_from_dict_refuses_unknown_keys() -> None:
    import pytest

    with pytest.raises(ValueError):
        World.from_dict({"peeple": 3})
