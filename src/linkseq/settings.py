"""Settings from the environment (prefix `LINKSEQ_`) and an optional `.env` file.

Secrets are `SecretStr`: their repr and str are masked, so they never reach a log or a screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["EdgesPlan", "Settings", "default_database_url"]

EdgesPlan = Literal["trial", "bronze", "silver", "gold", "platinum", "diamond", "titanium"]


def default_database_url() -> str:
    """The embedded default: a SQLite file in the current directory."""
    return f"sqlite:///{Path('linkseq.db').resolve()}"


class Settings(BaseSettings):
    """Every knob of linkseq; read once at start-up and passed down explicitly."""

    model_config = SettingsConfigDict(
        env_prefix="LINKSEQ_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    edges_api_key: SecretStr | None = Field(default=None, description="Edges API key")
    edges_base_url: str = Field(
        default="https://api.edges.run/v1", description="Edges API base URL"
    )
    edges_plan: EdgesPlan = Field(default="trial", description="Edges plan tier (live req/s)")
    database_url: str = Field(default_factory=default_database_url, description="SQLAlchemy URL")
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="Where Edges can reach `linkseq serve`"
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="Shared secret that Edges sends back on callbacks and webhooks"
    )
    events_url: str | None = Field(
        default=None, description="CRM webhook URL that receives linkseq's signed events"
    )
    events_secret: SecretStr | None = Field(
        default=None, description="Key that signs outgoing events (HMAC-SHA256)"
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Key that encrypts stored LinkedIn cookies and passwords"
    )
    ui_token: SecretStr | None = Field(
        default=None, description="Login token for the dashboard when not bound to 127.0.0.1"
    )
    messages_per_day: int = Field(default=50, ge=1, le=250, description="Message quota per day")
    weekly_invitation_cap: int = Field(
        default=100, ge=1, le=200, description="Invitations per identity per 7 rolling days"
    )
    pending_invitations_cap: int = Field(
        default=500, ge=1, le=5000, description="Invitations an identity may have pending"
    )
    log_level: str = Field(default="INFO", description="Log level")
