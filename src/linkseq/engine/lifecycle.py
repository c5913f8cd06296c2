"""The lead lifecycle (DESIGN.md, guide §5) as a table: `(state, event) -> state`.

Decisions where DESIGN.md is loose:

- `visited`, `waiting` and `cooldown` are *reasons*, not states. A visit is a step after which
  the lead stays `ready` (its next step due after the step's delay); a lead waiting for a limit or
  for its hours stays in its state with a later `next_action_at` and a hold reason (see
  `linkseq.planning.schedule.HoldReason`); a lead with a conversation in the last 3 days stays
  `new` until the cooldown ends, then is checked again (it may have replied meanwhile).
- `paused` remembers the state it came from: `Position(state=paused, resume_to=...)`. The table
  sends every active state to `paused` on `auth_expired`; `resumed` is resolved by `advance`
  (or `resume`), which returns exactly the remembered state.
- `replied` is final: no event leaves it. `completed` and `withdrawn` accept only `replied`
  (a late reply is still recorded, a human takes over). `skipped` and `failed` accept nothing.
  `TERMINAL` is the set of states in which automation never acts again.
- `dnc` is accepted from every active state: the do-not-contact list is checked at every send.
- `limit_reached` and `rate_limited` keep the state (the lead waits; the planner holds it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "ACTIVE",
    "TERMINAL",
    "TRANSITIONS",
    "Event",
    "IllegalTransition",
    "Position",
    "State",
    "UnknownErrorLabel",
    "advance",
    "outcome_for_error_label",
    "resume",
    "transition",
]


class State(StrEnum):
    """Where one enrollment (a lead in a campaign) stands."""

    new = "new"
    ready = "ready"
    invited = "invited"
    connected = "connected"
    messaged = "messaged"
    replied = "replied"
    paused = "paused"
    completed = "completed"
    withdrawn = "withdrawn"
    skipped = "skipped"
    failed = "failed"


class Event(StrEnum):
    """Something observed or done that may move a lead."""

    # pre-checks of a new lead (guide §10, §17, Part B of §5)
    checked_ok = "checked_ok"
    dnc = "dnc"
    duplicate = "duplicate"
    lead_wrote_first = "lead_wrote_first"
    recent_conversation = "recent_conversation"
    already_connected = "already_connected"
    invitation_pending = "invitation_pending"
    # our actions
    visited = "visited"
    invited = "invited"
    messaged = "messaged"
    last_message_sent = "last_message_sent"
    last_step_done = "last_step_done"
    # what the lead did
    accepted = "accepted"
    replied = "replied"
    # stale invitations: withdrawn and stop, or withdrawn and go on to the InMail step
    invite_timeout_withdraw = "invite_timeout_withdraw"
    invite_timeout_skip = "invite_timeout_skip"
    # error labels (guide §7)
    profile_not_accessible = "profile_not_accessible"
    invalid_input = "invalid_input"
    not_connected = "not_connected"
    limit_reached = "limit_reached"
    rate_limited = "rate_limited"
    auth_expired = "auth_expired"
    resumed = "resumed"


class IllegalTransition(ValueError):
    """The event cannot happen to a lead in this state."""

    def __init__(self, state: State, event: Event) -> None:
        super().__init__(f"event {event.value!r} is not allowed in state {state.value!r}")
        self.state = state
        self.event = event


class UnknownErrorLabel(ValueError):
    """An Edges error label that the lifecycle does not map to an event."""


S, E = State, Event
TERMINAL: frozenset[State] = frozenset({S.replied, S.completed, S.withdrawn, S.skipped, S.failed})
ACTIVE: frozenset[State] = frozenset({S.new, S.ready, S.invited, S.connected, S.messaged})

_ROWS: dict[State, dict[Event, State]] = {
    S.new: {
        E.checked_ok: S.ready,
        E.dnc: S.skipped,
        E.duplicate: S.skipped,
        E.lead_wrote_first: S.replied,
        E.replied: S.replied,
        E.recent_conversation: S.new,  # cooldown: checked again when it ends
        E.already_connected: S.connected,
        E.invitation_pending: S.invited,
        E.profile_not_accessible: S.failed,
        E.invalid_input: S.failed,
        E.limit_reached: S.new,
        E.rate_limited: S.new,
    },
    S.ready: {
        E.visited: S.ready,  # the next step becomes due after its delay
        E.invited: S.invited,
        E.messaged: S.messaged,  # InMail / open profile: no connection needed
        E.last_message_sent: S.completed,  # that InMail was the campaign's last step
        E.last_step_done: S.completed,
        E.already_connected: S.connected,
        E.invitation_pending: S.invited,
        E.not_connected: S.ready,  # back to the connect step
        E.dnc: S.skipped,
        E.duplicate: S.skipped,
        E.replied: S.replied,
        E.profile_not_accessible: S.failed,
        E.invalid_input: S.failed,
        E.limit_reached: S.ready,
        E.rate_limited: S.ready,
    },
    S.invited: {
        E.accepted: S.connected,
        E.already_connected: S.connected,
        E.invitation_pending: S.invited,
        E.invite_timeout_withdraw: S.withdrawn,
        E.invite_timeout_skip: S.ready,
        E.replied: S.replied,
        E.dnc: S.skipped,
        E.profile_not_accessible: S.failed,
        E.invalid_input: S.failed,
        E.limit_reached: S.invited,
        E.rate_limited: S.invited,
    },
    S.connected: {
        E.messaged: S.messaged,
        E.last_message_sent: S.completed,
        E.last_step_done: S.completed,
        E.not_connected: S.ready,
        E.replied: S.replied,
        E.dnc: S.skipped,
        E.profile_not_accessible: S.failed,
        E.invalid_input: S.failed,
        E.limit_reached: S.connected,
        E.rate_limited: S.connected,
    },
    S.messaged: {
        E.messaged: S.messaged,
        E.last_message_sent: S.completed,
        E.last_step_done: S.completed,
        E.not_connected: S.ready,
        E.replied: S.replied,
        E.dnc: S.skipped,
        E.profile_not_accessible: S.failed,
        E.invalid_input: S.failed,
        E.limit_reached: S.messaged,
        E.rate_limited: S.messaged,
    },
    S.paused: {E.auth_expired: S.paused, E.replied: S.replied},
    S.completed: {E.replied: S.replied},
    S.withdrawn: {E.replied: S.replied},
    S.replied: {},
    S.skipped: {},
    S.failed: {},
}
for _state in ACTIVE:
    _ROWS[_state][E.auth_expired] = S.paused

TRANSITIONS: Mapping[tuple[State, Event], State] = MappingProxyType(
    {(state, event): target for state, row in _ROWS.items() for event, target in row.items()}
)


def transition(state: State, event: Event) -> State:
    """Return the state `event` moves a lead in `state` to; raise `IllegalTransition` otherwise."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition(state, event) from None


