"""`linkseq demo`: a whole campaign against the sandbox, in simulated time, with its report.

Where the database goes: without `--keep`, a temporary directory removed at the end (nothing
is left behind). With `--keep`, `./linkseq-demo.db` (or `--db PATH`), replaced on each run and
kept, so `LINKSEQ_DATABASE_URL=sqlite:///… linkseq serve` shows it in the dashboard.
`make demo` runs `linkseq demo --keep`.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

from linkseq.cli._common import console, print_json
from linkseq.errors import InputError, LinkseqError
from linkseq.logging import configure_logging

__all__ = [
    "DEFAULT_LEADS",
    "DEFAULT_SEED",
    "DEMO_LEADS_CSV",
    "DemoResult",
    "limit_use",
    "register",
    "run_demo",
]

DEFAULT_LEADS = 300
DEFAULT_SEED = 7
# The sandbox world of seed 7 as a leads CSV (its 300 people, with URL variants): what a user
# would bring. `tests/cli/test_demo_cli.py` checks that it matches the world.
DEMO_LEADS_CSV = Path(__file__).resolve().parent.parent / "examples" / "demo-leads.csv"
KEPT_DB = Path("linkseq-demo.db")
DAY = timedelta(days=1)
WEEK = timedelta(days=7)


class DemoBreach(LinkseqError):
    """The sandbox counted a broken promise."""


@dataclass(slots=True)
class DemoResult:
    """What a demo run produced."""

    funnel: dict[str, int]
    identities: list[dict[str, Any]]
    report: dict[str, Any]
    wall_seconds: float
    database: Path | None
    sent: int

    @property
    def breaches(self) -> int:
        """Every breach counted by the sandbox."""
        return sum(int(n) for n in self.report.get("breaches", {}).values())

    def as_dict(self) -> dict[str, Any]:
        """The `--json` object."""
        return {
            "funnel": self.funnel,
            "identities": self.identities,
            "report": self.report,
            "wall_seconds": round(self.wall_seconds, 2),
            "database": str(self.database) if self.database else None,
        }


def _peak(times: list[datetime], window: timedelta) -> int:
    """The most sends inside any rolling window (ending at a send)."""
    times = sorted(times)
    best = start = 0
    for end, at in enumerate(times):
        while times[start] <= at - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def limit_use(session: Session, *, now: datetime, messages_per_day: int) -> list[dict[str, Any]]:
    """Each identity's use of its limits: the rolling 24 h ending now, the peak and the total."""
    from linkseq.engine.quotas import OUTREACH
    from linkseq.planning.quota import AccountLevel, Action, smart_limit
    from linkseq.store.enums import ActionStatus
    from linkseq.store.models import Identity, OutboxAction

    counted = (
        ActionStatus.SENT,
        ActionStatus.RECONCILED,
        ActionStatus.SENDING,
        ActionStatus.UNCERTAIN,
    )
    stamp = sa.func.coalesce(OutboxAction.sent_at, OutboxAction.created_at)
    rows = session.execute(
        sa.select(OutboxAction.identity_id, OutboxAction.kind, stamp).where(
            OutboxAction.kind.in_(list(OUTREACH)), OutboxAction.status.in_(counted)
        )
    ).all()
    sent: dict[tuple[int, Action], list[datetime]] = {}
    for identity_id, kind, at in rows:
        at = at if at.tzinfo else at.replace(tzinfo=now.tzinfo)
        sent.setdefault((identity_id, OUTREACH[kind]), []).append(at)
    out: list[dict[str, Any]] = []
    for identity in session.scalars(sa.select(Identity).order_by(Identity.id)):
        level = AccountLevel.parse(identity.level.value)
        limits: dict[str, Any] = {}
        for action in (Action.visit, Action.connect, Action.message):
            times = sent.get((identity.id, action), [])
            limit, _ = smart_limit(action, level, messages_per_day=messages_per_day)
            use: dict[str, Any] = {
                "limit_24h": limit,
                "last_24h": sum(1 for t in times if t > now - DAY),
                "peak_24h": _peak(times, DAY),
                "total": len(times),
            }
            if action is Action.connect:
                use["peak_7d"] = _peak(times, WEEK)
            limits[action.value] = use
        out.append(
            {
                "name": identity.name,
                "uid": identity.uid,
                "timezone": identity.timezone,
                "status": identity.status.value,
                "limits": limits,
            }
        )
    return out


