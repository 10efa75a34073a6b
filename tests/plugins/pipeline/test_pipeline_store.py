"""Which pipeline commands may create an event store: only those that record events.

``status``, ``list``, ``history`` and ``stop`` read the store: one that is
not there is ``NOT_FOUND`` naming it (exit 2), and nothing is created.
``create`` (``update``, ``remove``, ``run``) records events and creates the
store, but only where its directory exists; a store it cannot open registers
nothing. Real ``flext`` subprocesses.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml


@pytest.fixture
def registered(flext_cli, tmp_path: Path) -> Path:
    """A pipeline ``numbers`` registered in the default store; returns its definition file."""
    path = tmp_path / "numbers.yaml"
    body = {
        "name": "numbers",
        "extract": {"name": "tap-numbers", "config": {"records": 5}},
        "load": {"name": "target-file", "config": {"path": "rows.json"}},
    }
    path.write_text(yaml.safe_dump(body))
    created = flext_cli("pipeline", "create", str(path))
    assert created.exit_code == 0, created
    return path


@pytest.mark.parametrize(
    "command", [("status",), ("status", "numbers"), ("list",), ("history", "numbers")], ids=" ".join
)
def test_reading_commands_refuse_a_store_that_is_not_there(registered, flext_cli, tmp_path, command):
    for missing in (tmp_path / "nowhere" / "events.db", tmp_path / "typo.db"):
        shown = flext_cli("pipeline", *command, "--store", str(missing))
        assert shown.exit_code == 2, shown
        first = shown.stderr.splitlines()[0]
        assert first == f"error: no event store at {missing}: the file does not exist (NOT_FOUND)", first
        assert shown.stderr.splitlines()[1].startswith("hint: ")
        assert not missing.exists()
        assert not missing.parent.exists() or missing.parent == tmp_path
        as_json = flext_cli("--output", "json", "pipeline", *command, "--store", str(missing))
        assert (as_json.exit_code, as_json.json()["code"]) == (2, "NOT_FOUND")


def test_without_pipelines_status_and_list_need_no_store(flext_cli):
    for command in ("status", "list"):
        shown = flext_cli("pipeline", command)
        assert shown.exit_code == 0, shown
    assert not (flext_cli.home / "data" / "events.db").exists()


def test_create_makes_a_store_only_where_its_directory_exists(flext_cli, registered, tmp_path):
    nowhere = tmp_path / "nowhere" / "events.db"
    refused = flext_cli("pipeline", "update", str(registered), "--store", str(nowhere))
    assert refused.exit_code == 2, refused
    assert not nowhere.parent.exists()

    other = tmp_path / "other.db"
    fresh = registered.with_name("fresh.yaml")
    fresh.write_text(registered.read_text().replace("name: numbers", "name: fresh"))
    failed = flext_cli("pipeline", "create", str(fresh), "--store", str(nowhere))
    assert failed.exit_code == 2, failed
    assert flext_cli("pipeline", "run", "fresh").exit_code == 2  # nothing was registered
    created = flext_cli("pipeline", "create", str(fresh), "--store", str(other))
    assert created.exit_code == 0, created
    assert other.exists()
    shown = flext_cli("--output", "json", "events", "show", "pipeline-fresh", "--store", str(other))
    assert [event["type"] for event in shown.json()["data"]] == ["pipeline.Registered"]


@pytest.mark.parametrize("command", [("list",), ("history", "numbers")], ids=" ".join)
def test_reading_commands_leave_an_older_store_untouched(registered, flext_cli, tmp_path, command):
    """An older FLEXT store (no application_id mark yet) is read as it is: not marked, not locked.

    Before, these commands opened it read-write and marked it, even when they then failed. (status
    keeps its read model, the status projection, in the store: it writes, so it may mark it.)
    """
    import hashlib
    import sqlite3

    store = tmp_path / "older.db"
    assert flext_cli("pipeline", "update", str(registered), "--store", str(store)).exit_code == 0
    with sqlite3.connect(store) as connection:  # as a FLEXT from before the mark left it
        connection.execute("PRAGMA application_id = 0")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    shown = flext_cli("pipeline", *command, "--store", str(store))
    assert shown.exit_code == 0, shown
    assert hashlib.sha256(store.read_bytes()).hexdigest() == before
    with sqlite3.connect(store) as connection:
        assert connection.execute("PRAGMA application_id").fetchone() == (0,)
