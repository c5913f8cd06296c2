"""A stale invitation withdrawn into the campaign's InMail step, when that step is the last one."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from linkseq.engine.config import EngineConfig
from tests.engine.harness import Harness, campaign_spec, person

CONNECT = "linkedin-connect-profile"
WITHDRAW = "linkedin-withdraw-invitation"
INMAIL = "linkedin-inmail-profile"


def test_an_inmail_as_the_last_step_completes_the_lead(tmp_path: Path) -> None:
    wait = {"type": "wait_for_acceptance", "timeout_days": 1, "on_timeout": "inmail"}
    steps: list[dict[str, Any]] = [
        {"id": "invite", "type": "connect", "note": "Hi {{ first_name }}, glad to connect."},
        {"id": "accepted", **wait},
        {"id": "inmail", "type": "inmail", "subject": "Hello", "text": "Hello {{ first_name }}"},
    ]
    h = Harness(
        f"sqlite:///{tmp_path / 'inmail.db'}",
        persons=[person("ada-lovelace", accept_probability=0.0)],
        campaigns=[campaign_spec(steps=steps)],
        config=EngineConfig(idle_wake=timedelta(hours=2)),
    )
    try:
        h.run(hours=24 * 4)
        assert [c.status for c in h.calls(CONNECT)] == [200]
        assert [c.status for c in h.calls(WITHDRAW)] == [200]
        assert [(c.status, c.text) for c in h.calls(INMAIL)] == [(200, "Hello Ada")]
        assert h.state("ada-lovelace") == "completed"
        reasons = [row.reason for row in h.audit("ada-lovelace")]
        assert any("sequence done" in (r or "") for r in reasons), reasons
        assert h.breaches() == dict.fromkeys(h.breaches(), 0)
    finally:
        h.close()
