"""What ``flext pipeline run`` prints when a run does not complete: a failure, a partial one, Ctrl-C.

Real ``flext`` subprocesses with the counting tap and file target of ``conftest``.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_a_run_that_failed_before_any_record_prints_its_error_and_no_counts(connectors, define, flext_cli):
    define("crashes", {"records": 50, "crash_at": 1})
    run = flext_cli("pipeline", "run", "crashes")
    assert run.exit_code == 1, run
    assert run.stdout == ""  # no empty streams table, no "0 records"
    lines = run.stderr.splitlines()
    assert lines[0] == "error: tap-numbers exited with code 3: tap crashed on purpose (RUN_FAILED)"
    assert "  tap crashed on purpose" in lines
    run_id = flext_cli("--output", "json", "pipeline", "history", "crashes").json()["data"][0]["run_id"]
    assert lines[-1] == f"hint: the whole log: 'flext pipeline logs crashes --run {run_id}'"

    as_json = flext_cli("--output", "json", "pipeline", "run", "crashes")
    assert as_json.exit_code == 1, as_json
    assert as_json.json() == {
        "ok": False,
        "error": "tap-numbers exited with code 3: tap crashed on purpose",
        "code": "RUN_FAILED",
    }


def test_a_run_that_failed_half_way_prints_what_it_read_then_its_error(connectors, define, flext_cli):
    define("half", {"records": 50, "state_every": 10}, {"path": "rows.json", "fail_at": 25})
    run = flext_cli("pipeline", "run", "half")
    assert run.exit_code == 1, run
    title = run.stdout.splitlines()[0]
    assert title.startswith("half: run ")
    assert title.endswith(" failed")
    assert "numbers  50" in run.stdout  # what the tap sent before the target failed
    assert "50 records in " in run.stdout
    assert "before it failed, attempt 1" in run.stdout
    assert run.stderr.splitlines()[0] == (
        "error: target-file exited with code 7: target refused record 25 (RUN_FAILED)"
    )


def test_a_run_with_nothing_new_says_so_instead_of_an_empty_table(connectors, define, flext_cli):
    define("twice", {"records": 5})
    assert flext_cli("pipeline", "run", "twice").exit_code == 0
    again = flext_cli("pipeline", "run", "twice")
    assert again.exit_code == 0, again
    assert again.stdout.startswith("no new records in ")
    assert "stream" not in again.stdout


def test_ctrl_c_stops_the_run_records_it_and_exits_130(connectors, define, flext_cli):
    folder = define("interrupted", {"records": 100000, "state_every": 20, "delay": 0.002})
    process = subprocess.Popen(
        [str(Path(flext_cli.command[0])), *flext_cli.command[1:], "pipeline", "run", "interrupted"],
        env=flext_cli.environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (folder / "rows.json").exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, (out, err)
    assert err.splitlines()[-1].startswith("error: interrupted: run ")
    assert err.splitlines()[-1].endswith(
        "of 'interrupted' stopped; the next run resumes from the state the target confirmed last "
        "(INTERRUPTED)"
    )
    assert "before it stopped, attempt 1" in out
    history = flext_cli("--output", "json", "pipeline", "history", "interrupted").json()["data"]
    assert history[0]["status"] == "stopped"
    loaded = json.loads((folder / "rows.json").read_text())
    assert 0 < len(loaded) < 100000
