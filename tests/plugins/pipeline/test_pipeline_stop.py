"""``flext pipeline stop`` at each step of a real run: the tap, the target, dbt, and a forced stop.

Each test starts a real background run (``flext pipeline start``) whose
step of interest is slow by its own nature (a tap that sleeps between
records, a target that takes its time per record, a dbt model that counts to
a hundred million in SQLite), stops it while that step runs, and checks what
a user can see: the exit code and message of ``stop``, the run in
``history`` (stopped, the step, the state the next run resumes from), the
run's log (the stop lines, nothing of the step after the stop), and that no
process of the run is left.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

SLOW_MODEL = (
    "-- counts to a hundred million: a minute of SQLite, long enough to be stopped half-way\n"
    "with recursive c(x) as (select 1 union all select x + 1 from c where x < 100000000)\n"
    "select count(*) as n from c\n"
)
PROFILES = """\
slow:
  target: dev
  outputs:
    dev:
      type: sqlite
      threads: 1
      database: warehouse
      schema: main
      schemas_and_paths:
        main: "{{ env_var('SLOW_WAREHOUSE') }}"
      schema_directory: "{{ env_var('SLOW_WAREHOUSE').rpartition('/')[0] }}"
"""
PROJECT = """\
name: slow
version: "1.0.0"
profile: slow
model-paths: ["models"]
models:
  slow:
    +materialized: table
"""


def _wait_for(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _rows(folder: Path) -> list[int]:
    try:
        return json.loads((folder / "rows.json").read_text())
    except (OSError, ValueError):
        return []


def _runner(flext_cli: Any, name: str) -> dict[str, Any]:
    """The running pipeline's runner record (pid, run id, the connectors' process group)."""
    path = flext_cli.home / "data" / "pipelines" / name / "runner.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _group(pgid: int, pattern: str | None = None) -> list[str]:
    """The live processes of process group ``pgid`` (whose command line matches ``pattern``).

    A zombie is not live: the runner, orphaned when ``flext pipeline start``
    exits, waits there for an init that may be slow to reap it.
    """
    found = subprocess.run(
        ["pgrep", "-a", "-g", str(pgid), *([] if pattern is None else ["-f", pattern])],
        capture_output=True,
        text=True,
        check=False,
    )
    return [line for line in found.stdout.splitlines() if not _zombie(int(line.split()[0]))]


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # gone meanwhile
    return stat.rpartition(")")[2].split()[0] == "Z"


def _log(flext_cli: Any, name: str) -> list[str]:
    shown = flext_cli("pipeline", "logs", name)
    assert shown.exit_code == 0, shown
    return shown.stdout.splitlines()


def _stop(flext_cli: Any, name: str, *options: str) -> tuple[dict[str, Any], float]:
    began = time.monotonic()
    stopped = flext_cli("--output", "json", "pipeline", "stop", name, *options)
    took = time.monotonic() - began
    assert stopped.exit_code == 0, stopped
    data = stopped.json()["data"]
    assert (data["pipeline"], data["stopped"]) == (name, True)
    return data["run"], took  # the run it stopped


def _last_run(flext_cli: Any, name: str) -> dict[str, Any]:
    history = flext_cli("--output", "json", "pipeline", "history", name)
    assert history.exit_code == 0, history
    return history.json()["data"][0]


def _start(flext_cli: Any, name: str) -> dict[str, Any]:
    started = flext_cli("pipeline", "start", name)
    assert started.exit_code == 0, started
    _wait_for(lambda: _runner(flext_cli, name).get("process_group"))
    return _runner(flext_cli, name)


def test_stop_while_the_tap_runs_ends_it_and_records_the_confirmed_state(connectors, define, flext_cli):
    folder = define("stop-tap", {"records": 100000, "state_every": 20, "delay": 0.002})
    runner = _start(flext_cli, "stop-tap")
    _wait_for(lambda: len(_rows(folder)) > 100)
    assert _group(runner["process_group"], "tap-numbers")  # the tap is what runs
    wrong = flext_cli("pipeline", "stop", "stop-tap", "--store", str(folder / "typo.db"))
    assert wrong.exit_code == 2, wrong  # a store that is not there: NOT_FOUND, and nothing is stopped
    assert _group(runner["process_group"], "tap-numbers")

    stopped, _took = _stop(flext_cli, "stop-tap")

    assert stopped["status"] == "stopped"
    assert stopped["forced"] is False
    assert stopped["stopped_during"] == "extract-load"
    loaded = _rows(folder)
    assert 0 < len(loaded) < 100000
    confirmed = stopped["state"]["bookmarks"]["numbers"]["last"]
    assert loaded == list(range(1, len(loaded) + 1))
    assert confirmed <= len(loaded)  # the state is what the target wrote, never ahead of it
    # The target was ended with SIGTERM, not a clean end of input (at which it writes what it received):
    # it wrote up to a STATE only (one past the confirmed one if the signal landed between write and print).
    assert len(loaded) - confirmed in (0, 20)
    run = _last_run(flext_cli, "stop-tap")
    assert (run["run_id"], run["status"]) == (stopped["run_id"], "stopped")
    log = _log(flext_cli, "stop-tap")
    assert any("[flext] stop requested (signal 15): ending tap-numbers" in line for line in log)
    assert "stopped during extract-load; the next run resumes from the state" in log[-1]
    assert f'"last": {confirmed}' in log[-1]
    assert not _group(runner["process_group"])
    assert not _group(runner["pid"])


def test_stop_while_only_the_target_runs_kills_it_after_the_stop_timeout(connectors, define, flext_cli):
    folder = define(
        "stop-target",
        # The tap is done in a moment, and its 500 records (30 kB) fit in the target's pipe (64 kB): flext
        # has given the target all of them and ended its input cleanly. A stop while flext still feeds it
        # ends the target with SIGTERM instead, unforced (more records than the pipe holds made it so).
        {"records": 500, "state_every": 10},
        {"path": "rows.json", "delay": 0.06},  # the target takes half a minute
        stop_timeout=2,
    )
    runner = _start(flext_cli, "stop-target")
    _wait_for(lambda: _rows(folder) and not _group(runner["process_group"], "tap-numbers"))
    assert _group(runner["process_group"], "target-file")  # the target is what runs

    stopped, _took = _stop(flext_cli, "stop-target")

    assert (stopped["forced"], stopped["stopped_during"]) == (True, "extract-load")
    loaded = _rows(folder)
    assert len(loaded) < 500
    assert stopped["state"]["bookmarks"]["numbers"]["last"] <= len(loaded)
    run = _last_run(flext_cli, "stop-target")
    assert run["status"] == "stopped"
    log = _log(flext_cli, "stop-target")
    assert "stopped during extract-load by force (target-file was killed by signal 9 (SIGKILL))" in log[-1]
    assert not _group(runner["process_group"])
    assert not _group(runner["pid"])

    resumed = flext_cli("pipeline", "run", "stop-target")  # and the next run carries on from there
    assert resumed.exit_code == 0, resumed
    assert _rows(folder) == list(range(1, 501))


def _slow_dbt_project(folder: Path) -> dict[str, Any]:
    """A dbt project whose one model takes a minute, and the pipeline's transform step that runs it."""
    project = folder / "transform"
    (project / "models").mkdir(parents=True, exist_ok=True)
    (project / "dbt_project.yml").write_text(PROJECT)
    (project / "profiles.yml").write_text(PROFILES)
    (project / "models" / "slow.sql").write_text(SLOW_MODEL)
    (folder / "warehouse").mkdir(exist_ok=True)
    return {
        "project": "transform",
        "command": "build",
        "env": {"SLOW_WAREHOUSE": "${FLEXT_PIPELINE_DIR}/warehouse/slow.db"},
    }


