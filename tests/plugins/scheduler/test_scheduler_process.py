"""``flext scheduler`` as a real process: killed with SIGKILL and started again, stopped, in the background.

The jobs are real pipelines (tap-numbers -> target-file, installed as users
install connectors). The schedules use croniter's seconds field, so a slot
comes every few seconds and "the scheduler was down for two slots" is a few
seconds of waiting, not a quarter hour.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from flext_sdk.testing import FlextCliRunner

from .conftest import FLEXT, listed, of_type, stream, wait_for

pytestmark = pytest.mark.slow


@contextmanager
def _scheduler(flext_cli: FlextCliRunner, log: Path, *options: str) -> Iterator[subprocess.Popen[bytes]]:
    """``flext scheduler`` in the foreground, its log in ``log``; killed if the test leaves it running."""
    with open(log, "ab") as sink:
        process = subprocess.Popen(
            [FLEXT, "scheduler", *options], stdout=sink, stderr=sink, env=flext_cli.environment()
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _pipeline_status(flext_cli: FlextCliRunner, name: str) -> str:
    shown = flext_cli("--output", "json", "pipeline", "status", name)
    assert shown.exit_code == 0, shown
    status: str = shown.json()["data"][0]["status"]
    return status


def _runs(flext_cli: FlextCliRunner, name: str) -> list[dict[str, Any]]:
    history = flext_cli("--output", "json", "pipeline", "history", name, "--limit", "1000")
    assert history.exit_code == 0, history
    runs: list[dict[str, Any]] = history.json()["data"]
    return runs


def test_a_scheduler_killed_and_started_later_runs_the_missed_slot_once_and_none_twice(
    flext_cli: FlextCliRunner, numbers_pipeline: Callable[..., Path], tmp_path: Path
) -> None:
    numbers_pipeline("numbers")
    added = flext_cli("schedule", "add", "often", "--cron", "* * * * * */3", "--pipeline", "numbers")
    assert added.exit_code == 0, added
    log = tmp_path / "scheduler.log"
    with _scheduler(flext_cli, log) as first:
        wait_for(lambda: of_type(stream(flext_cli, "often"), "FiringStarted"), what="a firing")
        first.send_signal(signal.SIGKILL)  # kill -9: no chance to record anything
        first.wait()
    before = of_type(stream(flext_cli, "often"), "SlotClaimed")
    ended = {f["run_id"] for f in of_type(stream(flext_cli, "often"), "FiringFinished")}
    if before[-1]["run_id"] not in ended:  # killed while its job ran (nearly always): nobody records the end
        assert listed(flext_cli)["often"]["last_outcome"] == "interrupted"
    # the killed scheduler's job runs on in its own session; let it end, then stay down two more slots
    wait_for(lambda: _pipeline_status(flext_cli, "numbers") != "running", what="the orphaned run")
    # two slots missed and a third due: the restart must come after the killed one's slot + 3 x 3 s
    due = _time(before[-1]["slot"]) + timedelta(seconds=9.2)
    wait_for(lambda: datetime.now(UTC) > due, what="two missed slots and a third due")
    restarted_at = datetime.now(UTC)
    with _scheduler(flext_cli, log) as second:

        def fired_again() -> bool:
            finished = {f["run_id"] for f in of_type(stream(flext_cli, "often"), "FiringFinished")}
            claims = of_type(stream(flext_cli, "often"), "SlotClaimed")
            return any(c["run_id"] in finished for c in claims[len(before) :])

        wait_for(fired_again, what="a firing after the restart")
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=120) == 0, log.read_text()
    events = stream(flext_cli, "often")
    claims = of_type(events, "SlotClaimed")
    slots = [_time(claim["slot"]) for claim in claims]
    assert slots == sorted(set(slots)), slots  # no slot twice, none out of order
    resumed = claims[len(before)]
    assert resumed["claimed_by"] != before[-1]["claimed_by"]
    # under 'latest': the most recent slot due when it looked runs once; those missed are counted, not run
    last, slot = _time(before[-1]["slot"]), _time(resumed["slot"])
    assert restarted_at - timedelta(seconds=3) < slot <= _time(resumed["claimed_at"])
    assert resumed["missed"] == (slot - last) // timedelta(seconds=3) - 1 >= 2, resumed
    assert _time(resumed["missed_first"]) == last + timedelta(seconds=3)
    # a pipeline run for each firing at most (the last may be stopped before its run began), never more:
    # the killed scheduler's last slot was not run again
    started = of_type(events, "FiringStarted")
    runs = _runs(flext_cli, "numbers")
    assert len({s["run_id"] for s in started}) == len(started)
    assert len(runs) <= len(started)
    completed = [f for f in of_type(events, "FiringFinished") if f["outcome"] == "completed"]
    assert len(completed) <= len([run for run in runs if run["status"] == "completed"])
    shown = listed(flext_cli)["often"]
    assert shown["firings"] == len(claims)
    assert "scheduler started" in log.read_text()


def test_sigterm_stops_the_scheduler_after_the_running_job_stopped_cleanly(
    flext_cli: FlextCliRunner, numbers_pipeline: Callable[..., Path], tmp_path: Path
) -> None:
    numbers_pipeline("slow", records=3000, delay=0.01)  # half a minute of records
    added = flext_cli("schedule", "add", "slow-often", "--cron", "* * * * * *", "--pipeline", "slow")
    assert added.exit_code == 0, added
    log = tmp_path / "scheduler.log"
    with _scheduler(flext_cli, log) as process:
        wait_for(lambda: _pipeline_status(flext_cli, "slow") == "running", what="the job to run")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=120) == 0, log.read_text()
    events = stream(flext_cli, "slow-often")
    (started,) = of_type(events, "FiringStarted")
    (finished,) = of_type(events, "FiringFinished")
    assert finished["run_id"] == started["run_id"]
    assert (finished["outcome"], finished["exit_code"]) == ("stopped", 0)
    (run,) = _runs(flext_cli, "slow")
    assert run["status"] == "stopped"  # the pipeline recorded where its target stopped
    assert _pipeline_status(flext_cli, "slow") == "stopped"
    assert listed(flext_cli)["slow-often"]["last_outcome"] == "stopped"
    assert "scheduler stopped" in log.read_text()


def test_background_scheduler_has_one_instance_and_stops(flext_cli: FlextCliRunner) -> None:
    started = flext_cli("--output", "json", "scheduler", "--background")
    assert started.exit_code == 0, started
    pid = started.json()["data"]["pid"]
    try:
        for command in (("scheduler", "--background"), ("scheduler",)):
            refused = flext_cli(*command)
            assert refused.exit_code == 1, refused
            assert refused.stderr.splitlines() == [
                f"error: a scheduler is already running here (pid {pid}) (SCHEDULER_RUNNING)",
                "hint: stop it with 'flext scheduler stop'",
            ]
        stopped = flext_cli("--output", "json", "scheduler", "stop")
        assert stopped.exit_code == 0, stopped
        assert stopped.json()["data"] == {"stopped": True, "pid": pid, "forced": False}
        wait_for(lambda: not _alive(pid), what="the scheduler process to end")
        again = flext_cli("scheduler", "stop")
        assert (again.exit_code, again.stdout.strip()) == (0, "no scheduler is running")
        log = (flext_cli.home / "data" / "scheduler" / "scheduler.log").read_text()
        assert "scheduler stopped" in log
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_ctrl_c_stops_a_foreground_scheduler_with_exit_code_130(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    log = tmp_path / "scheduler.log"
    with _scheduler(flext_cli, log) as process:
        wait_for(lambda: "scheduler started" in log.read_text(), what="the scheduler to start")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 130, log.read_text()
    assert "scheduler stopped" in log.read_text()
    assert "Traceback" not in log.read_text()
    stopped = flext_cli("scheduler", "stop")
    assert stopped.stdout.strip() == "no scheduler is running"  # the lock went with it


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for init does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
