"""`linkseq leads import|search|list`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import linkseq
from linkseq.edges import EdgesClient
from linkseq.errors import InputError, NotFoundError
from linkseq.settings import Settings
from tests.cli.test_db_cli import add_identity, db_url, ready_db, run

__all__ = ["db_url", "ready_db"]

EXAMPLES = Path(linkseq.__file__).parent / "examples"


def test_import_the_example_file(ready_db: str) -> None:
    result = run("leads", "import", str(EXAMPLES / "leads.csv"))
    assert result.exit_code == 0, result.output
    assert "Imported 20 rows: 20 new" in result.output
    leads = json.loads(run("leads", "list", "--json", "--limit", "100").output)
    assert len(leads) == 20
    again = json.loads(run("leads", "import", str(EXAMPLES / "leads.csv"), "--json").output)
    assert again["unchanged"] == 20
    assert again["created"] == 0


def test_bad_rows_are_listed_with_line_and_reason(ready_db: str, tmp_path: Path) -> None:
    csv = tmp_path / "l.csv"
    csv.write_text(
        "linkedin_profile_url,full_name\n"
        "https://www.linkedin.com/in/good-one,Good One\n"
        "https://example.com/x,Bad Host\n"
        ",No Url\n"
    )
    result = run("leads", "import", str(csv))
    assert result.exit_code == 0
    assert "1 new" in result.output
    assert "line 3:" in result.output
    assert "line 4: no LinkedIn profile URL" in result.output
    strict = run("leads", "import", str(csv), "--strict")
    assert isinstance(strict.exception, InputError)
    assert "nothing imported" in str(strict.exception)


def test_dry_run_writes_nothing(ready_db: str) -> None:
    result = run("leads", "import", str(EXAMPLES / "leads.csv"), "--dry-run")
    assert "Dry run" in result.output
    assert json.loads(run("leads", "list", "--json").output) == []


def test_no_url_column_is_refused(ready_db: str, tmp_path: Path) -> None:
    csv = tmp_path / "l.csv"
    csv.write_text("name,company\nA,B\n")
    result = run("leads", "import", str(csv))
    assert result.exit_code == 1
    assert "linkedin_profile_url" in str(result.exception)


def test_import_into_an_unknown_campaign(ready_db: str) -> None:
    result = run("leads", "import", str(EXAMPLES / "leads.csv"), "--campaign", "nope")
    assert isinstance(result.exception, NotFoundError)
    assert json.loads(run("leads", "list", "--json").output) == []


def test_list_filters_by_campaign_and_state(ready_db: str) -> None:
    add_identity(ready_db, "alice")
    assert run("campaigns", "create", str(EXAMPLES / "campaign.yaml")).exit_code == 0
    run("leads", "import", str(EXAMPLES / "leads.csv"), "--campaign", "Founders Q1")
    rows = json.loads(
        run("leads", "list", "--campaign", "Founders Q1", "--state", "new", "--json").output
    )
    assert len(rows) == 20
    assert {r["state"] for r in rows} == {"new"}
    assert json.loads(run("leads", "list", "--state", "replied", "--json").output) == []
    bad = run("leads", "list", "--state", "bogus")
    assert isinstance(bad.exception, InputError)


class _FakePerson:
    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def model_dump(self) -> dict[str, Any]:
        return self._data


class _FakeClient:
    calls: list[tuple[str, str, int | None]] = []  # noqa: RUF012 - test double

    def __enter__(self) -> _FakeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def search_people(
        self, identity_uid: str, url: str, *, max_results: int | None = None
    ) -> Iterator[_FakePerson]:
        self.calls.append((identity_uid, url, max_results))
        for n in range(5):
            yield _FakePerson(
                {
                    "full_name": f"P {n}",
                    "linkedin_profile_url": f"https://www.linkedin.com/in/p-{n}",
                }
            )


def test_search_uses_the_first_active_identity(
    ready_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_identity(ready_db, "alice")
    add_identity(ready_db, "bob")

    def fake_from_settings(cls: type[EdgesClient], settings: Settings) -> _FakeClient:
        return _FakeClient()

    monkeypatch.setattr(EdgesClient, "from_settings", classmethod(fake_from_settings))
    _FakeClient.calls = []
    url = "https://www.linkedin.com/search/results/people/?keywords=cto"
    result = run("leads", "search", url, "--max", "3")
    assert result.exit_code == 0, result.output
    assert "Found 3 people as alice: 3 new" in result.output
    assert _FakeClient.calls == [("uid-alice", url, 3)]
    run("leads", "search", url, "--max", "5", "--identity", "bob")
    assert _FakeClient.calls[-1][0] == "uid-bob"


def test_search_errors(ready_db: str) -> None:
    bad_url = run("leads", "search", "https://www.linkedin.com/in/someone", "--max", "3")
    assert isinstance(bad_url.exception, InputError)
    url = "https://www.linkedin.com/search/results/people/?keywords=cto"
    no_identity = run("leads", "search", url, "--max", "3")
    assert isinstance(no_identity.exception, NotFoundError)
