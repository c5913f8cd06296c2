"""Writing incoming leads: merge with what the database knows, insert the rest in chunks.

Speed matters here (100,000 rows in seconds), so this module works with Core statements and
`executemany`, never one ORM object per row. Existing leads only ever gain information: a blank
field is filled, a known one is never overwritten.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.leads.records import MERGEABLE, LeadRecord
from linkseq.store.enums import EnrollmentState, TimezoneSource
from linkseq.store.models import AuditEvent, Enrollment, Lead, profile_url_hash

__all__ = ["CHUNK", "WriteResult", "dedupe_records", "write_leads"]

CHUNK = 2_000
_LEADS = cast(sa.Table, Lead.__table__)
_ENROLLMENTS = cast(sa.Table, Enrollment.__table__)
_AUDIT = cast(sa.Table, AuditEvent.__table__)
# `perform` holds a lead whose step cannot be written (a template variable it lacks): no next
# action, and this prefix on its reason (`linkseq.engine.actions`)
HELD_PREFIX = "held: "
_STEP_STATES = (EnrollmentState.READY, EnrollmentState.CONNECTED, EnrollmentState.MESSAGED)


@dataclass(slots=True)
class WriteResult:
    """What happened to the records written."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    forgotten: int = 0
    # lead id of every record written (created, updated or unchanged), in input order.
    lead_ids: list[int] | None = None
    # enrollments held for data their step lacked, of leads this write enriched: due again
    retried: int = 0


def dedupe_records(records: Iterable[LeadRecord]) -> tuple[list[LeadRecord], int]:
    """Merge records of the same person (same canonical URL); the count of merged duplicates."""
    by_url: dict[str, LeadRecord] = {}
    by_profile_id: dict[str, LeadRecord] = {}
    merged = 0
    for record in records:
        first = by_url.get(record.profile_url) or (
            by_profile_id.get(record.linkedin_profile_id) if record.linkedin_profile_id else None
        )
        if first is not None:
            first.absorb(record)
            merged += 1
            continue
        by_url[record.profile_url] = record
        if record.linkedin_profile_id:
            by_profile_id[record.linkedin_profile_id] = record
    return list(by_url.values()), merged


def _existing(session: Session, chunk: Sequence[LeadRecord]) -> dict[str, sa.Row[Any]]:
    """Known leads matching the chunk by URL, else by LinkedIn or Sales Navigator id."""
    columns = (
        [_LEADS.c.id, _LEADS.c.profile_url, _LEADS.c.custom_fields]
        + [_LEADS.c[name] for name in MERGEABLE]
        + [_LEADS.c.timezone_source]
    )
    urls = [record.profile_url for record in chunk]
    found = {
        row.profile_url: row
        for row in session.execute(sa.select(*columns).where(_LEADS.c.profile_url.in_(urls)))
    }
    missing = [record for record in chunk if record.profile_url not in found]
    profile_ids = [r.linkedin_profile_id for r in missing if r.linkedin_profile_id]
    sales_ids = [r.sales_navigator_id for r in missing if r.sales_navigator_id]
    if profile_ids or sales_ids:
        query = sa.select(*columns).where(
            sa.or_(
                _LEADS.c.linkedin_profile_id.in_(profile_ids),
                _LEADS.c.sales_navigator_id.in_(sales_ids),
            )
        )
        rows = list(session.execute(query))
        by_pid = {row.linkedin_profile_id: row for row in rows if row.linkedin_profile_id}
        by_sid = {row.sales_navigator_id: row for row in rows if row.sales_navigator_id}
        for record in missing:
            row = by_pid.get(record.linkedin_profile_id or "") or by_sid.get(
                record.sales_navigator_id or ""
            )
            if row is not None:
                found[record.profile_url] = row
    return found


