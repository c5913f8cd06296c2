"""A whole campaign in simulated time: the sandbox plays Edges, linkseq's real engine runs.

Used by `linkseq demo`, the end-to-end tests and the benchmarks. Everything real is real: the
SQLite (or PostgreSQL) database, the Edges client over HTTP semantics (in-process WSGI), the
outbox, the planner. Only time is virtual: the engine's sleeps and the worker's waits move the
sandbox's clock, which makes the world (acceptances, replies, expiring sessions) happen.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from linkseq.campaigns import CampaignSpec, parse_campaign
from linkseq.edges import EdgesClient
from linkseq.engine.config import EngineConfig
from linkseq.engine.runner import Engine, RunReport
from linkseq.leads.enroll import enroll_leads
from linkseq.leads.importer import import_csv
from linkseq.sandbox import FaultConfig, NetworkSpec, Sandbox, World
from linkseq.store import build_engine, session_factory, upgrade
from linkseq.store.enums import CampaignStatus, IdentityLevel
from linkseq.store.models import Campaign, CampaignIdentity, Identity, Lead

__all__ = ["DEFAULT_CAMPAIGN", "Simulation", "funnel"]

DEFAULT_CAMPAIGN = Path(__file__).resolve().parent.parent / "examples" / "campaign.yaml"
IDENTITY_ZONES = ("Europe/Paris", "America/New_York", "Europe/London", "Asia/Singapore")


@dataclass(slots=True)
class Tick:
    """Progress of a simulation, for a progress bar."""

    now: datetime
    sent: int
    accepted: int = 0
    replied: int = 0


def _network(people: int, identities: int) -> NetworkSpec:
    """A realistic existing network: a few leads already connected, pending or talking."""
    share = max(1, people // max(1, identities))
    return NetworkSpec(
        connections=max(1, share // 12),
        pending_invitations=max(1, share // 40),
        threads=max(1, share // 30),
        inbound=max(1, share // 60),
    )


class Simulation:
    """A sandbox world, a linkseq database and the engine between them."""

    def __init__(
        self,
        *,
        database_url: str,
        seed: int = 7,
        people: int = 300,
        identities: int = 3,
        faults: FaultConfig | None = None,
        config: EngineConfig | None = None,
        campaign: str | Path | dict[str, Any] | None = None,
        deliver: Callable[[str, dict[str, str], bytes], int] | None = None,
        leads_csv: Path | None = None,
        receiver: bool = False,
        start: datetime | None = None,
    ) -> None:
        world = World(seed, people, start=start)  # start: the virtual clock's first instant
        self.sandbox = Sandbox(world=world, faults=faults, deliver=deliver)
        self.clock = self.sandbox.clock
        self.db = build_engine(database_url)
        upgrade(self.db)
        self.sessions: sessionmaker[Session] = session_factory(self.db)
        self.client = EdgesClient(
            self.sandbox_api_key,
            base_url=self.sandbox.base_url,
            app=self.sandbox.wsgi_app,
            rate_limit=None,
            clock=self.clock,
            sleep=self._sleep,
        )
        self.identity_uids = [
            self.sandbox.add_identity(
                name=f"identity-{i + 1}",
                timezone=IDENTITY_ZONES[i % len(IDENTITY_ZONES)],
                network=_network(people, identities),
            )
            for i in range(identities)
        ]
        self.spec = self._spec(campaign)
        self._setup(people, leads_csv)
        self._stack = contextlib.ExitStack()
        self.receiver_url: str | None = None
        if receiver:
            config = self._start_receiver(config)
        self.engine = Engine(
            sessions=self.sessions,
            client=self.client,
            clock=self.clock,
            config=config,
            sleep=self._sleep,
            owner="demo",
        )

    def _start_receiver(self, config: EngineConfig | None) -> EngineConfig:
        """`linkseq serve`'s app on a loopback port receives the sandbox's callbacks and
        integration webhooks; Edges schedules replace the engine's periodic live syncs."""
        from linkseq.engine.background import Background
        from linkseq.settings import Settings
        from linkseq.web.app import create_app
        from linkseq.web.serving import serve_in_thread

        secret = SecretStr(secrets.token_urlsafe(24))
        settings = Settings(webhook_secret=secret, database_url=str(self.db.url), _env_file=None)
        app = create_app(settings, sessions=self.sessions, clock=self.clock, edges=self._edges)
        url = self._stack.enter_context(serve_in_thread(app))
        self.receiver_url = url
        self.sandbox.set_webhook(
            f"{url}/webhooks/edges/integrations?token={secret.get_secret_value()}"
        )
        scheduled = dataclasses.replace(config or EngineConfig(), periodic_syncs="scheduled")
        background = Background(
            sessions=self.sessions,
            client=self.client,
            clock=self.clock,
            public_url=url,
            secret=secret,
            config=scheduled,
        )
        background.ensure_schedules()
        return scheduled

    def _edges(self) -> EdgesClient:
        return self.client

    @property
    def sandbox_api_key(self) -> str:
        """The key the sandbox accepts."""
        return str(getattr(self.sandbox, "api_key", "sandbox-key"))

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.sandbox.advance(by=timedelta(seconds=seconds))

    def _spec(self, campaign: str | Path | dict[str, Any] | None) -> CampaignSpec:
        if isinstance(campaign, dict):
            data: dict[str, Any] | str = campaign
        else:
            data = Path(campaign or DEFAULT_CAMPAIGN).read_text(encoding="utf-8")
        spec = parse_campaign(data)
        names = [f"identity-{i + 1}" for i in range(len(self.identity_uids))]
        return parse_campaign({**spec.to_json(), "identities": names})

    def _setup(self, people: int, leads_csv: Path | None) -> None:
        now = self.clock.now()
        with self.sessions() as session:
            identities = []
            for uid in self.identity_uids:
                info = self.sandbox.identity(uid)
                identity = Identity(
                    uid=uid,
                    name=str(getattr(info, "name", uid)),
                    timezone=str(getattr(info, "timezone", "UTC")),
                    is_engagement=True,
                    level=IdentityLevel.CLASSIC,
                    created_at=now,
                    updated_at=now,
                )
                session.add(identity)
                identities.append(identity)
            session.flush()
            campaign = Campaign(
                name=self.spec.name,
                spec_yaml="",
                spec=self.spec.to_json(),
                status=CampaignStatus.ACTIVE,
                priority=self.spec.priority,
                started_at=now,
                created_at=now,
                updated_at=now,
            )
            session.add(campaign)
            session.flush()
            for identity in identities:
                session.add(CampaignIdentity(campaign_id=campaign.id, identity_id=identity.id))
            session.commit()
            if leads_csv is not None:  # a file of the same world's people (the demo's)
                import_csv(session, leads_csv, now=now)
            else:
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / "leads.csv"
                    path.write_text(self.sandbox.people_csv(people), encoding="utf-8")
                    import_csv(session, path, now=now)
            lead_ids = list(session.scalars(sa.select(Lead.id).order_by(Lead.id)))
            enroll_leads(session, campaign, lead_ids, now=now)
            session.commit()

    def run(
        self,
        *,
        days: float | None = None,
        until: datetime | None = None,
        on_tick: Callable[[Tick], None] | None = None,
        max_step: timedelta = timedelta(minutes=30),
    ) -> int:
        """Run the engine until the virtual date `until` (or for `days`); actions sent."""
        end = until or self.clock.now() + timedelta(days=days or 1)
        sent = 0
        counted_at: datetime | None = None
        accepted = replied = 0
        while self.clock.now() < end:
            report: RunReport = self.engine.run_once()
            sent += report.sent
            now = self.clock.now()
            wake = self.engine.next_wake(report) or now + max_step
            target = min(max(wake, now + timedelta(seconds=1)), now + max_step, end)
            if target > now:
                self.sandbox.advance(to=target)
            if on_tick is not None:
                # acceptances and replies are counted in the database once per virtual hour
                if counted_at is None or self.clock.now() - counted_at >= timedelta(hours=1):
                    counted_at = self.clock.now()
                    accepted, replied = self.progress()
                on_tick(Tick(self.clock.now(), sent, accepted, replied))
        return sent

    def progress(self) -> tuple[int, int]:
        """Leads that accepted the invitation and leads that replied, so far."""
        counts = self.funnel()
        return counts["accepted"], counts["replied"]

    def funnel(self) -> dict[str, int]:
        """Leads per stage of the funnel."""
        with self.sessions() as session:
            return funnel(session)

    def close(self) -> None:
        """Stop the receiver; release the database and the client."""
        self._stack.close()
        self.client.close()
        self.db.dispose()


def funnel(session: Session) -> dict[str, int]:
    """Counts per funnel stage (every campaign): enrolled → visited → invited → accepted →
    messaged → replied, then per state."""
    from linkseq.engine.funnel import campaign_funnel

    return campaign_funnel(session, None)
