"""The actions: input/parameter schemas and what each does on the simulated LinkedIn."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._core import Core, iso
from ._errors import EdgesError
from ._limits import ACTION_LIMITS
from ._people import PROFILE_URL_RE, SALES_NAV_RE, Person
from ._world import Identity, Thread

__all__ = ["ACTIONS", "ActionSpec", "perform", "validate_body_part"]

THREAD_RE = re.compile(r"(?:thread/|^)(\d.+?==)")
SEARCH_RE = re.compile(
    r"^https://(?:(?:www|[a-z]{2})\.)?linkedin\.com/search/results/(people|PEOPLE)/\?\S+"
)
URN_RE = re.compile(r"^urn:li:fsd_invitation:\d+$")
RACE_TEXT = "Oh, and one more thing before you write again…"

Handler = Callable[[Core, Identity, dict[str, Any], dict[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """An action's schema and behaviour."""

    slug: str
    handler: Handler
    inputs: dict[str, str] = field(default_factory=dict)
    required: tuple[str, ...] = ()  # any one of these must be present (when non-empty)
    parameters: dict[str, str] = field(default_factory=dict)
    page_size: int | None = None
    outreach: bool = False


def _check(kind: str, value: Any) -> bool:
    if kind == "profile_url":
        return isinstance(value, str) and PROFILE_URL_RE.match(value) is not None
    if kind == "sn_id":
        return isinstance(value, str) and SALES_NAV_RE.match(value) is not None
    if kind == "str":
        return isinstance(value, str)
    if kind.startswith("str:"):
        return isinstance(value, str) and len(value) <= int(kind[4:])
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1
    if kind == "thread":
        return isinstance(value, str) and THREAD_RE.search(value) is not None
    if kind == "search_url":
        return isinstance(value, str) and SEARCH_RE.match(value) is not None
    if kind == "urn":
        return isinstance(value, str) and URN_RE.match(value) is not None
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    return False


def validate_body_part(
    data: Any, schema: dict[str, str], label: str, where: str, required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Check an `input` or `parameters` object: no extra keys, right types (decision 27)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise EdgesError(label, 400, f"{where} must be object", params={"field": where})
    for key, value in data.items():
        kind = schema.get(key)
        if kind is None:
            raise EdgesError(
                label,
                400,
                f"{where} must NOT have additional properties ({key})",
                params={"field": f"{where}.{key}"},
            )
        if not _check(kind, value):
            raise EdgesError(
                label,
                400,
                f"{where}.{key} is not a valid {kind}",
                params={"field": f"{where}.{key}"},
            )
    if required and not any(key in data for key in required):
        raise EdgesError(
            label,
            400,
            f"{where} must have required property '{required[0]}'",
            params={"field": f"{where}.{required[0]}"},
        )
    return data


# -- outputs -------------------------------------------------------------------------------


class Rows(Sequence[dict[str, Any]]):
    """A listing's rows, rendered only when read: the wire layer slices the requested page
    first, so a page of a long listing renders its own rows, not the whole listing's."""

    __slots__ = ("_items", "_render")

    def __init__(self, items: Sequence[Any], render: Callable[[Any], dict[str, Any]]) -> None:
        self._items = items
        self._render = render

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._render(item) for item in self._items[index]]
        return self._render(self._items[index])


def _profile_row(person: Person) -> dict[str, Any]:
    return {
        "linkedin_profile_id": person.profile_id,
        "sales_navigator_profile_id": person.sales_navigator_id,
        "linkedin_profile_url": person.profile_url,
        "linkedin_profile_handle": person.handle,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "full_name": person.full_name,
        "job_title": person.headline,
    }


