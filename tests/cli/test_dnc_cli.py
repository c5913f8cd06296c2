"""`linkseq dnc add|list|remove`."""

from __future__ import annotations

import json
from pathlib import Path

from linkseq.errors import InputError, NotFoundError
from tests.cli.test_db_cli import db_url, ready_db, run

__all__ = ["db_url", "ready_db"]


def test_add_list_remove(ready_db: str) -> None:
    added = run("dnc", "add", "https://fr.linkedin.com/in/Jane-Doe/?trk=x", "--reason", "asked")
    assert added.exit_code == 0, added.output
    assert "Added 1" in added.output
    again = run("dnc", "add", "https://www.linkedin.com/in/jane-doe")
    assert "Added 0" in again.output
    rows = json.loads(run("dnc", "list", "--json").output)
    assert [(r["profile_url"], r["reason"]) for r in rows] == [
        ("https://www.linkedin.com/in/jane-doe", "asked")
    ]
    assert run("dnc", "remove", "linkedin.com/in/JANE-DOE").exit_code == 0
    assert json.loads(run("dnc", "list", "--json").output) == []
    missing = run("dnc", "remove", "https://www.linkedin.com/in/jane-doe")
    assert missing.exit_code == 1
    assert isinstance(missing.exception, NotFoundError)


def test_add_from_a_file_of_lines_and_from_a_csv(ready_db: str, tmp_path: Path) -> None:
    lines = tmp_path / "dnc.txt"
    lines.write_text(
        "# people who said no\nhttps://www.linkedin.com/in/a-person\n\nlinkedin.com/in/b-person/\n"
    )
    assert "Added 2" in run("dnc", "add", "--file", str(lines)).output
    table = tmp_path / "dnc.csv"
    table.write_text(
        "name,linkedin_profile_url\nA,https://www.linkedin.com/in/a-person\nC,https://www.linkedin.com/in/c-person\n"
    )
    result = run("dnc", "add", "--file", str(table))
    assert "Added 1" in result.output
    assert len(json.loads(run("dnc", "list", "--json").output)) == 3


def test_a_file_with_a_bad_url_adds_nothing(ready_db: str, tmp_path: Path) -> None:
    bad = tmp_path / "dnc.txt"
    bad.write_text("https://www.linkedin.com/in/ok-person\nhttps://example.com/in/x\n")
    result = run("dnc", "add", "--file", str(bad))
    assert result.exit_code == 1
    assert isinstance(result.exception, InputError)
    assert "line 2" in str(result.exception)
    assert json.loads(run("dnc", "list", "--json").output) == []


def test_add_needs_exactly_one_source(ready_db: str) -> None:
    result = run("dnc", "add")
    assert isinstance(result.exception, InputError)
