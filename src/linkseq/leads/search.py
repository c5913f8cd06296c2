"""Leads from a LinkedIn people search, through an injected search function.

The search function is `search(url, max_results) -> rows`, each row a `linkedin-search-people`
output object (API.md §3). The CLI builds one from the Edges client; tests pass a plain function.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy.orm import Session

from linkseq.errors import InputError
from linkseq.leads.enroll import campaign_by_name, enroll_leads
from linkseq.leads.records import BadRow, LeadRecord, RowError, record_from_mapping
from linkseq.leads.writer import dedupe_records, write_leads

__all__ = ["SEARCH_URL", "SearchFunction", "SearchReport", "source_from_search"]

SearchFunction = Callable[[str, int], Iterable[Mapping[str, Any]]]
SEARCH_URL = re.compile(
    r"^https://(?:(www|[a-z]{2})\.)?linkedin\.com/search/results/people/\?\S+$", re.I
)
# Search output fields kept as custom fields for templates.
_EXTRA = ("job_title", "current_title", "headline", "connection_degree", "profile_image_url")


@dataclass(slots=True)
class SearchReport:
    """What a search brought in."""

    found: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    enrolled: int = 0
    retried: int = 0  # leads' held steps due again now that the leads gained data
    bad: list[BadRow] | None = None


def _mapping(row: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {
        key: row.get(key)
        for key in ("full_name", "first_name", "last_name", "company_name", "location")
    }
    values["linkedin_profile_url"] = row.get("linkedin_profile_url")
    if not values["linkedin_profile_url"] and row.get("linkedin_profile_handle"):
        values["linkedin_profile_url"] = (
            f"https://www.linkedin.com/in/{row['linkedin_profile_handle']}"
        )
    if row.get("linkedin_profile_id") is not None:
        values["linkedin_profile_id"] = str(row["linkedin_profile_id"])
    if row.get("sales_navigator_profile_id"):
        values["sales_navigator_id"] = str(row["sales_navigator_profile_id"])
    for key in _EXTRA:
        if row.get(key) not in (None, ""):
            values[key] = str(row[key])
    return values


def source_from_search(
    session: Session,
    search: SearchFunction,
    url: str,
    max: int,
    campaign: str | None = None,
    *,
    now: datetime,
) -> SearchReport:
    """Run a people search, store up to `max` leads (merged with known ones), and commit."""
    if not SEARCH_URL.match(url.strip()):
        raise InputError(
            f"{url!r} is not a LinkedIn people search URL "
            "(https://www.linkedin.com/search/results/people/?keywords=...)"
        )
    if max < 1:
        raise InputError("--max must be at least 1")
    target = campaign_by_name(session, campaign) if campaign else None
    records: list[LeadRecord] = []
    bad: list[BadRow] = []
    rows = list(islice(search(url.strip(), max), max))
    for index, row in enumerate(rows, start=1):
        try:
            records.append(record_from_mapping(index, _mapping(row)))
        except RowError as exc:
            bad.append(BadRow(index, str(exc)))
    unique, duplicates = dedupe_records(records)
    written = write_leads(session, unique, now=now, source="search")
    report = SearchReport(
        found=len(rows),
        created=written.created,
        updated=written.updated,
        unchanged=written.unchanged,
        duplicates=duplicates,
        retried=written.retried,
        bad=bad,
    )
    if target is not None:
        report.enrolled = enroll_leads(session, target, written.lead_ids or [], now=now).enrolled
    session.commit()
    return report
