"""``flext algar logs``: a run's events and its phases' items; ``--follow`` on a run in another process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest
from flext_plugin_algar.journal import is_locked
from flext_plugin_algar.sample import write_export

from flext_sdk.testing import FlextCliRunner

EXAMPLE = Path(__file__).parents[3] / "plugins/algar/examples/oid-export.ldif"


def _project(flext_cli: FlextCliRunner, directory: Path, export: Path = EXAMPLE) -> Path:
    assert flext_cli("algar", "init", str(directory)).exit_code == 0
    shutil.copy(export, directory / "oid-export.ldif")
    return directory


def test_logs_of_the_last_run_its_phases_and_bad_names(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    project = _project(flext_cli, tmp_path / "migration")
    none_yet = flext_cli("algar", "logs", "--project", str(project))
    assert none_yet.exit_code == 2, none_yet
    assert f"no run of the migration in {project} is recorded yet (NOT_FOUND)" in none_yet.stderr
    assert "flext algar migration run --project" in none_yet.stderr

    run = flext_cli("--output", "json", "algar", "migration", "run", "--project", str(project))
    assert run.exit_code == 0, run
    run_id = run.json()["data"]["run_id"]

    machine = flext_cli("--output", "json", "algar", "logs", "--project", str(project))
    assert machine.exit_code == 0, machine
    lines = machine.json()["data"]
    assert {tuple(sorted(line)) for line in lines} == {
        ("code", "dn", "message", "phase", "run_id", "severity", "time")
    }
    assert {line["run_id"] for line in lines} == {run_id}
    assert lines[0]["code"] == "RunStarted"
    assert lines[-1]["code"] == "RunCompleted"
    dangling = next(line for line in lines if line["code"] == "VALIDATE_DANGLING_REFERENCE")
    assert dangling["phase"] == "validate"
    assert dangling["severity"] == "warning"
    assert dangling["dn"].startswith("cn=admins-0,")
    assert "(line " in dangling["message"]
    orphan = next(line for line in lines if line["code"] == "HIERARCHY_ORPHAN")
    assert (orphan["phase"], orphan["severity"]) == ("hierarchy", "error")
    # every item of every phase is there, after its phase's PhaseCompleted
    items = sum(
        len((project / "out" / name).read_text(encoding="utf-8").splitlines())
        for name in os.listdir(project / "out")
        if name.endswith(".items.jsonl")
    )
    events = [line for line in lines if line["code"][0].isupper() and not line["code"].isupper()]
    assert len(lines) - len(events) == items
    kinds = [line["code"] for line in events]
    assert kinds.index("PhaseCompleted") < kinds.index("PhaseStarted", 2)

    human = flext_cli("algar", "logs", "--project", str(project), "--phase", "users")
    assert human.exit_code == 0, human
    rows = human.stdout.splitlines()
    assert rows
    assert all(row.split()[1] == "users" for row in rows)
    assert any("  warning  USERS_PASSWORD_RESET  uid=" in row for row in rows)

    unknown = flext_cli("algar", "logs", "--project", str(project), "--run", "nope")
    assert unknown.exit_code == 2, unknown
    assert "no run 'nope' is recorded for this project (NOT_FOUND)" in unknown.stderr
    bad_phase = flext_cli("algar", "logs", "--project", str(project), "--phase", "parse")
    assert bad_phase.exit_code == 2, bad_phase

    again = flext_cli("--output", "json", "algar", "migration", "run", "--project", str(project))
    assert again.exit_code == 0, again
    first = flext_cli("--output", "json", "algar", "logs", "--project", str(project), "--run", run_id)
    assert first.json()["data"] == lines  # the same items: the second run wrote the same bytes


# -- --follow, with a run in another process ------------------------------------------------------------


def _start(flext_cli: FlextCliRunner, args: list[str], err: IO[str]) -> subprocess.Popen[str]:
    """``flext *args``; its stdout is a pipe for a follower, ``err`` for a run (nobody reads a run's)."""
    return subprocess.Popen(
        [*flext_cli.command, *args],
        env=flext_cli.environment(),
        stdout=subprocess.PIPE if "logs" in args else err,
        stderr=err,
        text=True,
    )


def _until(process: subprocess.Popen[str], what: str, ready: Callable[[], bool]) -> None:
    while not ready():
        if process.poll() is not None:
            pytest.fail(f"the run ended (exit {process.returncode}) before {what}")
        time.sleep(0.005)


@pytest.mark.slow
def test_follow_prints_a_running_run_until_it_ends_or_ctrl_c_or_its_kill(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    export = tmp_path / "big.ldif"
    write_export(export, entries=20_000, seed=3)
    project = _project(flext_cli, tmp_path / "migration", export)
    out = project / "out"
    args = ["algar", "logs", "--project", str(project), "--follow"]
    with (tmp_path / "stderr").open("w+") as err:
        run = _start(flext_cli, ["algar", "migration", "run", "--project", str(project)], err)
        _until(run, "the run took its lock", lambda: is_locked(out))
        machine = _start(flext_cli, ["--output", "json", *args], err)
        human = _start(flext_cli, args, err)
        assert human.stdout is not None
        first = human.stdout.readline()  # blocks until the follower printed the run's first line
        assert "  RunStarted  " in first
        assert run.poll() is None  # still running: the followers are following it live
        human.send_signal(signal.SIGINT)
        assert human.wait() == 130
        human.stdout.close()
        followed, _ = machine.communicate()
        assert machine.returncode == 0
        assert run.wait() == 0
    lines = [json.loads(text) for text in followed.splitlines()]
    assert lines[-1]["code"] == "RunCompleted"
    after = flext_cli("--output", "json", "algar", "logs", "--project", str(project))
    assert lines == after.json()["data"]  # what was followed is exactly what the run recorded
    assert "Traceback" not in (tmp_path / "stderr").read_text()

    with (tmp_path / "stderr2").open("w+") as err:
        again = _start(flext_cli, ["algar", "migration", "run", "--project", str(project)], err)
        _until(again, "the second run took its lock", lambda: is_locked(out))
        follower = _start(flext_cli, args, err)  # the last run ended: it waits for the one starting
        assert follower.stdout is not None
        started = follower.stdout.readline()
        assert "  RunStarted  " in started
        assert lines[0]["run_id"] not in started
        again.send_signal(signal.SIGKILL)
        assert again.wait() == -signal.SIGKILL
        follower.communicate()
        assert follower.returncode == 0
        err.seek(0)
        said = err.read()
    assert "ended without an outcome: it was killed ('flext algar migration run' resumes it)" in said
    assert "Traceback" not in said