def _thread_row(core: Core, identity: Identity, thread: Thread) -> dict[str, Any]:
    person = core.world.people[thread.person_index]
    last = thread.messages[-1] if thread.messages else None
    last_row: dict[str, Any] | None = None
    if last is not None:
        who = identity.profile if last.from_identity else person
        last_row = {
            "delivered_at": iso(last.delivered_at),
            "first_name": who.first_name,
            "last_name": who.last_name,
            "linkedin_profile_id": last.sender_profile_id,
            "sales_navigator_profile_id": who.sales_navigator_id,
            "job_title": who.headline,
            "message_id": last.message_id,
            "content": last.content,
            "attachments": [],
        }
    participant = {
        "linkedin_profile_id": person.profile_id,
        "sales_navigator_profile_id": person.sales_navigator_id,
        "linkedin_profile_url": person.profile_url,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "job_title": person.headline,
        "linkedin_people_post_search_url": None,
    }
    return {
        "participants": [participant],
        "linkedin_thread_id": thread.thread_id,
        "linkedin_thread_url": thread.url,
        "read": thread.unread_count == 0,
        "total_received_messages": str(sum(1 for m in thread.messages if not m.from_identity)),
        "created_at": iso(thread.created_at),
        "last_activity_at": iso(thread.last_activity_at),
        "last_message": last_row,
        "unread_count": thread.unread_count,
        "sponsored": False,
    }


# -- handlers ------------------------------------------------------------------------------


def _me(core: Core, identity: Identity, _i: dict[str, Any], _p: dict[str, Any]) -> Any:
    me = identity.profile
    return {
        "id": me.profile_id,
        "linkedin_profile_id": me.profile_id,
        "first_name": me.first_name,
        "last_name": me.last_name,
        "full_name": me.full_name,
        "job_title": me.headline,
        "object_urn": f"urn:li:member:{me.profile_id}",
        "handle": me.handle,
        "twitter": None,
        "premium_subscriber": identity.level != "Classic",
        "linkedin_profile_url": me.profile_url,
        "profile_image_url": None,
        "sales_navigator_profile_id": me.sales_navigator_id,
    }


def _degree(identity: Identity, person: Person) -> str:
    if person.index in identity.connections:
        return "1st"
    return "2nd" if person.profile_id % 3 else "3rd"


def _visit(core: Core, identity: Identity, data: dict[str, Any], _p: dict[str, Any]) -> Any:
    person = core.person_of(data)
    core.check_limits(identity, "linkedin-visit-profile")
    core.count_outreach(identity, person, "linkedin-visit-profile")
    core.ledger.totals["visits"] += 1
    row = _profile_row(person)
    row.update(
        headline=person.headline,
        company_name=person.company,
        location=person.location,
        connection_degree=_degree(identity, person),
    )
    return row


def _connect(core: Core, identity: Identity, data: dict[str, Any], par: dict[str, Any]) -> Any:
    person = core.person_of(data)
    core.check_limits(identity, "linkedin-connect-profile")
    if person.index in identity.invited_ever:
        # A second request to someone this identity already invited through the API.
        core.ledger.breach(
            "duplicate_invitation", core.now_iso(), identity_uid=identity.uid, person=person.handle
        )
    if person.index in identity.connections:
        raise EdgesError(
            "ALREADY_CONNECTED",
            424,
            "Already a 1st-degree connection",
            params={"linkedin_profile_id": str(person.profile_id)},
        )
    if person.index in identity.invitations:
        raise EdgesError(
            "INVITATION_PENDING",
            424,
            "An invitation is already pending",
            params={"linkedin_profile_id": str(person.profile_id)},
        )
    note = str(par.get("message", ""))
    core.count_outreach(identity, person, "linkedin-connect-profile")
    inv = core.new_invitation(identity, person, note)
    core.ledger.totals["invitations_sent"] += 1
    return {
        "connected": False,
        "pending": True,
        "message": note,
        "connection_sent_date": iso(inv.sent_at),
        "linkedin_profile_id": person.profile_id,
        "sales_navigator_profile_id": person.sales_navigator_id,
    }


def _send(
    core: Core, identity: Identity, person: Person, text: str, inmail: bool, human: bool = False
) -> Thread:
    thread = core.thread_for(identity, person.index, core.now())
    key = (identity.uid, person.index)
    raced = key in core.reply_race
    if raced:
        core.reply_race.discard(key)
        core.add_message(thread, identity, False, RACE_TEXT, core.now(), raced=True)
        core.ledger.totals["race_replies"] += 1
        core.ledger.add(
            "event",
            core.now_iso(),
            event="reply",
            identity_uid=identity.uid,
            person=person.handle,
            text=RACE_TEXT,
            race=True,
        )
    last = thread.messages[-1] if thread.messages else None
    if last is not None and not last.from_identity and not raced and not human:
        core.ledger.breach(
            "message_after_reply", core.now_iso(), identity_uid=identity.uid, person=person.handle
        )
    if any(m.from_identity and m.content == text for m in thread.messages):
        core.ledger.breach(
            "duplicate_message", core.now_iso(), identity_uid=identity.uid, person=person.handle
        )
    core.add_message(thread, identity, True, text, core.now(), raced=raced)
    thread.is_inmail = thread.is_inmail or inmail
    core.plan_reply(identity, person, thread)
    return thread


