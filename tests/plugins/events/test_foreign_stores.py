"""A ``--store`` naming a file FLEXT did not create is refused, and the file is left exactly as it was.

Issue 22 (items 6 and 7): ``flext events streams --store app2.db`` on another
application's SQLite database added FLEXT's tables, set ``user_version`` and
switched the journal to WAL; a text file and a directory gave errors that did
not say what was wrong. Every test runs the real ``flext`` in a subprocess and
hashes the file, and lists its directory, before and after.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from flext_plugin_eventstore_sqlite import APPLICATION_ID, SQLiteEventStore

from flext_eventsourcing import NO_STREAM
from flext_sdk.testing import FlextCliRunner
from flext_sdk.testing.projections import Deposited

READERS = [
    ("events", "streams"),
    ("events", "show", "acc-1"),
    ("events", "tail", "--from-start", "--count", "1"),
    ("events", "export"),
    ("projections", "list"),
    ("projections", "status"),
    ("projections", "run"),
    ("projections", "rebuild", "pipeline-status"),
]
"""The commands of the events plugin that only read events."""


def _plain(path: Path) -> None:
    with closing(sqlite3.connect(path)) as raw:
        raw.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        raw.execute("INSERT INTO customers (name) VALUES ('ada')")
        raw.commit()


def _user_version_3(path: Path) -> None:
    _plain(path)
    with closing(sqlite3.connect(path)) as raw:
        raw.execute("PRAGMA user_version = 3")


def _wal(path: Path) -> None:
    with closing(sqlite3.connect(path)) as raw:
        raw.execute("PRAGMA journal_mode = WAL")
        raw.execute("CREATE TABLE t (x)")
        raw.commit()


def _other_application(path: Path) -> None:
    _plain(path)
    with closing(sqlite3.connect(path)) as raw:
        raw.execute("PRAGMA application_id = 1196444487")  # Fossil's id


def _flext_tables_and_others(path: Path) -> None:
    """What an older FLEXT left in another application's file: its tables beside the owner's."""
    _plain(path)
    with closing(sqlite3.connect(path)) as raw:
        raw.execute("CREATE TABLE flext_events (position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL)")
        raw.execute("PRAGMA user_version = 1")


def _text(path: Path) -> None:
    path.write_text("not a database, but long enough to be taken for one's header\n" * 4)


def _short_text(path: Path) -> None:
    path.write_text("hello\n")


FOREIGN: dict[str, tuple[Callable[[Path], None], str]] = {
    "plain": (_plain, "a SQLite database of another application (tables: customers)"),
    "user_version_3": (_user_version_3, "a SQLite database of another application (tables: customers)"),
    "wal": (_wal, "a SQLite database of another application (tables: t)"),
    "application_id": (
        _other_application,
        "a SQLite database of another application (application_id 0x47504b47)",
    ),
    "flext_and_others": (
        _flext_tables_and_others,
        "a SQLite database of another application (tables: customers)",
    ),
    "text": (_text, "not a SQLite database"),
    "short_text": (_short_text, "not a SQLite database"),
}
"""Files FLEXT did not create, and how the error describes each."""


def _state(directory: Path) -> dict[str, str]:
    """Every file of ``directory`` and the hash of its bytes."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.iterdir())
        if path.is_file()
    }


def _foreign(tmp_path: Path, kind: str) -> tuple[Path, str]:
    make, reason = FOREIGN[kind]
    directory = tmp_path / "theirs"
    directory.mkdir()
    path = directory / ("notes.txt" if "text" in kind else "app2.db")
    make(path)
    return path, reason


@pytest.fixture
def export_file(tmp_path: Path, flext_cli: FlextCliRunner) -> Path:
    """An export of one event, to import."""
    source = tmp_path / "source.db"
    with SQLiteEventStore(path=source) as store:
        store.append("acc-1", [Deposited(aggregate_id="acc-1", amount=1)], NO_STREAM).unwrap()
    target = tmp_path / "events.jsonl"
    assert flext_cli("events", "export", "--store", str(source), "--to", str(target)).exit_code == 0
    return target


@pytest.mark.parametrize("kind", list(FOREIGN))
def test_a_foreign_file_is_refused_by_a_reader_and_a_writer_and_left_untouched(
    flext_cli: FlextCliRunner, tmp_path: Path, export_file: Path, kind: str
) -> None:
    path, reason = _foreign(tmp_path, kind)
    before = _state(path.parent)
    for command in (("events", "streams"), ("events", "import", str(export_file))):
        result = flext_cli(*command, "--store", str(path))
        assert result.exit_code == 2, result
        assert result.stderr.splitlines()[0] == (
            f"error: {path} is not a FLEXT event store: it is {reason}; FLEXT leaves it untouched "
            "(NOT_A_FLEXT_STORE)"
        )
        assert "Traceback" not in result.stderr
        assert _state(path.parent) == before, f"flext {' '.join(command)} changed {path.parent}"


