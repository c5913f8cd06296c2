"""The world's state: people, identities with their networks, invitations, threads; world files."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from linkseq.clock import ensure_utc

from ._clock import DEFAULT_START
from ._faults import FaultConfig
from ._people import People, Person, canonical_url

__all__ = [
    "Identity",
    "IdentitySpec",
    "Integration",
    "Invitation",
    "Message",
    "NetworkSpec",
    "Thread",
    "WorkingHours",
    "World",
]

_ZONES: dict[str, ZoneInfo] = {}


def zone(name: str) -> ZoneInfo:
    """A cached ZoneInfo."""
    found = _ZONES.get(name)
    if found is None:
        found = _ZONES[name] = ZoneInfo(name)
    return found


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """A person's working hours in their own time zone (for the `outside_hours` breach)."""

    start: time = time(8, 0)
    end: time = time(19, 0)
    days: tuple[int, ...] = (0, 1, 2, 3, 4)

    def contains(self, when: datetime, tz: str) -> bool:
        """Whether `when` falls inside these hours in time zone `tz`."""
        local = when.astimezone(zone(tz))
        return local.weekday() in self.days and self.start <= local.time() < self.end


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    """How much of an identity's network exists before the sandbox starts."""

    connections: int = 30
    pending_invitations: int = 3
    threads: int = 8
    inbound: int = 2


@dataclass(frozen=True, slots=True)
class IdentitySpec:
    """An identity of a world file."""

    name: str
    timezone: str = "Europe/Paris"
    level: str = "Classic"
    engagement: bool = True
    connected: bool = True
    first_sync_days_ago: float | None = 30.0
    network: NetworkSpec = field(default_factory=NetworkSpec)


@dataclass(slots=True)
class Message:
    """One message of a thread."""

    message_id: str
    sender_profile_id: int
    content: str
    delivered_at: datetime
    position: int
    from_identity: bool
    raced: bool = False


@dataclass(slots=True)
class Thread:
    """A 1:1 conversation between an identity and a person."""

    thread_id: str
    identity_uid: str
    person_index: int
    created_at: datetime
    messages: list[Message] = field(default_factory=list)
    unread_count: int = 0
    is_inmail: bool = False
    ooo_sent: bool = False

    @property
    def url(self) -> str:
        """The messaging URL of this thread."""
        return f"https://www.linkedin.com/messaging/thread/{self.thread_id}/"

    @property
    def last_activity_at(self) -> datetime:
        """When the last message was delivered (creation time when empty)."""
        return self.messages[-1].delivered_at if self.messages else self.created_at


@dataclass(slots=True)
class Invitation:
    """A connection request from an identity to a person."""

    invitation_id: int
    identity_uid: str
    person_index: int
    sent_at: datetime
    note: str
    status: str = "PENDING"  # PENDING, ACCEPTED, WITHDRAWN
    via_api: bool = True

    @property
    def urn(self) -> str:
        """`urn:li:fsd_invitation:<id>`."""
        return f"urn:li:fsd_invitation:{self.invitation_id}"


@dataclass(slots=True)
class Integration:
    """An identity's LinkedIn integration."""

    uid: str
    created_at: datetime
    level: str = "Classic"
    status: str = "VALID"  # VALID, INVALID
    auth_type: str = "COOKIES"
    account_name: str = ""
    first_sync_at: datetime | None = None


@dataclass(slots=True)
class Identity:
    """An Edges identity and, once connected, its LinkedIn account and network."""

    uid: str
    ordinal: int
    name: str
    timezone: str
    type: str
    created_at: datetime
    profile: Person
    level: str = "Classic"
    network: NetworkSpec = field(default_factory=NetworkSpec)
    integration: Integration | None = None
    network_built: bool = False
    connections: dict[int, datetime] = field(default_factory=dict)
    invitations: dict[int, Invitation] = field(default_factory=dict)  # pending, by person
    invited_ever: set[int] = field(default_factory=set)  # persons invited through the API
    threads: dict[int, Thread] = field(default_factory=dict)  # by person
    visits: int = 0
    last_outreach_at: datetime | None = None
    async_next_free: datetime | None = None
    next_expiry_seq: int = 0

    @property
    def usable(self) -> bool:
        """Whether its LinkedIn session can act."""
        return self.integration is not None and self.integration.status == "VALID"


