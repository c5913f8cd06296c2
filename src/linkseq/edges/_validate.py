"""Input checks done before any request: a bad lead or note never costs an API call.

Each check raises `InvalidInput` (a `BadInput` and a `ValueError`) with one clear sentence.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from importlib import resources

from linkseq.edges._errors import InvalidInput

__all__ = [
    "INVITATION_URN_RE",
    "MAX_MESSAGE",
    "MAX_NOTE",
    "PROFILE_URL_RE",
    "SEARCH_URL_RE",
    "canonical_timezone",
    "check_invitation_urn",
    "check_message",
    "check_note",
    "check_profile_url",
    "check_search_url",
    "check_timezone",
    "check_uid",
]

#: Profile URL accepted by connect/message/visit/InMail (API.md §3).
PROFILE_URL_RE = re.compile(
    r"^https://(?:(www|[a-z]{2})\.)?linkedin\.com/(?:in|pub|sales/people|sales/lead)/[^\s/]+"
)
#: People search URL accepted by linkedin-search-people (API.md §3).
SEARCH_URL_RE = re.compile(
    r"^https://(?:(www|[a-z]{2})\.)?linkedin\.com/search/results/(people|PEOPLE)/\?\S+"
)
INVITATION_URN_RE = re.compile(r"^urn:li:fsd_invitation:\d+$")
MAX_NOTE = 300
MAX_MESSAGE = 8000


def check_profile_url(url: str, *, field: str = "linkedin_profile_url") -> str:
    """Return `url` if it is a LinkedIn profile URL, else refuse it."""
    if not isinstance(url, str) or not PROFILE_URL_RE.match(url):
        raise InvalidInput(
            f"{field} {url!r} is not a LinkedIn profile URL "
            "(expected https://www.linkedin.com/in/<handle>)",
            field=field,
        )
    return url


def check_search_url(url: str) -> str:
    """Return `url` if it is a LinkedIn people-search URL, else refuse it."""
    if not isinstance(url, str) or not SEARCH_URL_RE.match(url):
        raise InvalidInput(
            f"search URL {url!r} is not a LinkedIn people search "
            "(expected https://www.linkedin.com/search/results/people/?…)",
            field="linkedin_people_search_url",
        )
    return url


def check_invitation_urn(urn: str) -> str:
    """Return `urn` if it looks like `urn:li:fsd_invitation:<digits>`."""
    if not isinstance(urn, str) or not INVITATION_URN_RE.match(urn):
        raise InvalidInput(
            f"invitation URN {urn!r} is not of the form urn:li:fsd_invitation:<digits>",
            field="linkedin_invitation_urn",
        )
    return urn


def check_note(note: str) -> str:
    """An invitation note: at most 300 characters (empty means no note)."""
    if len(note) > MAX_NOTE:
        raise InvalidInput(
            f"connection note is {len(note)} characters; LinkedIn allows at most {MAX_NOTE}",
            field="message",
        )
    return note


def check_message(message: str, *, field: str = "message") -> str:
    """A message body: not blank, at most 8,000 characters."""
    if not message.strip():
        raise InvalidInput(f"{field} is empty", field=field)
    if len(message) > MAX_MESSAGE:
        raise InvalidInput(
            f"{field} is {len(message)} characters; LinkedIn allows at most {MAX_MESSAGE}",
            field=field,
        )
    return message


def check_uid(uid: str, *, field: str = "identity_uid") -> str:
    """A non-empty identifier with no path separators (it is put in URLs)."""
    if not isinstance(uid, str) or not uid.strip() or "/" in uid or "?" in uid:
        raise InvalidInput(f"{field} {uid!r} is not a valid identifier", field=field)
    return uid


def check_timezone(name: str) -> str:
    """Return `name` if it is a canonical IANA timezone; refuse aliases with the right name."""
    canonical, aliases = _zones()
    if name in canonical:
        return name
    if name in aliases:
        target = aliases[name]
        raise InvalidInput(
            f"timezone {name!r} is an alias; use the canonical IANA name {target!r}",
            field="timezone",
            suggestion=target,
        )
    close = difflib.get_close_matches(name, sorted(canonical), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise InvalidInput(
        f"timezone {name!r} is not an IANA timezone{hint}",
        field="timezone",
        suggestion=close[0] if close else None,
    )


def canonical_timezone(name: str) -> str | None:
    """The canonical IANA name for `name` (itself, or the zone an alias points to)."""
    canonical, aliases = _zones()
    if name in canonical:
        return name
    return aliases.get(name)


@lru_cache(maxsize=1)
def _zones() -> tuple[frozenset[str], dict[str, str]]:
    """Canonical names and alias → canonical, from the tzdata package's own source files.

    Canonical = a `Zone` in tzdata.zi, or a name listed in zone.tab / zone1970.tab (so country
    zones that tzdata merged into links, e.g. Europe/Oslo, stay accepted), plus UTC.
    """
    base = resources.files("tzdata").joinpath("zoneinfo")
    zones: set[str] = {"UTC", "Etc/UTC"}
    links: dict[str, str] = {}
    for line in base.joinpath("tzdata.zi").read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "Z":
            zones.add(parts[1])
        elif len(parts) == 3 and parts[0] == "L":
            links[parts[2]] = parts[1]
    for table in ("zone.tab", "zone1970.tab"):
        for line in base.joinpath(table).read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                cols = line.split("\t")
                if len(cols) >= 3:
                    zones.add(cols[2])
    aliases: dict[str, str] = {}
    for alias, target in links.items():
        if alias in zones:
            continue
        seen = {alias}
        while target in links and target not in zones and target not in seen:
            seen.add(target)
            target = links[target]
        aliases[alias] = target
    return frozenset(zones), aliases
