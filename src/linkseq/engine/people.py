"""Finding the lead behind a LinkedIn person seen in a sync (by profile id, else by URL)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.leads.urls import InvalidProfileUrl, normalize_profile_url
from linkseq.store.models import Lead

__all__ = ["PersonKey", "canonical_url", "leads_for"]


@dataclass(frozen=True, slots=True)
class PersonKey:
    """How a sync names a person: a LinkedIn profile id and/or a profile URL."""

    profile_id: str | None
    url: str | None


def canonical_url(raw: str | None) -> str | None:
    """The canonical profile URL, or None when `raw` is empty or not a profile URL."""
    if not raw:
        return None
    try:
        return normalize_profile_url(raw).url
    except InvalidProfileUrl:
        return None


# built once, run with the keys (constructing a statement costs more than running it)
_BY_PROFILE_ID = sa.select(Lead).where(
    Lead.linkedin_profile_id.in_(sa.bindparam("ids", expanding=True))
)
_BY_URL = sa.select(Lead).where(Lead.profile_url.in_(sa.bindparam("urls", expanding=True)))


def leads_for(session: Session, people: Iterable[PersonKey]) -> dict[PersonKey, Lead]:
    """Map each person to its lead (one query per kind of key); unknown people are left out."""
    keys = list(people)
    ids = {k.profile_id for k in keys if k.profile_id}
    urls = {k.url for k in keys if k.url}
    by_id: dict[str, Lead] = {}
    by_url: dict[str, Lead] = {}
    if ids:
        for lead in session.scalars(_BY_PROFILE_ID, {"ids": sorted(ids)}):
            if lead.linkedin_profile_id:
                by_id[lead.linkedin_profile_id] = lead
    if urls:
        for lead in session.scalars(_BY_URL, {"urls": sorted(urls)}):
            by_url[lead.profile_url] = lead
    found: dict[PersonKey, Lead] = {}
    for key in keys:
        match = (by_id.get(key.profile_id) if key.profile_id else None) or (
            by_url.get(key.url) if key.url else None
        )
        if match is not None:
            found[key] = match
            # learn the profile id the first time a person is seen with both keys
            if match.linkedin_profile_id is None and key.profile_id:
                match.linkedin_profile_id = key.profile_id
    return found
