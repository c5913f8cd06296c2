"""A lead whose step lacks data is held, and goes once an import gives the data (sandbox)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from linkseq.demo.simulation import DEFAULT_CAMPAIGN, Simulation
from linkseq.engine.explain import explain
from linkseq.leads.importer import import_csv
from linkseq.store.enums import ActionKind, ActionStatus, EnrollmentState
from linkseq.store.models import AuditEvent, Enrollment, Lead, OutboxAction

BLANKED = 6  # leads whose company is unknown (some may be connected already, or reply)


def _campaign() -> dict[str, Any]:
    """The example campaign, its note needing the company (no default, no fallback)."""
    spec: dict[str, Any] = yaml.safe_load(DEFAULT_CAMPAIGN.read_text(encoding="utf-8"))
    invite = next(step for step in spec["steps"] if step["type"] == "connect")
    invite["note"] = "Hi {{ first_name | default('there') }}, I came across {{ company_name }}."
    invite["fallback_without_note"] = False
    return spec


def _held(sim: Simulation) -> list[tuple[int, str, str]]:
    """(enrollment, profile URL, reason) of the enrollments held for input."""
    with sim.sessions() as session:
        rows = session.execute(
            sa.select(Enrollment.id, Lead.profile_url, Enrollment.reason)
            .join(Lead, Lead.id == Enrollment.lead_id)
            .where(Enrollment.next_action_at.is_(None), Enrollment.reason.startswith("held: "))
            .order_by(Enrollment.id)
        ).all()
    return [(int(i), str(url), str(reason)) for i, url, reason in rows]


def _connects(sim: Simulation, enrollment_ids: list[int]) -> list[ActionStatus]:
    with sim.sessions() as session:
        return list(
            session.scalars(
                sa.select(OutboxAction.status).where(
                    OutboxAction.enrollment_id.in_(enrollment_ids),
                    OutboxAction.kind == ActionKind.CONNECT,
                )
            )
        )


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _blanked(
    path: Path, *, people: int, blank: int, **fields: None
) -> tuple[Simulation, list[int]]:
    """A one-identity simulation of `_campaign()` whose last `blank` leads lack `fields`."""
    sim = Simulation(
        database_url=f"sqlite:///{path}", people=people, identities=1, campaign=_campaign()
    )
    with sim.sessions() as session:
        ids = list(session.scalars(sa.select(Lead.id).order_by(Lead.id.desc()).limit(blank)))
        session.execute(sa.update(Lead).where(Lead.id.in_(ids)).values(**fields))
        session.commit()
    return sim, ids


def test_a_lead_held_for_missing_data_goes_once_an_import_gives_it(tmp_path: Path) -> None:
    sim, blanked = _blanked(tmp_path / "held.db", people=24, blank=BLANKED, company_name=None)
    try:
        with sim.sessions() as session:
            others = session.scalar(sa.select(sa.func.count()).where(Lead.company_name.is_(None)))
        assert others == BLANKED  # every other lead has a company: only these can be held
        sim.run(days=5)
        held = _held(sim)
        with sim.sessions() as session:
            held_leads = set(
                session.scalars(
                    sa.select(Enrollment.lead_id).where(Enrollment.id.in_([h[0] for h in held]))
                )
            )
        assert len(held) >= 3, held
        assert held_leads <= set(blanked)
        assert all("company_name" in reason for _, _, reason in held)
        held_ids = [enrollment_id for enrollment_id, _, _ in held]
        assert _connects(sim, held_ids) == []  # never sent without its note's data
        with sim.sessions() as session:
            answer = explain(session, held_ids[0], sim.clock.now())
        assert (answer.status, answer.hold) == ("held", "input")

        # an import that adds nothing leaves them held
        same = _write_csv(
            tmp_path / "same.csv", [{"linkedin_profile_url": url} for _, url, _ in held]
        )
        with sim.sessions() as session:
            report = import_csv(session, same, now=sim.clock.now())
        assert (report.updated, report.retried) == (0, 0)
        assert _held(sim) == held

        # the company arrives for all but one of them
        given = held[:-1]
        fixed = _write_csv(
            tmp_path / "fixed.csv",
            [
                {"linkedin_profile_url": url, "company_name": f"Company {n}"}
                for n, (_, url, _) in enumerate(given)
            ],
        )
        at = sim.clock.now()
        with sim.sessions() as session:
            report = import_csv(session, fixed, now=at)
        assert (report.updated, report.retried) == (len(given), len(given))
        given_ids = [enrollment_id for enrollment_id, _, _ in given]
        with sim.sessions() as session:
            rows = session.execute(
                sa.select(Enrollment.id, Enrollment.next_action_at, Enrollment.state).where(
                    Enrollment.id.in_(given_ids)
                )
            ).all()
            audited = session.scalar(
                sa.select(sa.func.count()).where(
                    AuditEvent.enrollment_id.in_(given_ids), AuditEvent.reason.contains("tried")
                )
            )
        assert {r.next_action_at.replace(tzinfo=at.tzinfo) for r in rows} == {at}
        assert all(r.state is EnrollmentState.READY for r in rows)
        assert audited == len(given)
        assert [i for i, _, _ in _held(sim)] == [held[-1][0]]  # the lead still without one

        sim.run(days=3)
        assert _connects(sim, given_ids).count(ActionStatus.SENT) == len(given)
        assert _connects(sim, [held[-1][0]]) == []
        with sim.sessions() as session:
            notes = session.scalars(
                sa.select(OutboxAction.request).where(
                    OutboxAction.enrollment_id.in_(given_ids),
                    OutboxAction.kind == ActionKind.CONNECT,
                )
            ).all()
        assert sorted(n["note"].rsplit(" ", 1)[-1] for n in notes) == sorted(
            f"{n}." for n in range(len(given))
        )
    finally:
        sim.close()


def test_a_held_lead_an_import_does_not_help_is_held_again(tmp_path: Path) -> None:
    """Retried on any new data; still lacking what its step needs, it is held again (once)."""
    sim, _ = _blanked(tmp_path / "again.db", people=12, blank=1, company_name=None, email=None)
    try:
        sim.run(days=5)
        [(enrollment_id, url, _)] = _held(sim)
        other = _write_csv(
            tmp_path / "email.csv", [{"linkedin_profile_url": url, "email": "x@example.com"}]
        )
        with sim.sessions() as session:
            report = import_csv(session, other, now=sim.clock.now())
        assert report.retried == 1
        sim.run(days=3)  # Saturday to Tuesday: a working day in every zone
        assert [i for i, _, _ in _held(sim)] == [enrollment_id]
        assert _connects(sim, [enrollment_id]) == []
    finally:
        sim.close()
