"""The SQLite event store passes the event store contract, plus what is special about SQLite."""

from __future__ import annotations

import functools
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from flext_plugin_eventstore_sqlite import APPLICATION_ID, SQLiteEventStore, default_path
from flext_plugin_eventstore_sqlite.plugin import flext_event_store_backends, manifest, open_store
from flext_plugin_eventstore_sqlite.store import _INSERT, SCHEMA_VERSION, path_from_location

from flext_eventsourcing import ANY, NO_STREAM, NOT_A_FLEXT_STORE, FlextEventStore, NotAFlextStoreError
from flext_kernel.errors import (
    CONCURRENCY_CONFLICT,
    NOT_FOUND,
    STORAGE_ERROR,
    TIMEOUT,
    VALIDATION_ERROR,
    FlextError,
)
from flext_kernel.kernel import FlextKernel
from flext_kernel.plugins.base import PluginState
from flext_kernel.plugins.discovery import discover
from flext_sdk.testing import PluginContract
from flext_sdk.testing.eventstore import EventStoreContract, Noted, StoreFactory, contract_codec


class TestSQLitePlugin(PluginContract):
    plugin = "flext_plugin_eventstore_sqlite.plugin"
    required_plugins = ("flext_eventsourcing.plugin",)


class TestSQLiteEventStore(EventStoreContract):
    @pytest.fixture
    def store_factory(self, tmp_path: Path) -> StoreFactory:
        # A partial of the class pickles by reference, so spawned writer processes can call it.
        return functools.partial(SQLiteEventStore, path=tmp_path / "events.db", poll_interval=0.02)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteEventStore]:
    opened = SQLiteEventStore(contract_codec(), path=tmp_path / "events.db")
    yield opened
    opened.close()


# The file.


def test_the_file_is_in_wal_mode_with_the_current_schema(store: SQLiteEventStore) -> None:
    assert store.pragma("journal_mode") == "wal"
    assert store.pragma("user_version") == SCHEMA_VERSION
    assert store.pragma("synchronous") == 1  # NORMAL
    with sqlite3.connect(store.path) as raw:
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        indexes = raw.execute("PRAGMA index_list(flext_events)").fetchall()
    raw.close()
    assert {"flext_events", "flext_snapshots"} <= tables
    assert sum(1 for index in indexes if index[2]) == 2  # unique: event_id, (stream_id, version)


def test_synchronous_full_is_applied(tmp_path: Path) -> None:
    with SQLiteEventStore(path=tmp_path / "e.db", synchronous="FULL") as store:
        assert store.pragma("synchronous") == 2
    with pytest.raises(ValueError, match="synchronous"):
        SQLiteEventStore(path=tmp_path / "e.db", synchronous="SOMETIMES")  # type: ignore[arg-type]


def test_the_default_file_is_under_the_users_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEXT_HOME", str(tmp_path / "home"))
    assert default_path() == tmp_path / "home" / "data" / "events.db"
    with SQLiteEventStore() as store:
        assert store.path == default_path()
        assert store.append("s", [Noted(aggregate_id="s")], NO_STREAM).is_success
    assert default_path().is_file()


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("/var/flext/e.db", "/var/flext/e.db"),
        ("sqlite:////var/flext/e.db", "/var/flext/e.db"),
        ("sqlite:///var/flext/e.db", "/var/flext/e.db"),
        ("sqlite:relative/e.db", "relative/e.db"),
        ("relative/e.db", "relative/e.db"),
    ],
)
def test_store_locations_are_paths_or_sqlite_urls(location: str, expected: str) -> None:
    assert path_from_location(location) == Path(expected)


def test_an_in_memory_database_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a file"):
        path_from_location(":memory:")


def test_a_file_from_a_newer_plugin_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    SQLiteEventStore(path=path).close()
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(FlextError, match="newer than this plugin") as refused:
        SQLiteEventStore(path=path)
    assert refused.value.error_code == VALIDATION_ERROR
    assert refused.value.error_data["hint"] == "upgrade flext-plugin-eventstore-sqlite"


def test_a_new_file_is_marked_as_flexts(store: SQLiteEventStore) -> None:
    assert store.pragma("application_id") == APPLICATION_ID == int.from_bytes(b"FLXT", "big")


