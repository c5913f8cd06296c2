"""A hold for missing data and an import that gives the data, at the same time (PostgreSQL).

PostgreSQL lets an import commit while a pass is between reading a lead and writing its hold
(SQLite has one writer at a time, so the two cannot interleave). The import's retry of held
steps runs before the hold exists; a hold written from the lead as it was read would then stay
until the lead changes again. The pass reads the lead again under a row lock before it holds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import linkseq.engine.actions as actions
from linkseq.leads.records import LeadRecord
from linkseq.leads.writer import write_leads
from linkseq.store.enums import EnrollmentState
from tests.engine.harness import Harness, campaign_spec, person
from tests.store.dbfixtures import create_pg_database, drop_pg_database

pytestmark = pytest.mark.postgres

NOTE = "Hello from one who read about {{ company_name }}."


@pytest.fixture
def harness() -> Iterator[Harness]:
    url = create_pg_database()
    steps = [{"id": "invite", "type": "connect", "note": NOTE, "fallback_without_note": False}]
    h = Harness(
        url.render_as_string(hide_password=False),
        persons=[person("ann", company=None)],  # no company: the note cannot render
        campaigns=[campaign_spec(steps=steps)],
    )
    try:
        yield h
    finally:
        h.close()
        drop_pg_database(url)


def test_an_import_committed_between_the_read_and_the_hold_is_not_lost(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered = actions._request
    imported: list[int] = []

    def import_meanwhile(step: Any, lead: Any) -> Any:
        """The step renders from the lead as the pass read it; then, before the pass writes
        anything, an import gives the company (its own session, committed)."""
        result = rendered(step, lead)
        if not imported:
            with harness.sessions() as other:
                record = LeadRecord(line=2, profile_url=harness.url("ann"), company_name="Acme")
                imported.append(write_leads(other, [record], now=harness.clock.now()).updated)
                other.commit()
        return result

    monkeypatch.setattr(actions, "_request", import_meanwhile)
    harness.run_until_call("linkedin-connect-profile", passes=20)
    assert imported == [1]
    [sent] = harness.calls("linkedin-connect-profile")
    assert sent.text == NOTE.replace("{{ company_name }}", "Acme")
    assert harness.state("ann") == EnrollmentState.INVITED.value


def test_a_pass_does_not_wait_on_an_import_in_progress_and_sends_once_it_commits(
    harness: Harness,
) -> None:
    """An import holds the lead's row (not committed yet) when the pass finds the step cannot
    render: the pass neither blocks nor holds the step; once the import commits, a later pass
    sends it with the data."""
    importing = harness.sessions()
    record = LeadRecord(line=2, profile_url=harness.url("ann"), company_name="Acme")
    assert write_leads(importing, [record], now=harness.clock.now()).updated == 1
    outcomes: list[str] = []

    def passes(until_outcome: str) -> None:
        for _ in range(20):
            report = harness.run_once()
            outcomes.extend(r.outcome for i in report.identities for r in i.results)
            if until_outcome in outcomes:
                return
            harness.to_wake()

    # the passes run in a thread: a pass that waited on the row would not come back before the
    # import commits (this thread holds it), and the test says so instead of hanging
    worker = threading.Thread(target=passes, args=("waiting",))
    worker.start()
    worker.join(timeout=60)
    blocked = worker.is_alive()
    importing.commit()
    importing.close()
    worker.join()
    assert not blocked, "the pass waited on the import's row lock"
    assert outcomes == ["waiting"]
    enrollment = harness.enrollment("ann")
    assert enrollment.next_action_at is not None  # still due: not held
    assert not (enrollment.reason or "").startswith("held: ")
    assert not harness.calls("linkedin-connect-profile")
    passes("sent")
    [sent] = harness.calls("linkedin-connect-profile")
    assert sent.text == NOTE.replace("{{ company_name }}", "Acme")
