"""``flext pipeline status``, ``history`` and ``list`` at 80 columns, on a terminal and piped.

On a terminal (a pseudo-terminal 80 wide) the tables fit: no line is longer
than 80, no value is cut with an ellipsis, names, states, run ids and times
are whole, and only an error's text wraps. Piped with ``COLUMNS=80``
nothing is cut either: a row is one line however long. Real ``flext``
subprocesses on runs of the counting tap and file target.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.slow

NAME = "customers-daily"
ERROR = "target-file exited with code 7: target refused record 55"


@pytest.fixture
def runs(connectors, define, flext_cli) -> list[dict[str, Any]]:
    """Two runs of a pipeline with a long name: one completed, then one whose target failed."""
    folder = define(NAME, {"records": 50, "state_every": 10})
    assert flext_cli("pipeline", "run", NAME).exit_code == 0
    define(NAME, {"records": 60, "state_every": 10}, {"path": str(folder / "rows.json"), "fail_at": 55})
    assert flext_cli("pipeline", "run", NAME).exit_code == 1
    history = flext_cli("--output", "json", "pipeline", "history", NAME)
    assert history.exit_code == 0, history
    return history.json()["data"]


def _on_a_terminal(flext_cli: Any, *args: str, columns: int = 80) -> str:
    """What ``flext *args`` shows on a terminal ``columns`` wide, escape codes removed."""
    shown = flext_cli.on_terminal(*args, columns=columns)
    assert shown.exit_code == 0, shown
    return str(shown.stdout)


def _whole(values: list[str], shown: str) -> None:
    for value in values:
        assert value in shown, f"{value!r} is not shown whole:\n{shown}"


COMMANDS = [("status",), ("status", NAME), ("history", NAME), ("list",)]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_tables_fit_80_columns_on_a_terminal(runs, flext_cli, command):
    shown = _on_a_terminal(flext_cli, "pipeline", *command)
    assert "…" not in shown, shown
    assert max(len(line) for line in shown.splitlines()) <= 80, shown
    _whole([NAME, "failed"], shown)
    if command[0] == "history":
        _whole([run["run_id"] for run in runs] + ["completed", "50"], shown)
    if command[0] == "status":
        assert re.search(r"\b\d{4}-\d\d-\d\d \d\d:\d\dZ\b", shown), shown
    if command[0] != "list":  # the error's text wraps, word by word, but every word is there
        for word in ERROR.split():
            assert word in shown, f"{word!r} of the error is missing:\n{shown}"
    else:
        _whole(["tap-numbers", "target-file"], shown)


@pytest.mark.parametrize("command", [("status",), ("history", NAME), ("list",)], ids=" ".join)
def test_piped_tables_are_never_cut(runs, flext_cli, command):
    shown = flext_cli("pipeline", *command, env={"COLUMNS": "80"})
    assert shown.exit_code == 0, shown
    assert "…" not in shown.stdout
    lines = shown.stdout.splitlines()
    if command[0] != "list":
        key = runs[0]["run_id"] if command[0] == "history" else NAME  # the failed run is the newest
        (failed,) = [line for line in lines[1:] if key in line]
        assert ERROR in failed  # one row, one line, the error whole, however long the line
    if command[0] == "history":
        for run in runs:
            assert any(line.startswith(run["run_id"]) for line in lines), shown.stdout


def test_status_table_shows_only_what_fits_and_json_has_the_rest(runs, flext_cli):
    shown = flext_cli("pipeline", "status")
    header = shown.stdout.splitlines()[1].split()
    assert header == ["pipeline", "status", "started_at", "records", "error"]
    document = flext_cli("--output", "json", "pipeline", "status").json()["data"][0]
    assert document["last_run_id"] == runs[0]["run_id"]
    assert document["runs"] == 2
