"""Where an enrollment stands in its campaign's steps, and what its next step is.

`Enrollment.step_index` is the index of the next step to perform. A connect step that was sent
leaves the lead `invited` with `step_index` on the step after it (usually the
`wait_for_acceptance` step, whose timeout decides when a stale invitation is withdrawn). Accepting
moves the lead past the wait step to its first message. These are plain functions of the step
list, tested without I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from linkseq.campaigns import (
    CampaignSpec,
    ConnectStep,
    InmailStep,
    MessageStep,
    Step,
    VisitStep,
    WaitStep,
    parse_campaign,
)
from linkseq.planning.pacing import StepKind

__all__ = [
    "DEFAULT_INVITE_TIMEOUT",
    "after_acceptance",
    "connect_index",
    "first_message_index",
    "invite_timeout",
    "is_outreach",
    "load_spec",
    "next_due",
    "step_at",
    "step_kind",
]

DEFAULT_INVITE_TIMEOUT = timedelta(days=21)
_PLANNER_KIND = {
    "visit": StepKind.visit,
    "connect": StepKind.invitation,
    "inmail": StepKind.inmail,
}

_SPEC_CACHE: dict[int, tuple[int, CampaignSpec]] = {}


def load_spec(campaign_id: int, spec_json: dict[str, object]) -> CampaignSpec:
    """The parsed spec of a campaign (cached per campaign while its JSON is unchanged)."""
    fingerprint = hash(repr(spec_json))
    cached = _SPEC_CACHE.get(campaign_id)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    spec = parse_campaign(spec_json)
    _SPEC_CACHE[campaign_id] = (fingerprint, spec)
    return spec


def step_at(steps: Sequence[Step], index: int) -> Step | None:
    """The step at `index`, or None past the end."""
    return steps[index] if 0 <= index < len(steps) else None


def is_outreach(step: Step) -> bool:
    """True for steps that send something to LinkedIn (not a wait)."""
    return not isinstance(step, WaitStep)


def connect_index(steps: Sequence[Step]) -> int | None:
    """Index of the connect step, if the campaign has one."""
    return next((i for i, s in enumerate(steps) if isinstance(s, ConnectStep)), None)


def first_message_index(steps: Sequence[Step], start: int = 0) -> int | None:
    """Index of the first message or InMail step at or after `start`."""
    return next(
        (i for i in range(start, len(steps)) if isinstance(steps[i], MessageStep | InmailStep)),
        None,
    )


def after_acceptance(steps: Sequence[Step], index: int) -> int:
    """The step to perform once connected: skip waits (and a pending connect) from `index`."""
    i = index
    while i < len(steps) and isinstance(steps[i], WaitStep | ConnectStep | VisitStep):
        i += 1
    return i


def invite_timeout(steps: Sequence[Step], index: int) -> tuple[timedelta, str]:
    """How long an invitation may stay pending at `index`, and what happens then."""
    step = step_at(steps, index)
    if isinstance(step, WaitStep):
        return timedelta(days=step.timeout_days), step.on_timeout
    return DEFAULT_INVITE_TIMEOUT, "withdraw"


def next_due(steps: Sequence[Step], index: int, now: datetime) -> datetime | None:
    """When the step at `index` is due, counting its delay from `now`; None past the end."""
    step = step_at(steps, index)
    return None if step is None else now + step.delay


def step_kind(step: Step, message_count: int) -> StepKind | None:
    """The planner's kind of an outreach step (None for a wait)."""
    if step.type == "message":
        return StepKind.follow_up if message_count > 0 else StepKind.first_message
    return _PLANNER_KIND.get(step.type)