def test_read_only_reads_what_writers_append_and_never_writes(tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    with SQLiteEventStore(contract_codec(), path=path) as writer:
        writer.append("s", [Noted(aggregate_id="s", n=1)], NO_STREAM).unwrap()
        with SQLiteEventStore(contract_codec(), path=path, read_only=True) as reader:
            assert [r.event.n for r in reader.read_stream("s").unwrap()] == [1]  # type: ignore[attr-defined]
            writer.append("s", [Noted(aggregate_id="s", n=2)], 1).unwrap()
            assert len(reader.read_all().unwrap()) == 2
            refused = reader.append("s", [Noted(aggregate_id="s", n=3)], 2)
            assert refused.error_code == STORAGE_ERROR
            assert refused.error == f"the event store {path} is open for reading only"


def test_read_only_refuses_a_missing_file_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(FlextError, match=r"no event store at .*: the file does not exist") as refused:
        SQLiteEventStore(path=tmp_path / "nope.db", read_only=True)
    assert refused.value.error_code == NOT_FOUND
    assert list(tmp_path.iterdir()) == []


def test_a_foreign_database_is_refused_before_any_statement(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with closing(sqlite3.connect(path)) as raw:
        raw.execute("CREATE TABLE accounts (id)")
        raw.commit()
    before = path.read_bytes()
    for read_only in (False, True):
        with pytest.raises(NotAFlextStoreError, match="tables: accounts") as refused:
            SQLiteEventStore(path=path, read_only=read_only)
        assert refused.value.error_code == NOT_A_FLEXT_STORE
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["app.db"]


def test_reopening_keeps_the_events(tmp_path: Path) -> None:
    with SQLiteEventStore(contract_codec(), path=tmp_path / "e.db") as first:
        first.append("s", [Noted(aggregate_id="s", n=1)], NO_STREAM).unwrap()
    with SQLiteEventStore(contract_codec(), path=tmp_path / "e.db") as second:
        (recorded,) = second.read_stream("s").unwrap()
    assert isinstance(recorded.event, Noted)
    assert recorded.event.n == 1


def test_deleted_events_are_zeroed_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    with SQLiteEventStore(contract_codec(), path=path) as store:
        store.append("s", [Noted(aggregate_id="s", text="SECRET-" * 50)], NO_STREAM).unwrap()
        store.delete_stream("s", reason="erasure").unwrap()
        with sqlite3.connect(path) as raw:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.close()
    assert b"SECRET-" not in path.read_bytes()


# Errors map to kernel codes in one place.


def test_a_writer_holding_the_lock_too_long_is_a_timeout(tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    with SQLiteEventStore(contract_codec(), path=path, busy_timeout=0.1) as store:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            result = store.append("s", [Noted(aggregate_id="s")], NO_STREAM)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert result.error_code == TIMEOUT
        assert result.error_data["sqlite_error"] == "SQLITE_BUSY"
        assert store.append("s", [Noted(aggregate_id="s")], NO_STREAM).is_success


def test_driver_errors_become_failures(store: SQLiteEventStore) -> None:
    integrity = sqlite3.IntegrityError("UNIQUE constraint failed: flext_events.event_id")
    assert store._translate_error(integrity).error_code == CONCURRENCY_CONFLICT
    broken = store._translate_error(sqlite3.DatabaseError("file is not a database"))
    assert broken.error_code == STORAGE_ERROR
    assert str(store.path) in (broken.error or "")


def test_a_corrupt_file_fails_reads_with_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    with SQLiteEventStore(contract_codec(), path=path) as store:
        store.append("s", [Noted(aggregate_id="s")], NO_STREAM).unwrap()
        with sqlite3.connect(path) as raw:
            raw.execute("DROP TABLE flext_events")
        raw.close()
        result = store.read_all()
    assert result.error_code == STORAGE_ERROR
    assert "no such table" in (result.error or "")


# Crash safety.

_CRASHING_WRITER = textwrap.dedent(
    """
    import sys
    from flext_plugin_eventstore_sqlite import SQLiteEventStore
    from flext_sdk.testing.eventstore import Noted, contract_codec

    store = SQLiteEventStore(contract_codec(), path=sys.argv[1])
    version = 0
    while True:
        batch = [Noted(aggregate_id="s", n=version + i) for i in range(3)]
        version = store.append("s", batch, version).unwrap().version
        print(version, flush=True)
    """
)


@pytest.mark.slow
def test_a_killed_writer_leaves_every_acknowledged_batch_and_no_partial_one(tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    SQLiteEventStore(path=path).close()
    writer = subprocess.Popen(
        [sys.executable, "-c", _CRASHING_WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    acknowledged = 0
    try:
        for line in writer.stdout:
            acknowledged = int(line)
            if acknowledged >= 300:
                break
    finally:
        os.kill(writer.pid, signal.SIGKILL)  # no chance to finish a transaction or clean up
        writer.wait(30)
        writer.stdout.close()
    assert acknowledged >= 300
    with SQLiteEventStore(contract_codec(), path=path) as store:
        versions = [r.version for r in store.read_stream("s").unwrap()]
        assert store.pragma("integrity_check") == "ok"
        assert store.append("s", [Noted(aggregate_id="s")], len(versions)).is_success
    assert len(versions) >= acknowledged
    assert len(versions) % 3 == 0, "a batch was half written"
    assert versions == list(range(1, len(versions) + 1))


# Threads and connections.


def test_connections_are_pooled_not_opened_per_call(store: SQLiteEventStore) -> None:
    for i in range(20):
        store.append("s", [Noted(aggregate_id="s", n=i)], 3 * i).unwrap()
        store.append("s", [Noted(aggregate_id="s", n=i), Noted(aggregate_id="s", n=i)], 3 * i + 1).unwrap()
        store.read_all().unwrap()
    # One for reads and batches, one (with the head guard) for one-event appends.
    assert (store._pool.size, store._guarded_pool.size) == (1, 1)


def _temp_triggers(connection: sqlite3.Connection) -> list[str]:
    return [
        row[0] for row in connection.execute("SELECT name FROM sqlite_temp_master WHERE type = 'trigger'")
    ]


def test_the_head_guard_lives_in_the_one_event_connections_only(store: SQLiteEventStore) -> None:
    """Batch inserts and other processes' connections run without it; the file holds no trigger."""
    store.append("s", [Noted(aggregate_id="s", n=0)], NO_STREAM).unwrap()
    store.append("s", [Noted(aggregate_id="s", n=1), Noted(aggregate_id="s", n=2)], 1).unwrap()
    for pool, triggers in ((store._guarded_pool, ["flext_insert_at_head"]), (store._pool, [])):
        connection = pool.acquire()
        try:
            assert _temp_triggers(connection) == triggers
        finally:
            pool.release(connection)
    with closing(sqlite3.connect(store.path)) as other:
        assert other.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'").fetchone() == (0,)


@pytest.mark.parametrize(
    ("version", "deleted"), [(1, False), (3, False), (3, True)], ids=["behind", "gap", "after-tombstone"]
)
def test_the_head_guard_rejects_a_row_off_the_live_head_and_writes_nothing(
    store: SQLiteEventStore, version: int, deleted: bool
) -> None:
    store.append("s", [Noted(aggregate_id="s", n=0)], NO_STREAM).unwrap()
    if deleted:
        store.delete_stream("s").unwrap()
    before = store.read_all().unwrap()
    connection = store._guarded_pool.acquire()
    try:
        with pytest.raises(sqlite3.IntegrityError) as raised:
            connection.execute(_INSERT, store.codec.encode(Noted(aggregate_id="s", n=9, version=version)))
    finally:
        store._guarded_pool.release(connection)
    assert raised.value.sqlite_errorname == "SQLITE_CONSTRAINT_TRIGGER"
    assert store.read_all().unwrap() == before


def test_close_closes_every_connection_even_from_other_threads(tmp_path: Path) -> None:
    store = SQLiteEventStore(contract_codec(), path=tmp_path / "e.db")
    barrier = threading.Barrier(3)
    seen: list[sqlite3.Connection] = []

    def read() -> None:
        barrier.wait(5)
        with store._reading() as connection:
            seen.append(connection)
            barrier.wait(5)  # all three lent at once: three connections

    threads = [threading.Thread(target=read) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    store.append("s", [Noted(aggregate_id="s")], NO_STREAM).unwrap()  # a head-guarded connection too
    assert (store._pool.size, store._guarded_pool.size) == (3, 1)
    guarded = store._guarded_pool.acquire()
    store._guarded_pool.release(guarded)
    store.close()
    for connection in [*seen, guarded]:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            connection.execute("SELECT 1")
    assert (store._pool.size, store._guarded_pool.size) == (0, 0)


def test_close_with_connections_lent_out_closes_them_when_their_operations_end(tmp_path: Path) -> None:
    """An operation running while another thread closes the store finishes on its connection."""
    store = SQLiteEventStore(contract_codec(), path=tmp_path / "e.db")
    store.append("s", [Noted(aggregate_id="s")], NO_STREAM).unwrap()
    inside, closed = threading.Event(), threading.Event()
    outcome: list[object] = []

    def writer() -> None:
        with store._write() as tx:
            inside.set()
            closed.wait(5)
            outcome.append(tx.head("s"))  # the connection still works after close

    thread = threading.Thread(target=writer)
    thread.start()
    assert inside.wait(5)
    store.close()
    assert store._pool.size == 1  # the lent one: closed when it comes back
    closed.set()
    thread.join(5)
    assert outcome == [(1, "contract.Noted")]
    assert store._pool.size == 0
    failed = store.append("s", [Noted(aggregate_id="s")], 1)
    assert (failed.error_code, failed.error) == (STORAGE_ERROR, "the event store is closed")


def test_a_store_shared_by_many_threads_stays_within_its_connections(tmp_path: Path) -> None:
    threads, events = 12, 25
    store = SQLiteEventStore(contract_codec(), path=tmp_path / "e.db", max_connections=3)
    start = threading.Barrier(threads)
    failures: list[str] = []

    def write(index: int) -> None:
        start.wait(10)
        stream = f"s{index}"
        for version in range(events):
            result = store.append(stream, [Noted(aggregate_id=stream, n=version)], version)
            if result.is_failure:
                failures.append(result.error or "")
            assert store.read_stream(stream, from_version=version).is_success

    workers = [threading.Thread(target=write, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    try:
        assert failures == []
        recorded = store.read_all().unwrap()
        assert len(recorded) == threads * events
        assert [r.position for r in recorded] == sorted({r.position for r in recorded})
        assert store._pool.size <= 3
        assert store._guarded_pool.size <= 3
    finally:
        store.close()


def test_no_free_connection_within_the_busy_timeout_is_a_timeout(tmp_path: Path) -> None:
    with SQLiteEventStore(
        contract_codec(), path=tmp_path / "e.db", busy_timeout=0.1, max_connections=1
    ) as store:
        with store._reading():  # the only plain connection, lent out
            result = store.read_all()
        assert result.error_code == TIMEOUT
        assert result.error_data["max_connections"] == 1
        assert "no free connection" in (result.error or "")
        assert store.read_all().is_success


def test_an_idempotent_retry_after_a_lost_answer_writes_nothing(store: SQLiteEventStore) -> None:
    batch = [Noted(aggregate_id="s", n=i) for i in range(3)]
    first = store.append("s", batch, NO_STREAM).unwrap()
    retry = store.append("s", batch, NO_STREAM).unwrap()
    assert (retry.positions, retry.written) == (first.positions, False)
    with sqlite3.connect(store.path) as raw:
        assert raw.execute("SELECT count(*) FROM flext_events").fetchone()[0] == 3
    raw.close()


# The plugin.


def test_the_plugin_provides_the_sqlite_backend(tmp_path: Path) -> None:
    assert manifest.name == "eventstore-sqlite"
    backends = flext_event_store_backends()
    assert backends == {"sqlite": open_store}
    store = backends["sqlite"](contract_codec(), location=str(tmp_path / "via-hook.db"))
    try:
        assert isinstance(store, FlextEventStore)
        assert store.append("s", [Noted(aggregate_id="s")], ANY).is_success
    finally:
        store.close()
    assert (tmp_path / "via-hook.db").is_file()


def test_the_installed_entry_point_loads_and_answers_the_hook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEXT_HOME", str(tmp_path))
    candidates = [c for c in discover() if c.name in ("eventsourcing", "eventstore-sqlite")]
    assert sorted((c.target, c.distribution) for c in candidates) == [
        ("flext_eventsourcing.plugin", "flext-eventsourcing"),
        ("flext_plugin_eventstore_sqlite.plugin", "flext-plugin-eventstore-sqlite"),
    ]
    kernel = FlextKernel.boot(candidates, strict=True).unwrap()
    try:
        assert kernel.plugins.records["eventstore-sqlite"].state is PluginState.ACTIVE
        answers = dict(kernel.plugins.collect("flext_event_store_backends"))
        assert sorted(answers["eventstore-sqlite"]) == ["sqlite"]
    finally:
        kernel.close()
    assert not (tmp_path / "data" / "events.db").exists(), "loading the plugin must not open the store"