def test_stop_while_dbt_runs_ends_dbt_and_records_the_run_stopped(connectors, define, flext_cli, tmp_path):
    folder = define(
        "stop-dbt", {"records": 50, "state_every": 10}, transform=_slow_dbt_project(tmp_path / "stop-dbt")
    )
    runner = _start(flext_cli, "stop-dbt")
    _wait_for(
        lambda: any("START sql table model main.slow" in line for line in _log(flext_cli, "stop-dbt")), 180
    )
    assert _group(runner["pid"], "_driver.py")  # dbt is what runs

    stopped, _took = _stop(flext_cli, "stop-dbt")

    assert (stopped["forced"], stopped["stopped_during"]) == (False, "transform")
    assert (stopped["records"], stopped["total_records"]) == ({"numbers": 50}, 50)
    assert stopped["state"] == {"bookmarks": {"numbers": {"last": 50}}}
    assert _rows(folder) == list(range(1, 51))
    run = _last_run(flext_cli, "stop-dbt")
    assert (run["status"], run["total_records"]) == ("stopped", 50)
    log = _log(flext_cli, "stop-dbt")
    assert any(line.endswith("[flext] stop requested: dbt build was ended") for line in log)
    assert "stopped during transform; the next run resumes from the state" in log[-1]
    assert not any("OK created sql table model main.slow" in line for line in log)
    assert not any("Completed successfully" in line for line in log)
    assert not _group(runner["pid"])


def test_a_run_that_outlives_the_timeout_is_killed_and_recorded_stopped_by_force(
    connectors, define, flext_cli
):
    folder = define(
        "stop-forced",
        {"records": 100, "state_every": 10},
        {"path": "rows.json", "wait": 120},  # busy elsewhere: reads nothing for two minutes
    )
    runner = _start(flext_cli, "stop-forced")
    _wait_for(lambda: _group(runner["process_group"], "target-file"))

    stopped, _took = _stop(flext_cli, "stop-forced", "--timeout", "1")

    assert stopped["forced"] is True
    assert stopped["state"] is None  # the target confirmed nothing: the next run starts from the start
    assert _rows(folder) == []
    run = _last_run(flext_cli, "stop-forced")
    assert run["status"] == "stopped"
    log = _log(flext_cli, "stop-forced")
    assert "stopped by force (flext pipeline stop killed its processes after 1s)" in log[-1]
    assert "the next run resumes from the start" in log[-1]
    assert not _group(runner["process_group"])
    assert not _group(runner["pid"])


