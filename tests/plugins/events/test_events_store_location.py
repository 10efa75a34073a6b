"""A wrong ``--store`` is an error, not a new empty store: only commands that write create one.

Every test runs the real ``flext`` in a subprocess, as a user types it.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from flext_plugin_eventstore_sqlite import SQLiteEventStore

from flext_eventsourcing import NO_STREAM
from flext_sdk.testing import FlextCliRunner
from flext_sdk.testing.projections import Deposited

READING = [
    ("events", "streams"),
    ("events", "show", "acc-1"),
    ("events", "tail", "--from-start", "--count", "1"),
    ("events", "export"),
    ("projections", "list"),
    ("projections", "status"),
    ("projections", "run"),
    ("projections", "rebuild", "pipeline-status"),
]
"""Every command of the events plugin that records no events: none may create a store."""


@pytest.fixture
def exported(flext_cli: FlextCliRunner, tmp_path: Path) -> Path:
    """An export of two events (``acc-1``, ``acc-2``), written by ``flext events export --to``."""
    source = tmp_path / "source" / "events.db"
    source.parent.mkdir()
    with SQLiteEventStore(path=source) as store:
        for name in ("acc-1", "acc-2"):
            store.append(name, [Deposited(aggregate_id=name, amount=1)], NO_STREAM).unwrap()
    target = tmp_path / "source" / "events.jsonl"
    done = flext_cli("events", "export", "--store", str(source), "--to", str(target))
    assert done.exit_code == 0, done
    return target


@pytest.mark.parametrize("command", READING, ids=" ".join)
def test_reading_commands_refuse_a_store_that_is_not_there_and_create_nothing(
    flext_cli: FlextCliRunner, tmp_path: Path, command: tuple[str, ...]
) -> None:
    store = tmp_path / "nonexistent" / "dir" / "events.db"
    result = flext_cli(*command, "--store", str(store))
    assert result.exit_code == 2, result
    assert result.stderr.splitlines() == [
        f"error: no event store at {store}: the file does not exist (NOT_FOUND)",
        f"hint: check the path: {store.parent} does not exist either; to start a store there, create the "
        f"directory, then record events into it (flext events import FILE --store {store})",
    ]
    assert result.stdout == ""
    assert not (tmp_path / "nonexistent").exists(), "neither the directories nor the file were created"


def test_a_missing_store_in_an_existing_directory_is_refused_the_same_way(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    store = tmp_path / "evnets.db"
    result = flext_cli("--output", "json", "events", "streams", "--store", str(store))
    assert result.exit_code == 2
    assert result.json() == {
        "ok": False,
        "error": f"no event store at {store}: the file does not exist",
        "code": "NOT_FOUND",
    }
    assert not store.exists()


def test_a_file_that_is_not_an_event_store_is_refused_and_left_alone(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# not an event store\n" * 10)
    result = flext_cli("events", "streams", "--store", str(notes))
    assert result.exit_code == 2
    assert (
        f"error: {notes} is not a FLEXT event store: it is not a SQLite database; FLEXT leaves it untouched "
        "(NOT_A_FLEXT_STORE)"
    ) in result.stderr
    assert "Traceback" not in result.stderr
    assert notes.read_text() == "# not an event store\n" * 10


def test_the_default_store_is_refused_until_something_records_events_and_then_created(
    flext_cli: FlextCliRunner, flext_home: Path, exported: Path
) -> None:
    before = flext_cli("events", "streams")
    assert before.exit_code == 2
    assert before.stderr.splitlines()[-1] == (
        "hint: commands that record events create it (flext pipeline run NAME, flext events import FILE)"
    )
    assert "no event store at" in before.stderr
    assert not (flext_home / "data" / "events.db").exists()
    assert flext_cli("events", "import", str(exported)).exit_code == 0  # a writer: the default is created
    after = flext_cli("--output", "json", "events", "streams")
    assert [row["stream"] for row in after.json()["data"]] == ["acc-1", "acc-2"]


def test_import_creates_a_store_only_in_a_directory_that_exists(
    flext_cli: FlextCliRunner, tmp_path: Path, exported: Path
) -> None:
    nested = tmp_path / "new" / "dir" / "events.db"
    refused = flext_cli("events", "import", str(exported), "--store", str(nested))
    assert refused.exit_code == 2
    assert refused.stderr.splitlines() == [
        f"error: cannot open the sqlite event store: directory {nested.parent} does not exist (NOT_FOUND)",
        f"hint: check the location, or create {nested.parent} first",
    ]
    assert not (tmp_path / "new").exists()
    nested.parent.mkdir(parents=True)
    assert flext_cli("events", "import", str(exported), "--store", str(nested)).exit_code == 0
    listed = flext_cli("--output", "json", "events", "streams", "--store", str(nested))
    assert [row["stream"] for row in listed.json()["data"]] == ["acc-1", "acc-2"]


@pytest.mark.postgres
def test_postgres_reading_commands_refuse_a_schema_without_a_store_and_import_creates_it(
    flext_cli: FlextCliRunner, postgres_url: str, pg_schema: str, exported: Path
) -> None:
    location = f"{postgres_url}?schema={pg_schema}"
    for command in (("events", "streams"), ("projections", "status")):
        refused = flext_cli(*command, "--store", location)
        assert refused.exit_code == 2, refused
        assert f"error: no event store in schema {pg_schema!r} of " in refused.stderr
        assert "(NOT_FOUND)" in refused.stderr
    with psycopg.connect(postgres_url) as connection:
        found = connection.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (pg_schema,)).fetchone()
    assert found is None, "the refused reads did not create the schema"
    imported = flext_cli("--output", "json", "events", "import", str(exported), "--store", location)
    assert imported.json()["data"] == {"written": 2, "already_there": 0, "streams": 2}
    listed = flext_cli("--output", "json", "events", "streams", "--store", location)
    assert [row["stream"] for row in listed.json()["data"]] == ["acc-1", "acc-2"]
