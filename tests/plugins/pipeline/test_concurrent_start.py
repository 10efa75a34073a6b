"""Two ``flext pipeline start`` of one pipeline at once: one starts it, the other is told it is running.

Issue 22, item 15: both printed ``started`` and exited 0 while one background
job failed at once with ``ALREADY_RUNNING``, visible only in
``background.out``. ``start`` now takes the run lock before it answers and
hands it to the background job, so the second one fails with
``ALREADY_RUNNING``, exit 1, and starts nothing.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from flext_sdk.testing import flext_command

pytestmark = pytest.mark.slow


def _runner(flext_cli, name: str) -> dict:
    try:
        return json.loads((flext_cli.home / "data" / "pipelines" / name / "runner.json").read_text())
    except (OSError, ValueError):
        return {}


def test_two_starts_at_once_start_it_once(connectors, define, flext_cli) -> None:
    define("conc", {"records": 100_000, "state_every": 50, "delay": 0.001})
    environment = flext_cli.environment()
    for attempt in range(4):
        starts = [
            subprocess.Popen(
                [*flext_command(), "pipeline", "start", "conc"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=environment,
            )
            for _ in range(2)
        ]
        answers = [(process.wait(timeout=60), *process.communicate()) for process in starts]
        codes = sorted(code for code, _out, _err in answers)
        assert codes == [0, 1], (attempt, answers)
        (_code, started, _err), (_code2, _out2, refused) = sorted(answers, key=lambda answer: answer[0])
        assert "started conc in the background (pid " in started
        assert refused.startswith("error: pipeline 'conc' is already running (pid "), refused
        assert "(ALREADY_RUNNING)" in refused
        assert "hint: follow it with 'flext pipeline logs conc --follow'" in refused
        pid = int(started.split("(pid ")[1].split(")")[0])
        deadline = time.monotonic() + 30
        while _runner(flext_cli, "conc").get("pid") != pid or "run_id" not in _runner(flext_cli, "conc"):
            assert time.monotonic() < deadline, _runner(flext_cli, "conc")
            time.sleep(0.1)
        status = flext_cli("--output", "json", "pipeline", "status", "conc").json()["data"][0]
        assert status["status"] == "running", status
        stopped = flext_cli("pipeline", "stop", "conc")
        assert stopped.exit_code == 0, stopped
    background = Path(flext_cli.home / "data" / "pipelines" / "conc" / "background.out").read_text()
    assert "ALREADY_RUNNING" not in background, background
    runs = flext_cli("--output", "json", "pipeline", "history", "conc").json()["data"]
    assert [run["status"] for run in runs] == ["stopped"] * 4
