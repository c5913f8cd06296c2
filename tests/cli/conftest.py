"""A small campaign already run by the real engine against the sandbox, for the CLI tests."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from linkseq.demo.simulation import Simulation


@pytest.fixture(scope="session")
def simulated_db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 leads, 1 identity, 3 virtual days (built once per test session, ~4 s): every state the
    CLI tests read has a lead, among them a connected lead with a conversation (later, the
    engine has thanked each connected lead or the lead replied)."""
    path = tmp_path_factory.mktemp("sim") / "sim.db"
    sim = Simulation(database_url=f"sqlite:///{path}", people=16, identities=1, seed=5)
    try:
        sim.run(days=3)
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
