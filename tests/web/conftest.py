"""A database filled by a sandbox campaign, and the web app served on it.

`sim` runs `linkseq.demo.simulation.Simulation` (a small world, a few virtual days) once per
test session; `client` is the app in-process (starlette's TestClient); `server` serves the same
app with uvicorn in a thread on 127.0.0.1 and a free port, for the browser tests.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from linkseq.demo.simulation import Simulation
from linkseq.logging import configure_logging
from linkseq.settings import Settings
from linkseq.web.app import create_app

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulation]:
    """Two identities, 40 leads, five virtual days of the example campaign."""
    configure_logging("WARNING")
    path = tmp_path_factory.mktemp("web") / "sim.db"
    simulation = Simulation(database_url=f"sqlite:///{path}", people=40, identities=2, seed=11)
    simulation.run(days=5)
    try:
        yield simulation
    finally:
        simulation.close()


def make_app(sim: Simulation, **settings: object) -> FastAPI:
    """The app on the simulation's database, clock and Edges client (the sandbox)."""
    config = Settings(database_url=str(sim.db.url), **settings)  # type: ignore[arg-type]
    return create_app(config, sessions=sim.sessions, clock=sim.clock, edges=lambda: sim.client)


@pytest.fixture(scope="session")
def app(sim: Simulation) -> FastAPI:
    """The app bound (as far as it knows) to 127.0.0.1: no login."""
    return make_app(sim)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """The app in-process."""
    with TestClient(app) as test_client:
        yield test_client


class Served:
    """A running uvicorn server."""

    def __init__(self, app: FastAPI) -> None:
        # bound and listening before uvicorn starts: connections wait in the backlog, no race
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> Served:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture(scope="session")
def server(app: FastAPI) -> Iterator[Served]:
    """The app served by uvicorn on 127.0.0.1:<free port>."""
    with Served(app) as served:
        yield served


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots are kept (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
