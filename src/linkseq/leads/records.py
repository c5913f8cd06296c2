"""A lead as it comes in (from a CSV row or a search result), before it meets the database."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from linkseq.leads.timezones import InvalidTimezone, resolve_timezone
from linkseq.leads.urls import (
    CANONICAL_PREFIX,
    InvalidProfileUrl,
    normalize_profile_url,
    plain_profile_handle,
)
from linkseq.store.enums import TimezoneSource

__all__ = [
    "KNOWN_COLUMNS",
    "MERGEABLE",
    "URL_COLUMNS",
    "BadRow",
    "ColumnPlan",
    "LeadRecord",
    "RowBuilder",
    "RowError",
    "compile_row_builder",
    "record_from_cells",
    "record_from_mapping",
]

# Accepted spellings of the URL column, best first.
URL_COLUMNS = ("linkedin_profile_url", "linkedin_url", "profile_url", "linkedin")
_ALIASES = {"name": "full_name", "company": "company_name", "time_zone": "timezone"}
MERGEABLE = (
    "linkedin_profile_id",
    "sales_navigator_id",
    "full_name",
    "first_name",
    "last_name",
    "company_name",
    "email",
    "location",
    "timezone",
)
KNOWN_COLUMNS = frozenset(
    {*URL_COLUMNS, *MERGEABLE, *_ALIASES, "sales_navigator_profile_id", "linkedin_profile_id"}
)
_LIMITS = {
    "full_name": 300,
    "first_name": 200,
    "last_name": 200,
    "company_name": 300,
    "email": 320,
    "location": 300,
    "linkedin_profile_id": 64,
    "sales_navigator_id": 128,
}


class RowError(ValueError):
    """A row that cannot become a lead; the message is the reason shown to the user."""


@dataclass(frozen=True, slots=True)
class BadRow:
    """A rejected row: where it is and why."""

    line: int
    reason: str


@dataclass(slots=True)
class LeadRecord:
    """A normalised incoming lead."""

    line: int
    profile_url: str
    linkedin_profile_id: str | None = None
    sales_navigator_id: str | None = None
    full_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    email: str | None = None
    location: str | None = None
    timezone: str | None = None
    timezone_source: TimezoneSource = TimezoneSource.UNKNOWN
    custom_fields: dict[str, Any] = field(default_factory=dict)

    def absorb(self, other: LeadRecord) -> None:
        """Fill this record's blanks from `other` (a later duplicate of the same person)."""
        for name in MERGEABLE:
            if getattr(self, name) is None and getattr(other, name) is not None:
                setattr(self, name, getattr(other, name))
                if name == "timezone":
                    self.timezone_source = other.timezone_source
        for key, value in other.custom_fields.items():
            self.custom_fields.setdefault(key, value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """How a header maps to a lead, worked out once per file instead of once per row.

    Like a dict built from the row, a key that appears in several columns takes the value of its
    last column; keys keep the order of their first column.
    """

    width: int
    url_indices: tuple[int, ...]
    field_indices: tuple[tuple[str, int], ...]
    custom_indices: tuple[tuple[str, int], ...]

    @classmethod
    def from_header(cls, header: Sequence[str]) -> ColumnPlan:
        """The plan of one header (CSV keys, or a mapping's keys)."""
        last: dict[str, int] = {}
        for index, key in enumerate(header):
            last[key] = index
        fields: list[tuple[str, int]] = []
        custom: list[tuple[str, int]] = []
        for key, index in last.items():
            name = _ALIASES.get(key, key)
            if name == "sales_navigator_profile_id":
                name = "sales_navigator_id"
            if name in URL_COLUMNS:
                continue
            if name in MERGEABLE:
                fields.append((name, index))
            else:
                custom.append((key, index))
        urls = tuple(last[col] for col in URL_COLUMNS if col in last)
        return cls(len(header), urls, tuple(fields), tuple(custom))


_plan_cache: dict[tuple[str, ...], ColumnPlan] = {}


def record_from_mapping(
    line: int, values: Mapping[str, Any], *, default_timezone: str | None = None
) -> LeadRecord:
    """Build a `LeadRecord` from column → value; raises `RowError` with the reason."""
    keys = tuple(values)
    plan = _plan_cache.get(keys)
    if plan is None:
        plan = _plan_cache[keys] = ColumnPlan.from_header(keys)
        if len(_plan_cache) > 256:
            _plan_cache.clear()
    return record_from_cells(line, list(values.values()), plan, default_timezone=default_timezone)


def record_from_cells(
    line: int, cells: Sequence[Any], plan: ColumnPlan, *, default_timezone: str | None = None
) -> LeadRecord:
    """Build a `LeadRecord` from one row's cells laid out as `plan` says; raises `RowError`."""
    size = len(cells)
    raw_url = None
    for index in plan.url_indices:
        if index < size:
            raw_url = _text(cells[index])
            if raw_url is not None:
                break
    if raw_url is None:
        raise RowError("no LinkedIn profile URL")
    try:
        parsed = normalize_profile_url(raw_url)
    except InvalidProfileUrl as exc:
        raise RowError(str(exc)) from None
    fields: dict[str, str | None] = {}
    for name, index in plan.field_indices:
        if index < size and fields.get(name) is None:
            fields[name] = _text(cells[index])
    custom: dict[str, Any] = {}
    for key, index in plan.custom_indices:
        if index < size:
            value = cells[index]
            if _text(value) is not None:
                custom[key] = value.strip() if isinstance(value, str) else value
    for name, limit in _LIMITS.items():
        text = fields.get(name)
        if text is not None and len(text) > limit:
            raise RowError(f"{name} is longer than {limit} characters")
    email = fields.get("email")
    if email is not None and ("@" not in email or " " in email):
        raise RowError(f"email {email!r} is not an e-mail address")
    try:
        zone, source = resolve_timezone(
            fields.get("timezone"), fields.get("location"), default_timezone
        )
    except InvalidTimezone as exc:
        raise RowError(str(exc)) from None
    full_name = fields.get("full_name")
    if full_name is None and (fields.get("first_name") or fields.get("last_name")):
        full_name = " ".join(p for p in (fields.get("first_name"), fields.get("last_name")) if p)
    return LeadRecord(
        line=line,
        profile_url=parsed.url,
        linkedin_profile_id=fields.get("linkedin_profile_id"),
        sales_navigator_id=parsed.sales_navigator_id or fields.get("sales_navigator_id"),
        full_name=full_name,
        first_name=fields.get("first_name"),
        last_name=fields.get("last_name"),
        company_name=fields.get("company_name"),
        email=email,
        location=fields.get("location"),
        timezone=zone,
        timezone_source=source,
        custom_fields=custom,
    )


# Builds a record from one CSV row's cells (strings), or raises `RowError`.
RowBuilder = Callable[[int, list[str]], LeadRecord]
_ZONE_CACHE_MAX = 65_536


def compile_row_builder(plan: ColumnPlan, *, default_timezone: str | None = None) -> RowBuilder:
    """`record_from_cells` specialised for one file's plan, for rows of strings.

    Same records and the same `RowError`s as `record_from_cells` (a test checks they agree), but
    column indexes, limits and the e-mail check are resolved once, short rows are padded once,
    and time zones are resolved once per distinct (timezone, location) pair.
    """
    width = plan.width
    url_indices = plan.url_indices
    # Each field: the indexes that may hold it, in the plan's order (first non-blank wins).
    by_name: dict[str, list[int]] = {}
    for name, index in plan.field_indices:
        by_name.setdefault(name, []).append(index)
    slots = {name: position for position, name in enumerate(MERGEABLE)}
    field_slots = tuple((slots[name], tuple(indices)) for name, indices in by_name.items())
    limits = tuple((name, slots[name], limit) for name, limit in _LIMITS.items() if name in by_name)
    custom_indices = plan.custom_indices
    blank: tuple[str | None, ...] = (None,) * len(MERGEABLE)
    zones: dict[tuple[str | None, str | None], tuple[str | None, TimezoneSource] | str] = {}
    plain_handle = plain_profile_handle
    pid, sid, full, first, last, company, mail, place, tz = range(len(MERGEABLE))
    assert (MERGEABLE[tz], MERGEABLE[place]) == ("timezone", "location")
    assert (MERGEABLE[full], MERGEABLE[mail]) == ("full_name", "email")

    def build(line: int, cells: list[str]) -> LeadRecord:
        if len(cells) < width:  # a missing cell reads like a blank one
            cells = cells + [""] * (width - len(cells))
        raw_url = None
        for index in url_indices:
            text = cells[index].strip()
            if text:
                raw_url = text
                break
        if raw_url is None:
            raise RowError("no LinkedIn profile URL")
        handle = plain_handle(raw_url)
        if handle is not None:
            url, sales_id = f"{CANONICAL_PREFIX}/in/{handle}", None
        else:
            try:
                parsed = normalize_profile_url(raw_url)
            except InvalidProfileUrl as exc:
                raise RowError(str(exc)) from None
            url, sales_id = parsed.url, parsed.sales_navigator_id
        values = list(blank)
        for slot, indices in field_slots:
            for index in indices:
                text = cells[index].strip()
                if text:
                    values[slot] = text
                    break
        custom: dict[str, Any] = {}
        for key, index in custom_indices:
            text = cells[index].strip()
            if text:
                custom[key] = text
        for name, slot, limit in limits:
            value = values[slot]
            if value is not None and len(value) > limit:
                raise RowError(f"{name} is longer than {limit} characters")
        email = values[mail]
        if email is not None and ("@" not in email or " " in email):
            raise RowError(f"email {email!r} is not an e-mail address")
        where = (values[tz], values[place])
        zone = zones.get(where)
        if zone is None:
            try:
                zone = resolve_timezone(where[0], where[1], default_timezone)
            except InvalidTimezone as exc:
                zone = str(exc)
            if len(zones) >= _ZONE_CACHE_MAX:
                zones.clear()
            zones[where] = zone
        if isinstance(zone, str):
            raise RowError(zone)
        full_name = values[full]
        if full_name is None and (values[first] or values[last]):
            full_name = " ".join(p for p in (values[first], values[last]) if p)
        return LeadRecord(
            line,
            url,
            values[pid],
            sales_id or values[sid],
            full_name,
            values[first],
            values[last],
            values[company],
            email,
            values[place],
            zone[0],
            zone[1],
            custom,
        )

    return build
