"""Group commit: many events stored and applied in one transaction, each still on its own.

`store_and_apply` is called directly with a batch (deterministic); the concurrent test goes
through a real uvicorn server, where the writer thread forms the batches itself.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from linkseq.clock import ManualClock
from linkseq.store import build_engine, session_factory, upgrade
from linkseq.store.enums import EnrollmentState, SyncKind
from linkseq.store.models import (
    AuditEvent,
    BackgroundRun,
    Conversation,
    Enrollment,
    SyncState,
    WebhookInbox,
)
from linkseq.web.webhooks import Delivery, store_and_apply
from tests.store.factories import T0, add_campaign, add_enrollment, add_identity, add_lead
from tests.web.live import SECRET, make_app, serving

ME = 900000001


@dataclass
class Db:
    """A migrated SQLite database with one identity (id `identity_id`) and one enrolled lead."""

    sessions: sessionmaker[Session]
    clock: ManualClock
    identity_id: int
    enrollment_id: int

    def apply(self, *deliveries: Delivery) -> list[tuple[int, str]]:
        return store_and_apply(sessions=self.sessions, clock=self.clock, deliveries=deliveries)

    def scalars(self, query: Any) -> list[Any]:
        with self.sessions() as session:
            return list(session.scalars(query))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Db]:
    engine = build_engine(f"sqlite:///{tmp_path / 'b.db'}")
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions() as session:
        identity = add_identity(session)
        identity.linkedin_profile_id = str(ME)
        campaign = add_campaign(session, identities=(identity,))
        lead = add_lead(session, "replier", linkedin_profile_id="777")
        enrollment = add_enrollment(
            session, campaign=campaign, lead=lead, identity=identity, state=EnrollmentState.MESSAGED
        )
        for run_uid in ("run-tracked", "run-poison"):
            session.add(
                BackgroundRun(
                    run_uid=run_uid,
                    purpose="conversations",
                    identity_id=identity.id,
                    status="QUEUED",
                    created_at=T0,
                    poll_at=T0,
                )
            )
        session.commit()
        ids = identity.id, enrollment.id
    yield Db(sessions, ManualClock(T0), *ids)
    engine.dispose()


def callback(
    db: Db,
    key: str,
    thread: str,
    *,
    sender: int = ME,
    other: int = 500001,
    run_uid: str = "run-x",
    status: str = "RUNNING",
) -> Delivery:
    """A conversations callback with one thread; `sender` wrote its last message."""
    payload = {
        "callback_ref_uid": key,
        "run": {"run_uid": run_uid, "status": status},
        "custom_data": {"purpose": "conversations", "identity_id": db.identity_id},
        "results": [
            {
                "linkedin_thread_id": thread,
                "participants": [{"linkedin_profile_id": ME}, {"linkedin_profile_id": other}],
                "last_message": {"linkedin_profile_id": sender, "content": "hi"},
            }
        ],
    }
    return Delivery("callback", key, payload)


def poison_conversations(db: Db) -> None:
    """Make the insert of thread `poison` fail inside the database (after other writes)."""
    with db.sessions() as session:
        session.execute(
            sa.text(
                "CREATE TRIGGER poison BEFORE INSERT ON conversations "
                "WHEN NEW.thread_id = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
            )
        )
        session.commit()


def poison_run(db: Db) -> None:
    """Make the status update of run `run-poison` fail: the last write of its callback."""
    with db.sessions() as session:
        session.execute(
            sa.text(
                "CREATE TRIGGER poison_run BEFORE UPDATE ON background_runs "
                "WHEN NEW.run_uid = 'run-poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
            )
        )
        session.commit()


def threads(db: Db) -> list[str]:
    return sorted(db.scalars(sa.select(Conversation.thread_id)))


def test_a_batch_is_stored_and_applied_with_each_answer(db: Db) -> None:
    results = db.apply(*(callback(db, f"cb{i}", f"t{i}") for i in range(5)))
    assert results == [(200, "applied")] * 5
    assert threads(db) == [f"t{i}" for i in range(5)]
    rows = db.scalars(sa.select(WebhookInbox).order_by(WebhookInbox.id))
    assert [r.dedupe_key for r in rows] == [f"cb{i}" for i in range(5)]
    assert all(r.processed_at == T0 and r.error is None for r in rows)


def test_duplicates_in_a_batch_and_redeliveries_apply_once(db: Db) -> None:
    reply = callback(db, "cb-reply", "t-reply", sender=777, other=777)
    results = db.apply(reply, callback(db, "cb1", "t1"), reply, reply)
    assert results == [(200, "applied"), (200, "applied"), (200, "duplicate"), (200, "duplicate")]
    assert db.apply(reply, callback(db, "cb1", "t1")) == [(200, "duplicate")] * 2
    assert len(db.scalars(sa.select(WebhookInbox))) == 2
    [enrollment] = db.scalars(sa.select(Enrollment))
    assert enrollment.state is EnrollmentState.REPLIED
    moves = db.scalars(sa.select(AuditEvent.to_state).where(AuditEvent.to_state == "replied"))
    assert moves == ["replied"]


def test_a_running_after_succeeded_in_the_same_batch_changes_nothing(db: Db) -> None:
    done = callback(db, "cb-done", "t1", run_uid="run-tracked", status="SUCCEEDED")
    late = callback(db, "cb-late", "t2", run_uid="run-tracked", status="RUNNING")
    assert db.apply(done, late) == [
        (200, "applied"),
        (200, "ignored: late RUNNING after the final status"),
    ]
    [run] = db.scalars(sa.select(BackgroundRun).where(BackgroundRun.run_uid == "run-tracked"))
    assert (run.status, run.finished_at) == ("SUCCEEDED", T0)
    assert threads(db) == ["t1"]  # the late callback's rows were not applied


def test_a_poison_event_does_not_stop_the_others(db: Db) -> None:
    poison_conversations(db)
    batch = [
        callback(db, "cb1", "t1"),
        callback(db, "cb-poison", "poison"),
        callback(db, "cb2", "t2"),
        # not mergeable (malformed rows): applied alone, fails alone
        Delivery(
            "callback",
            "cb-bad",
            {
                "callback_ref_uid": "cb-bad",
                "run": {"run_uid": "r"},
                "custom_data": {"purpose": "conversations", "identity_id": db.identity_id},
                "results": [{"linkedin_thread_id": "t9", "participants": "nobody"}],
            },
        ),
        callback(db, "cb3", "t3"),
    ]
    results = db.apply(*batch)
    assert results == [
        (200, "applied"),
        (202, "stored"),
        (200, "applied"),
        (202, "stored"),
        (200, "applied"),
    ]
    assert threads(db) == ["t1", "t2", "t3"]
    rows = {r.dedupe_key: r for r in db.scalars(sa.select(WebhookInbox))}
    assert len(rows) == 5  # every event is stored raw, the failed ones too
    for key in ("cb-poison", "cb-bad"):
        assert rows[key].processed_at is None
        assert rows[key].error
    assert "poisoned" in str(rows["cb-poison"].error)
    assert all(rows[k].processed_at == T0 for k in ("cb1", "cb2", "cb3"))


def test_an_error_rolls_back_only_its_own_event(db: Db) -> None:
    poison_run(db)
    # the poison callback caches its thread and records a sync, then fails on its run's update
    poison = callback(db, "cb-poison", "t-poison", run_uid="run-poison", status="SUCCEEDED")
    done = callback(db, "cb1", "t1", run_uid="run-tracked", status="SUCCEEDED")
    assert db.apply(poison, done) == [(202, "stored"), (200, "applied")]
    runs = {r.run_uid: r for r in db.scalars(sa.select(BackgroundRun))}
    assert (runs["run-poison"].status, runs["run-poison"].finished_at) == ("QUEUED", None)
    assert (runs["run-tracked"].status, runs["run-tracked"].finished_at) == ("SUCCEEDED", T0)
    assert threads(db) == ["t1"]  # the poison's thread is undone, the next event's kept
    # the sync the poison had recorded was rolled back; the next event records its own
    syncs = db.scalars(sa.select(SyncState).where(SyncState.kind == SyncKind.CONVERSATIONS))
    assert [s.last_synced_at for s in syncs] == [T0]


def test_a_stored_event_not_applied_is_applied_on_redelivery(db: Db) -> None:
    poison_conversations(db)
    assert db.apply(callback(db, "cb-poison", "poison")) == [(202, "stored")]
    with db.sessions() as session:
        session.execute(sa.text("DROP TRIGGER poison"))
        session.commit()
    assert db.apply(callback(db, "cb-poison", "poison")) == [(200, "applied")]
    assert threads(db) == ["poison"]
    [row] = db.scalars(sa.select(WebhookInbox))
    assert (row.processed_at, row.error) == (T0, None)


def test_concurrent_duplicate_deliveries_over_http_apply_once(db: Db) -> None:
    app = make_app(db.sessions, db.clock)
    reply = callback(db, "cb-reply", "t-reply", sender=777, other=777)
    body = json.dumps(reply.payload).encode()
    statuses: list[int] = []
    gate = threading.Barrier(8)

    def send() -> None:
        request = urllib.request.Request(
            url + "/webhooks/edges/callbacks",
            data=body,
            headers={"Content-Type": "application/json", "X-Linkseq-Token": SECRET},
            method="POST",
        )
        gate.wait()
        with urllib.request.urlopen(request, timeout=10) as response:
            statuses.append(int(response.status))

    with serving(app) as url:
        workers = [threading.Thread(target=send) for _ in range(8)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        app.state.services.extra["webhook_writer"].close()
    assert statuses == [200] * 8
    assert len(db.scalars(sa.select(WebhookInbox))) == 1
    moves = db.scalars(sa.select(AuditEvent.to_state).where(AuditEvent.to_state == "replied"))
    assert moves == ["replied"]