def test_every_reading_command_refuses_a_foreign_database_before_touching_it(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    path, _ = _foreign(tmp_path, "user_version_3")
    before = _state(path.parent)
    for command in READERS:
        result = flext_cli("--output", "json", *command, "--store", str(path))
        assert result.exit_code == 2, result
        assert result.json()["code"] == "NOT_A_FLEXT_STORE", result
        assert str(path) in result.json()["error"]
        assert _state(path.parent) == before, f"flext {' '.join(command)} changed {path.parent}"
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert raw.execute("PRAGMA user_version").fetchone() == (3,)


def test_a_directory_is_named_with_a_clear_code_by_readers_and_writers(
    flext_cli: FlextCliRunner, tmp_path: Path, export_file: Path
) -> None:
    directory = tmp_path / "stores"
    directory.mkdir()
    for command in (("events", "streams"), ("events", "import", str(export_file)), ("projections", "run")):
        result = flext_cli(*command, "--store", str(directory))
        assert result.exit_code == 2, result
        assert result.stderr.splitlines() == [
            f"error: {directory} is a directory, not an event store file (VALIDATION_ERROR)",
            f"hint: name a file in it: --store {directory / 'events.db'}",
        ]
    assert list(directory.iterdir()) == []


def test_an_empty_file_is_no_store_for_a_reader_and_becomes_one_for_a_writer(
    flext_cli: FlextCliRunner, tmp_path: Path, export_file: Path
) -> None:
    path = tmp_path / "events.db"
    path.touch()
    refused = flext_cli("events", "streams", "--store", str(path))
    assert refused.exit_code == 2
    assert refused.stderr.splitlines()[0] == f"error: no event store at {path}: the file is empty (NOT_FOUND)"
    assert path.read_bytes() == b""
    assert flext_cli("events", "import", str(export_file), "--store", str(path)).exit_code == 0
    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)


def test_flext_marks_the_stores_it_creates_and_readers_leave_them_as_they_are(
    flext_cli: FlextCliRunner, tmp_path: Path, export_file: Path
) -> None:
    path = tmp_path / "mine" / "events.db"
    path.parent.mkdir()
    assert flext_cli("events", "import", str(export_file), "--store", str(path)).exit_code == 0
    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)
    before = path.read_bytes()
    for command in READERS[:4]:
        assert flext_cli(*command, "--store", str(path)).exit_code == 0
    assert path.read_bytes() == before, "read in read-only mode (SQLite may add its -wal and -shm files)"


def test_a_store_made_before_the_mark_still_opens_and_a_writer_marks_it(
    flext_cli: FlextCliRunner, tmp_path: Path, export_file: Path
) -> None:
    path = tmp_path / "old.db"
    with SQLiteEventStore(path=path) as store:
        store.append("acc-0", [Deposited(aggregate_id="acc-0", amount=5)], NO_STREAM).unwrap()
    with closing(sqlite3.connect(path)) as raw:
        raw.execute("PRAGMA application_id = 0")  # as every store was before FLEXT marked them
    before = path.read_bytes()
    listed = flext_cli("--output", "json", "events", "streams", "--store", str(path))
    assert [row["stream"] for row in listed.json()["data"]] == ["acc-0"]
    assert path.read_bytes() == before, "a reader does not mark it"
    assert flext_cli("events", "import", str(export_file), "--store", str(path)).exit_code == 0
    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)


def test_a_path_through_a_file_is_named_as_such(
    flext_cli: FlextCliRunner, tmp_path: Path, export_file: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    store = notes / "events.db"
    read = flext_cli("events", "streams", "--store", str(store))
    assert read.exit_code == 2
    assert read.stderr.splitlines() == [
        f"error: no event store at {store}: the file does not exist (NOT_FOUND)",
        f"hint: check the path: {notes} is a file, not a directory",
    ]
    written = flext_cli("events", "import", str(export_file), "--store", str(store))
    assert written.exit_code == 2
    assert written.stderr.splitlines() == [
        f"error: cannot create the event store {store}: {notes} is a file, not a directory "
        "(VALIDATION_ERROR)",
        "hint: check --store",
    ]
    assert notes.read_text() == "hello\n"
