"""A real `linkseq serve` app under uvicorn on a loopback port, in a thread, for tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from linkseq.clock import Clock
from linkseq.settings import Settings
from linkseq.web.app import create_app
from linkseq.web.serving import serve_in_thread

SECRET = "s3cret-token-for-tests"


def make_app(
    sessions: sessionmaker[Session], clock: Clock, edges: Callable[[], Any] | None = None
) -> FastAPI:
    """The app `linkseq serve` runs, on this database and clock."""
    settings = Settings(webhook_secret=SecretStr(SECRET), database_url="sqlite://", _env_file=None)
    return create_app(settings, sessions=sessions, clock=clock, edges=edges)


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 (a free port) in a thread; yields its base URL."""
    with serve_in_thread(app) as url:
        yield url
