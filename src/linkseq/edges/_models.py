"""Typed views of Edges' JSON: tolerant of unknown fields, odd types and blank strings.

Every model keeps unknown fields (`extra="allow"`), reads blank strings as missing, numeric
strings as numbers (`total_received_messages` is a string in the schema) and either spelling
where API.md or the wire decisions name two (`uid`/`run_uid`, `label`/`error_label`, `id`/
`linkedin_profile_id`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from linkseq.edges._errors import EdgesError, parse_timestamp

__all__ = [
    "ActionLimit",
    "ActionLimits",
    "Attachment",
    "Callback",
    "CallbackPayload",
    "CallbackRun",
    "Checkpoint",
    "ConnectResult",
    "Connection",
    "Conversation",
    "EdgesModel",
    "Identity",
    "InmailResult",
    "Integration",
    "IntegrationEvent",
    "LastMessage",
    "LoginLinks",
    "Me",
    "MessageResult",
    "Participant",
    "Run",
    "RunError",
    "RunRow",
    "RunStatus",
    "SearchPerson",
    "SentInvitation",
    "ThreadMessage",
    "ThreadUrl",
    "VisitResult",
    "WithdrawResult",
]


def _loose_int(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return None if value is None else int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        return int(text) if text.lstrip("-").isdigit() else None
    return None


def _loose_str(value: Any) -> Any:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _loose_bool(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().lower()
        if text in {"true", "1", "yes"}:
            return True
        if text in {"false", "0", "no"}:
            return False
        return None
    return value


LooseInt = Annotated[int | None, BeforeValidator(_loose_int)]
LooseStr = Annotated[str | None, BeforeValidator(_loose_str)]
LooseBool = Annotated[bool | None, BeforeValidator(_loose_bool)]
LooseDatetime = Annotated[datetime | None, BeforeValidator(parse_timestamp)]


class EdgesModel(BaseModel):
    """Base of every Edges payload model: unknown fields kept, names as on the wire."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    @classmethod
    def parse(cls, data: Any) -> Self:
        """Validate a decoded JSON object (a dict) into this model."""
        return cls.model_validate(data)


# --- actions -------------------------------------------------------------------------------


class Me(EdgesModel):
    """linkedin-me: the identity's own LinkedIn profile."""

    id: LooseInt = None
    linkedin_profile_id: LooseInt = None
    first_name: LooseStr = None
    last_name: LooseStr = None
    full_name: LooseStr = None
    job_title: LooseStr = None
    object_urn: LooseStr = None
    handle: LooseStr = None
    premium_subscriber: LooseBool = None
    linkedin_profile_url: LooseStr = None
    profile_image_url: LooseStr = None
    sales_navigator_profile_id: LooseStr = None

    @model_validator(mode="after")
    def _own_id(self) -> Self:
        # Decision 19: `id` is the identity's linkedin_profile_id; either key is read.
        if self.linkedin_profile_id is None:
            self.linkedin_profile_id = self.id
        return self


class VisitResult(EdgesModel):
    """linkedin-visit-profile output."""

    linkedin_profile_id: LooseInt = None
    sales_navigator_profile_id: LooseStr = None


class ConnectResult(EdgesModel):
    """linkedin-connect-profile output (decision 28)."""

    connected: LooseBool = None
    pending: LooseBool = None
    message: LooseStr = None
    connection_sent_date: LooseDatetime = None
    linkedin_profile_id: LooseInt = None
    sales_navigator_profile_id: LooseStr = None


class Attachment(EdgesModel):
    """A message attachment (field names as Edges sends them)."""

    assetUrn: LooseStr = None
    byteSize: LooseInt = None
    mediaType: LooseStr = None
    name: LooseStr = None
    type: LooseStr = None
    errorMessage: LooseStr = None


class MessageResult(EdgesModel):
    """linkedin-message-profile output."""

    message: LooseStr = None
    linkedin_thread_id: LooseStr = None
    linkedin_thread_url: LooseStr = None
    is_sent: LooseBool = None
    reply: LooseStr = None
    delivered_at: LooseDatetime = None
    linkedin_message_id: LooseStr = None
    linkedin_profile_id: LooseInt = None
    sales_navigator_profile_id: LooseStr = None
    attachments: list[Attachment] = Field(default_factory=list)


class InmailResult(MessageResult):
    """linkedin-inmail-profile output."""

    linkedin_people_post_search_url: LooseStr = None


class Participant(EdgesModel):
    """A participant of a conversation."""

    linkedin_profile_id: LooseInt = None
    sales_navigator_profile_id: LooseStr = None
    linkedin_profile_url: LooseStr = None
    first_name: LooseStr = None
    last_name: LooseStr = None
    job_title: LooseStr = None
    linkedin_people_post_search_url: LooseStr = None