def _message_row(core: Core, thread: Thread, person: Person, text: str) -> dict[str, Any]:
    msg = thread.messages[-1]
    return {
        "message": text,
        "linkedin_thread_id": thread.thread_id,
        "linkedin_thread_url": thread.url,
        "is_sent": True,
        "delivered_at": iso(msg.delivered_at),
        "linkedin_message_id": msg.message_id,
        "linkedin_profile_id": person.profile_id,
        "sales_navigator_profile_id": person.sales_navigator_id,
        "attachments": [],
    }


def _message(core: Core, identity: Identity, data: dict[str, Any], par: dict[str, Any]) -> Any:
    person = core.person_of(data)
    core.check_limits(identity, "linkedin-message-profile")
    if person.index not in identity.connections:
        raise EdgesError("NOT_CONNECTED", 424, "The profile is not a 1st-degree connection")
    text = str(par.get("message", ""))
    # a person answering from linkseq's inbox is not automated outreach (wire decision 53)
    custom = data.get("custom_data")
    human = isinstance(custom, dict) and custom.get("linkseq_origin") == "inbox"
    core.count_outreach(identity, person, "linkedin-message-profile", human=human)
    thread = _send(core, identity, person, text, inmail=False, human=human)
    if human:
        core.ledger.totals["inbox_replies"] += 1
    core.ledger.totals["messages_sent"] += 1
    return _message_row(core, thread, person, text)


def _inmail(core: Core, identity: Identity, data: dict[str, Any], par: dict[str, Any]) -> Any:
    person = core.person_of(data)
    thread = identity.threads.get(person.index)
    if thread is not None and thread.is_inmail and thread.messages[-1].from_identity:
        raise EdgesError(
            "LK_INMAIL_CANNOT_RESEND", 424, "An InMail to this person awaits an answer"
        )
    core.check_limits(identity, "linkedin-inmail-profile")
    text = str(par.get("message", ""))
    core.count_outreach(identity, person, "linkedin-inmail-profile")
    thread = _send(core, identity, person, text, inmail=True)
    core.ledger.totals["inmails_sent"] += 1
    row = _message_row(core, thread, person, text)
    row["linkedin_people_post_search_url"] = None
    return row


def _maybe_race(core: Core, identity: Identity, threads: list[Thread]) -> None:
    """Fault: the person answers right after this sync (before the next message)."""
    rate = core.faults.reply_race
    if rate <= 0 or core.fault_rng.random() >= rate:
        return
    for thread in threads:
        person = core.world.people[thread.person_index]
        if thread.messages and thread.messages[-1].from_identity and not person.never_answers:
            core.reply_race.add((identity.uid, thread.person_index))
            core.ledger.totals["race_planned"] += 1
            return


def _conversations(core: Core, identity: Identity, _d: dict[str, Any], par: dict[str, Any]) -> Any:
    threads = sorted(identity.threads.values(), key=lambda t: t.last_activity_at, reverse=True)
    if par.get("read") is False:
        threads = [t for t in threads if t.unread_count]
    _maybe_race(core, identity, threads)
    return Rows(threads, lambda t: _thread_row(core, identity, t))


def _find_thread(core: Core, identity: Identity, value: str) -> Thread:
    match = THREAD_RE.search(value)
    thread = core.world.threads_by_id.get(match.group(1)) if match else None
    if thread is None or thread.identity_uid != identity.uid:
        raise EdgesError("STATUS_404", 424, "No such conversation")
    return thread


