"""One person, one URL: LinkedIn profile URLs reduced to a single canonical form.

    https://www.linkedin.com/in/<handle>          a member profile (handle lower-cased)
    https://www.linkedin.com/sales/lead/<id>      a Sales Navigator lead (id kept as is)

What is folded: scheme (http, none), host (`linkedin.com`, `www.`, country subdomains `fr.`,
mobile `m.`), `/mwlite/`, trailing slashes and sub-pages (`/in/x/details/...`), query and
fragment, case, percent-encoding and Unicode normal form. Handles that are member ids
(`ACoAA...`) keep their case, since those are case-sensitive. Old public URLs
`/pub/<name>/<a>/<b>/<c>` follow LinkedIn's redirect rule to `/in/<name>-<c><b><a>`, with the
lower hex groups padded to three digits. Old `/profile/view?id=<id>` becomes `/in/<id>`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = [
    "CANONICAL_PREFIX",
    "InvalidProfileUrl",
    "ProfileUrl",
    "normalize_profile_url",
    "plain_profile_handle",
]

CANONICAL_PREFIX = "https://www.linkedin.com"
_HOST = re.compile(r"^(?:(?:www|m|mobile|[a-z]{2})\.)?linkedin\.com$")
# A handle after decoding: letters (any script), digits, and - _ . ; no separators or escapes.
_HANDLE = re.compile(r"^[^\W][\w\-.\u0300-\u036f]{1,99}$")
_MEMBER_ID = re.compile(r"^AC[a-zA-Z0-9_-]{20,}$", re.IGNORECASE)
_SALES_ID = re.compile(r"^[A-Za-z0-9_-]{6,}$")
_HEX = re.compile(r"^[0-9a-f]{1,3}$")


class InvalidProfileUrl(ValueError):
    """The text is not a LinkedIn profile URL; the message says why."""


@dataclass(frozen=True, slots=True)
class ProfileUrl:
    """A canonical profile URL and what it identifies."""

    url: str
    handle: str | None = None
    sales_navigator_id: str | None = None


def _clean_handle(raw: str) -> str:
    handle = unicodedata.normalize("NFC", unquote(raw).strip())
    if not _MEMBER_ID.match(handle):
        # Lower-casing can leave a non-NFC sequence ("İ"): normalise again, or it is not idempotent.
        handle = unicodedata.normalize("NFC", handle.lower())
    if not _HANDLE.match(handle):
        raise InvalidProfileUrl(f"{raw!r} is not a LinkedIn profile handle")
    return handle


def _pub_handle(parts: list[str]) -> str:
    # /pub/<name>/<a>/<b>/<c>  ->  <name>-<c><b><a> (LinkedIn's own redirect).
    name, *groups = parts
    groups = [group.lower() for group in groups]
    if len(groups) != 3 or not all(_HEX.match(group) for group in groups):
        raise InvalidProfileUrl("an old /pub/ URL needs three hex groups after the name")
    first, second, third = groups
    return f"{_clean_handle(name)}-{third.zfill(3)}{second.zfill(3)}{first}"


# The common case, `https://www.linkedin.com/in/<ascii-handle>[/][?…|#…|/…]`, without urlsplit,
# unquoting or Unicode work: same result as the general path below (a test checks they agree).
_PLAIN = re.compile(
    r"^https?://(?:www\.)?linkedin\.com/in/([A-Za-z0-9_][A-Za-z0-9_-]{1,99})(?:[/?#].*)?$", re.S
)


def plain_profile_handle(text: str) -> str | None:
    """The canonical handle of a plain `/in/<ascii-handle>` URL (`text` already stripped), or
    None when it needs the general path of `normalize_profile_url`."""
    plain = _PLAIN.match(text)
    if plain is None:
        return None
    handle = plain.group(1)
    return handle if _MEMBER_ID.match(handle) else handle.lower()


def normalize_profile_url(raw: str) -> ProfileUrl:
    """The canonical form of a LinkedIn profile URL; raises `InvalidProfileUrl` otherwise."""
    text = raw.strip()
    handle = plain_profile_handle(text)
    if handle is not None:
        return ProfileUrl(url=f"{CANONICAL_PREFIX}/in/{handle}", handle=handle)
    return _normalize_general(raw, text)


def _normalize_general(raw: str, text: str) -> ProfileUrl:
    """Every form of profile URL (the slow path); `text` is `raw` stripped."""
    if not text:
        raise InvalidProfileUrl("empty profile URL")
    if "://" not in text:
        text = "https://" + text.lstrip("/")
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise InvalidProfileUrl(f"{raw!r} is not a URL") from exc
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() not in ("http", "https") or not _HOST.match(host):
        raise InvalidProfileUrl(f"{raw!r} is not a linkedin.com URL")
    segments = [segment for segment in parts.path.split("/") if segment]
    if segments[:1] == ["mwlite"]:
        segments = segments[1:]
    kind = segments[0].lower() if segments else ""
    if kind == "in" and len(segments) >= 2:
        handle = _clean_handle(segments[1])
        return ProfileUrl(url=f"{CANONICAL_PREFIX}/in/{handle}", handle=handle)
    if kind == "pub" and len(segments) >= 5:
        handle = _pub_handle(segments[1:5])
        return ProfileUrl(url=f"{CANONICAL_PREFIX}/in/{handle}", handle=handle)
    if kind == "pub" and len(segments) == 2:
        # /pub/<handle> is the same member as /in/<handle> (LinkedIn redirects it)
        handle = _clean_handle(segments[1])
        return ProfileUrl(url=f"{CANONICAL_PREFIX}/in/{handle}", handle=handle)
    if kind == "sales" and len(segments) >= 3 and segments[1].lower() in ("lead", "people"):
        sales_id = unquote(segments[2]).split(",")[0].strip()
        if not _SALES_ID.match(sales_id):
            raise InvalidProfileUrl(f"{raw!r} has no Sales Navigator lead id")
        url = f"{CANONICAL_PREFIX}/sales/lead/{sales_id}"
        return ProfileUrl(url=url, sales_navigator_id=sales_id)
    if kind == "profile" and segments[1:2] == ["view"]:
        member = parse_qs(parts.query).get("id", [""])[0]
        if member:
            handle = _clean_handle(member)
            return ProfileUrl(url=f"{CANONICAL_PREFIX}/in/{handle}", handle=handle)
    raise InvalidProfileUrl(f"{raw!r} is not a LinkedIn profile URL (expected /in/<handle>)")
