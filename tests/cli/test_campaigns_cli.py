"""`linkseq campaigns preview|create|list|start|pause`."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

import linkseq
from linkseq.errors import InputError, NotFoundError
from linkseq.store import build_engine
from linkseq.store.enums import IdentityLevel
from linkseq.store.models import Campaign, CampaignIdentity
from tests.cli.test_db_cli import add_identity, db_url, ready_db, run

__all__ = ["db_url", "ready_db"]

EXAMPLES = Path(linkseq.__file__).parent / "examples"
EXAMPLE = str(EXAMPLES / "campaign.yaml")


def _count(url: str, table: type) -> int:
    engine = build_engine(url)
    with engine.connect() as connection:
        value = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    engine.dispose()
    return int(value)


def test_create_stores_yaml_spec_and_identities(ready_db: str) -> None:
    add_identity(ready_db, "alice")
    result = run("campaigns", "create", EXAMPLE)
    assert result.exit_code == 0, result.output
    engine = build_engine(ready_db)
    with engine.connect() as connection:
        row = connection.execute(sa.select(Campaign.__table__)).one()
    engine.dispose()
    assert row.spec_yaml == Path(EXAMPLE).read_text()
    assert row.spec["steps"][1]["id"] == "invite"
    assert row.status == "draft"
    assert _count(ready_db, CampaignIdentity) == 1
    listed = json.loads(run("campaigns", "list", "--json").output)
    assert listed[0]["name"] == "Founders Q1"
    assert listed[0]["identities"] == ["alice"]
    duplicate = run("campaigns", "create", EXAMPLE)
    assert isinstance(duplicate.exception, InputError)
    assert "already exists" in str(duplicate.exception)


def test_unknown_identity_writes_nothing(ready_db: str) -> None:
    result = run("campaigns", "create", EXAMPLE)
    assert result.exit_code == 1
    assert isinstance(result.exception, NotFoundError)
    assert "identities[0]: unknown identity 'alice'" in str(result.exception)
    assert _count(ready_db, Campaign) == 0


def test_caps_are_checked_against_the_identity_level(ready_db: str, tmp_path: Path) -> None:
    text = Path(EXAMPLE).read_text().replace("connect: 20", "connect: 28")
    file = tmp_path / "c.yaml"
    file.write_text(text)
    add_identity(ready_db, "alice", IdentityLevel.CLASSIC)
    result = run("campaigns", "create", str(file))
    assert isinstance(result.exception, InputError)
    assert "caps.connect: 28 is above the Smart Limit of identity 'alice' (Classic: 25" in str(
        result.exception
    )
    assert _count(ready_db, Campaign) == 0


def test_sales_navigator_identity_may_have_higher_caps(ready_db: str, tmp_path: Path) -> None:
    text = Path(EXAMPLE).read_text().replace("connect: 20", "connect: 28")
    file = tmp_path / "c.yaml"
    file.write_text(text)
    add_identity(ready_db, "alice", IdentityLevel.SALES_NAVIGATOR)
    assert run("campaigns", "create", str(file)).exit_code == 0


def test_bad_campaign_file_names_the_field(ready_db: str, tmp_path: Path) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text(Path(EXAMPLE).read_text().replace("delay: 5d", "delay: -5d"))
    add_identity(ready_db, "alice")
    result = run("campaigns", "create", str(file))
    assert isinstance(result.exception, InputError)
    assert str(result.exception).startswith("bad.yaml: steps[4].delay: a delay cannot be negative")
    assert _count(ready_db, Campaign) == 0


def test_start_and_pause(ready_db: str) -> None:
    add_identity(ready_db, "alice")
    run("campaigns", "create", EXAMPLE)
    assert "running (was draft)" in run("campaigns", "start", "Founders Q1").output
    assert "already running" in run("campaigns", "start", "Founders Q1").output
    assert "paused (was active)" in run("campaigns", "pause", "Founders Q1").output
    listed = json.loads(run("campaigns", "list", "--json").output)
    assert listed[0]["status"] == "paused"
    assert listed[0]["started_at"] is not None
    missing = run("campaigns", "pause", "nope")
    assert isinstance(missing.exception, NotFoundError)


def test_preview_renders_and_lists_every_problem(ready_db: str, tmp_path: Path) -> None:
    csv = tmp_path / "l.csv"
    csv.write_text(
        "linkedin_profile_url,full_name,company_name\n"
        "https://www.linkedin.com/in/ann-x,Ann X,Acme\n"
        "https://www.linkedin.com/in/bob-y,Bob Y,\n"
        "https://www.linkedin.com/in/cy-z,Cy Z," + "L" * 299 + "\n"
    )
    assert run("leads", "import", str(csv)).exit_code == 0
    campaign = tmp_path / "c.yaml"
    campaign.write_text(
        "name: P\nidentities: [alice]\nsteps:\n"
        " - {id: invite, type: connect,"
        " note: '{Hi|Hello} {{ first_name }} at {{ company_name }}'}\n"
        " - {id: m1, type: message, text: 'Hey {{ first_name }}'}\n"
    )
    out = json.loads(run("campaigns", "preview", str(campaign), "--leads", "1", "--json").output)
    assert out["leads_checked"] == 3
    assert len(out["leads"]) == 1
    first = out["leads"][0]["texts"]
    assert first[0]["text"] in ("Hi Ann at Acme", "Hello Ann at Acme")
    assert first[1]["text"] == "Hey Ann"
    problems = {p["name"]: p["texts"][0]["held"] for p in out["problems"]}
    assert problems == {
        "Bob Y": "missing variable 'company_name'",
        "Cy Z": problems["Cy Z"],
    }
    assert problems["Cy Z"].startswith("over 300 characters")
    assert out["problems"][0]["texts"][0]["fallback"] == "the invitation goes without a note"
    text = run("campaigns", "preview", str(campaign), "--leads", "2")
    assert text.exit_code == 0
    assert "Bob Y: invite.note: missing variable 'company_name'" in text.output


def test_preview_of_the_example_is_deterministic(ready_db: str) -> None:
    run("leads", "import", str(EXAMPLES / "leads.csv"))
    first = run("campaigns", "preview", EXAMPLE, "--leads", "20", "--json").output
    second = run("campaigns", "preview", EXAMPLE, "--leads", "20", "--json").output
    assert first == second
    data = json.loads(first)
    assert data["problems"] == []
    notes = {lead["texts"][0]["text"].split()[0] for lead in data["leads"]}
    assert notes == {"Hi", "Hello"}  # spintax varies across leads