@contextlib.contextmanager
def _database(keep: bool, db: Path | None) -> Iterator[Path]:
    """The demo's SQLite file: kept at `db` (replaced first), or in a temporary directory."""
    if not keep:
        with tempfile.TemporaryDirectory(prefix="linkseq-demo-") as tmp:
            yield Path(tmp) / "demo.db"
        return
    path = (db or KEPT_DB).expanduser().resolve()
    if path.is_dir():
        raise InputError(f"{path} is a directory; give a file with --db")
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    yield path


def run_demo(
    *,
    leads: int = DEFAULT_LEADS,
    identities: int = 3,
    days: float = 21,
    seed: int = DEFAULT_SEED,
    database: Path,
    on_tick: Any = None,
) -> DemoResult:
    """Run the simulation on `database` (SQLite) and collect its report."""
    from linkseq.demo.simulation import Simulation

    started = time.perf_counter()  # wall time of the run, not a date: no Clock needed
    shipped = DEMO_LEADS_CSV if (leads, seed) == (DEFAULT_LEADS, DEFAULT_SEED) else None
    sim = Simulation(
        database_url=f"sqlite:///{database}",
        seed=seed,
        people=leads,
        identities=identities,
        leads_csv=shipped,
        receiver=True,  # `linkseq serve`'s webhook receiver on loopback, as in production
    )
    try:
        sent = sim.run(days=days, on_tick=on_tick)
        funnel = sim.funnel()
        with sim.sessions() as session:
            used = limit_use(
                session, now=sim.clock.now(), messages_per_day=sim.engine.config.messages_per_day
            )
        report = sim.sandbox.report()
    finally:
        sim.close()
    return DemoResult(
        funnel=funnel,
        identities=used,
        report=report,
        wall_seconds=time.perf_counter() - started,
        database=database,
        sent=sent,
    )


class _Bar:
    """The progress bar: simulated date, actions sent, acceptances, replies."""

    def __init__(self, progress: Progress, days: float) -> None:
        self.progress = progress
        self.total = days * 86_400
        self.task = progress.add_task("starting", total=self.total, stats="")
        self.start: datetime | None = None

    def __call__(self, tick: Any) -> None:
        if self.start is None:
            self.start = tick.now
        done = (tick.now - self.start).total_seconds()
        self.progress.update(
            self.task,
            completed=min(done, self.total),
            description=f"{tick.now:%a %d %b %H:%M} UTC",
            stats=f"sent {tick.sent} · accepted {tick.accepted} · replied {tick.replied}",
        )


