"""Bad input is refused before any request is made."""

from __future__ import annotations

import pytest

from linkseq.edges import BadInput, Callback, InvalidInput, canonical_timezone, check_timezone
from tests.edges.conftest import IDENTITY, PROFILE, Harness


@pytest.mark.parametrize(
    "url",
    [
        "https://www.linkedin.com/in/jane",
        "https://linkedin.com/in/jane/",
        "https://fr.linkedin.com/in/jane-doe-123",
        "https://www.linkedin.com/pub/jane/1/2/3",
        "https://www.linkedin.com/sales/lead/ACwAAA,NAME",
        "https://www.linkedin.com/sales/people/ACwAAA",
    ],
)
def test_profile_urls_accepted(harness: Harness, url: str) -> None:
    harness.fake.queue(harness_ok())
    harness.client.visit_profile(IDENTITY, url)


def harness_ok():  # type: ignore[no-untyped-def]
    from tests.edges.conftest import ok

    return ok({})


@pytest.mark.parametrize(
    "url",
    [
        "http://www.linkedin.com/in/jane",
        "https://www.linkedin.com/company/acme",
        "https://www.linkedin.com/in/",
        "https://evil.com/in/jane",
        "https://www.linkedin.com.evil.com/in/jane",
        "linkedin.com/in/jane",
        "",
    ],
)
def test_bad_profile_urls_refused_without_request(harness: Harness, url: str) -> None:
    for call in (
        lambda: harness.client.visit_profile(IDENTITY, url),
        lambda: harness.client.connect_profile(IDENTITY, url),
        lambda: harness.client.message_profile(IDENTITY, url, "hi"),
        lambda: harness.client.get_thread_url(IDENTITY, url),
    ):
        with pytest.raises(InvalidInput, match="not a LinkedIn profile URL"):
            call()
    assert harness.fake.requests == []


def test_note_and_message_lengths(harness: Harness) -> None:
    with pytest.raises(InvalidInput, match="301 characters"):
        harness.client.connect_profile(IDENTITY, PROFILE, note="x" * 301)
    with pytest.raises(InvalidInput, match="8001 characters"):
        harness.client.message_profile(IDENTITY, PROFILE, "x" * 8001)
    with pytest.raises(InvalidInput, match="empty"):
        harness.client.message_profile(IDENTITY, PROFILE, "   ")
    with pytest.raises(InvalidInput):
        harness.client.withdraw_invitation(IDENTITY, "urn:li:invitation:1")
    with pytest.raises(InvalidInput):
        harness.client.search_people(IDENTITY, "https://www.linkedin.com/in/jane")
    with pytest.raises(InvalidInput):
        harness.client.me("../etc")
    assert harness.fake.requests == []
    harness.fake.queue(harness_ok())
    harness.client.connect_profile(IDENTITY, PROFILE, note="x" * 300)
    harness.client.message_profile(IDENTITY, PROFILE, "x" * 8000)


def test_timezone_alias_is_refused_with_suggestion(harness: Harness) -> None:
    with pytest.raises(InvalidInput) as info:
        harness.client.identities.create("A", timezone="Europe/Kiev")
    assert info.value.suggestion == "Europe/Kyiv"
    assert "Europe/Kyiv" in str(info.value)
    assert isinstance(info.value, BadInput)
    assert isinstance(info.value, ValueError)
    with pytest.raises(InvalidInput, match="did you mean 'Europe/Paris'"):
        harness.client.identities.update("u1", timezone="Europe/Pariss")
    from linkseq.edges import Callback as Cb

    with pytest.raises(InvalidInput, match="Asia/Kolkata"):
        harness.client.run_schedule(
            "linkedin-extract-connections",
            IDENTITY,
            inputs=[{}],
            cron="0 9 * * *",
            timezone="Asia/Calcutta",
            callback=Cb("https://x/cb"),
        )
    assert harness.fake.requests == []


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("Europe/Kyiv", "Europe/Kyiv"),
        ("Europe/Kiev", "Europe/Kyiv"),
        ("US/Eastern", "America/New_York"),
        ("Europe/Oslo", "Europe/Oslo"),
        ("UTC", "UTC"),
        ("America/Sao_Paulo", "America/Sao_Paulo"),
        ("Nowhere/Land", None),
    ],
)
def test_canonical_timezone(name: str, canonical: str | None) -> None:
    assert canonical_timezone(name) == canonical
    if canonical == name:
        assert check_timezone(name) == name


def test_schedule_and_async_input_counts(harness: Harness) -> None:
    cb = Callback("https://x/cb")
    with pytest.raises(InvalidInput, match="1 to 100"):
        harness.client.run_schedule(
            "a", IDENTITY, inputs=[{}] * 101, cron="* * * * *", timezone="UTC", callback=cb
        )
    with pytest.raises(InvalidInput):
        harness.client.run_async("a", IDENTITY, inputs=[], callback=cb)
    with pytest.raises(ValueError):
        Callback("https://x/cb", on="some")  # type: ignore[arg-type]
    assert harness.fake.requests == []
