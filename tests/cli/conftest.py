"""A small campaign already run by the real engine against the sandbox, for the CLI tests."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog

from linkseq.demo.simulation import Simulation
from linkseq.store.enums import EnrollmentState
from linkseq.store.models import Conversation, Enrollment, Lead


def _has_every_state(sim: Simulation) -> bool:
    """True when the database has what the CLI tests read: a replied lead, an invited one, and
    a connected one with a cached conversation and a known profile id."""
    with sim.sessions() as session:
        states = set(session.scalars(sa.select(Enrollment.state).distinct()))
        if not {EnrollmentState.REPLIED, EnrollmentState.INVITED} <= states:
            return False
        talking = (
            sa.select(Lead.id)
            .join(Enrollment, Enrollment.lead_id == Lead.id)
            .join(Conversation, Conversation.participant_profile_url == Lead.profile_url)
            .where(
                Enrollment.state == EnrollmentState.CONNECTED, Lead.linkedin_profile_id.is_not(None)
            )
        )
        return session.execute(talking.limit(1)).first() is not None


@pytest.fixture(scope="session")
def simulated_db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 leads, 1 identity, run by virtual quarter days from day 2 until every state the CLI
    tests read has a lead, among them a connected lead with a conversation (built once per test
    session, a few seconds). Such a lead is there only between its acceptance and the engine's
    thanks, so the run stops at the first quarter day that has one, not after a fixed time that
    a change of pacing moves."""
    path = tmp_path_factory.mktemp("sim") / "sim.db"
    sim = Simulation(database_url=f"sqlite:///{path}", people=16, identities=1, seed=5)
    try:
        sim.run(days=2)
        for _ in range(4 * 8):
            if _has_every_state(sim):
                break
            sim.run(days=0.25)
        else:
            raise AssertionError("the simulation never had every state the CLI tests read")
    finally:
        sim.close()
    return path


@pytest.fixture
def simulated_db(simulated_db_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A private copy of the simulated database as LINKSEQ_DATABASE_URL (cwd: tmp_path)."""
    target = tmp_path / "linkseq.db"
    for suffix in ("", "-wal", "-shm"):
        source = simulated_db_file.with_name(simulated_db_file.name + suffix)
        if source.exists():
            shutil.copy(source, target.with_name(target.name + suffix))
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{target}"
    monkeypatch.setenv("LINKSEQ_DATABASE_URL", url)
    return url


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The CLI configures logging for its process (WARNING to stderr); give the next tests
    back the configuration they had."""
    saved = structlog.get_config()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    structlog.configure(**saved)
    root.setLevel(level)
    root.handlers[:] = handlers
