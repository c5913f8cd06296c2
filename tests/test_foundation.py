from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from linkseq.cli.app import app
from linkseq.clock import ManualClock, ensure_utc
from linkseq.logging import MASK, redact
from linkseq.runtime import GC_THRESHOLDS
from linkseq.settings import Settings


def test_manual_clock_moves_only_forward() -> None:
    clock = ManualClock(datetime(2026, 3, 1, 9, tzinfo=UTC))
    assert clock.advance(90) == datetime(2026, 3, 1, 9, 1, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError):
        clock.set(datetime(2026, 3, 1, 8, tzinfo=UTC))


def test_ensure_utc_treats_naive_as_utc() -> None:
    assert ensure_utc(datetime(2026, 1, 1, 12)).tzinfo is UTC


def test_secrets_are_masked_in_settings_and_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINKSEQ_EDGES_API_KEY", "sk-live-very-secret")
    settings = Settings()
    assert settings.edges_api_key is not None
    assert "sk-live-very-secret" not in repr(settings)
    assert "sk-live-very-secret" not in str(settings.model_dump())
    event = {"api_key": "sk-live-very-secret", "nested": {"li_at": "AQED", "ok": 1}}
    assert redact(event) == {"api_key": MASK, "nested": {"li_at": MASK, "ok": 1}}


def test_cli_version_and_help() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert "linkseq" in result.output
    assert runner.invoke(app, ["--help"]).exit_code == 0


def test_the_console_script_tunes_its_collector_before_any_command() -> None:
    """`linkseq` (worker, demo, serve...) runs with the collector of `linkseq.runtime`: its
    defaults cost a worker about a tenth of its CPU. Checked in a process of its own."""
    probe = (
        "import gc, json, sys\n"
        "sys.argv = ['linkseq', '--help']\n"
        "from linkseq.cli.app import main\n"
        "before = gc.get_threshold()\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "seen = {'before': before, 'after': gc.get_threshold(), 'frozen': gc.get_freeze_count()}\n"
        "print(json.dumps(seen), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    seen = json.loads(done.stderr.strip().splitlines()[-1])
    assert seen["before"] == [700, 10, 10]  # Python's defaults, until the entry point runs
    assert seen["after"] == list(GC_THRESHOLDS)
    assert seen["frozen"] > 0