class LastMessage(EdgesModel):
    """The newest message of a conversation; its sender tells whether the lead replied."""

    delivered_at: LooseDatetime = None
    first_name: LooseStr = None
    last_name: LooseStr = None
    linkedin_profile_id: LooseInt = None
    sales_navigator_profile_id: LooseStr = None
    job_title: LooseStr = None
    message_id: LooseStr = None
    content: LooseStr = None
    attachments: list[Attachment] = Field(default_factory=list)


class Conversation(EdgesModel):
    """One row of linkedin-extract-conversations."""

    participants: list[Participant] = Field(default_factory=list)
    linkedin_thread_id: LooseStr = None
    linkedin_thread_url: LooseStr = None
    read: LooseBool = None
    total_received_messages: LooseInt = None
    created_at: LooseDatetime = None
    last_activity_at: LooseDatetime = None
    last_message: LastMessage | None = None
    unread_count: LooseInt = None
    sponsored: LooseBool = None


class ThreadMessage(EdgesModel):
    """One row of linkedin-extract-messages (`linkedin_profile_id` is the sender)."""

    linkedin_thread_id: LooseStr = None
    position: LooseInt = None
    delivered_at: LooseDatetime = None
    created_at: LooseDatetime = None
    first_name: LooseStr = None
    last_name: LooseStr = None
    linkedin_profile_id: LooseInt = None
    sales_navigator_profile_id: LooseStr = None
    job_title: LooseStr = None
    content: LooseStr = None
    message_id: LooseStr = None
    attachments: list[Attachment] = Field(default_factory=list)


class Connection(EdgesModel):
    """One row of linkedin-extract-connections."""

    connected_at: LooseDatetime = None
    first_name: LooseStr = None
    last_name: LooseStr = None
    full_name: LooseStr = None
    job_title: LooseStr = None
    linkedin_profile_handle: LooseStr = None
    linkedin_profile_url: LooseStr = None
    linkedin_profile_id: LooseInt = None
    profile_image_url: LooseStr = None
    sales_navigator_profile_id: LooseStr = None


