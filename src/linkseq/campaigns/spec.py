"""The campaign file: a YAML document validated into a `CampaignSpec`.

Every error names the field it is about (`campaign.yaml: steps[2].note: over 300 characters
(312)`) and is raised as `linkseq.errors.InputError`; nothing is half-accepted. The parsed spec is
stored as JSON (`spec.to_json()`) next to the YAML as written, and `parse_campaign` reads that
JSON back to the same spec.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from linkseq.campaigns.templates import TemplateProblem, check_template, min_rendered_length
from linkseq.errors import InputError
from linkseq.planning.hours import TimezonePolicy, WorkingSchedule
from linkseq.planning.pacing import DEFAULT_PRIORITY, Pacing, StepKind

__all__ = [
    "DAY_NAMES",
    "INMAIL_SUBJECT_MAX",
    "MESSAGE_MAX",
    "NOTE_MAX",
    "SMART_LIMIT_MAX",
    "CampaignSpec",
    "Caps",
    "ConnectStep",
    "InmailStep",
    "MessageStep",
    "PacingSpec",
    "Schedule",
    "Step",
    "VisitStep",
    "WaitStep",
    "format_delay",
    "load_campaign_file",
    "parse_campaign",
    "parse_delay",
]

NOTE_MAX = 300
MESSAGE_MAX = 8000
INMAIL_SUBJECT_MAX = 200
# The highest Smart Limit of each action at any level (Sales Navigator; messages: guide §6 cap).
SMART_LIMIT_MAX: dict[str, int] = {"visit": 500, "connect": 30, "message": 250, "inmail": 50}
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
STEP_TYPES = ("visit", "connect", "wait_for_acceptance", "message", "inmail")

# ---- small value parsers ----------------------------------------------------------------------

_DELAY = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_delay(value: Any) -> timedelta:
    """`"3d"`, `"12h"`, `"30m"`, `"1d12h"`, `"2w"` or whole seconds (int) → a timedelta ≥ 0."""
    if isinstance(value, timedelta):
        delay = value
    elif isinstance(value, bool):
        raise ValueError("a delay is a duration like 3d, 12h, 30m or 1d12h")
    elif isinstance(value, int | float):
        delay = timedelta(seconds=value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        if text.startswith("-"):
            raise ValueError(f"a delay cannot be negative ({value.strip()})")
        if text.isdigit():
            return timedelta(seconds=int(text))
        match = _DELAY.match(text)
        if not text or match is None:
            raise ValueError(f"{value!r} is not a duration like 3d, 12h, 30m or 1d12h")
        weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
        delay = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    else:
        raise ValueError("a delay is a duration like 3d, 12h, 30m or 1d12h")
    if delay < timedelta(0):
        raise ValueError(f"a delay cannot be negative ({format_delay(-delay)} before)")
    return delay


def format_delay(delay: timedelta) -> str:
    """A timedelta in the file's own notation: `1d12h`, `30m`, `0s`."""
    total = int(delay.total_seconds())
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    text = "".join(
        f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")) if n
    )
    return text or "0s"


def _parse_time(value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*", value)
        if match:
            hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
            if hour < 24 and minute < 60 and second < 60:
                return time(hour, minute, second)
    raise ValueError(f"{value!r} is not a time of day like 09:00")


def _check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use a name like Europe/Paris)") from None
    return name


def _check_template_text(text: str, limit: int | None) -> str:
    try:
        check_template(text)
    except TemplateProblem as exc:
        raise ValueError(str(exc)) from None
    if limit is not None:
        shortest = min_rendered_length(text)
        if shortest is not None and shortest > limit:
            raise ValueError(f"over {limit} characters ({shortest})")
    return text


