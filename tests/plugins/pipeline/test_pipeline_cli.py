"""The pipeline commands end to end: real flext, real tap and target processes, the real event store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
FLEXT = str(Path(sys.executable).parent / "flext")


def rows(folder: Path) -> list[int]:
    """What the file target loaded."""
    path = folder / "rows.json"
    return json.loads(path.read_text()) if path.exists() else []


def _history(flext_cli, name: str) -> list[dict]:
    result = flext_cli("--output", "json", "pipeline", "history", name)
    assert result.exit_code == 0, result
    return result.json()["data"]


def test_run_loads_everything_then_resumes_incrementally(connectors, define, flext_cli):
    folder = define("numbers", {"records": 300, "state_every": 100})
    first = flext_cli("pipeline", "run", "numbers")
    assert first.exit_code == 0, first
    assert "300 records" in first.stdout
    assert rows(folder) == list(range(1, 301))

    again = flext_cli("--output", "json", "pipeline", "run", "numbers")
    assert again.exit_code == 0, again
    assert again.json()["data"]["records"] == {}  # nothing new since the confirmed state

    full = flext_cli("--output", "json", "pipeline", "run", "numbers", "--full-refresh")
    assert full.json()["data"]["records"] == {"numbers": 300}

    runs = _history(flext_cli, "numbers")
    assert [(r["status"], r["total_records"], r["full_refresh"]) for r in runs] == [
        ("completed", 300, True),
        ("completed", 0, False),
        ("completed", 300, False),
    ]
    status = flext_cli("--output", "json", "pipeline", "status").json()["data"]
    assert status[0]["pipeline"] == "numbers"
    assert status[0]["status"] == "completed"
    assert status[0]["runs"] == 3
    listed = flext_cli("--output", "json", "pipeline", "list").json()["data"]
    assert listed[0]["name"] == "numbers"
    assert listed[0]["tap"] == "tap-numbers"

    events = flext_cli("--output", "json", "events", "show", "pipeline-numbers").json()["data"]
    types = [event["type"] for event in events]
    assert types[0] == "pipeline.Registered"
    assert types.count("pipeline.RunStarted") == 3
    assert types.count("pipeline.RunCompleted") == 3
    assert "pipeline.StateCheckpointed" in types


def test_logs_hold_every_process_stderr_with_secrets_masked(connectors, define, flext_cli):
    define("secretive", {"records": 5, "password": "${NUMBERS_PASSWORD}"})
    result = flext_cli("pipeline", "run", "secretive", env={"NUMBERS_PASSWORD": "hunter2-secret"})
    assert result.exit_code == 0, result
    log = flext_cli("pipeline", "logs", "secretive")
    assert log.exit_code == 0
    assert "[tap-numbers] tap starting at 0 with password ***" in log.stdout
    assert "hunter2-secret" not in log.stdout
    assert "hunter2-secret" not in result.stdout + result.stderr


def test_a_missing_variable_fails_the_run_in_one_line(connectors, define, flext_cli):
    define("needs-env", {"records": 5, "password": "${NOT_SET_ANYWHERE}"})
    result = flext_cli("pipeline", "run", "needs-env")
    assert result.exit_code == 1
    assert "NOT_SET_ANYWHERE" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_failing_target_fails_the_run_with_its_stderr_and_retries(connectors, define, flext_cli):
    define(
        "flaky",
        {"records": 50, "state_every": 10},
        {"path": "rows.json", "fail_at": 25},
        retry={"attempts": 2, "backoff": 0.1},
    )
    result = flext_cli("pipeline", "run", "flaky")
    assert result.exit_code == 1
    assert "target-file exited with code 7: target refused record 25" in result.stderr
    runs = _history(flext_cli, "flaky")
    assert [(r["attempt"], r["status"]) for r in runs] == [(2, "failed"), (1, "failed")]


def test_unknown_pipeline_bad_definition_and_missing_connector(connectors, define, flext_cli, tmp_path):
    missing = flext_cli("pipeline", "run", "nope")
    assert missing.exit_code == 2  # NOT_FOUND: an unknown name
    assert missing.stderr.startswith("error: no pipeline named 'nope'")

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nextract:\n  name: tap-numbers\nload:\n  nam: target-file\n")
    created = flext_cli("data", "pipeline", "create", str(bad))
    assert created.exit_code == 2
    assert created.stderr.splitlines()[0].startswith(
        f"error: {bad}:4: load.name: Field required; {bad}:5: load.nam: unknown key (did you mean 'name'?)"
    )

    ghost = tmp_path / "ghost.yaml"
    ghost.write_text("name: ghost\nextract:\n  name: tap-ghost\nload:\n  name: target-file\n")
    assert flext_cli("data", "pipeline", "create", str(ghost)).exit_code == 0
    dry = flext_cli("pipeline", "run", "ghost", "--dry-run")
    assert dry.exit_code == 2  # NOT_FOUND
    assert "tap 'tap-ghost' is not installed" in dry.stderr
    run = flext_cli("pipeline", "run", "ghost")
    assert run.exit_code == 2
    assert "tap 'tap-ghost' is not installed" in run.stderr
    assert "Traceback" not in run.stderr


def _wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _loaded_so_far(folder: Path) -> int:
    try:
        return len(rows(folder))
    except ValueError:
        return 0


def test_start_in_background_then_stop_gracefully_then_resume(connectors, define, flext_cli):
    # 15 s of records: three flext commands (status, start, stop) must fit before the run ends, even
    # on a loaded machine (at 6 s the run sometimes completed before the stop reached it)
    folder = define("slow", {"records": 3000, "state_every": 20, "delay": 0.005})
    started = flext_cli("pipeline", "start", "slow")
    assert started.exit_code == 0, started
    _wait_for(lambda: _loaded_so_far(folder) > 100)
    status = flext_cli("--output", "json", "pipeline", "status", "slow").json()["data"]
    assert status[0]["status"] == "running"
    again = flext_cli("pipeline", "start", "slow")
    assert again.exit_code == 1
    assert "already running" in again.stderr

    stopped = flext_cli("pipeline", "stop", "slow")
    assert stopped.exit_code == 0, stopped
    assert "stopped slow" in stopped.stdout
    loaded = rows(folder)
    assert 0 < len(loaded) < 3000
    assert _history(flext_cli, "slow")[0]["status"] == "stopped"

    resumed = flext_cli("pipeline", "run", "slow")
    assert resumed.exit_code == 0, resumed
    assert rows(folder) == list(range(1, 3001))
    follow = flext_cli("pipeline", "logs", "slow", "--follow")
    assert follow.exit_code == 0
    assert "completed" in follow.stdout.splitlines()[-1]


def _follow(flext_cli, name: str) -> subprocess.Popen:
    return subprocess.Popen(
        [FLEXT, "pipeline", "logs", name, "--follow"],
        env=flext_cli.environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_logs_follow_prints_a_running_pipeline_as_it_goes_and_ends_with_it(connectors, define, flext_cli):
    define("followed", {"records": 3000, "state_every": 20, "delay": 0.002})
    started = flext_cli("pipeline", "start", "followed")
    assert started.exit_code == 0, started
    _wait_for(lambda: list((flext_cli.home / "data" / "pipelines" / "followed" / "runs").glob("*.log")))
    with _follow(flext_cli, "followed") as follower:
        assert follower.stdout is not None
        assert follower.stderr is not None
        first = follower.stdout.readline()
        assert "[flext]" in first or "[tap-numbers]" in first, first
        assert follower.poll() is None  # still following: the run goes on
        status = flext_cli("--output", "json", "pipeline", "status", "followed").json()["data"][0]
        assert status["status"] == "running"
        rest = follower.stdout.read()  # not communicate(): it would skip what readline() buffered
        assert follower.wait(timeout=120) == 0, follower.stderr.read()
    assert "completed" in rest.splitlines()[-1]
    (log,) = (flext_cli.home / "data" / "pipelines" / "followed" / "runs").glob("*.log")
    assert first + rest == log.read_text()  # every line once, in order, nothing after the end


def test_logs_follow_moves_on_to_the_retry_of_a_failed_attempt(connectors, define, flext_cli):
    define(
        "retried",
        {"records": 400, "state_every": 10, "delay": 0.002},
        {"path": "rows.json", "fail_at": 200},
        retry={"attempts": 2, "backoff": 1},
    )
    started = flext_cli("pipeline", "start", "retried")
    assert started.exit_code == 0, started
    _wait_for(lambda: list((flext_cli.home / "data" / "pipelines" / "retried" / "runs").glob("*.log")))
    follower = _follow(flext_cli, "retried")
    out, errors = follower.communicate(timeout=120)
    assert follower.returncode == 0, errors
    runs = _history(flext_cli, "retried")
    assert [(r["attempt"], r["status"]) for r in runs] == [(2, "failed"), (1, "failed")]
    assert out.count("--- run ") == 1
    assert f"--- run {runs[0]['run_id']} ---" in out
    assert out.count("[target-file] target refused record 200") == 2  # both attempts' stderr
    first = flext_cli("pipeline", "logs", "retried", "--run", runs[1]["run_id"])
    assert first.exit_code == 0, first
    assert f"run {runs[1]['run_id']} attempt 1 of pipeline retried" in first.stdout
    assert runs[0]["run_id"] not in first.stdout
    missing = flext_cli("pipeline", "logs", "retried", "--run", "20000101T000000.000-abcd")
    assert missing.exit_code == 2
    assert missing.stderr.startswith(
        "error: no log for run '20000101T000000.000-abcd' of 'retried' (NOT_FOUND)"
    )
    malformed = flext_cli("pipeline", "logs", "retried", "--run", "nope")
    assert malformed.exit_code == 2
    assert malformed.stderr.startswith("error: 'nope' is not a run id")


@pytest.mark.parametrize("victim", ["tap", "target", "flext"])
def test_sigkill_mid_run_then_resume_loads_every_row_exactly_once(connectors, define, flext_cli, victim):
    folder = define(f"kill-{victim}", {"records": 4000, "state_every": 25, "delay": 0.001})
    process = subprocess.Popen(
        [FLEXT, "pipeline", "run", f"kill-{victim}"],
        env=flext_cli.environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for(lambda: _loaded_so_far(folder) > 200)
    runner = json.loads(
        (flext_cli.home / "data" / "pipelines" / f"kill-{victim}" / "runner.json").read_text()
    )
    if victim == "flext":
        os.kill(process.pid, signal.SIGKILL)
        os.killpg(runner["process_group"], signal.SIGKILL)  # as a machine crash would take them too
    else:
        name = "tap-numbers" if victim == "tap" else "target-file"
        found = subprocess.run(
            ["pgrep", "-g", str(runner["process_group"]), "-f", name], capture_output=True, text=True
        )
        os.kill(int(found.stdout.split()[0]), signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode != 0
    partial = rows(folder)
    assert len(partial) < 4000

    if victim == "flext":
        status = flext_cli("--output", "json", "pipeline", "status", f"kill-{victim}").json()["data"]
        assert status[0]["status"] == "interrupted"
    resumed = flext_cli("pipeline", "run", f"kill-{victim}")
    assert resumed.exit_code == 0, resumed
    assert rows(folder) == list(range(1, 4001))
    statuses = [run["status"] for run in _history(flext_cli, f"kill-{victim}")]
    assert statuses == ["completed", "failed"]
