"""The identities page reads every identity's quotas at once: the engine's figures, exactly."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.engine.config import EngineConfig
from linkseq.engine.limits import load_remote_limits
from linkseq.engine.quotas import identity_quotas
from linkseq.engine.sync import put_sync_row
from linkseq.planning.quota import DAY, INMAIL_WINDOW, WEEK, Action
from linkseq.store.enums import ActionKind, ActionStatus, IdentityLevel, SyncKind
from linkseq.store.models import ActionHold, Identity, OutboxAction
from linkseq.web.services import identity_views
from tests.store.factories import T0, add_identity

COUNTED = {ActionStatus.SENT, ActionStatus.RECONCILED, ActionStatus.SENDING, ActionStatus.UNCERTAIN}
REACHED = {ActionStatus.SENT, ActionStatus.RECONCILED}


def _world(session: Session) -> list[Identity]:
    """Identities at every stage of ramp-up and level, 40 days of mixed outbox rows, holds."""
    rng = random.Random(8)
    settled = add_identity(session, "settled")
    settled.first_sync_at = T0 - timedelta(days=90)
    navigator = add_identity(session, "navigator", level=IdentityLevel.SALES_NAVIGATOR)
    navigator.first_sync_at = T0 - timedelta(days=30)
    ramping = add_identity(session, "ramping")
    ramping.first_sync_at = T0 - timedelta(days=2, hours=3)
    never = add_identity(session, "never-synced")
    identities = [settled, navigator, ramping, never]
    n = 0
    for identity in identities[:3]:
        for _ in range(600):
            n += 1
            # a third of the rows within the last 24 h, so that some limits are used up
            back = timedelta(
                hours=rng.uniform(0, 24) if rng.random() < 0.33 else rng.uniform(0, 960)
            )
            created = T0 - back
            status = rng.choice(list(ActionStatus))
            sent_at = None
            if status in REACHED or (status is ActionStatus.UNCERTAIN and rng.random() < 0.3):
                sent_at = created + timedelta(minutes=rng.randrange(0, 90))
                sent_at = min(sent_at, T0 - timedelta(seconds=1))
            session.add(
                OutboxAction(
                    identity_id=identity.id,
                    kind=rng.choice(list(ActionKind)),
                    idempotency_key=f"k{n}",
                    status=status,
                    request={},
                    sent_at=sent_at,
                    created_at=created,
                    updated_at=created,
                )
            )
    # Edges' own counts for two identities: the messages another tool sent (its 24 h window
    # used up), and an answer that 40 days of rows show is older than its window
    answers = {
        (settled.id, SyncKind.LIMITS_MESSAGE): (
            T0 - timedelta(hours=3),
            [{"window": "24h", "limit": 50, "remaining": 0}],
        ),
        (navigator.id, SyncKind.LIMITS_VISIT): (
            T0 - timedelta(days=2),
            [{"window": "24h", "limit": 500, "remaining": 1}],
        ),
    }
    for (identity_id, kind), (at, rows) in answers.items():
        put_sync_row(session, identity_id, kind, at, json.dumps(rows))
    session.add_all(
        [
            ActionHold(identity_id=settled.id, action="connect", until=T0 + DAY, reason="LIMIT"),
            ActionHold(
                identity_id=navigator.id, action="*", until=T0 + timedelta(hours=2), reason="429"
            ),
            ActionHold(identity_id=ramping.id, action="visit", until=T0 - DAY, reason="over"),
        ]
    )
    session.commit()
    return identities


def _used(session: Session, identity: Identity, action: Action, now: datetime) -> int:
    """Sends of the action in its rolling window, as the engine counts them, the long way."""
    window = INMAIL_WINDOW if action is Action.inmail else DAY
    count = 0
    for row in session.scalars(
        sa.select(OutboxAction).where(OutboxAction.identity_id == identity.id)
    ):
        if row.kind.value != action.value or row.status not in COUNTED:
            continue
        at = row.sent_at or row.created_at
        # the engine reads InMails 31 days back by sent_at, in-flight ones only 7 days back
        reach = INMAIL_WINDOW if row.sent_at is not None and action is Action.inmail else WEEK
        if at > now - min(window, reach):
            count += 1
    return count


def test_identities_page_quotas_are_the_engines(session: Session) -> None:
    identities = _world(session)
    config = EngineConfig()
    views = {v.id: v for v in identity_views(session, now=T0, config=config)}
    assert set(views) == {i.id for i in identities}
    held = binding = 0
    for identity in identities:
        engine, _ = identity_quotas(
            session,
            identity=identity,
            now=T0,
            config=config,
            campaign_caps={},
            remote=load_remote_limits(session, identity.id),
        )
        page = {q.action: q for q in views[identity.id].quotas}
        for action in Action:
            mine = page[action.value]
            assert (mine.remaining, mine.binding, mine.next_slot_at) == (
                engine[action].remaining,
                engine[action].binding,
                engine[action].next_slot_at,
            ), (identity.name, action)
            assert mine.used == _used(session, identity, action, T0), (identity.name, action)
            held += mine.binding == "postponed"
            binding += mine.remaining == 0 and mine.binding != "postponed"
    assert held > 0, "the holds in force show"
    edges = next(q for q in views[identities[0].id].quotas if q.action == "message")
    assert (edges.remaining, edges.binding) == (0, "edges"), "Edges' own count shows"
    assert binding > 0, "some limit is used up (its next slot is compared too)"