# ---- the model --------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class Schedule(_Model):
    """When a campaign acts: working days, a daily window, whose clock, and public holidays."""

    days: list[str] = Field(default_factory=lambda: list(DAY_NAMES[:5]))
    start: time = time(9, 0)
    end: time = time(18, 0)
    timezone: Literal["lead", "identity", "fixed"] = "lead"
    fixed_timezone: str | None = None
    default_timezone: str = "UTC"
    holidays: str | None = None

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> list[str]:
        if isinstance(value, str):
            value = [part for part in re.split(r"[\s,]+", value) if part]
        if not isinstance(value, list | tuple) or not value:
            raise ValueError("give at least one working day (mon, tue, …, sun)")
        days: list[str] = []
        for item in value:
            word = str(item).strip().lower()
            if word in _FULL_DAY_NAMES:
                word = DAY_NAMES[_FULL_DAY_NAMES.index(word)]
            if word not in DAY_NAMES:
                raise ValueError(f"{item!r} is not a day (use mon, tue, wed, thu, fri, sat, sun)")
            if word not in days:
                days.append(word)
        return sorted(days, key=DAY_NAMES.index)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time(cls, value: Any) -> time:
        return _parse_time(value)

    @field_validator("fixed_timezone", "default_timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _check_zone(value)

    @field_validator("holidays", mode="before")
    @classmethod
    def _holidays(cls, value: Any) -> str | None:
        if value is None:
            return None
        code = str(value).strip().upper()
        try:
            WorkingSchedule(holidays_country=code)
        except (NotImplementedError, KeyError, ValueError):
            raise ValueError(f"no public holidays known for country {value!r}") from None
        return code

    @model_validator(mode="after")
    def _consistent(self) -> Schedule:
        if not self.start < self.end:
            raise ValueError(f"start ({self.start:%H:%M}) must be before end ({self.end:%H:%M})")
        if self.timezone == "fixed" and self.fixed_timezone is None:
            raise ValueError("timezone: fixed needs fixed_timezone (e.g. Europe/Paris)")
        return self

    @field_serializer("start", "end")
    def _dump_time(self, value: time) -> str:
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")

    @property
    def policy(self) -> TimezonePolicy:
        """The time-zone policy as the planner's enum."""
        return TimezonePolicy(self.timezone)

    def working_schedule(self) -> WorkingSchedule:
        """The planner's view of these hours."""
        return WorkingSchedule(
            days=frozenset(DAY_NAMES.index(day) for day in self.days),
            start=self.start,
            end=self.end,
            holidays_country=self.holidays,
        )


class Caps(_Model):
    """Per identity per day, at most this many of each action (never above the Smart Limits)."""

    visit: int | None = Field(default=None, ge=0)
    connect: int | None = Field(default=None, ge=0)
    message: int | None = Field(default=None, ge=0)
    inmail: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _under_smart_limits(self) -> Caps:
        for action, ceiling in SMART_LIMIT_MAX.items():
            value = getattr(self, action)
            if value is not None and value > ceiling:
                raise ValueError(
                    f"{action}: {value} is above the Smart Limit ({ceiling} per day at most)"
                )
        return self

    def as_dict(self) -> dict[str, int]:
        """The caps that are set, by action name."""
        return {a: v for a in SMART_LIMIT_MAX if (v := getattr(self, a)) is not None}


class PacingSpec(_Model):
    """Gap between two actions of one identity, drawn at random in [min, max] seconds, and the
    order in which the kinds of step go when several are due (`order`, first to last; kinds
    it leaves out follow in the default order: follow_up, first_message, inmail, invitation,
    visit)."""

    min_gap_seconds: int = Field(default=45, ge=0)
    max_gap_seconds: int = Field(default=120, ge=0)
    order: tuple[StepKind, ...] | None = None

    @field_validator("order")
    @classmethod
    def _once_each(cls, value: tuple[StepKind, ...] | None) -> tuple[StepKind, ...] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("a kind of step appears twice")
        return value

    def priority(self) -> tuple[StepKind, ...]:
        """The planner's order of step kinds: `order`, then the others in the default order."""
        first = self.order or ()
        return (*first, *(k for k in DEFAULT_PRIORITY if k not in first))

    @model_validator(mode="after")
    def _ordered(self) -> PacingSpec:
        if self.min_gap_seconds > self.max_gap_seconds:
            raise ValueError(
                f"min_gap_seconds ({self.min_gap_seconds}) is above "
                f"max_gap_seconds ({self.max_gap_seconds})"
            )
        return self

    def pacing(self) -> Pacing:
        """The planner's pacing."""
        return Pacing(
            min_gap=timedelta(seconds=self.min_gap_seconds),
            max_gap=timedelta(seconds=self.max_gap_seconds),
        )


class _Step(_Model):
    id: str = Field(pattern=r"^[a-z0-9_-]+$", max_length=64)
    delay: timedelta = timedelta(0)

    @field_validator("delay", mode="before")
    @classmethod
    def _delay(cls, value: Any) -> timedelta:
        return parse_delay(value)

    @field_serializer("delay")
    def _dump_delay(self, value: timedelta) -> int:
        return int(value.total_seconds())


class VisitStep(_Step):
    """Visit the lead's profile."""

    type: Literal["visit"] = "visit"


class ConnectStep(_Step):
    """Send an invitation, with an optional note (a template, ≤ 300 characters rendered)."""

    type: Literal["connect"] = "connect"
    note: str | None = None
    # Out of personalised-note quota (or the note cannot be rendered): invite without a note.
    fallback_without_note: bool = True

    @field_validator("note")
    @classmethod
    def _note(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return _check_template_text(value, NOTE_MAX)


class WaitStep(_Step):
    """Wait until the invitation is accepted; after `timeout_days`, withdraw, skip or InMail."""

    type: Literal["wait_for_acceptance"] = "wait_for_acceptance"
    timeout_days: int = Field(default=21, ge=1, le=365)
    on_timeout: Literal["withdraw", "skip", "inmail"] = "withdraw"


class MessageStep(_Step):
    """Send a message (a template, ≤ 8,000 characters); the lead must be a connection."""

    type: Literal["message"] = "message"
    text: str

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a message needs text")
        return _check_template_text(value, MESSAGE_MAX)


class InmailStep(_Step):
    """Send an InMail (subject and text are templates)."""

    type: Literal["inmail"] = "inmail"
    subject: str
    text: str

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("an InMail needs a subject")
        return _check_template_text(value, INMAIL_SUBJECT_MAX)

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("an InMail needs text")
        return _check_template_text(value, MESSAGE_MAX)


Step = Annotated[
    VisitStep | ConnectStep | WaitStep | MessageStep | InmailStep, Field(discriminator="type")
]


class CampaignSpec(_Model):
    """A whole campaign file. A reply always stops the sequence (that is not configurable)."""

    name: str = Field(min_length=1, max_length=200)
    identities: list[str] = Field(min_length=1)
    priority: int = Field(default=1, ge=0, le=1000)
    schedule: Schedule = Field(default_factory=Schedule)
    caps: Caps = Field(default_factory=Caps)
    pacing: PacingSpec = Field(default_factory=PacingSpec)
    steps: list[Step] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a campaign needs a name")
        return value.strip()

    @field_validator("identities", mode="before")
    @classmethod
    def _identities(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            names = [str(v).strip() for v in value]
            if any(not n for n in names):
                raise ValueError("an identity name cannot be blank")
            if len(set(names)) != len(names):
                raise ValueError("an identity is listed twice")
            return names
        return value

    @model_validator(mode="after")
    def _sequence(self) -> CampaignSpec:
        seen: set[str] = set()
        connect_at: int | None = None
        for index, step in enumerate(self.steps):
            where = f"steps[{index}]"
            if step.id in seen:
                raise ValueError(f"{where}.id: {step.id!r} is used by an earlier step")
            seen.add(step.id)
            if isinstance(step, ConnectStep):
                if connect_at is not None:
                    raise ValueError(f"{where}: only one connect step per campaign")
                connect_at = index
            elif isinstance(step, WaitStep):
                if connect_at is None:
                    raise ValueError(f"{where}: wait_for_acceptance needs a connect step before it")
                if step.on_timeout == "inmail" and not any(
                    isinstance(later, InmailStep) for later in self.steps[index + 1 :]
                ):
                    raise ValueError(
                        f"{where}.on_timeout: inmail needs an inmail step later in steps"
                    )
        return self

    @property
    def step_ids(self) -> list[str]:
        """The steps' ids, in order."""
        return [step.id for step in self.steps]

    def step(self, step_id: str) -> VisitStep | ConnectStep | WaitStep | MessageStep | InmailStep:
        """The step with this id; KeyError when there is none."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def to_json(self) -> dict[str, Any]:
        """The spec as plain JSON (stored in `campaigns.spec`); `parse_campaign` reads it back."""
        return self.model_dump(mode="json")


# ---- loading ----------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML 1.2-ish scalars: `9:00` stays text (not sexagesimal 540), `NO` stays text (Norway)."""


_Loader.yaml_implicit_resolvers = {
    key: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    ]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    previous: int | str | None = None
    for index, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        elif (
            isinstance(previous, int)
            and index >= 2
            and loc[index - 2] == "steps"
            and part in STEP_TYPES
        ):
            pass  # the discriminator tag pydantic adds to the path: not a field of the file
        elif part in ("function-after[_sequence()]",) or part.startswith(("function-", "tagged-")):
            pass
        else:
            text += f".{part}" if text else part
        previous = part
    return text


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required"
    if kind == "union_tag_not_found":
        return f"missing type (one of {', '.join(STEP_TYPES)})"
    if kind == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag", "?")
        return f"unknown step type {tag!r} (one of {', '.join(STEP_TYPES)})"
    if kind == "string_pattern_mismatch":
        return "use only a-z, 0-9, _ and -"
    message = str(error["msg"])
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


_SUBPATH = re.compile(r"^([a-z_]+(?:\[\d+\])?(?:\.[a-z_]+)*): ")


def _format_errors(source: str, exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    where = _location(tuple(first["loc"]))
    message = _message(first)
    # Model-level errors carry the rest of their field path ("steps[2].id: …", "visit: …").
    sub = _SUBPATH.match(message)
    if sub is not None:
        where = f"{where}.{sub[1]}" if where else sub[1]
        message = message[sub.end() :]
    line = f"{source}: {where}: {message}" if where else f"{source}: {message}"
    if len(errors) > 1:
        line += f" (and {len(errors) - 1} more)"
    return line


def parse_campaign(data: Mapping[str, Any] | str, *, source: str = "campaign") -> CampaignSpec:
    """Validate a campaign (YAML text or a parsed mapping); `InputError` names the field."""
    if isinstance(data, str):
        try:
            data = yaml.load(data, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise InputError(f"{source}: not valid YAML{where}: {problem}") from None
    if not isinstance(data, Mapping):
        raise InputError(f"{source}: a campaign file is a mapping of keys (name, steps, …)")
    try:
        return CampaignSpec.model_validate(dict(data))
    except ValidationError as exc:
        raise InputError(_format_errors(source, exc)) from None


def load_campaign_file(path: str | Path) -> CampaignSpec:
    """Read and validate a campaign file; errors start with the file's name."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{file}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{file}: cannot read it: {exc}") from None
    return parse_campaign(text, source=file.name)