def _print_result(result: DemoResult, kept: bool) -> None:
    funnel = result.funnel
    table = Table("stage", "leads", title="Funnel", title_justify="left")
    for stage in ("enrolled", "visited", "invited", "accepted", "messaged", "replied"):
        table.add_row(stage, str(funnel.get(stage, 0)))
    console.print(table)
    states = ", ".join(
        f"{key.removeprefix('state:')} {value}"
        for key, value in sorted(funnel.items())
        if key.startswith("state:")
    )
    console.print(f"Leads by state: {states}\n")
    limits = Table(
        "identity",
        "action",
        "last 24 h",
        "peak 24 h",
        "limit 24 h",
        "whole run",
        title="Use of the limits (rolling 24 h ending now; busiest 24 h of the run)",
        title_justify="left",
    )
    labels = {"visit": "visits", "connect": "invitations", "message": "messages"}
    for item in result.identities:
        for index, (action, use) in enumerate(item["limits"].items()):
            extra = f" (peak 7 d {use['peak_7d']} / 100)" if "peak_7d" in use else ""
            limits.add_row(
                item["name"] if index == 0 else "",
                labels.get(action, action),
                str(use["last_24h"]),
                str(use["peak_24h"]),
                str(use["limit_24h"]),
                f"{use['total']}{extra}",
            )
    console.print(limits)
    promises = Table("promise check (sandbox)", "breaches", title="Promises", title_justify="left")
    for name, count in result.report.get("breaches", {}).items():
        style = "green" if count == 0 else "bold red"
        promises.add_row(name, f"[{style}]{count}[/{style}]")
    console.print(promises)
    console.print(
        f"{result.sent} actions sent in {result.wall_seconds:.1f} s of wall time; "
        f"{result.breaches} breaches."
    )
    if kept and result.database is not None:
        console.print(f"\nThe database is kept at {result.database}. Open the dashboard with:")
        console.print(
            f"  LINKSEQ_DATABASE_URL=sqlite:///{result.database} linkseq serve", markup=False
        )
        console.print("and browse http://127.0.0.1:8000")
    else:
        console.print(
            "\nThe database was temporary. Run `linkseq demo --keep` to keep it "
            "(./linkseq-demo.db) and open it with `linkseq serve`."
        )


def demo(
    leads: Annotated[
        int, typer.Option("--leads", envvar="LINKSEQ_DEMO_LEADS", help="People to reach.")
    ] = DEFAULT_LEADS,
    identities: Annotated[
        int,
        typer.Option(
            "--identities", envvar="LINKSEQ_DEMO_IDENTITIES", help="Engagement identities."
        ),
    ] = 3,
    days: Annotated[
        float, typer.Option("--days", envvar="LINKSEQ_DEMO_DAYS", help="Simulated days.")
    ] = 21,
    seed: Annotated[
        int, typer.Option("--seed", envvar="LINKSEQ_DEMO_SEED", help="Seed of the world.")
    ] = DEFAULT_SEED,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    keep: Annotated[
        bool,
        typer.Option("--keep", help="Keep the database (./linkseq-demo.db, or --db) to explore."),
    ] = False,
    db: Annotated[
        Path | None, typer.Option("--db", help="Where --keep writes the database.")
    ] = None,
) -> None:
    """Run a whole campaign against the built-in sandbox (no account, no network): 21 virtual
    days of visits, invitations and messages by the real engine, then the funnel, each identity's
    use of its limits and the sandbox's count of broken promises (expected: 0).

    Example: linkseq demo --leads 100 --days 7 --keep
    """
    configure_logging("WARNING")
    if not 1 <= leads <= 100_000:
        raise InputError("--leads must be within 1..100000")
    if not 1 <= identities <= 20:
        raise InputError("--identities must be within 1..20")
    if not 0 < days <= 365:
        raise InputError("--days must be within 0..365")
    if db is not None and not keep:
        raise InputError("--db only makes sense with --keep")
    with _database(keep, db) as path:
        if as_json:
            result = run_demo(
                leads=leads, identities=identities, days=days, seed=seed, database=path
            )
        else:
            console.print(
                f"linkseq demo: {leads} leads, {identities} identities, {days:g} simulated days "
                f"(seed {seed}), against the sandbox"
            )
            progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[stats]}"),
                TimeElapsedColumn(),
                console=console,
            )
            with progress:
                bar = _Bar(progress, days)
                result = run_demo(
                    leads=leads,
                    identities=identities,
                    days=days,
                    seed=seed,
                    database=path,
                    on_tick=bar,
                )
        if not keep:
            result.database = None
    if as_json:
        print_json(result.as_dict())
    else:
        _print_result(result, keep)
    if result.breaches:
        raise DemoBreach(f"the sandbox counted {result.breaches} broken promise(s)")


def register(app: typer.Typer) -> None:
    """Add `linkseq demo`."""
    app.command("demo")(demo)
