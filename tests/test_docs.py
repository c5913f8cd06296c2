"""Every command has a help text with an example line, and is in README.md (sqlite-utils' habit).

Also: errors are one clear line on stderr, with a traceback only under --debug.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

from linkseq.cli.app import app

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _commands() -> Iterator[tuple[str, Any]]:
    root = typer.main.get_command(app)

    def walk(prefix: str, command: Any) -> Iterator[tuple[str, Any]]:
        yield prefix, command
        if hasattr(command, "commands"):
            for name, sub in sorted(command.commands.items()):
                yield from walk(f"{prefix} {name}", sub)

    yield from walk("linkseq", root)


COMMANDS = list(_commands())


def test_the_cli_has_the_commands_of_the_issue() -> None:
    names = {path for path, _ in COMMANDS}
    for expected in (
        "linkseq init",
        "linkseq demo",
        "linkseq inbox",
        "linkseq identities add",
        "linkseq identities connect",
        "linkseq identities reconnect",
        "linkseq identities list",
        "linkseq identities me",
        "linkseq leads why",
        "linkseq leads export",
        "linkseq leads forget",
        "linkseq campaigns status",
        "linkseq db upgrade",
        "linkseq sandbox serve",
    ):
        assert expected in names


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_has_help_with_an_example(path: str, command: Any) -> None:
    text = command.help or ""
    assert text.strip(), f"{path} has no help"
    example = [line for line in text.splitlines() if "Example:" in line]
    assert example, f"{path}: no 'Example:' line in its help"
    # the example runs this very command (a group's example runs one of its commands)
    follow = text.split("Example:", 1)[1]
    assert path in follow or path.split(" ", 1)[-1] in follow, f"{path}: example is of another"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_is_in_the_readme(path: str, command: Any) -> None:
    assert path in README, f"`{path}` is not in README.md"


def _linkseq(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "linkseq", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "LINKSEQ_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"},
    )


def test_an_error_is_one_line_and_a_traceback_only_with_debug(tmp_path: Path) -> None:
    plain = _linkseq(tmp_path, "leads", "list")
    assert plain.returncode == 1
    assert plain.stdout == ""
    assert plain.stderr.strip().count("\n") == 0
    assert plain.stderr.startswith("error: no linkseq database at")
    assert "Traceback" not in plain.stderr
    debug = _linkseq(tmp_path, "--debug", "leads", "list")
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr
    assert "ConfigError" in debug.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert _linkseq(tmp_path, "demo", "--leads", "many").returncode == 2
    assert _linkseq(tmp_path, "no-such-command").returncode == 2


def test_every_setting_is_in_the_readme() -> None:
    from linkseq.settings import Settings

    missing = [n for n in Settings.model_fields if f"`LINKSEQ_{n.upper()}`" not in README]
    assert missing == []
