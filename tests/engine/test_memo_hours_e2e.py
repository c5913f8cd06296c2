"""A kept plan whose pass comes late: the next action must not go after its lead's hours closed.

Reproduces an engine bug found by the month simulation (tests/engine/test_month.py): a plan
kept between passes (`linkseq.engine.memo`) is reused while it is valid, and the runner
checked that its next action was within hours at the *planned* instant (`runner._still_open`),
then sent it *now*. A pass that starts a few minutes late (another
identity's pass, a slow sync: in the month, 17 actions from 1 to 21 minutes after 18:00 in the
lead's zone) sends after the campaign's close. The sandbox's own `outside_hours` (08:00-19:00)
does not see it. Fixed in `linkseq.engine.runner`: the hours are checked at max(now, planned)
and again right before each send.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.engine.harness import OUTREACH, Harness, campaign_spec, person

CLOSE = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)  # Monday 18:00 in London (UTC in January)


def test_a_late_pass_sends_nothing_from_a_kept_plan_after_the_close(tmp_path: Path) -> None:
    london = [person(f"lon{i}-x") for i in range(70)]
    # as many New York leads as the day's visits: the spread runs to New York's close, so a
    # London visit is planned in London's last hour (with fewer, it ends at London's close)
    new_york = [person(f"nyc{i}-x", timezone="America/New_York") for i in range(20)]
    spec = campaign_spec(steps=[{"id": "visit", "type": "visit"}])
    spec["schedule"]["timezone"] = "lead"
    h = Harness(
        f"sqlite:///{tmp_path / 'memo.db'}", persons=london + new_york, campaigns=[spec], seed=8
    )
    try:
        engine = h.engine
        late = False
        while h.clock.now() < CLOSE + timedelta(minutes=30):
            engine.run_once()
            kept = next(iter(engine._memos.values()), None)
            if not late and kept is not None:
                go = kept.plan().go
                if (
                    go
                    and str(go[0].candidate.tz) == "Europe/London"
                    and CLOSE - timedelta(minutes=60) < go[0].at < CLOSE
                ):
                    # the worker comes back 30 s after the close, the plan still valid (as a
                    # plan built a little later would be: its validity is an hour from then)
                    kept.valid_until = CLOSE + timedelta(minutes=30)
                    h.sandbox.advance(to=CLOSE + timedelta(seconds=30))
                    late = True
                    continue
            now = h.clock.now()
            wake = engine.next_wake() or now + timedelta(minutes=30)
            h.sandbox.advance(
                to=min(max(wake, now + timedelta(seconds=1)), now + timedelta(minutes=30))
            )
        assert late, "the scenario needs a kept plan with a London action before the close"
        after_close = [
            c.handle
            for c in h.calls(*OUTREACH)
            if c.handle.startswith("lon")
            and h.sandbox.log[c.seq - 1]["at"] >= CLOSE.isoformat().replace("+00:00", "Z")
        ]
        assert after_close == []
    finally:
        h.close()
