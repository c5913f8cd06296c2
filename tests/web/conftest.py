"""A simulated world (sandbox + database) and a real server receiving its webhooks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from linkseq.demo.simulation import Simulation
from linkseq.engine.background import Background
from linkseq.store.enums import EnrollmentState
from linkseq.store.models import Enrollment, Identity, Lead
from tests.web.live import SECRET, make_app, serving


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
    app = make_app(sim.sessions, sim.clock, edges=lambda: sim.client)
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