class World:
    """The people, the identities and everything between them; inspectable in tests."""

    def __init__(
        self,
        seed: int = 7,
        people: int = 300,
        *,
        start: datetime | None = None,
        identities: list[IdentitySpec] | None = None,
        extra_people: list[Person] | None = None,
        working_hours: WorkingHours | None = None,
        pacing_gap: timedelta = timedelta(seconds=30),
        faults: FaultConfig | None = None,
    ) -> None:
        self.seed = seed
        self.people = People(seed, people, extra_people)
        self.start = ensure_utc(start or DEFAULT_START)
        self.identity_specs = list(identities or [])
        self.working_hours = working_hours or WorkingHours()
        self.pacing_gap = pacing_gap
        self.faults = faults
        self.identities: dict[str, Identity] = {}
        self.threads_by_id: dict[str, Thread] = {}
        self.invitations_by_id: dict[int, Invitation] = {}

    @classmethod
    def from_file(cls, path: str | Path, *, seed: int | None = None) -> World:
        """Load a world file (YAML; format in docs/sandbox.md)."""
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError("a world file is a YAML mapping")
        return cls.from_dict(data, seed=seed)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, seed: int | None = None) -> World:
        """Build from a mapping of the world-file format."""
        known = {
            "seed",
            "people",
            "start",
            "identities",
            "persons",
            "working_hours",
            "pacing_gap_seconds",
            "faults",
        }
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown world keys: {sorted(unknown)}")
        world_seed = int(data.get("seed", 7) if seed is None else seed)
        count = int(data.get("people", 300))
        start = data.get("start")
        start_dt = _parse_dt(start) if start is not None else None
        specs = [_identity_spec(item) for item in data.get("identities", []) or []]
        wh = data.get("working_hours") or {}
        hours = WorkingHours(
            start=_parse_time(wh.get("start", "08:00")),
            end=_parse_time(wh.get("end", "19:00")),
            days=tuple(int(d) for d in wh.get("days", (0, 1, 2, 3, 4))),
        )
        faults = FaultConfig.from_dict(data["faults"]) if data.get("faults") else None
        world = cls(
            world_seed,
            count,
            start=start_dt,
            identities=specs,
            working_hours=hours,
            pacing_gap=timedelta(seconds=float(data.get("pacing_gap_seconds", 30))),
            faults=faults,
        )
        for item in data.get("persons", []) or []:
            world.people.add(_person(world.people, item))
        return world

    def person_url(self, person: Person) -> str:
        """The canonical URL of a person."""
        return canonical_url(person.handle)


def _parse_dt(value: Any) -> datetime:
    if isinstance(value, datetime):
        return ensure_utc(value)
    return ensure_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))


def _parse_time(value: Any) -> time:
    if isinstance(value, int):  # YAML reads 08:00 as sexagesimal minutes
        return time(value // 60, value % 60)
    return time.fromisoformat(str(value))


def _identity_spec(item: dict[str, Any]) -> IdentitySpec:
    net = item.get("network") or {}
    return IdentitySpec(
        name=str(item["name"]),
        timezone=str(item.get("timezone", "Europe/Paris")),
        level=str(item.get("level", "Classic")),
        engagement=bool(item.get("engagement", True)),
        connected=bool(item.get("connected", True)),
        first_sync_days_ago=(
            None
            if item.get("first_sync_days_ago", 30) is None
            else float(item.get("first_sync_days_ago", 30))
        ),
        network=NetworkSpec(**{k: int(v) for k, v in net.items()}),
    )


def _person(people: People, item: dict[str, Any]) -> Person:
    index = len(people)
    pid = int(item.get("profile_id", 800_000_000 + index))
    return Person(
        index=index,
        handle=str(item["handle"]).lower(),
        profile_id=pid,
        sales_navigator_id=str(item.get("sales_navigator_id", f"ACwAAA{pid:X}")),
        first_name=str(item.get("first_name", "Pat")),
        last_name=str(item.get("last_name", "Doe")),
        company=str(item.get("company", "")),
        headline=str(item.get("headline", "")),
        location=str(item.get("location", "")),
        timezone=str(item.get("timezone", "Europe/Paris")),
        deleted=bool(item.get("deleted", False)),
        accept_probability=float(item.get("accept_probability", 0.5)),
        accept_delay_hours=_pair(item.get("accept_delay_hours", (2, 72))),
        reply_probability=float(item.get("reply_probability", 0.2)),
        reply_delay_hours=_pair(item.get("reply_delay_hours", (0.5, 48))),
        never_answers=bool(item.get("never_answers", False)),
        out_of_office=bool(item.get("out_of_office", False)),
    )


def _pair(value: Any) -> tuple[float, float]:
    if isinstance(value, int | float):
        return (float(value), float(value))
    low, high = value
    return (float(low), float(high))
