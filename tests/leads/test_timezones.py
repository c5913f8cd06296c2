"""Time zones from the explicit column, the location, or the campaign's default."""

from __future__ import annotations

import pytest

from linkseq.leads.timezones import InvalidTimezone, resolve_timezone
from linkseq.store.enums import TimezoneSource as S


@pytest.mark.parametrize(
    ("location", "zone", "source"),
    [
        ("Greater Paris Metropolitan Region", "Europe/Paris", S.CITY),
        ("San Francisco Bay Area", "America/Los_Angeles", S.CITY),
        ("Springfield, Illinois, United States", "America/Chicago", S.REGION),
        ("Kelowna, BC", "America/Vancouver", S.REGION),
        ("Tbilisi, Georgia", "Asia/Tbilisi", S.COUNTRY),
        ("Japan", "Asia/Tokyo", S.COUNTRY),
        ("Belo Horizonte, Minas Gerais, Brazil", "America/Sao_Paulo", S.COUNTRY),
    ],
)
def test_location(location: str, zone: str, source: S) -> None:
    assert resolve_timezone(None, location) == (zone, source)


def test_order_explicit_then_location_then_default() -> None:
    assert resolve_timezone("europe/paris", "Tokyo") == ("Europe/Paris", S.EXPLICIT)
    assert resolve_timezone(" Europe/Kiev", None) == ("Europe/Kyiv", S.EXPLICIT)
    assert resolve_timezone(None, "Atlantis", "Europe/Berlin") == ("Europe/Berlin", S.CAMPAIGN)
    assert resolve_timezone("", "", None) == (None, S.UNKNOWN)
    with pytest.raises(InvalidTimezone):
        resolve_timezone("Mars/Base", None)
