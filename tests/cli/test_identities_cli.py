"""`linkseq identities add|connect|reconnect|list|me` against the sandbox (in-process)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from linkseq.cli.app import app
from linkseq.edges import EdgesClient, EdgesError
from linkseq.engine.recovery import pause_identity
from linkseq.errors import InputError, NotFoundError
from linkseq.identities import parse_cookies
from linkseq.sandbox import Sandbox
from linkseq.store import build_engine, session_factory
from linkseq.store.enums import EnrollmentState
from linkseq.store.models import Campaign, Enrollment, Identity, Lead
from tests.cli.test_db_cli import db_url, ready_db

__all__ = ["db_url", "ready_db"]

SECRET = "AQEDAR-very-secret-cookie-value"


@pytest.fixture
def sandbox() -> Sandbox:
    """A small sandbox world."""
    return Sandbox(seed=3, people=10)


def run(sb: Sandbox, *args: str, stdin: str | None = None) -> Result:
    """Invoke the CLI with Edges played by `sb`."""

    def factory(settings: Any) -> EdgesClient:
        return EdgesClient(
            "sandbox-key", base_url=sb.base_url, app=sb.wsgi_app, rate_limit=None, clock=sb.clock
        )

    return CliRunner().invoke(app, list(args), obj={"edges": factory}, input=stdin)


def _identity(url: str, name: str) -> Identity:
    engine = build_engine(url)
    with session_factory(engine)() as session:
        found = session.query(Identity).filter_by(name=name).one()
        session.expunge(found)
    engine.dispose()
    return found


def test_add_creates_an_engagement_identity_with_a_canonical_zone(
    ready_db: str, sandbox: Sandbox
) -> None:
    result = run(sandbox, "identities", "add", "Alice", "--timezone", "Asia/Calcutta")
    assert result.exit_code == 0, result.output
    stored = _identity(ready_db, "Alice")
    assert stored.timezone == "Asia/Kolkata"  # the alias became its canonical name
    assert stored.is_engagement
    remote = sandbox.identity(stored.uid)
    assert remote.name == "Alice"
    listed = json.loads(run(sandbox, "identities", "list", "--json").output)
    assert [(i["name"], i["engagement"], i["status"]) for i in listed] == [
        ("Alice", True, "active")
    ]
    again = run(sandbox, "identities", "add", "Alice", "--timezone", "Europe/Paris")
    assert isinstance(again.exception, InputError)
    bad_zone = run(sandbox, "identities", "add", "Bob", "--timezone", "Mars/Olympus")
    assert isinstance(bad_zone.exception, InputError)


def test_connect_with_cookies_from_a_file_never_shows_them(
    ready_db: str, sandbox: Sandbox, tmp_path: Path
) -> None:
    run(sandbox, "identities", "add", "Alice", "--timezone", "Europe/Paris")
    cookies = tmp_path / "cookies.txt"
    cookies.write_text(f"li_at={SECRET}\nli_a=sales-{SECRET}\n")
    result = run(sandbox, "identities", "connect", "Alice", "--cookies-file", str(cookies))
    assert result.exit_code == 0, result.output
    assert "connected" in result.output
    assert SECRET not in result.output
    assert _identity(ready_db, "Alice").level.value == "Sales Navigator"
    # no cookie anywhere in the database file
    assert SECRET.encode() not in Path(ready_db.removeprefix("sqlite:///")).read_bytes()


def test_expired_cookies_are_one_clear_line_without_the_secret(
    ready_db: str, sandbox: Sandbox
) -> None:
    run(sandbox, "identities", "add", "Alice", "--timezone", "Europe/Paris")
    result = run(
        sandbox, "identities", "connect", "Alice", "--cookies-file", "-", stdin=f"invalid{SECRET}"
    )
    assert isinstance(result.exception, InputError)
    assert "not connected" in str(result.exception)
    assert SECRET not in str(result.exception) + result.output


def test_connect_needs_a_way_and_a_known_identity(ready_db: str, sandbox: Sandbox) -> None:
    run(sandbox, "identities", "add", "Alice", "--timezone", "Europe/Paris")
    assert isinstance(run(sandbox, "identities", "connect", "Alice").exception, InputError)
    unknown = run(sandbox, "identities", "connect", "Zed", "--login-link")
    assert isinstance(unknown.exception, NotFoundError)


def test_login_link_then_check(ready_db: str, sandbox: Sandbox) -> None:
    run(sandbox, "identities", "add", "Alice", "--timezone", "Europe/Paris")
    result = run(sandbox, "identities", "connect", "Alice", "--login-link")
    assert result.exit_code == 0, result.output
    assert "/_sandbox/login?token=" in result.output


def test_reconnect_resumes_paused_leads(ready_db: str, sandbox: Sandbox, tmp_path: Path) -> None:
    run(sandbox, "identities", "add", "Alice", "--timezone", "Europe/Paris")
    now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    engine = build_engine(ready_db)
    with session_factory(engine)() as session:
        alice = session.query(Identity).filter_by(name="Alice").one()
        campaign = Campaign(
            name="c", spec_yaml="", spec={}, created_at=now, updated_at=now, status="active"
        )
        lead = Lead(profile_url="https://www.linkedin.com/in/x", created_at=now, updated_at=now)
        session.add_all([campaign, lead])
        session.flush()
        session.add(
            Enrollment(
                campaign_id=campaign.id,
                lead_id=lead.id,
                identity_id=alice.id,
                state=EnrollmentState.INVITED,
                created_at=now,
                updated_at=now,
            )
        )
        session.flush()
        pause_identity(session, identity_id=alice.id, reason="AUTH_EXPIRED", now=now)
        session.commit()
    cookies = tmp_path / "c.json"
    cookies.write_text(json.dumps([{"name": "li_at", "value": SECRET}]))
    result = run(sandbox, "identities", "reconnect", "Alice", "--cookies-file", str(cookies))
    assert result.exit_code == 0, result.output
    assert "1 paused leads resumed" in result.output
    with session_factory(engine)() as session:
        assert session.query(Enrollment).one().state is EnrollmentState.INVITED
        assert session.query(Identity).one().status.value == "active"
    engine.dispose()


def test_me_stores_the_profile_id(ready_db: str, sandbox: Sandbox, tmp_path: Path) -> None:
    run(sandbox, "identities", "add", "Alice", "--timezone", "Europe/Paris")
    cookies = tmp_path / "c.txt"
    cookies.write_text(SECRET)
    assert (
        run(sandbox, "identities", "connect", "Alice", "--cookies-file", str(cookies)).exit_code
        == 0
    )
    result = run(sandbox, "identities", "me", "Alice", "--json")
    assert result.exit_code == 0, result.output
    profile_id = json.loads(result.output)["linkedin_profile_id"]
    assert profile_id
    assert _identity(ready_db, "Alice").linkedin_profile_id == profile_id


@pytest.mark.parametrize(
    ("text", "li_at", "li_a"),
    [
        ("li_at=abc\n", "abc", None),
        ("li_at: abc\nli_a = def\n", "abc", "def"),
        ("abc", "abc", None),
        ('[{"name": "li_at", "value": "abc"}, {"name": "JSESSIONID", "value": "x"}]', "abc", None),
        ('{"li_at": "abc", "li_a": "def"}', "abc", "def"),
    ],
)
def test_cookie_file_formats(text: str, li_at: str, li_a: str | None) -> None:
    cookies = parse_cookies(text)
    assert cookies.li_at.get_secret_value() == li_at
    assert (cookies.li_a.get_secret_value() if cookies.li_a else None) == li_a
    assert li_at not in repr(cookies)


@pytest.mark.parametrize("text", ["", "JSESSIONID=abc\nother=1\n", "[not json", "two words"])
def test_cookie_file_without_li_at(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_cookies(text)
    assert "abc" not in str(caught.value)


def test_check_reads_the_session_and_resumes_a_paused_identity(
    ready_db: str, sandbox: Sandbox, tmp_path: Path
) -> None:
    run(sandbox, "identities", "add", "Alice", "--timezone", "Europe/Paris")
    not_yet = run(sandbox, "identities", "connect", "Alice", "--check")
    assert isinstance(not_yet.exception, EdgesError)  # no LinkedIn integration yet
    cookies = tmp_path / "c.txt"
    cookies.write_text(f"li_at={SECRET}\n")
    run(sandbox, "identities", "connect", "Alice", "--cookies-file", str(cookies))
    engine = build_engine(ready_db)
    with session_factory(engine)() as session:
        alice = session.query(Identity).filter_by(name="Alice").one()
        pause_identity(session, identity_id=alice.id, reason="AUTH_EXPIRED", now=datetime.now(UTC))
        session.commit()
    engine.dispose()
    assert _identity(ready_db, "Alice").status.value == "disconnected"
    result = run(sandbox, "identities", "reconnect", "Alice", "--check")
    assert result.exit_code == 0, result.output
    assert _identity(ready_db, "Alice").status.value == "active"
