"""A database filled by a sandbox campaign, and the web app served on it.

`sim` runs `linkseq.demo.simulation.Simulation` (a small world, a few virtual days) once per
test session; `client` is the app in-process (starlette's TestClient); `server` serves the same
app with uvicorn in a thread on 127.0.0.1 and a free port, for the browser tests.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

# --- the webhooks world ---
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from linkseq.demo.simulation import Simulation
from linkseq.engine.background import Background
from linkseq.logging import configure_logging
from linkseq.settings import Settings
from linkseq.store.enums import EnrollmentState
from linkseq.store.models import Enrollment, Identity, Lead
from linkseq.web.app import create_app
from tests.web.live import SECRET, serving
from tests.web.live import make_app as make_webhook_app

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulation]:
    """Two identities, 40 leads, five virtual days of the example campaign."""
    saved = structlog.get_config()
    configure_logging("WARNING")  # quiet while the five days run, then as the tests found it
    path = tmp_path_factory.mktemp("web") / "sim.db"
    simulation = Simulation(database_url=f"sqlite:///{path}", people=40, identities=2, seed=11)
    try:
        simulation.run(days=5)
    finally:
        structlog.configure(**saved)
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


@dataclass
class World:
    """The simulation, the URL of the server receiving its webhooks, and a Background."""

    sim: Simulation
    url: str
    background: Background

    def identity(self) -> Identity:
        with self.sim.sessions() as session:
            identity = session.scalars(sa.select(Identity)).first()
            assert identity is not None
            return identity

    def invite_connected(self) -> list[int]:
        """Put the leads the identity is already connected to in `invited`; their ids."""
        sandbox = self.sim.sandbox
        uid = self.sim.identity_uids[0]
        connected = set(sandbox.identity(uid).connections)
        ids = []
        with self.sim.sessions() as session:
            for enrollment, lead in session.execute(
                sa.select(Enrollment, Lead).join(Lead, Lead.id == Enrollment.lead_id)
            ):
                person = sandbox.world.people.resolve_url(lead.profile_url)
                if person is not None and person.index in connected:
                    enrollment.state = EnrollmentState.INVITED
                    ids.append(enrollment.id)
            session.commit()
        assert ids, "the world has leads already connected"
        return ids


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """40 people, one identity, a database, and `linkseq serve` on a loopback port."""
    sim = Simulation(database_url=f"sqlite:///{tmp_path / 'w.db'}", people=40, identities=1)
    app = make_webhook_app(sim.sessions, sim.clock, edges=lambda: sim.client)
    try:
        with serving(app) as url:
            background = Background(
                sessions=sim.sessions,
                client=sim.client,
                clock=sim.clock,
                public_url=url,
                secret=SecretStr(SECRET),
            )
            yield World(sim, url, background)
    finally:
        sim.close()
