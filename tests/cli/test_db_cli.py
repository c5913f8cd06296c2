"""`linkseq init` and `linkseq db`, plus the helpers the other CLI test modules share."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from linkseq.cli.app import app, main
from linkseq.store import build_engine, current_revision, head_revision, upgrade
from linkseq.store.enums import IdentityLevel
from linkseq.store.models import Identity

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def run(*args: str) -> Result:
    """Invoke the CLI in-process; a LinkseqError is left in `result.exception`."""
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty directory as cwd and LINKSEQ_DATABASE_URL pointing at a file not yet created."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'data' / 'linkseq.db'}"
    monkeypatch.setenv("LINKSEQ_DATABASE_URL", url)
    return url


@pytest.fixture
def ready_db(db_url: str) -> str:
    """A migrated database."""
    assert run("init").exit_code == 0
    return db_url


def add_identity(
    url: str, name: str, level: IdentityLevel = IdentityLevel.CLASSIC, uid: str | None = None
) -> None:
    """Store an identity directly (the identities command is another module's)."""
    engine = build_engine(url)
    with Session(engine) as session:
        session.add(
            Identity(
                uid=uid or f"uid-{name}", name=name, level=level, created_at=NOW, updated_at=NOW
            )
        )
        session.commit()
    engine.dispose()


def test_init_creates_the_database_and_says_where(db_url: str, tmp_path: Path) -> None:
    result = run("init")
    assert result.exit_code == 0, result.output
    assert str(tmp_path / "data" / "linkseq.db") in result.output
    assert "Created" in result.output
    assert current_revision(db_url) == head_revision()
    again = run("init")
    assert again.exit_code == 0
    assert "Ready" in again.output


def test_commands_refuse_a_missing_database(db_url: str, tmp_path: Path) -> None:
    result = run("leads", "list")
    assert result.exit_code == 1
    assert "linkseq init" in str(result.exception)
    assert not (tmp_path / "data" / "linkseq.db").exists()


def test_db_upgrade_from_empty_and_current(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "upgraded from empty" in result.output
    assert "up to date" in run("db", "upgrade").output
    current = run("db", "current", "--json")
    assert '"up_to_date": true' in current.output


def test_an_outdated_database_is_refused_until_upgraded(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    engine = build_engine(db_url)
    upgrade(engine, "base")  # an empty but existing database
    engine.dispose()
    result = run("dnc", "list")
    assert result.exit_code == 1
    assert "linkseq init" in str(result.exception)


def test_errors_are_one_line_and_exit_1(
    ready_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["linkseq", "campaigns", "start", "nope"])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "no campaign named 'nope'" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "group",
    [["init"], ["db", "upgrade"], ["leads", "import"], ["dnc", "add"], ["campaigns", "preview"]],
)
def test_help_has_an_example(group: list[str]) -> None:
    result = run(*group, "--help")
    assert result.exit_code == 0
    assert "Example" in result.output