def _messages(core: Core, identity: Identity, data: dict[str, Any], _p: dict[str, Any]) -> Any:
    thread = _find_thread(core, identity, data["linkedin_thread_url"])
    _maybe_race(core, identity, [thread])
    person = core.world.people[thread.person_index]
    rows = []
    for m in reversed(thread.messages):  # newest first (decision 31)
        who = identity.profile if m.from_identity else person
        rows.append(
            {
                "linkedin_thread_id": thread.thread_id,
                "position": m.position,
                "delivered_at": iso(m.delivered_at),
                "created_at": iso(m.delivered_at),
                "first_name": who.first_name,
                "last_name": who.last_name,
                "linkedin_profile_id": m.sender_profile_id,
                "sales_navigator_profile_id": who.sales_navigator_id,
                "job_title": who.headline,
                "content": m.content,
                "message_id": m.message_id,
                "attachments": [],
            }
        )
    return rows


def _connections(core: Core, identity: Identity, _d: dict[str, Any], _p: dict[str, Any]) -> Any:
    people = core.world.people

    def render(entry: tuple[int, Any]) -> dict[str, Any]:
        row = _profile_row(people[entry[0]])
        row.update(connected_at=iso(entry[1]), profile_image_url=None)
        return row

    ordered = sorted(identity.connections.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
    return Rows(ordered, render)


def _sent_invitations(
    core: Core, identity: Identity, _d: dict[str, Any], _p: dict[str, Any]
) -> Any:
    people = core.world.people

    def render(inv: Any) -> dict[str, Any]:
        row = _profile_row(people[inv.person_index])
        row.update(
            linkedin_invitation_id=str(inv.invitation_id),
            linkedin_invitation_urn=inv.urn,
            sent_date=iso(inv.sent_at),
        )
        return row

    ordered = sorted(
        identity.invitations.values(), key=lambda i: (i.sent_at, i.invitation_id), reverse=True
    )
    return Rows(ordered, render)


def _withdraw(core: Core, identity: Identity, data: dict[str, Any], _p: dict[str, Any]) -> Any:
    inv_id = int(data["linkedin_invitation_urn"].rsplit(":", 1)[1])
    inv = core.world.invitations_by_id.get(inv_id)
    if inv is None or inv.identity_uid != identity.uid or inv.status != "PENDING":
        raise EdgesError("STATUS_404", 424, "No such pending invitation")
    inv.status = "WITHDRAWN"
    identity.invitations.pop(inv.person_index, None)
    core.ledger.totals["invitations_withdrawn"] += 1
    return {"linkedin_invitation_id": str(inv.invitation_id), "linkedin_invitation_urn": inv.urn}


def _thread_url(core: Core, identity: Identity, data: dict[str, Any], _p: dict[str, Any]) -> Any:
    person = core.person_of(data)
    thread = identity.threads.get(person.index)
    if thread is not None:
        _maybe_race(core, identity, [thread])
    return {
        "linkedin_thread_url": thread.url if thread else None,
        "linkedin_thread_id": thread.thread_id if thread else None,
    }


def _archive(core: Core, identity: Identity, data: dict[str, Any], _p: dict[str, Any]) -> Any:
    value = data.get("linkedin_thread_id") or data.get("linkedin_thread_url") or ""
    thread = _find_thread(core, identity, str(value))
    return {"linkedin_thread_id": thread.thread_id}


_SEARCH_CACHE: dict[tuple[int, int, tuple[str, ...]], list[int]] = {}


def _search(core: Core, identity: Identity, data: dict[str, Any], _p: dict[str, Any]) -> Any:
    query = parse_qs(urlsplit(data["linkedin_people_search_url"]).query)
    words = tuple(re.findall(r"\w+", " ".join(query.get("keywords", [])).lower()))
    core.check_limits(identity, "linkedin-search-people")
    people = core.world.people
    key = (core.seed, people.count, words)
    hits = _SEARCH_CACHE.get(key)
    if hits is None:
        hits = []
        for index in range(min(people.count, 20_000)):
            person = people[index]
            text = f"{person.full_name} {person.company} {person.headline} {person.location}"
            tokens = set(re.findall(r"\w+", text.lower()))
            if not person.deleted and all(w in tokens for w in words):
                hits.append(index)
                if len(hits) >= 1000:  # LinkedIn shows at most 1,000 results
                    break
        _SEARCH_CACHE[key] = hits
    core.limits.record(identity.uid, ACTION_LIMITS["linkedin-search-people"], core.now())
    core.ledger.totals["searches"] += 1
    rows = []
    for index in hits:
        person = people[index]
        row = _profile_row(person)
        row.update(
            current_title=person.headline,
            company_name=person.company,
            headline=f"{person.headline} at {person.company}",
            location=person.location,
            profile_image_url=None,
            connection_degree=_degree(identity, person),
            shared_connection_search_url=None,
            number_shared_connections=0,
            shared_connection_profile_urls=[],
            linkedin_people_post_search_url=None,
        )
        rows.append(row)
    return rows


_PROFILE_IN = {"linkedin_profile_url": "profile_url", "custom_data": "object"}
ACTIONS: dict[str, ActionSpec] = {
    spec.slug: spec
    for spec in (
        ActionSpec("linkedin-me", _me, {"custom_data": "object"}),
        ActionSpec(
            "linkedin-visit-profile", _visit, _PROFILE_IN, ("linkedin_profile_url",), outreach=True
        ),
        ActionSpec(
            "linkedin-connect-profile",
            _connect,
            {**_PROFILE_IN, "sales_navigator_profile_id": "sn_id"},
            ("linkedin_profile_url", "sales_navigator_profile_id"),
            {"message": "str:300"},
            outreach=True,
        ),
        ActionSpec(
            "linkedin-message-profile",
            _message,
            _PROFILE_IN,
            ("linkedin_profile_url",),
            {"message": "str:8000", "files": "array"},
            outreach=True,
        ),
        ActionSpec(
            "linkedin-inmail-profile",
            _inmail,
            _PROFILE_IN,
            ("linkedin_profile_url",),
            {"subject": "str:200", "message": "str:8000", "files": "array"},
            outreach=True,
        ),
        ActionSpec(
            "linkedin-extract-conversations",
            _conversations,
            {"custom_data": "object"},
            (),
            {"read": "bool", "sync_mode": "str"},
            page_size=20,
        ),
        ActionSpec(
            "linkedin-extract-messages",
            _messages,
            {"linkedin_thread_url": "thread", "custom_data": "object"},
            ("linkedin_thread_url",),
            {"sync_mode": "str"},
            page_size=20,
        ),
        ActionSpec(
            "linkedin-extract-connections",
            _connections,
            {"custom_data": "object"},
            (),
            {"sync_mode": "str"},
            page_size=40,
        ),
        ActionSpec(
            "linkedin-extract-sent-invitations",
            _sent_invitations,
            {"custom_data": "object"},
            (),
            {},
            page_size=100,
        ),
        ActionSpec(
            "linkedin-search-people",
            _search,
            {"linkedin_people_search_url": "search_url", "custom_data": "object"},
            ("linkedin_people_search_url",),
            {"only_extract_unique_profile": "bool"},
            page_size=10,
        ),
        ActionSpec(
            "linkedin-withdraw-invitation",
            _withdraw,
            {
                "linkedin_invitation_urn": "urn",
                "linkedin_invitation_type": "str",
                "custom_data": "object",
            },
            ("linkedin_invitation_urn",),
        ),
        ActionSpec("linkedin-get-thread-url", _thread_url, _PROFILE_IN, ("linkedin_profile_url",)),
        ActionSpec(
            "linkedin-archive-message",
            _archive,
            {
                "linkedin_thread_id": "thread",
                "linkedin_thread_url": "thread",
                "custom_data": "object",
            },
            ("linkedin_thread_id", "linkedin_thread_url"),
        ),
    )
}


def perform(
    core: Core,
    spec: ActionSpec,
    identity: Identity,
    data: dict[str, Any],
    parameters: dict[str, Any],
) -> Any:
    """Run an action for an identity whose session is checked first (decisions 8, 9)."""
    if identity.integration is None:
        raise EdgesError(
            "NO_VALID_ACCOUNT_CONFIGURED",
            424,
            "This identity has no LinkedIn integration",
            scope="config",
        )
    if identity.integration.status != "VALID":
        raise EdgesError(
            "AUTH_EXPIRED",
            424,
            "The LinkedIn session of this identity expired",
            scope="auth",
            params={"identity_uid": identity.uid},
        )
    core.ledger.totals[f"calls:{spec.slug}"] += 1
    return spec.handler(core, identity, data, parameters)
