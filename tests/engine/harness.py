"""A small, controlled world for engine tests: named people, identities, one campaign, a DB.

The sandbox plays Edges (in-process WSGI by default, or any `app`/`base_url` given); people
are explicit (`person(...)`), so each test decides who accepts, who answers and when. Time is
the sandbox's virtual clock; the engine's sleeps move it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from linkseq.edges import EdgesClient
from linkseq.engine.config import EngineConfig
from linkseq.engine.runner import Engine, RunReport
from linkseq.leads.enroll import enroll_leads
from linkseq.leads.urls import normalize_profile_url
from linkseq.sandbox import FaultConfig, NetworkSpec, Sandbox, World
from linkseq.store import build_engine, session_factory, upgrade
from linkseq.store.enums import CampaignStatus, EnrollmentState, IdentityLevel
from linkseq.store.models import (
    AuditEvent,
    Campaign,
    CampaignIdentity,
    Enrollment,
    Identity,
    Lead,
    OutboxAction,
)

__all__ = ["CONNECT_THEN_MESSAGE", "OUTREACH", "Harness", "campaign_spec", "person"]

OUTREACH = (
    "linkedin-visit-profile",
    "linkedin-connect-profile",
    "linkedin-message-profile",
    "linkedin-inmail-profile",
)
NO_NETWORK = NetworkSpec(connections=0, pending_invitations=0, threads=0, inbound=0)


def person(handle: str, **fields: Any) -> dict[str, Any]:
    """A world-file person who accepts within the hour and never answers, unless told."""
    base: dict[str, Any] = {
        "handle": handle,
        "first_name": handle.split("-")[0].title(),
        "last_name": "Test",
        "company": "Acme",
        "timezone": "Europe/London",
        "accept_probability": 1.0,
        "accept_delay_hours": 1,
        "reply_probability": 0.0,
    }
    base.update(fields)
    return base


# connect (note) → wait for the acceptance → a first message an hour after it
CONNECT_THEN_MESSAGE: list[dict[str, Any]] = [
    {"id": "invite", "type": "connect", "note": "Hi {{ first_name }}, glad to connect."},
    {"id": "accepted", "type": "wait_for_acceptance", "timeout_days": 7},
    {"id": "hello", "type": "message", "delay": "1h", "text": "Thanks, {{ first_name }}!"},
]


def campaign_spec(
    name: str = "T",
    identities: Iterable[str] = ("alice",),
    *,
    steps: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """connect (note) → wait → message after 1 h → follow-up after 1 day, in London hours."""
    return {
        "name": name,
        "identities": list(identities),
        "schedule": {"start": "09:00", "end": "18:00", "default_timezone": "Europe/London"},
        "pacing": {"min_gap_seconds": 45, "max_gap_seconds": 90},
        "steps": steps
        or [
            *CONNECT_THEN_MESSAGE,
            {
                "id": "nudge",
                "type": "message",
                "delay": "1d",
                "text": "Any news, {{ first_name }}?",
            },
        ],
    }


@dataclass(slots=True)
class Sent:
    """One outreach call the sandbox received."""

    seq: int
    action: str
    identity_uid: str
    handle: str
    status: int | None
    label: str | None
    text: str | None


class Harness:
    """A sandbox world, a migrated database, identities, a campaign and the engine."""

    def __init__(
        self,
        database_url: str,
        *,
        persons: list[dict[str, Any]],
        identities: Iterable[str] = ("alice",),
        campaigns: list[dict[str, Any]] | None = None,
        faults: FaultConfig | None = None,
        config: EngineConfig | None = None,
        seed: int = 11,
        enroll: bool = True,
        migrate: bool = True,
        people: int = 0,
        wrap: Callable[[Any], Any] | None = None,
    ) -> None:
        world = World.from_dict({"seed": seed, "people": people, "persons": persons})
        self.sandbox = Sandbox(seed=seed, world=world, faults=faults)
        self.clock = self.sandbox.clock
        self.database_url = database_url
        self.db = build_engine(database_url)
        if migrate:
            upgrade(self.db)
        self.sessions: sessionmaker[Session] = session_factory(self.db)
        self.client = EdgesClient(
            "sandbox-key",
            base_url=self.sandbox.base_url,
            app=wrap(self.sandbox.wsgi_app) if wrap else self.sandbox.wsgi_app,
            rate_limit=None,
            clock=self.clock,
            sleep=self.sleep,
        )
        self.config = config or EngineConfig()
        names = list(identities)
        self.uids: dict[str, str] = {}
        now = self.clock.now()
        for name in names:
            self.uids[name] = self.sandbox.add_identity(
                name=name,
                timezone="Europe/London",
                network=NO_NETWORK,
                first_sync_at=now - timedelta(days=30),
            )
        self.handles = [p["handle"] for p in persons]
        with self.sessions() as session:
            for name in names:
                session.add(
                    Identity(
                        uid=self.uids[name],
                        name=name,
                        timezone="Europe/London",
                        is_engagement=True,
                        level=IdentityLevel.CLASSIC,
                        first_sync_at=now - timedelta(days=30),
                        created_at=now,
                        updated_at=now,
                    )
                )
            for p in persons:
                session.add(
                    Lead(
                        profile_url=self.url(p["handle"]),
                        first_name=p.get("first_name"),
                        last_name=p.get("last_name"),
                        company_name=p.get("company"),
                        timezone=p.get("timezone"),
                        custom_fields={},
                        created_at=now,
                        updated_at=now,
                    )
                )
            session.commit()
        for spec in campaigns if campaigns is not None else [campaign_spec(identities=names)]:
            self.add_campaign(spec, enroll=self.handles if enroll else [])
        self.engine = self.make_engine()

    # --- setup ---------------------------------------------------------------------------------

    @staticmethod
    def url(handle: str) -> str:
        """The canonical profile URL linkseq stores for a handle."""
        return normalize_profile_url(f"https://www.linkedin.com/in/{handle}/").url

    def make_engine(self, *, dry_run: bool = False, owner: str = "test") -> Engine:
        """An engine on this world (another one: another worker)."""
        return Engine(
            sessions=self.sessions,
            client=self.client,
            clock=self.clock,
            config=self.config,
            sleep=self.sleep,
            owner=owner,
            dry_run=dry_run,
        )

    def add_campaign(self, spec: dict[str, Any], *, enroll: Iterable[str] = ()) -> int:
        """Create an active campaign on its identities and enroll the given people."""
        from linkseq.campaigns import parse_campaign

        parsed = parse_campaign(spec)
        now = self.clock.now()
        with self.sessions() as session:
            campaign = Campaign(
                name=parsed.name,
                spec_yaml="",
                spec=parsed.to_json(),
                status=CampaignStatus.ACTIVE,
                priority=parsed.priority,
                started_at=now,
                created_at=now,
                updated_at=now,
            )
            session.add(campaign)
            session.flush()
            for name in parsed.identities:
                identity_id = session.scalars(
                    sa.select(Identity.id).where(Identity.name == name)
                ).one()
                session.add(CampaignIdentity(campaign_id=campaign.id, identity_id=identity_id))
            session.commit()
            self.enroll(campaign.id, enroll, session=session)
            return campaign.id

    def enroll(self, campaign_id: int, handles: Iterable[str], *, session: Session) -> None:
        """Enroll people (by handle) into a campaign."""
        urls = [self.url(h) for h in handles]
        if not urls:
            return
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        ids = list(session.scalars(sa.select(Lead.id).where(Lead.profile_url.in_(urls))))
        enroll_leads(session, campaign, ids, now=self.clock.now())
        session.commit()

    # --- time ----------------------------------------------------------------------------------

    def sleep(self, seconds: float) -> None:
        """The engine's and the client's sleep: virtual time moves."""
        if seconds > 0:
            self.sandbox.advance(by=timedelta(seconds=seconds))

    def advance(self, by: timedelta) -> None:
        """Move virtual time forward (acceptances, replies happen)."""
        self.sandbox.advance(by=by)

    def run_once(self, engine: Engine | None = None) -> RunReport:
        """One `run_once` of the engine."""
        return (engine or self.engine).run_once()

    def run(
        self,
        *,
        hours: float | None = None,
        until: datetime | None = None,
        engine: Engine | None = None,
        max_step: timedelta = timedelta(minutes=30),
    ) -> list[RunReport]:
        """Run passes and move time to each next wake, like a worker, until `until`."""
        engine = engine or self.engine
        end = until or self.clock.now() + timedelta(hours=hours or 1)
        reports: list[RunReport] = []
        while self.clock.now() < end:
            reports.append(engine.run_once())
            now = self.clock.now()
            wake = engine.next_wake() or now + max_step
            target = min(max(wake, now + timedelta(seconds=1)), now + max_step, end)
            if target > now:
                self.sandbox.advance(to=target)
        return reports

    def to_wake(self, engine: Engine | None = None) -> None:
        """Move time to the engine's next wake (a second on at least), as its worker would."""
        wake = (engine or self.engine).next_wake()
        assert wake is not None
        self.sandbox.advance(to=max(wake, self.clock.now() + timedelta(seconds=1)))

    def run_until_call(self, action: str, *, passes: int = 80) -> None:
        """Run passes, moving time to each next wake, until the sandbox received `action`."""
        for _ in range(passes):
            self.run_once()
            if self.calls(action):
                return
            self.to_wake()
        raise AssertionError(f"no {action} call within {passes} passes")

    # --- looking ---------------------------------------------------------------------------

    def enrollment(self, handle: str, campaign: str | None = None) -> Enrollment:
        """The enrollment of a person (in `campaign`, or the only one)."""
        with self.sessions() as session:
            query = (
                sa.select(Enrollment)
                .join(Lead, Lead.id == Enrollment.lead_id)
                .where(Lead.profile_url == self.url(handle))
            )
            if campaign is not None:
                query = query.join(Campaign, Campaign.id == Enrollment.campaign_id).where(
                    Campaign.name == campaign
                )
            rows = session.scalars(query).all()
            assert len(rows) == 1, rows
            session.expunge(rows[0])
            return rows[0]

    def state(self, handle: str, campaign: str | None = None) -> str:
        """The lifecycle state of a person's enrollment."""
        return self.enrollment(handle, campaign).state.value

    def audit(self, handle: str) -> list[AuditEvent]:
        """A person's audit trail, oldest first."""
        with self.sessions() as session:
            rows = session.scalars(
                sa.select(AuditEvent)
                .join(Lead, Lead.id == AuditEvent.lead_id)
                .where(Lead.profile_url == self.url(handle))
                .order_by(AuditEvent.id)
            ).all()
            for row in rows:
                session.expunge(row)
            return list(rows)

    def outbox(self) -> list[OutboxAction]:
        """Every outbox row."""
        with self.sessions() as session:
            rows = session.scalars(sa.select(OutboxAction).order_by(OutboxAction.id)).all()
            for row in rows:
                session.expunge(row)
            return list(rows)

    def calls(self, *actions: str, since: int = 0) -> list[Sent]:
        """Live calls the sandbox received (of `actions`, or all), as `Sent` rows."""
        people = self.sandbox.world.people
        out: list[Sent] = []
        for entry in self.sandbox.log[since:]:
            if entry["kind"] != "call" or (actions and entry["action"] not in actions):
                continue
            url = (entry.get("input") or {}).get("linkedin_profile_url")
            who = people.resolve_url(url) if isinstance(url, str) else None
            params = entry.get("parameters") or {}
            out.append(
                Sent(
                    seq=entry["seq"],
                    action=entry["action"],
                    identity_uid=entry["identity_uid"],
                    handle=who.handle if who is not None else "",
                    status=entry.get("status"),
                    label=entry.get("error_label"),
                    text=params.get("message"),
                )
            )
        return out

    def done(self, handle: str, action: str) -> list[Sent]:
        """Successful calls of `action` to one person."""
        return [c for c in self.calls(action) if c.handle == handle and c.status == 200]

    def thread(self, handle: str, identity: str = "alice") -> list[tuple[bool, str]]:
        """The sandbox thread with a person: (from the identity?, text) per message."""
        person_ = self.sandbox.world.people.by_handle(handle)
        assert person_ is not None
        found = self.sandbox.identity(self.uids[identity]).threads.get(person_.index)
        return [(m.from_identity, m.content) for m in found.messages] if found else []

    def breaches(self) -> dict[str, int]:
        """The sandbox's breach counters."""
        return dict(self.sandbox.report()["breaches"])

    def close(self) -> None:
        """Release the client and the database."""
        self.client.close()
        self.db.dispose()


def states_of(harness: Harness) -> dict[str, str]:
    """Every person's state, by handle."""
    return {h: harness.state(h) for h in harness.handles}


def active(state: str) -> bool:
    """Whether a state is one the engine still works."""
    return EnrollmentState(state) in {
        EnrollmentState.NEW,
        EnrollmentState.READY,
        EnrollmentState.INVITED,
        EnrollmentState.CONNECTED,
        EnrollmentState.MESSAGED,
    }
