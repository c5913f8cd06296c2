"""A real `linkseq serve` app under uvicorn on a loopback port, in a thread, for tests."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from linkseq.clock import Clock
from linkseq.settings import Settings
from linkseq.web.app import create_app

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
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections wait in the backlog until the server accepts: no race
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