def _changes(
    record: LeadRecord,
    row: Any,
    decode: Callable[[str | None], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What `record` adds to the known `row` (a Core row, or `_Known` with its JSON decoder)."""
    changes: dict[str, Any] = {}
    for name in MERGEABLE:
        new = getattr(record, name)
        if new is not None and getattr(row, name) is None:
            changes[name] = new
    if "timezone" in changes:
        changes["timezone_source"] = record.timezone_source
    elif row.timezone is None and record.timezone_source is TimezoneSource.CAMPAIGN:
        changes["timezone_source"] = TimezoneSource.CAMPAIGN
    custom = decode(row.custom_fields) if decode is not None else (row.custom_fields or {})
    added = {k: v for k, v in record.custom_fields.items() if k not in custom}
    if added:
        changes["custom_fields"] = {**custom, **added}
    return changes


def write_leads(
    session: Session,
    records: Sequence[LeadRecord],
    *,
    now: datetime,
    source: str = "csv",
    progress: Callable[[int], None] | None = None,
    bulk: bool | None = None,
    allow_forgotten: bool = False,
) -> WriteResult:
    """Insert new leads and enrich known ones; deduplicate `records` first with `dedupe_records`.

    `bulk` (default: on SQLite) takes the DB-API path of `_SqliteBulk`, which stores exactly
    what the general Core path stores (a test checks both on varied files). A person who asked
    to be forgotten (their URL's hash in `forgotten_hash`) is skipped, unless `allow_forgotten`
    (they asked to be back) or a live lead with their URL exists again.
    """
    if bulk is None:
        bulk = session.connection().dialect.name == "sqlite"
    result = WriteResult(lead_ids=[])
    forgotten: set[str] = set()
    if not allow_forgotten:
        forgotten_query = sa.select(_LEADS.c.forgotten_hash).where(
            _LEADS.c.forgotten_hash.is_not(None)
        )
        forgotten = set(session.execute(forgotten_query).scalars())
    fast = _SqliteBulk(session, now, source) if bulk else None
    updated: list[int] = []
    try:
        _write_chunks(session, records, now, source, progress, forgotten, fast, result, updated)
    finally:
        if fast is not None:
            fast.close()
    result.retried = retry_held(session, updated, now=now)
    return result


def retry_held(session: Session, lead_ids: Sequence[int], *, now: datetime) -> int:
    """Make the held steps of `lead_ids` due again: enrollments whose step could not be written
    for lack of the lead's data (a missing template variable) and that wait for nothing else.

    Called when those leads gained data: the next pass renders the step again, and holds the
    lead again with the reason if what it needs is still missing. One UPDATE … RETURNING per
    chunk, its WHERE the held conditions (a lead that replied meanwhile is not touched); each
    enrollment moved gets an audit row (its history shows why it moved), and its version is
    bumped, so an engine holding a stale copy of it writes nothing over this. The caller
    commits. Returns the count.
    """
    reason = "the lead's data changed: its held step is tried again"
    moved: list[Any] = []
    for start in range(0, len(lead_ids), CHUNK):
        moved.extend(
            session.execute(
                sa.update(_ENROLLMENTS)
                .where(
                    _ENROLLMENTS.c.lead_id.in_(lead_ids[start : start + CHUNK]),
                    _ENROLLMENTS.c.state.in_(_STEP_STATES),
                    _ENROLLMENTS.c.next_action_at.is_(None),
                    _ENROLLMENTS.c.reason.startswith(HELD_PREFIX, autoescape=True),
                )
                .values(
                    next_action_at=now,
                    reason=reason,
                    updated_at=now,
                    version=_ENROLLMENTS.c.version + 1,
                )
                .returning(_ENROLLMENTS.c.id, _ENROLLMENTS.c.lead_id, _ENROLLMENTS.c.state)
            ).all()
        )
    if moved:
        session.execute(
            sa.insert(_AUDIT),
            [
                {
                    "enrollment_id": row.id,
                    "lead_id": row.lead_id,
                    "from_state": EnrollmentState(row.state).value,
                    "to_state": EnrollmentState(row.state).value,
                    "reason": reason,
                    "at": now,
                    "details": {"event": "retried"},
                }
                for row in moved
            ],
        )
    return len(moved)


def _write_chunks(
    session: Session,
    records: Sequence[LeadRecord],
    now: datetime,
    source: str,
    progress: Callable[[int], None] | None,
    forgotten: set[str],
    fast: _SqliteBulk | None,
    result: WriteResult,
    updated: list[int],
) -> None:
    """Write `records` chunk by chunk; the ids of the known leads they enriched go to
    `updated`."""
    assert result.lead_ids is not None
    for start in range(0, len(records), CHUNK):
        chunk = list(records[start : start + CHUNK])
        if forgotten:
            chunk = _without_forgotten(session, chunk, forgotten)
        result.forgotten += min(CHUNK, len(records) - start) - len(chunk)
        existing = fast.existing(chunk) if fast is not None else _existing(session, chunk)
        news: list[LeadRecord] = []
        updates: list[dict[str, Any]] = []
        for record in chunk:
            row = existing.get(record.profile_url)
            if row is None:
                news.append(record)
                continue
            changes = (
                fast.changes(record, cast(_Known, row))
                if fast is not None
                else _changes(record, row)
            )
            if changes:
                updates.append({"_id": row.id, "updated_at": now, **changes})
            else:
                result.unchanged += 1
        ids: dict[str, int] = {}
        if news:
            if fast is not None:
                ids = fast.insert(news)
            else:
                # A plain executemany, then one SELECT for the new rows' ids: on SQLite, INSERT …
                # RETURNING with many rows runs one statement per row (measured 3x slower).
                session.execute(
                    sa.insert(_LEADS), [_insert_values(record, now, source) for record in news]
                )
                ids = _ids_by_url(session, [record.profile_url for record in news])
            result.created += len(news)
        for update in updates:  # few in practice; each may touch different columns
            lead_id = update.pop("_id")
            updated.append(lead_id)
            session.execute(sa.update(_LEADS).where(_LEADS.c.id == lead_id).values(**update))
        result.updated += len(updates)
        for record in chunk:
            lead_id = ids.get(record.profile_url) or existing[record.profile_url].id
            result.lead_ids.append(lead_id)
        if progress is not None:
            progress(min(CHUNK, len(records) - start))


# Columns read back for merging: what `_changes` looks at.
_MERGE_COLUMNS = ("id", "profile_url", "custom_fields", *MERGEABLE)
_INSERT_COLUMNS = (
    "profile_url",
    *MERGEABLE,
    "timezone_source",
    "custom_fields",
    "source",
    "forgotten_hash",
    "created_at",
    "updated_at",
)
# Well under SQLite's smallest limit on bound parameters (999 before 3.32).
_IN_BATCH = 900


class _Known(NamedTuple):
    """A known lead as `_SqliteBulk` reads it: raw column values, `custom_fields` as JSON text."""

    id: int
    profile_url: str
    custom_fields: str | None
    linkedin_profile_id: str | None
    sales_navigator_id: str | None
    full_name: str | None
    first_name: str | None
    last_name: str | None
    company_name: str | None
    email: str | None
    location: str | None
    timezone: str | None


assert _Known._fields == _MERGE_COLUMNS
_MERGED_FIELDS = attrgetter(*MERGEABLE)  # a record's MERGEABLE values, as `_Known` has them


class _SqliteBulk:
    """Reads and inserts through the DB-API cursor of the session's own connection (and so its
    transaction), with values converted by the column types' own bind processors: the per-row,
    per-column parameter processing of Core is what costs most at 100,000 rows."""

    def __init__(self, session: Session, now: datetime, source: str) -> None:
        connection = session.connection()
        dialect = connection.dialect
        self._connection = connection

        def processor(name: str) -> Callable[[Any], Any]:
            column_type = _LEADS.c[name].type
            process = column_type.dialect_impl(dialect).bind_processor(dialect)
            return process if process is not None else (lambda value: value)

        self._stamp = processor("created_at")(now)
        assert processor("updated_at")(now) == self._stamp
        self._source = processor("source")(source)
        self._zone_source = processor("timezone_source")
        self._zone_sources: dict[TimezoneSource, Any] = {}
        self._json = processor("custom_fields")
        self._encoded: dict[tuple[tuple[str, str], ...], Any] = {}
        self._decoded: dict[str, dict[str, Any]] = {}
        self._cursor = connection.connection.cursor()
        names = ", ".join(_INSERT_COLUMNS)
        marks = ", ".join("?" for _ in _INSERT_COLUMNS)
        self._insert_sql = f"INSERT INTO {_LEADS.name} ({names}) VALUES ({marks})"
        self._select_sql = f"SELECT {', '.join(_MERGE_COLUMNS)} FROM {_LEADS.name} WHERE "

    def close(self) -> None:
        """Close the DB-API cursor (the connection and its transaction stay the session's)."""
        self._cursor.close()

    def _select(self, column: str, values: Sequence[str]) -> list[_Known]:
        rows: list[_Known] = []
        for start in range(0, len(values), _IN_BATCH):
            batch = tuple(values[start : start + _IN_BATCH])
            marks = ", ".join("?" * len(batch))
            sql = f"{self._select_sql}{column} IN ({marks})"
            self._cursor.execute(sql, batch)
            rows.extend(map(_Known._make, self._cursor.fetchall()))
        return rows

    def existing(self, chunk: Sequence[LeadRecord]) -> dict[str, _Known]:
        """Known leads matching the chunk by URL, else by LinkedIn or Sales Navigator id."""
        found = {row.profile_url: row for row in self._select("profile_url", _urls(chunk))}
        missing = [record for record in chunk if record.profile_url not in found]
        profile_ids = [r.linkedin_profile_id for r in missing if r.linkedin_profile_id]
        sales_ids = [r.sales_navigator_id for r in missing if r.sales_navigator_id]
        if profile_ids or sales_ids:
            rows = self._select("linkedin_profile_id", profile_ids) + self._select(
                "sales_navigator_id", sales_ids
            )
            by_pid = {row.linkedin_profile_id: row for row in rows if row.linkedin_profile_id}
            by_sid = {row.sales_navigator_id: row for row in rows if row.sales_navigator_id}
            for record in missing:
                row = by_pid.get(record.linkedin_profile_id or "") or by_sid.get(
                    record.sales_navigator_id or ""
                )
                if row is not None:
                    found[record.profile_url] = row
        return found

    def custom_fields(self, text: str | None) -> dict[str, Any]:
        """A known lead's custom fields, decoded once per distinct JSON text (never mutated)."""
        if text is None:
            return {}
        decoded = self._decoded.get(text)
        if decoded is None:
            if len(self._decoded) >= 4096:
                self._decoded.clear()
            decoded = self._decoded[text] = json.loads(text) or {}
        return decoded

    def _custom_json(self, fields: dict[str, Any]) -> Any:
        # Many rows share their custom fields (a "title" column): encode each distinct set once.
        # Only all-text sets are cached, so that 1, 1.0 and True never share an entry.
        if not all(type(value) is str for value in fields.values()):
            return self._json(fields)
        key = tuple(fields.items())
        encoded = self._encoded.get(key)
        if encoded is None:
            if len(self._encoded) >= 4096:
                self._encoded.clear()
            encoded = self._encoded[key] = self._json(fields)
        return encoded

    def changes(self, record: LeadRecord, row: _Known) -> dict[str, Any]:
        """`_changes`, with a shortcut for the usual re-import: the same values as stored."""
        if _MERGED_FIELDS(record) == row[3:] and (
            row.timezone is not None or record.timezone_source is not TimezoneSource.CAMPAIGN
        ):
            custom = record.custom_fields
            if not custom or custom.keys() <= self.custom_fields(row.custom_fields).keys():
                return {}
        return _changes(record, row, self.custom_fields)

    def insert(self, records: Sequence[LeadRecord]) -> dict[str, int]:
        """Insert `records` (all new); their ids by URL."""
        stamp, source, to_json = self._stamp, self._source, self._custom_json
        zone_sources = self._zone_sources
        rows = []
        for r in records:
            zone_source = zone_sources.get(r.timezone_source)
            if zone_source is None:
                zone_source = zone_sources[r.timezone_source] = self._zone_source(r.timezone_source)
            rows.append(
                (
                    r.profile_url,
                    r.linkedin_profile_id,
                    r.sales_navigator_id,
                    r.full_name,
                    r.first_name,
                    r.last_name,
                    r.company_name,
                    r.email,
                    r.location,
                    r.timezone,
                    zone_source,
                    to_json(r.custom_fields),
                    source,
                    None,
                    stamp,
                    stamp,
                )
            )
        self._connection.exec_driver_sql(self._insert_sql, rows)
        query = self._select_sql.replace(", ".join(_MERGE_COLUMNS), "profile_url, id", 1)
        ids: dict[str, int] = {}
        urls = _urls(records)
        for start in range(0, len(urls), _IN_BATCH):
            batch = tuple(urls[start : start + _IN_BATCH])
            sql = f"{query}profile_url IN ({', '.join('?' * len(batch))})"
            self._cursor.execute(sql, batch)
            ids.update(self._cursor.fetchall())
        return ids


def _urls(records: Sequence[LeadRecord]) -> list[str]:
    return [record.profile_url for record in records]


def _without_forgotten(
    session: Session, chunk: list[LeadRecord], forgotten: set[str]
) -> list[LeadRecord]:
    """The chunk minus forgotten people (those re-imported with `allow_forgotten` stay)."""
    hit = [r for r in chunk if profile_url_hash(r.profile_url) in forgotten]
    if not hit:
        return chunk
    back = set(_ids_by_url(session, [r.profile_url for r in hit]))
    drop = {id(r) for r in hit if r.profile_url not in back}
    return [r for r in chunk if id(r) not in drop]


def _ids_by_url(session: Session, urls: list[str]) -> dict[str, int]:
    query = sa.select(_LEADS.c.profile_url, _LEADS.c.id).where(_LEADS.c.profile_url.in_(urls))
    return {row[0]: row[1] for row in session.execute(query)}


def _insert_values(record: LeadRecord, now: datetime, source: str) -> dict[str, Any]:
    return {
        "profile_url": record.profile_url,
        "linkedin_profile_id": record.linkedin_profile_id,
        "sales_navigator_id": record.sales_navigator_id,
        "full_name": record.full_name,
        "first_name": record.first_name,
        "last_name": record.last_name,
        "company_name": record.company_name,
        "email": record.email,
        "location": record.location,
        "timezone": record.timezone,
        "timezone_source": record.timezone_source,
        "custom_fields": record.custom_fields,
        "source": source,
        "forgotten_hash": None,
        "created_at": now,
        "updated_at": now,
    }
