"""The people of the simulated LinkedIn: generated lazily from the seed, found by any URL variant.

A person's attributes are a pure function of (seed, index), so a world of 100,000 people costs
nothing to build: handles and profile ids encode the index through an invertible permutation,
and a person is materialised (and cached) only when something looks at it.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

__all__ = ["PROFILE_URL_RE", "People", "Person", "canonical_url"]

PROFILE_URL_RE = re.compile(
    r"^https://(?:(?:www|m|[a-z]{2})\.)?linkedin\.com/(?:in|pub|sales/people|sales/lead)/[^\s/]+",
    re.IGNORECASE,
)
SALES_NAV_RE = re.compile(r"^AC[o-rw-z][\w-]+$")

FIRST_NAMES = (
    "Alice",
    "Bruno",
    "Chloé",
    "David",
    "Emma",
    "Farid",
    "Greta",
    "Hugo",
    "Inès",
    "Jonas",
    "Karin",
    "Léa",
    "Marco",
    "Nadia",
    "Oscar",
    "Priya",
    "Quentin",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoé",
    "René",
    "Björn",
    "Ana",
    "Kenji",
)
LAST_NAMES = (
    "Martin",
    "Schmidt",
    "García",
    "Rossi",
    "Dubois",
    "Nowak",
    "Jensen",
    "O'Brien",
    "Silva",
    "Müller",
    "Kowalski",
    "Tanaka",
    "Nguyen",
    "Patel",
    "Smith",
    "Lefèvre",
    "Andersson",
    "Costa",
    "Meyer",
    "Novak",
    "Fischer",
    "Moreau",
    "Kim",
    "Haddad",
    "Brown",
    "Lopez",
    "Weber",
    "Sato",
)
COMPANIES = (
    "Acme Analytics",
    "Blue Harbor",
    "Cobalt Systems",
    "Delta Freight",
    "Evergreen Health",
    "Fjord Robotics",
    "Granite Bank",
    "Helios Energy",
    "Iris Biotech",
    "Juniper Retail",
    "Kestrel Labs",
    "Lumen Media",
    "Maple Logistics",
    "Nimbus Cloud",
    "Orbit Telecom",
    "Pine Software",
    "Quartz Capital",
    "Redwood Legal",
    "Summit Foods",
    "Tidal Games",
)
TITLES = (
    "Head of Sales",
    "VP Engineering",
    "Founder & CEO",
    "Marketing Manager",
    "CTO",
    "Account Executive",
    "Product Manager",
    "Data Scientist",
    "Operations Director",
    "Talent Partner",
    "Growth Lead",
    "Chief Revenue Officer",
    "Software Engineer",
    "CFO",
)
PLACES = (
    ("Paris, Île-de-France, France", "Europe/Paris"),
    ("London, England, United Kingdom", "Europe/London"),
    ("Berlin, Germany", "Europe/Berlin"),
    ("Madrid, Spain", "Europe/Madrid"),
    ("Amsterdam, Netherlands", "Europe/Amsterdam"),
    ("New York, New York, United States", "America/New_York"),
    ("San Francisco Bay Area", "America/Los_Angeles"),
    ("Chicago, Illinois, United States", "America/Chicago"),
    ("Toronto, Ontario, Canada", "America/Toronto"),
    ("São Paulo, Brazil", "America/Sao_Paulo"),
    ("Bengaluru, Karnataka, India", "Asia/Kolkata"),
    ("Singapore", "Asia/Singapore"),
    ("Tokyo, Japan", "Asia/Tokyo"),
    ("Sydney, New South Wales, Australia", "Australia/Sydney"),
    ("Dubai, United Arab Emirates", "Asia/Dubai"),
)
COUNTRY_SUBDOMAINS = ("fr", "uk", "de", "es", "nl", "ca", "br", "in", "sg", "jp", "au", "ae")

_MASK = (1 << 31) - 1
_HANDLE_MUL = 0x5BD1E995 | 1
_PID_BITS = 28
_PID_MASK = (1 << _PID_BITS) - 1
_PID_MUL = 0x2545F491
_PID_BASE = 100_000_000


@dataclass(frozen=True, slots=True)
class Person:
    """A LinkedIn member of the simulated world, with how they behave."""

    index: int
    handle: str
    profile_id: int
    sales_navigator_id: str
    first_name: str
    last_name: str
    company: str
    headline: str
    location: str
    timezone: str
    deleted: bool = False
    accept_probability: float = 0.5
    accept_delay_hours: tuple[float, float] = (2.0, 72.0)
    reply_probability: float = 0.2
    reply_delay_hours: tuple[float, float] = (0.5, 48.0)
    never_answers: bool = False
    out_of_office: bool = False
    tags: tuple[str, ...] = field(default=())

    @property
    def full_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}"

    @property
    def profile_url(self) -> str:
        """The canonical profile URL (percent-encoded handle, trailing slash)."""
        return canonical_url(self.handle)


def canonical_url(handle: str) -> str:
    """The canonical `https://www.linkedin.com/in/<handle>/` of a handle."""
    return f"https://www.linkedin.com/in/{quote(handle, safe='-')}/"


def _slug(text: str) -> str:
    return re.sub(r"[^\w]+", "", text.lower())


class People:
    """All people of a world: `count` generated ones, then any explicit ones from a world file."""

    def __init__(self, seed: int, count: int, extra: list[Person] | None = None) -> None:
        self.seed = seed
        self.count = count
        self._salt = random.Random(f"{seed}/salt").getrandbits(31)
        self._cache: dict[int, Person] = {}
        self._extra: list[Person] = []
        self._extra_by_handle: dict[str, Person] = {}
        self._extra_by_pid: dict[int, Person] = {}
        for person in extra or []:
            self.add(person)

    def __len__(self) -> int:
        return self.count + len(self._extra)

    def add(self, person: Person) -> Person:
        """Append an explicit person; its index must be `len(self)`."""
        self._extra.append(person)
        self._extra_by_handle[person.handle.lower()] = person
        self._extra_by_pid[person.profile_id] = person
        return person

    def profile_id_of(self, index: int) -> int:
        """The profile id of generated person `index` (a bijection, no lookup table)."""
        return _PID_BASE + ((index * _PID_MUL + self._salt) & _PID_MASK)

    def __getitem__(self, index: int) -> Person:
        if index < 0 or index >= len(self):
            raise IndexError(index)
        if index >= self.count:
            return self._extra[index - self.count]
        cached = self._cache.get(index)
        if cached is None:
            cached = self._cache[index] = self._make(index)
        return cached

    def _make(self, index: int) -> Person:
        rng = random.Random(f"{self.seed}/person/{index}")
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        token = (index * _HANDLE_MUL + self._salt) & _MASK
        handle = f"{_slug(first)}-{_slug(last)}-{token:x}"
        location, tz = rng.choice(PLACES)
        pid = self.profile_id_of(index)
        never = rng.random() < 0.25
        return Person(
            index=index,
            handle=handle,
            profile_id=pid,
            sales_navigator_id=f"ACwAAA{pid:X}",
            first_name=first,
            last_name=last,
            company=rng.choice(COMPANIES),
            headline=rng.choice(TITLES),
            location=location,
            timezone=tz,
            deleted=rng.random() < 0.02,
            accept_probability=round(rng.uniform(0.2, 0.9), 3),
            accept_delay_hours=(1.0, rng.choice((24.0, 72.0, 120.0))),
            reply_probability=0.0 if never else round(rng.uniform(0.1, 0.6), 3),
            reply_delay_hours=(0.25, rng.choice((6.0, 24.0, 72.0))),
            never_answers=never,
            out_of_office=rng.random() < 0.05,
        )

    def by_handle(self, handle: str) -> Person | None:
        """The person with this handle (any case), or None."""
        key = handle.lower()
        extra = self._extra_by_handle.get(key)
        if extra is not None:
            return extra
        _, _, token = key.rpartition("-")
        try:
            value = int(token, 16)
        except ValueError:
            return None
        index = ((value - self._salt) * pow(_HANDLE_MUL, -1, 1 << 31)) & _MASK
        if index >= self.count:
            return None
        person = self[index]
        return person if person.handle == key else None

    def by_profile_id(self, profile_id: int) -> Person | None:
        """The person with this LinkedIn profile id, or None."""
        extra = self._extra_by_pid.get(profile_id)
        if extra is not None:
            return extra
        value = profile_id - _PID_BASE
        if value < 0 or value > _PID_MASK:
            return None
        index = ((value - self._salt) * pow(_PID_MUL, -1, 1 << _PID_BITS)) & _PID_MASK
        if index >= self.count:
            return None
        return self[index]

    def by_sales_navigator_id(self, sn_id: str) -> Person | None:
        """The person with this Sales Navigator id (`ACwAAA<hex>`), or None."""
        if not sn_id.startswith("ACwAAA"):
            return None
        try:
            return self.by_profile_id(int(sn_id[6:], 16))
        except ValueError:
            return None

    def resolve_url(self, url: str) -> Person | None:
        """The person behind any variant of a profile URL (subdomain, /pub/, case, query...)."""
        parts = urlsplit(url.strip())
        segments = [unquote(s) for s in parts.path.split("/") if s]
        if len(segments) < 2:
            return None
        head = segments[0].lower()
        if head in ("in", "pub"):
            return self.by_handle(segments[1])
        if head == "sales" and len(segments) >= 3 and segments[1].lower() in ("lead", "people"):
            return self.by_sales_navigator_id(segments[2].split(",")[0])
        return None

    def url_variant(self, person: Person, rng: random.Random) -> str:
        """A random but equivalent spelling of the person's profile URL (for imports)."""
        handle = quote(person.handle, safe="-")
        kind = rng.randrange(8)
        if kind == 0:
            return f"https://www.linkedin.com/in/{handle}"
        if kind == 1:
            return f"https://{rng.choice(COUNTRY_SUBDOMAINS)}.linkedin.com/in/{handle}/"
        if kind == 2:
            return f"https://www.linkedin.com/pub/{handle}/"
        if kind == 3:
            return f"https://www.linkedin.com/in/{handle}/?originalSubdomain=fr&trk=people"
        if kind == 4:
            return f"https://WWW.LinkedIn.com/in/{handle.upper()}/"
        if kind == 5:
            return f"https://m.linkedin.com/in/{handle}"
        if kind == 6:  # a needlessly percent-encoded first letter
            return f"https://www.linkedin.com/in/%{ord(handle[0]):02X}{handle[1:]}"
        return person.profile_url
