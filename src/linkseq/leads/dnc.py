"""The do-not-contact list: add, list, remove, and the checks used at enrollment and send."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.errors import InputError, NotFoundError
from linkseq.leads.urls import InvalidProfileUrl, normalize_profile_url
from linkseq.store import fast
from linkseq.store.models import DoNotContact, Lead

__all__ = ["DncSet", "add_to_dnc", "is_on_dnc", "list_dnc", "load_dnc", "remove_from_dnc"]


@dataclass(frozen=True, slots=True)
class DncSet:
    """The whole list in memory, for bulk checks (an import)."""

    urls: frozenset[str]
    profile_ids: frozenset[str]

    def contains(self, url: str | None, profile_id: str | None) -> bool:
        """True when the person is on the list by URL or by profile id."""
        return (url is not None and url in self.urls) or (
            profile_id is not None and profile_id in self.profile_ids
        )


def _key(entry: str) -> tuple[str | None, str | None]:
    text = entry.strip()
    if not text:
        raise InputError("empty do-not-contact entry")
    if "linkedin.com" in text.lower() or "/" in text:
        try:
            return normalize_profile_url(text).url, None
        except InvalidProfileUrl as exc:
            raise InputError(str(exc)) from None
    return None, text  # a LinkedIn profile id


def add_to_dnc(
    session: Session, entries: Sequence[str], *, now: datetime, reason: str | None = None
) -> int:
    """Add profile URLs or profile ids; returns how many were new. Flushes, does not commit."""
    keys = {_key(entry) for entry in entries}
    added = 0
    for url, profile_id in sorted(keys, key=str):
        column = DoNotContact.profile_url if url else DoNotContact.linkedin_profile_id
        if session.execute(sa.select(DoNotContact.id).where(column == (url or profile_id))).first():
            continue
        session.add(
            DoNotContact(
                profile_url=url, linkedin_profile_id=profile_id, reason=reason, created_at=now
            )
        )
        added += 1
    session.flush()
    return added


def remove_from_dnc(session: Session, entry: str) -> None:
    """Remove one entry by profile URL or id; raises `NotFoundError` when absent."""
    url, profile_id = _key(entry)
    column = DoNotContact.profile_url if url else DoNotContact.linkedin_profile_id
    result = session.execute(sa.delete(DoNotContact).where(column == (url or profile_id)))
    if not getattr(result, "rowcount", 0):
        raise NotFoundError(f"{entry.strip()} is not on the do-not-contact list")


def list_dnc(session: Session) -> list[DoNotContact]:
    """Every entry, oldest first."""
    return list(session.scalars(sa.select(DoNotContact).order_by(DoNotContact.id)))


def load_dnc(session: Session) -> DncSet:
    """The list as sets, for checking many leads at once."""
    rows = session.execute(sa.select(DoNotContact.profile_url, DoNotContact.linkedin_profile_id))
    urls: set[str] = set()
    ids: set[str] = set()
    for url, profile_id in rows:
        if url:
            urls.add(url)
        if profile_id:
            ids.add(profile_id)
    return DncSet(urls=frozenset(urls), profile_ids=frozenset(ids))


# built once (checked at every send): two index probes
_BY_URL = sa.select(DoNotContact.id).where(DoNotContact.profile_url == sa.bindparam("url")).limit(1)
_BY_URL_OR_ID = (
    sa.select(DoNotContact.id)
    .where(
        sa.or_(
            DoNotContact.profile_url == sa.bindparam("url"),
            DoNotContact.linkedin_profile_id == sa.bindparam("profile_id"),
        )
    )
    .limit(1)
)


def is_on_dnc(session: Session, lead: Lead) -> bool:
    """True when `lead` is on the list (by URL or profile id): checked again at every send."""
    if lead.linkedin_profile_id:
        found = fast.first(
            session,
            _BY_URL_OR_ID,
            {"url": lead.profile_url, "profile_id": lead.linkedin_profile_id},
        )
    else:
        found = fast.first(session, _BY_URL, {"url": lead.profile_url})
    return found is not None
