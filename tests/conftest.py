"""Shared fixtures. Store fixtures for SQLite and PostgreSQL live in tests/store/conftest.py."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import structlog
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True)
def _structlog_config() -> Iterator[None]:
    """structlog's configuration as each test found it: a test (or a CLI command it runs) that
    configures logging, at WARNING say, does not filter the log another test captures."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)