@dataclass(frozen=True, slots=True)
class Position:
    """A lead's state, and for a paused lead the state it resumes to."""

    state: State
    resume_to: State | None = None

    def __post_init__(self) -> None:
        if (self.state is State.paused) != (self.resume_to is not None):
            raise ValueError("resume_to is set exactly when the state is paused")
        if self.resume_to is not None and self.resume_to not in ACTIVE:
            raise ValueError(f"cannot resume to {self.resume_to.value!r}")


def resume(position: Position) -> State:
    """The state a paused lead returns to when its identity is reconnected."""
    if position.resume_to is None:
        raise IllegalTransition(position.state, Event.resumed)
    return position.resume_to


def advance(position: Position, event: Event) -> Position:
    """Apply `event` to a position, remembering where a lead was paused from."""
    if event is Event.resumed:
        return Position(resume(position))
    target = transition(position.state, event)
    if target is State.paused:
        return Position(State.paused, position.resume_to or position.state)
    return Position(target)


_LABELS: Mapping[str, Event] = MappingProxyType(
    {
        "LIMIT_REACHED": Event.limit_reached,
        "NOT_CONNECTED": Event.not_connected,
        "ALREADY_CONNECTED": Event.already_connected,
        "INVITATION_PENDING": Event.invitation_pending,
        "PROFILE_NOT_ACCESSIBLE": Event.profile_not_accessible,
        "AUTH_EXPIRED": Event.auth_expired,
        # an identity without a LinkedIn integration cannot act either: pause, like AUTH_EXPIRED
        "NO_VALID_ACCOUNT_CONFIGURED": Event.auth_expired,
        "INVALID_INPUT": Event.invalid_input,
        "BAD_INPUT": Event.invalid_input,
        "BAD_PARAMETERS": Event.invalid_input,
        "STATUS_429": Event.rate_limited,
    }
)


def outcome_for_error_label(label: str) -> Event:
    """Map an Edges error label (guide §7) to the lifecycle event it causes."""
    try:
        return _LABELS[label.strip().upper()]
    except KeyError:
        raise UnknownErrorLabel(f"no lifecycle outcome for error label {label!r}") from None