class SearchPerson(EdgesModel):
    """One row of linkedin-search-people."""

    full_name: LooseStr = None
    first_name: LooseStr = None
    last_name: LooseStr = None
    job_title: LooseStr = None
    current_title: LooseStr = None
    company_name: LooseStr = None
    headline: LooseStr = None
    location: LooseStr = None
    linkedin_profile_url: LooseStr = None
    linkedin_profile_handle: LooseStr = None
    profile_image_url: LooseStr = None
    linkedin_profile_id: LooseInt = None
    sales_navigator_profile_id: LooseStr = None
    connection_degree: LooseStr = None
    shared_connection_search_url: LooseStr = None
    number_shared_connections: LooseInt = None
    shared_connection_profile_urls: list[str] = Field(default_factory=list)
    linkedin_people_post_search_url: LooseStr = None

    @field_validator("shared_connection_profile_urls", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return value or []


class SentInvitation(EdgesModel):
    """One row of linkedin-extract-sent-invitations."""

    linkedin_invitation_id: LooseStr = None
    linkedin_invitation_urn: LooseStr = None
    sent_date: LooseDatetime = None
    linkedin_profile_url: LooseStr = None
    job_title: LooseStr = None
    full_name: LooseStr = None
    first_name: LooseStr = None
    last_name: LooseStr = None
    sales_navigator_profile_id: LooseStr = None
    linkedin_profile_id: LooseInt = None


class WithdrawResult(EdgesModel):
    """linkedin-withdraw-invitation output."""

    linkedin_invitation_id: LooseStr = None
    linkedin_invitation_urn: LooseStr = None


class ThreadUrl(EdgesModel):
    """linkedin-get-thread-url output: the 1:1 thread, or None when there is none."""

    linkedin_thread_url: LooseStr = None
    linkedin_thread_id: LooseStr = None


# --- runs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Callback:
    """Where Edges POSTs the results of an async or scheduled run (decision 14: on="all")."""

    url: str
    # Headers usually carry linkseq's shared secret: kept out of the repr.
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    on: Literal["all", "final"] = "all"

    def __post_init__(self) -> None:
        if self.on not in ("all", "final"):
            raise ValueError(f"callback.on must be 'all' or 'final', not {self.on!r}")
        if not self.url.startswith(("https://", "http://")):
            raise ValueError(f"callback url {self.url!r} must be an http(s) URL")

    def wire(self) -> dict[str, Any]:
        """The `callback` object of a run request."""
        body: dict[str, Any] = {"url": self.url, "on": self.on}
        if self.headers:
            body["headers"] = dict(self.headers)
        return body


class RunError(EdgesModel):
    """`last_error` of a run: read `label` or `error_label`."""

    label: LooseStr = None
    error_label: LooseStr = None
    message: LooseStr = None
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _either_label(self) -> Self:
        self.label = self.label or self.error_label
        self.error_label = self.error_label or self.label
        return self

    @field_validator("params", mode="before")
    @classmethod
    def _params(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else {}

    @property
    def postponed_until(self) -> datetime | None:
        """`params.postponed_until`, parsed."""
        return parse_timestamp(self.params.get("postponed_until"))

    def to_exception(self) -> EdgesError:
        """The exception this error would have raised in live mode."""
        return EdgesError.from_body(self.model_dump())


class Run(EdgesModel):
    """An async or scheduled run (decision 22); `uid` and `run_uid` are the same."""

    uid: LooseStr = None
    run_uid: LooseStr = None
    id: LooseInt = None
    status: LooseStr = None
    action_name: LooseStr = None
    execution_mode: LooseStr = None
    output_count: LooseInt = None
    retry_count: LooseInt = None
    postponed_until: LooseDatetime = None
    scheduled_run_uid: LooseStr = None
    created_at: LooseDatetime = None
    updated_at: LooseDatetime = None
    started_at: LooseDatetime = None
    finished_at: LooseDatetime = None
    last_error: RunError | None = None

    @model_validator(mode="after")
    def _normalise(self) -> Self:
        self.uid = self.uid or self.run_uid
        self.run_uid = self.run_uid or self.uid
        # Decision 12: status compared case-insensitively; stored upper-case.
        self.status = self.status.upper() if self.status else None
        return self


class RunStatus(Run):
    """`GET /v1/runs/{uid}/status`."""


class RunRow(EdgesModel):
    """A row of `GET /v1/runs/{uid}/outputs` or `/inputs`: action fields plus the echoes."""

    custom_data: dict[str, Any] = Field(default_factory=dict)
    input: dict[str, Any] = Field(default_factory=dict)
    status: LooseStr = None
    extracted_at: LooseDatetime = None
    error: dict[str, Any] | None = None

    @field_validator("custom_data", "input", mode="before")
    @classmethod
    def _objects(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else {}

    @field_validator("error", mode="before")
    @classmethod
    def _error(cls, value: Any) -> Any:
        if value is None or isinstance(value, dict):
            return value
        return {"message": str(value)}


# --- identities ----------------------------------------------------------------------------


class Checkpoint(EdgesModel):
    """A LinkedIn login challenge (e.g. `PHONE_REGISTER`) surfaced by a password connect."""

    type: LooseStr = None


class Integration(EdgesModel):
    """An identity's LinkedIn integration (API.md §4.2)."""

    uid: LooseStr = None
    identity_uid: LooseStr = None
    status: LooseStr = None
    auth_type: LooseStr = None
    auth_method: LooseStr = None
    setup_source: LooseStr = None
    is_shared: LooseBool = None
    name: LooseStr = None
    integration_permalink: LooseStr = None
    level: LooseStr = None
    created_at: LooseDatetime = None
    meta: dict[str, Any] = Field(default_factory=dict)
    checkpoint: Checkpoint | None = None

    @field_validator("meta", mode="before")
    @classmethod
    def _meta(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else {}

    @field_validator("checkpoint", mode="before")
    @classmethod
    def _checkpoint(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"type": value}
        return value or None

    @property
    def is_valid(self) -> bool:
        """Whether the session can run actions now."""
        return (self.status or "").upper() == "VALID"

    @property
    def sales_navigator(self) -> bool:
        """Decision 24: the `level` selects the limit column."""
        return (self.level or "").lower() == "sales navigator"


class Identity(EdgesModel):
    """An Edges identity (one LinkedIn account)."""

    uid: LooseStr = None
    name: LooseStr = None
    type: LooseStr = None
    timezone: LooseStr = None
    workspace_uid: LooseStr = None
    created_at: LooseDatetime = None
    is_active: LooseBool = None
    is_engagement: LooseBool = None
    integrations: list[Integration | str] = Field(default_factory=list)
    identity_login_links: dict[str, str] = Field(default_factory=dict)

    @field_validator("integrations", mode="before")
    @classmethod
    def _integrations(cls, value: Any) -> Any:
        return value or []

    @field_validator("identity_login_links", mode="before")
    @classmethod
    def _links(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else {}

    @model_validator(mode="after")
    def _engagement(self) -> Self:
        # Decision 1: `type` is the wire field; `is_engagement` is read too.
        if self.is_engagement is None and self.type:
            self.is_engagement = self.type.lower() == "engagement"
        if self.type is None and self.is_engagement is not None:
            self.type = "engagement" if self.is_engagement else "standard"
        return self

    @property
    def linkedin(self) -> Integration | None:
        """The LinkedIn integration object, when the response carried one."""
        for item in self.integrations:
            if isinstance(item, Integration) and (item.integration_permalink or "linkedin") == (
                "linkedin"
            ):
                return item
        return None


class LoginLinks(EdgesModel):
    """`POST /v1/identities/{uid}/generate-login-links`: one URL per platform (valid 48 h)."""

    linkedin: LooseStr = None


class ActionLimit(EdgesModel):
    """One smart limit of an action for an identity (wire decisions, "Limits endpoint")."""

    name: LooseStr = None
    window: LooseStr = None
    limit: LooseInt = None
    used: LooseInt = None
    remaining: LooseInt = None
    ramp_up_day: LooseInt = None
    next_slot_at: LooseDatetime = None


class ActionLimits(EdgesModel):
    """`GET /v1/identities/{uid}/actions/{slug}/limits`."""

    identity_uid: LooseStr = None
    action_name: LooseStr = None
    limits: list[ActionLimit] = Field(default_factory=list)

    @property
    def remaining(self) -> int | None:
        """The smallest remaining count over every limit the action consumes."""
        values = [lim.remaining for lim in self.limits if lim.remaining is not None]
        return min(values) if values else None


# --- callbacks and webhooks ----------------------------------------------------------------


class CallbackRun(EdgesModel):
    """The `run` object of a callback."""

    run_uid: LooseStr = None
    batch_uid: LooseStr = None
    status: LooseStr = None

    @field_validator("status", mode="after")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value


_CALLBACK_KEYS = frozenset(
    {"callback_ref_uid", "run", "action_name", "custom_data", "input", "results", "error"}
)


class CallbackPayload(EdgesModel):
    """What Edges POSTs to `callback.url` for an async or scheduled run (decision 15)."""

    callback_ref_uid: LooseStr = None
    run: CallbackRun = Field(default_factory=CallbackRun)
    action_name: LooseStr = None
    custom_data: dict[str, Any] = Field(default_factory=dict)
    input: dict[str, Any] = Field(default_factory=dict)
    results: list[dict[str, Any]] = Field(default_factory=list)
    error: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _tolerate(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for key in ("input", "results", "run"):
            if data.get(key) is None:
                data.pop(key, None)
        # Tolerated reading: custom_data merged at the root instead of nested.
        if not isinstance(data.get("custom_data"), dict):
            data["custom_data"] = {k: v for k, v in data.items() if k not in _CALLBACK_KEYS}
        if data.get("error") is not None and not isinstance(data["error"], dict):
            data["error"] = {"message": str(data["error"])}
        return data

    @property
    def is_final(self) -> bool:
        """Whether this callback closes its run."""
        return (self.run.status or "") in {"SUCCEEDED", "PARTIAL_SUCCEEDED", "FAILED"}

    def exception(self) -> EdgesError | None:
        """The per-input error as the exception live mode would raise, or None."""
        if self.error is None:
            return None
        return EdgesError.from_body(self.error, action=self.action_name)


class IntegrationEvent(EdgesModel):
    """An integration status webhook: AUTH_EXPIRED, AUTH_FAILED, AUTH_SUCCESS, DELETED."""

    event: LooseStr = None
    action_to_be_taken: LooseStr = None
    event_uid: LooseStr = None
    occurred_at: LooseDatetime = None
    identity_uid: LooseStr = None
    integration: Integration | None = None

    @model_validator(mode="before")
    @classmethod
    def _tolerate(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        raw = dict(data)
        if not raw.get("event_uid"):
            # Decision 16: without an event_uid, a hash of the body is the dedupe key.
            canon = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
            raw["event_uid"] = "sha256:" + hashlib.sha256(canon.encode()).hexdigest()
        if not isinstance(raw.get("integration"), dict):
            # API.md's inference: integration fields flat at the root of the event.
            raw["integration"] = {
                k: v for k, v in data.items() if k not in {"event", "action_to_be_taken"}
            }
        if not raw.get("identity_uid"):
            raw["identity_uid"] = raw["integration"].get("identity_uid")
        if isinstance(raw.get("event"), str):
            raw["event"] = raw["event"].upper()
        return raw

    @property
    def needs_login(self) -> bool:
        """Whether the identity must log in again before it can act."""
        return self.event in {"AUTH_EXPIRED", "AUTH_FAILED", "DELETED"}
