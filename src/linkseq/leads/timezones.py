"""A lead's time zone: the explicit column, else its location, else the campaign's default.

`resolve_timezone` also says where the answer came from (`TimezoneSource`), which is stored with
the lead so that a user can tell a guess from a fact.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import pycountry

from linkseq.leads._places import CITIES, COUNTRY_ALIASES, MULTI_ZONE_COUNTRY_DEFAULT, REGIONS
from linkseq.store.enums import TimezoneSource

__all__ = ["InvalidTimezone", "check_timezone", "resolve_timezone", "timezone_from_location"]

# LinkedIn's wrappers around a place name.
_NOISE = re.compile(
    r"^(greater\s+)|(\s+(metropolitan|metro)\s+(area|region))$|(\s+(bay\s+)?area)$|(\s+region)$"
)
# Zone names Edges refuses (decision 30): their canonical names.
_ALIASES = {"Europe/Kiev": "Europe/Kyiv", "Asia/Calcutta": "Asia/Kolkata", "UTC": "UTC"}


class InvalidTimezone(ValueError):
    """Not an IANA time zone name."""


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_timezone(name: str) -> str:
    """The canonical IANA name for `name` (case-insensitive); raises `InvalidTimezone`."""
    text = name.strip()
    text = _ALIASES.get(text, text)
    if text not in _zones():
        lowered = {zone.lower(): zone for zone in _zones()}
        text = lowered.get(text.lower(), "")
        text = _ALIASES.get(text, text)
    if not text:
        raise InvalidTimezone(f"{name!r} is not an IANA time zone (like Europe/Paris)")
    try:
        ZoneInfo(text)
    except ZoneInfoNotFoundError as exc:  # pragma: no cover - listed zones always load
        raise InvalidTimezone(f"{name!r} is not an IANA time zone") from exc
    return text


@cache
def _country_zones() -> dict[str, list[str]]:
    table = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    zones: dict[str, list[str]] = {}
    for line in table.splitlines():
        if line and not line.startswith("#"):
            code, _coords, zone, *_ = line.split("\t")
            zones.setdefault(code, []).append(zone)
    return zones


def _country_code(part: str) -> str | None:
    if part in COUNTRY_ALIASES:
        return COUNTRY_ALIASES[part]
    if len(part) < 4:  # "CA", "IN", "DE" are more often regions or noise than countries here
        return None
    try:
        return str(pycountry.countries.lookup(part).alpha_2)
    except LookupError:
        return None


def _zone_of_country(code: str) -> str | None:
    zones = _country_zones().get(code, [])
    if len(zones) == 1:
        return zones[0]
    return MULTI_ZONE_COUNTRY_DEFAULT.get(code)


def _clean(part: str) -> str:
    part = " ".join(part.lower().split())
    previous = None
    while previous != part:
        previous, part = part, _NOISE.sub("", part).strip()
    return part


@lru_cache(maxsize=65_536)
def timezone_from_location(location: str) -> tuple[str, TimezoneSource] | None:
    """A zone for a LinkedIn-style location ("Lyon, Auvergne-Rhône-Alpes, France"), or None."""
    parts = [_clean(part) for part in re.split(r"[,/|]|\s+-\s+", location) if part.strip()]
    if not parts:
        return None
    for part in parts:
        if part in CITIES:
            return CITIES[part], TimezoneSource.CITY
    countries = [code for code in map(_country_code, reversed(parts)) if code]
    in_us_or_elsewhere = not countries or countries[0] in ("US", "CA", "AU", "GB")
    for index, part in enumerate(parts):
        short_code = len(part) <= 3
        if part in REGIONS and in_us_or_elsewhere and not (short_code and index == 0):
            if _country_code(part) and not short_code and not countries[1:]:
                continue  # "Georgia" alone is the country
            return REGIONS[part], TimezoneSource.REGION
    for code in countries:
        zone = _zone_of_country(code)
        if zone:
            return zone, TimezoneSource.COUNTRY
    return None


def resolve_timezone(
    explicit: str | None, location: str | None, default: str | None = None
) -> tuple[str | None, TimezoneSource]:
    """The lead's zone and its source; an invalid explicit zone raises `InvalidTimezone`."""
    if explicit and explicit.strip():
        return check_timezone(explicit), TimezoneSource.EXPLICIT
    if location and location.strip():
        found = timezone_from_location(location)
        if found:
            return found
    if default:
        return check_timezone(default), TimezoneSource.CAMPAIGN
    return None, TimezoneSource.UNKNOWN