def test_stopping_a_pipeline_that_is_not_running_says_so(connectors, define, flext_cli):
    define("idle", {"records": 5})
    stopped = flext_cli("pipeline", "stop", "idle")
    assert stopped.exit_code == 0, stopped
    assert stopped.stdout.strip() == "pipeline idle is not running"


def _journal_with(*events: tuple[str, dict[str, Any]]) -> Any:
    from flext_plugin_pipeline import events as pipeline_events
    from flext_plugin_pipeline.journal import Journal

    from flext_eventsourcing.memory_store import InMemoryEventStore

    journal = Journal(InMemoryEventStore(), "raced")
    for name, fields in events:
        journal.record(getattr(pipeline_events, name), run_id="r1", **fields).unwrap()
    return journal


@pytest.mark.parametrize(
    ("ending", "expected"),
    [
        (
            ("PipelineRunCompleted", {"records": {"n": 5}, "elapsed": 1.0}),
            "run r1 of 'raced' completed before",
        ),
        (
            ("PipelineRunFailed", {"error": "boom"}),
            "run r1 of 'raced' failed before the stop reached it: boom",
        ),
    ],
)
def test_a_run_that_ended_otherwise_before_the_stop_reached_it_fails_the_stop(ending, expected, capsys):
    """The race ``stop`` can lose: the runner recorded its own end between the SIGTERM and its arrival."""
    from flext_plugin_pipeline.pipeline_cli import _report_stop

    journal = _journal_with(("PipelineRunStarted", {"pid": 1}), ending)
    assert _report_stop(journal, forced=False, wait=1) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"error: {expected}")
    assert "(STOP_FAILED)" in error


def test_a_stop_during_the_wait_before_a_retry_counts_as_stopped(capsys):
    from flext_plugin_pipeline.pipeline_cli import _report_stop

    journal = _journal_with(
        ("PipelineRunStarted", {"pid": 1}), ("PipelineRunFailed", {"error": "boom", "will_retry": True})
    )
    assert _report_stop(journal, forced=False, wait=1) == 0
    assert capsys.readouterr().out.strip() == "stopped raced before its retry (run r1 failed: boom)"


def test_a_stop_that_reaches_a_run_with_nothing_left_to_do_leaves_it_completed(tmp_path):
    """A pipeline without a transform whose extract-load completed as the stop came: it completed.

    Before, it was recorded as stopped "during transform" (a step it does not have) and the log said
    the transform was not run.
    """
    from flext_plugin_pipeline.runner import _Ended, _stopped
    from flext_plugin_pipeline.runtime import RunLog

    from flext_sdk.contracts.singer import SingerRunResult

    log = RunLog(tmp_path / "run.log")
    loaded = SingerRunResult(outcome="completed", records={"numbers": 3})
    kept = _stopped(_Ended(loaded, "extract-load"), log, has_transform=False)
    assert (kept.result.outcome, kept.during) == ("completed", "extract-load")
    after_dbt = _stopped(_Ended(loaded, "transform"), log, has_transform=True)
    assert after_dbt.result.outcome == "completed"  # dbt too finished before the stop was seen
    skipped = _stopped(_Ended(loaded, "extract-load"), log, has_transform=True)
    assert (skipped.result.outcome, skipped.during) == ("stopped", "transform")  # the transform is skipped
    log.close()


def test_a_stop_signal_that_lands_while_the_event_is_locked_does_not_deadlock():
    """SIGTERM can arrive while the main thread holds the stop event's lock (inside ``wait``).

    The handler used to ``set`` the event right there, on the main thread, and waited for its own
    lock for ever (found in review); a run then hung until ``pipeline stop`` killed it.
    """
    import subprocess
    import sys

    code = (
        "import signal\n"
        "from flext_plugin_pipeline.runtime import StopRequest\n"
        "stop = StopRequest()\n"
        "with stop._cond:  # what Event.wait holds between its checks\n"
        "    stop.handle(signal.SIGTERM, None)\n"
        "assert stop.wait(10)\n"
        "print('set')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "set"), done.stderr


def test_a_stop_signal_is_seen_at_once_and_takes_no_lock():
    """The handler only records the signal: is_set and wait see it at once, with no thread in between."""
    import signal
    import threading

    from flext_plugin_pipeline.runtime import StopRequest

    stop = StopRequest()
    threads = threading.active_count()
    stop.handle(signal.SIGTERM, None)
    assert stop.is_set()
    assert stop.wait(0)
    assert stop.signal == signal.SIGTERM
    assert threading.active_count() == threads
