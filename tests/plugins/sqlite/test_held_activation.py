"""An ACTIVATE_VERSION that comes before the records of its version is held until the input ends cleanly.

The Meltano Singer SDK sends a full-table stream's only ACTIVATE_VERSION
before its records (and again before a child stream's records for each parent
record). Applied on arrival it deleted the whole table before the new rows
existed: readers saw an empty table while the stream ran, and a run that
failed part way left only the rows sent so far. These tests run a real SDK tap
(``sdk_tap.py``) piped into the real target, and the SDK's message order by
hand where the input must fail or be stopped.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .conftest import Run, Target

SDK_TAP = Path(__file__).with_name("sdk_tap.py")
PEOPLE = {"id": {"type": "integer"}, "name": {"type": "string"}}
OLD = 1000


def _sdk_output(target: Target, **config: Any) -> str:
    """What the SDK tap prints (its exit status is not checked: ``fail_after`` makes it fail)."""
    path = target.directory / "tap.json"
    path.write_text(json.dumps({"emit_activate_version_messages": True, **config}))
    done = subprocess.run(
        [sys.executable, str(SDK_TAP), "--config", str(path)],
        capture_output=True,
        text=True,
        env=target.environment(),
        timeout=120,
        check=False,
    )
    assert done.stdout, done.stderr[-2000:]
    return done.stdout


def _load_old(target: Target, **config: Any) -> None:
    run = target.run([_sdk_output(target, count=OLD, name="old", **config).rstrip("\n")])
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(target.rows("people")) == OLD
    # The SDK's table version is the sync's start in whole seconds: a next sync in the same second
    # would activate the version the old rows already carry and remove none of them.
    time.sleep(1.05 - time.time() % 1)


def _names(target: Target, table: str = "people") -> dict[str, int]:
    found: dict[str, int] = {}
    for row in target.rows(table):
        found[row["name"]] = found.get(row["name"], 0) + 1
    return found


def test_the_sdks_order_removes_the_old_rows_once_the_input_has_ended(target: Target) -> None:
    _load_old(target)
    output = _sdk_output(target, count=5, name="new")
    kinds = [json.loads(line)["type"] for line in output.splitlines()]
    assert kinds.index("ACTIVATE_VERSION") < kinds.index("RECORD")  # the SDK's order
    run = target.run([output.rstrip("\n")])
    assert run.returncode == 0, run.stderr[-2000:]
    rows = target.rows("people", order_by="id")
    assert [(row["id"], row["name"]) for row in rows] == [(n, "new") for n in range(5)]
    assert "came before the records of its version" in run.stderr


def test_a_child_stream_keeps_every_parents_rows(target: Target) -> None:
    """The SDK repeats the child's ACTIVATE_VERSION before each parent record's children."""
    _load_old(target, teams=True)
    assert _names(target, "teams") == {"old": OLD}
    output = _sdk_output(target, count=4, name="new", teams=True)
    activations = [line for line in output.splitlines() if '"ACTIVATE_VERSION"' in line and '"teams"' in line]
    assert len(activations) == 4
    run = target.run([output.rstrip("\n")])
    assert run.returncode == 0, run.stderr[-2000:]
    assert sorted(row["person"] for row in target.rows("teams")) == [0, 1, 2, 3]
    assert _names(target, "teams") == {"new": 4}


def test_a_failed_input_keeps_the_children_of_the_parents_not_sent_yet(target: Target) -> None:
    """The repeated activation of a child stream is held too: the next parents' children are yet to come."""
    _load_old(target, teams=True)
    output = _sdk_output(target, count=OLD, fail_after=3, name="new", teams=True)
    run = target.run([output.rstrip("\n"), '{"type": "RECO'], batch_size_rows=1)  # each record committed
    run.failed_with("VALIDATION_ERROR", 2)
    assert _names(target, "teams") == {"new": 3, "old": OLD - 3}
    assert _names(target) == {"new": 3, "old": OLD - 3}


