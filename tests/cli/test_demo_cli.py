"""`linkseq demo`: a small run end to end, its JSON, its database, its shipped leads file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linkseq.cli.demo_cmd import DEMO_LEADS_CSV, _peak
from linkseq.errors import InputError
from linkseq.sandbox import Sandbox
from tests.cli.test_db_cli import NOW, run


def test_the_shipped_leads_file_is_the_world_of_seed_7() -> None:
    assert DEMO_LEADS_CSV.read_text(encoding="utf-8") == Sandbox(seed=7, people=300).people_csv(300)


def test_json_is_one_object_and_every_promise_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("demo", "--leads", "12", "--identities", "1", "--days", "2", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # the whole of stdout is one JSON object
    assert set(data) >= {"funnel", "identities", "report", "wall_seconds"}
    assert data["funnel"]["enrolled"] == 12
    assert data["funnel"]["visited"] > 0
    assert data["report"]["breaches"]
    assert set(data["report"]["breaches"].values()) == {0}
    [identity] = data["identities"]
    for action in ("visit", "connect", "message"):
        use = identity["limits"][action]
        assert use["peak_24h"] <= use["limit_24h"]
    assert identity["limits"]["visit"]["total"] == data["funnel"]["visited"]
    assert data["database"] is None
    assert list(tmp_path.iterdir()) == []  # nothing left behind without --keep


def test_keep_writes_the_database_and_says_how_to_open_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LINKSEQ_DEMO_DAYS", "1")
    result = run("demo", "--leads", "8", "--identities", "1", "--keep")
    assert result.exit_code == 0, result.output
    db = tmp_path / "linkseq-demo.db"
    assert db.exists()
    assert f"LINKSEQ_DATABASE_URL=sqlite:///{db} linkseq serve" in result.output
    assert "Funnel" in result.output
    assert "over_limit_attempt" in result.output
    # the kept database is a linkseq database the other commands can read
    monkeypatch.setenv("LINKSEQ_DATABASE_URL", f"sqlite:///{db}")
    campaigns = json.loads(run("campaigns", "list", "--json").stdout)
    assert campaigns[0]["leads"] == 8


@pytest.mark.parametrize(
    "args",
    [("--leads", "0"), ("--identities", "0"), ("--days", "0"), ("--db", "x.db")],
)
def test_bad_arguments(args: tuple[str, str]) -> None:
    assert isinstance(run("demo", *args).exception, InputError)


def test_not_a_number_is_a_usage_error() -> None:
    assert run("demo", "--leads", "many").exit_code == 2


def test_peak_of_a_rolling_window() -> None:
    from datetime import timedelta

    times = [NOW + timedelta(hours=h) for h in (0, 1, 2, 30, 31, 60)]
    assert _peak(times, timedelta(days=1)) == 3
    assert _peak(times, timedelta(hours=1)) == 1
    assert _peak([], timedelta(days=1)) == 0


def test_the_demo_imports_the_shipped_file_as_the_same_people(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from linkseq.demo.simulation import Simulation
    from linkseq.store.models import Lead

    def people(**options: Path) -> list[tuple[str, str | None, str | None]]:
        sim = Simulation(database_url=f"sqlite:///{tmp_path / 'x.db'}", identities=1, **options)
        try:
            with sim.sessions() as session:
                rows = session.execute(
                    sa.select(Lead.profile_url, Lead.full_name, Lead.timezone).order_by(Lead.id)
                )
                return [tuple(row) for row in rows]  # type: ignore[misc]
        finally:
            sim.close()
            (tmp_path / "x.db").unlink()

    shipped = people(leads_csv=DEMO_LEADS_CSV)
    assert len(shipped) == 300
    assert shipped == people()
