"""Identities as a service: add one on Edges, connect LinkedIn, reconnect, read its profile id.

LinkedIn cookies pass through here to Edges and are dropped: never stored, logged or printed
(see `linkseq.store.models.identity`). They are `SecretStr` from the moment they are read.
Every function takes its session and its Edges client; the caller commits.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.orm import Session

from linkseq.edges import EdgesClient, Integration, canonical_timezone
from linkseq.engine.recovery import resume_identity
from linkseq.engine.sync import mark_synced
from linkseq.errors import InputError
from linkseq.store.enums import IdentityLevel, IdentityStatus, SyncKind
from linkseq.store.models import Identity

__all__ = [
    "ConnectResult",
    "LinkedInCookies",
    "add_identity",
    "check_connection",
    "connect_cookies",
    "login_link",
    "parse_cookies",
    "read_profile_id",
    "resolve_timezone",
]

_VALID = "VALID"
_COOKIE_LINE = re.compile(r"^\s*(li_at|li_a)\s*[=:\s]\s*(\S+)\s*$")


@dataclass(frozen=True, slots=True)
class LinkedInCookies:
    """The session cookies Edges needs: `li_at`, and `li_a` for Sales Navigator."""

    li_at: SecretStr
    li_a: SecretStr | None = None


@dataclass(frozen=True, slots=True)
class ConnectResult:
    """What Edges said about the LinkedIn integration, and how many leads were resumed."""

    status: str
    level: str | None
    checkpoint: str | None
    resumed: int = 0

    @property
    def ok(self) -> bool:
        """The session is usable."""
        return self.status.upper() == _VALID


def resolve_timezone(name: str) -> str:
    """The canonical IANA name of `name` (an alias becomes its target); `InputError` if none."""
    canonical = canonical_timezone(name.strip())
    if canonical is None:
        raise InputError(f"{name!r} is not an IANA time zone (e.g. Europe/Paris)")
    return canonical


def parse_cookies(text: str) -> LinkedInCookies:
    """Cookies from a file's text: `li_at=…` / `li_a=…` lines, a bare `li_at` value, or a
    browser extension's JSON export (`[{"name": "li_at", "value": "…"}]`).

    Errors never quote the text: it is a secret.
    """
    found: dict[str, str] = {}
    stripped = text.strip()
    if stripped.startswith(("[", "{")):
        try:
            data = json.loads(stripped)
        except ValueError:
            raise InputError("the cookies file looks like JSON but cannot be read") from None
        items = data if isinstance(data, list) else [data]
        for item in items:
            if isinstance(item, dict) and item.get("name") in ("li_at", "li_a"):
                found[str(item["name"])] = str(item.get("value") or "")
            elif isinstance(item, dict):
                for key in ("li_at", "li_a"):
                    if isinstance(item.get(key), str):
                        found[key] = item[key]
    else:
        lines = [line for line in stripped.splitlines() if line.strip()]
        for line in lines:
            match = _COOKIE_LINE.match(line)
            if match:
                found[match.group(1)] = match.group(2)
        if not found and len(lines) == 1 and " " not in lines[0].strip():
            found["li_at"] = lines[0].strip()
    li_at = found.get("li_at", "").strip().strip('"')
    if not li_at:
        raise InputError("no li_at cookie found (write `li_at=VALUE`, one cookie per line)")
    li_a = found.get("li_a", "").strip().strip('"')
    return LinkedInCookies(SecretStr(li_at), SecretStr(li_a) if li_a else None)


def add_identity(
    session: Session,
    client: EdgesClient,
    *,
    name: str,
    timezone: str,
    engagement: bool = True,
    now: datetime,
) -> Identity:
    """Create the identity on Edges (engagement by default: credit-free outreach) and store it."""
    name = name.strip()
    if not name:
        raise InputError("an identity needs a name")
    zone = resolve_timezone(timezone)
    if session.scalar(sa.select(Identity.id).where(Identity.name == name)) is not None:
        raise InputError(f"an identity named {name!r} already exists")
    created = client.identities.create(name, timezone=zone, engagement=engagement)
    if not created.uid:
        raise InputError("Edges created the identity but gave no uid")
    identity = Identity(
        uid=created.uid,
        name=created.name or name,
        timezone=created.timezone or zone,
        is_engagement=bool(
            created.is_engagement if created.is_engagement is not None else engagement
        ),
        level=IdentityLevel.CLASSIC,
        status=IdentityStatus.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    session.add(identity)
    session.flush()
    return identity


def _result(
    session: Session, identity: Identity, integration: Integration, now: datetime
) -> ConnectResult:
    status = (integration.status or "").upper() or "UNKNOWN"
    checkpoint = integration.checkpoint.type if integration.checkpoint is not None else None
    if integration.level:
        identity.level = (
            IdentityLevel.SALES_NAVIGATOR
            if integration.level.strip().lower() == "sales navigator"
            else IdentityLevel.CLASSIC
        )
    identity.updated_at = now
    return ConnectResult(status=status, level=integration.level, checkpoint=checkpoint)


def connect_cookies(
    session: Session,
    client: EdgesClient,
    identity: Identity,
    cookies: LinkedInCookies,
    *,
    now: datetime,
    resume: bool = False,
) -> ConnectResult:
    """Give Edges the LinkedIn cookies; with `resume`, a usable session resumes paused leads."""
    integration = client.identities.connect_linkedin_cookies(
        identity.uid, cookies.li_at, cookies.li_a
    )
    result = _result(session, identity, integration, now)
    if result.ok and (resume or identity.status is IdentityStatus.DISCONNECTED):
        resumed = resume_identity(session, identity_id=identity.id, now=now)
        return ConnectResult(result.status, result.level, result.checkpoint, resumed)
    return result


def check_connection(
    session: Session, client: EdgesClient, identity: Identity, *, now: datetime
) -> ConnectResult:
    """Read the integration's status (after a login link); a usable session resumes the leads."""
    result = _result(session, identity, client.identities.linkedin_status(identity.uid), now)
    if result.ok and identity.status is not IdentityStatus.ACTIVE:
        resumed = resume_identity(session, identity_id=identity.id, now=now)
        return ConnectResult(result.status, result.level, result.checkpoint, resumed)
    return result


def login_link(client: EdgesClient, identity: Identity) -> str:
    """A hosted LinkedIn login page for the identity (valid 48 h): no cookie handling at all."""
    links = client.identities.login_links(identity.uid)
    if not links.linkedin:
        raise InputError(f"Edges gave no LinkedIn login link for {identity.name!r}")
    return links.linkedin


def read_profile_id(
    session: Session, client: EdgesClient, identity: Identity, *, now: datetime
) -> str:
    """linkedin-me: store the identity's own LinkedIn profile id (reply detection, guide §3)."""
    me = client.me(identity.uid)
    if me.linkedin_profile_id is None:
        raise InputError(f"linkedin-me gave no profile id for {identity.name!r}")
    identity.linkedin_profile_id = str(me.linkedin_profile_id)
    if identity.first_sync_at is None:
        identity.first_sync_at = now  # day 1 of the Smart Limits ramp-up
    identity.updated_at = now
    mark_synced(session, identity.id, SyncKind.PROFILE, now)
    return identity.linkedin_profile_id
