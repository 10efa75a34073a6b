"""Where the SQLite backend finds a store, and where it may create one.

Commands that only read open with ``create=False``: a path with no event
store is refused and nothing is created. Commands that write create the file,
but only in a directory that exists, unless it is the default file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from flext_plugin_eventstore_sqlite import SQLiteEventStore, default_path

from flext_eventsourcing import NOT_A_FLEXT_STORE, EventStores
from flext_eventsourcing.stores import EVENTSTORE_URL_VARIABLE
from flext_kernel.errors import NOT_FOUND, VALIDATION_ERROR
from flext_kernel.kernel import FlextKernel
from flext_kernel.plugins.discovery import discover


@pytest.fixture
def stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EventStores]:
    """The opener of a kernel with event sourcing and the SQLite backend, in a fresh FLEXT_HOME."""
    monkeypatch.setenv("FLEXT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv(EVENTSTORE_URL_VARIABLE, raising=False)
    only = ["eventsourcing", "eventstore-sqlite"]
    with FlextKernel.boot(discover(()), only=only, strict=True).unwrap() as kernel:
        yield kernel.container.resolve(EventStores)


def _listing(directory: Path) -> list[str]:
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


def test_reading_a_missing_file_is_not_found_and_creates_nothing(stores: EventStores, tmp_path: Path) -> None:
    before = _listing(tmp_path)
    for location in (tmp_path / "typo.db", tmp_path / "no" / "dir" / "events.db"):
        missing = stores.open_event_store(str(location), create=False)
        assert missing.error_code == NOT_FOUND
        assert missing.error == f"no event store at {location}: the file does not exist"
        assert "flext events import FILE --store" in str(missing.error_data["hint"])
        assert stores.open_projection_store(str(location), create=False).error_code == NOT_FOUND
    assert _listing(tmp_path) == before, "no file, no directory"
    nested = stores.open_event_store(str(tmp_path / "no" / "dir" / "events.db"), create=False)
    assert f"{tmp_path / 'no' / 'dir'} does not exist either" in str(nested.error_data["hint"])


def test_reading_the_default_store_before_anything_was_recorded_says_how_it_comes(
    stores: EventStores,
) -> None:
    missing = stores.open_event_store(create=False)
    assert missing.error == f"no event store at {default_path()}: the file does not exist"
    assert missing.error_data["hint"] == (
        "commands that record events create it (flext pipeline run NAME, flext events import FILE)"
    )
    assert not default_path().parent.exists()


def test_reading_an_existing_store_opens_it(stores: EventStores, tmp_path: Path) -> None:
    SQLiteEventStore(path=tmp_path / "e.db").close()
    store = stores.open_event_store(str(tmp_path / "e.db"), create=False).unwrap()
    try:
        assert store.read_all().unwrap() == []
    finally:
        store.close()
    assert stores.open_projection_store(f"sqlite:///{tmp_path / 'e.db'}", create=False).is_success


def test_a_file_that_is_not_an_event_store_is_refused_and_left_as_it_was(
    stores: EventStores, tmp_path: Path
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database, but long enough to be taken for one's header\n" * 4)
    other = tmp_path / "warehouse.db"
    with closing(sqlite3.connect(other)) as raw:
        raw.execute("CREATE TABLE customers (id)")
    before = {path: path.read_bytes() for path in (text, other)}
    for path, reason in (
        (text, "not a SQLite database"),
        (other, "a SQLite database of another application (tables: customers)"),
    ):
        for opened in (
            stores.open_event_store(str(path), create=False),
            stores.open_event_store(str(path), read_only=True),
            stores.open_event_store(str(path)),
            stores.open_projection_store(str(path), create=False),
            stores.open_projection_store(str(path)),
        ):
            assert opened.error_code == NOT_A_FLEXT_STORE
            assert (
                opened.error
                == f"{path} is not a FLEXT event store: it is {reason}; FLEXT leaves it untouched"
            )
            assert opened.error_data["path"] == str(path)
    refused = stores.open_event_store(str(tmp_path), create=False)
    assert refused.error_code == VALIDATION_ERROR
    assert refused.error == f"{tmp_path} is a directory, not an event store file"
    assert {path: path.read_bytes() for path in (text, other)} == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt", "warehouse.db"], "no -wal, -shm"


def test_writers_create_a_store_only_in_a_directory_that_exists(stores: EventStores, tmp_path: Path) -> None:
    nested = tmp_path / "no" / "dir" / "events.db"
    refused = stores.open_event_store(str(nested))
    assert refused.error_code == NOT_FOUND
    assert refused.error == f"cannot open the sqlite event store: directory {nested.parent} does not exist"
    assert refused.error_data["hint"] == f"check the location, or create {nested.parent} first"
    assert stores.open_projection_store(str(nested)).error_code == NOT_FOUND
    assert not (tmp_path / "no").exists()
    nested.parent.mkdir(parents=True)
    stores.open_event_store(str(nested)).unwrap().close()
    assert nested.is_file()


def test_writers_create_the_default_store_with_its_directories(stores: EventStores) -> None:
    assert not default_path().parent.exists()
    stores.open_event_store().unwrap().close()
    assert default_path().is_file()
    assert stores.open_event_store(create=False).is_success


def test_a_writer_given_a_directory_names_it(stores: EventStores, tmp_path: Path) -> None:
    for opened in (stores.open_event_store(str(tmp_path)), stores.open_projection_store(str(tmp_path))):
        assert opened.error_code == VALIDATION_ERROR
        assert opened.error == f"{tmp_path} is a directory, not an event store file"
        assert opened.error_data["hint"] == f"name a file in it: --store {tmp_path / 'events.db'}"