def test_a_failed_input_after_an_sdk_activation_keeps_the_old_rows(target: Target) -> None:
    _load_old(target)
    output = _sdk_output(target, count=OLD, fail_after=3, name="new")
    run = target.run([output.rstrip("\n"), '{"type": "RECO'])  # the source died while writing a line
    run.failed_with("VALIDATION_ERROR", 2)
    # The 3 new records were pending (rolled back with the failure) and no row was deleted: the old
    # ones stay, and the next full refresh removes them.
    assert len(target.rows("people")) == OLD
    assert _names(target) == {"old": OLD}
    run = target.run([_sdk_output(target, count=5, name="next").rstrip("\n")])
    assert run.returncode == 0, run.stderr[-2000:]
    assert _names(target) == {"next": 5}


def test_while_the_stream_runs_readers_see_the_old_rows_and_sigterm_keeps_them(target: Target) -> None:
    _load_old(target)
    output = _sdk_output(target, count=30, name="new").splitlines(keepends=True)
    assert json.loads(output[1])["type"] == "ACTIVATE_VERSION"
    with target.started(batch_size_rows=10) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write("".join(output[:-1]))  # everything but the last STATE: the records
        process.stdin.write(json.dumps(target.state({"at": 30})) + "\n")
        process.stdin.flush()
        assert json.loads(process.stdout.readline()) == {"at": 30}  # the 30 records are committed (3 batches)
        names = _names(target)
        assert names == {"new": 30, "old": OLD - 30}, names  # nothing deleted yet
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 128 + signal.SIGTERM
    assert _names(target) == {"new": 30, "old": OLD - 30}


def _versioned(values: dict[str, Any], version: int) -> dict[str, Any]:
    return {"type": "RECORD", "stream": "s", "record": values, "version": version}


def _activate(version: int) -> dict[str, Any]:
    return {"type": "ACTIVATE_VERSION", "stream": "s", "version": version}


def _run(target: Target, *messages: dict[str, Any] | str) -> Run:
    return target.run([target.schema("s", PEOPLE), *messages])


def test_the_tap_ldif_order_is_applied_at_once_and_a_later_failure_does_not_undo_it(target: Target) -> None:
    assert _run(target, *(_versioned({"id": i, "name": "old"}, 1) for i in range(5))).returncode == 0
    run = _run(
        target,
        *(_versioned({"id": i, "name": "new"}, 2) for i in (1, 2)),
        _activate(2),  # after the records of version 2: applied now
        "not json",
    )
    run.failed_with("VALIDATION_ERROR", 2)
    assert [(row["id"], row["name"]) for row in target.rows("s", order_by="id")] == [(1, "new"), (2, "new")]


def test_a_held_activation_of_a_lower_version_is_taken_over_by_a_higher_one(target: Target) -> None:
    assert _run(target, *(_versioned({"id": i, "name": "old"}, 1) for i in range(5))).returncode == 0
    run = _run(target, _activate(2), _versioned({"id": 7, "name": "v3"}, 3), _activate(3), "not json")
    run.failed_with("VALIDATION_ERROR", 2)
    # Activation 3 followed its records, so it was applied: it removes what 2 would have, and more.
    assert [(row["id"], row["name"]) for row in target.rows("s")] == [(7, "v3")]


def test_a_held_activation_waits_for_states_and_schema_changes(target: Target) -> None:
    assert _run(target, *(_versioned({"id": i, "name": "old"}, 1) for i in range(5))).returncode == 0
    run = _run(
        target,
        _activate(2),
        _versioned({"id": 0, "name": "new"}, 2),
        target.state({"at": 1}),
        target.schema("s", {**PEOPLE, "extra": {"type": "string"}}),  # a new sink for the stream
        _versioned({"id": 1, "name": "new", "extra": "x"}, 2),
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.states == [{"at": 1}]
    assert [(row["id"], row["name"]) for row in target.rows("s", order_by="id")] == [(0, "new"), (1, "new")]
