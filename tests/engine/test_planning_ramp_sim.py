"""The ramp-up in a simulated campaign: invitations per identity and ramp day (sandbox log)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from linkseq.demo.simulation import Simulation

CAMPAIGN: dict[str, Any] = {
    "name": "ramp",
    "identities": ["x"],
    "schedule": {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "19:00"},
    "steps": [
        {"id": "invite", "type": "connect", "note": "Hi {{ first_name | default('there') }}"},
        {"id": "accepted", "type": "wait_for_acceptance", "timeout_days": 21},
        {"id": "thanks", "type": "message", "delay": "1d", "text": "Thanks!"},
    ],
}
RAMP = {1: 5, 2: 10, 3: 15, 4: 20, 5: 25}


def test_invitations_follow_the_ramp_up_and_use_it(tmp_path: Path) -> None:
    sim = Simulation(
        database_url=f"sqlite:///{tmp_path / 'ramp.db'}",
        people=150,
        identities=2,
        campaign=CAMPAIGN,
    )
    try:
        sim.run(days=3)
        report = sim.sandbox.report()
        assert report["breaches"] == dict.fromkeys(report["breaches"], 0)
        first = {
            uid: sim.sandbox.identity(uid).integration.first_sync_at for uid in sim.identity_uids
        }
        per_day: Counter[tuple[str, int]] = Counter()
        for entry in sim.sandbox._core.ledger.entries:
            if entry["kind"] != "call" or entry.get("status") != 200:
                continue
            if entry["action"] != "linkedin-connect-profile":
                continue
            uid = entry["identity_uid"]
            at = datetime.fromisoformat(entry["at"].replace("Z", "+00:00"))
            per_day[(uid, (at - first[uid]) // timedelta(days=1) + 1)] += 1
        for uid in sim.identity_uids:
            for day in (1, 2, 3):
                sent = per_day[(uid, day)]
                assert sent <= RAMP[day], (uid, day, sent)
                # a rolling 24 h window shares slots between ramp days: most are used
                assert sent >= int(0.8 * RAMP[day]), (uid, day, sent)
    finally:
        sim.close()
