"""SQLiteEventStore: the event store in one SQLite file, shared safely by threads and processes.

Layout (``PRAGMA user_version`` = 1, ``PRAGMA application_id`` = ``files.APPLICATION_ID``)::

    flext_events(position INTEGER PRIMARY KEY,   -- the rowid: global order
                 stream_id, version, event_id UNIQUE, event_type, schema_version, data,
                 UNIQUE(stream_id, version))
    flext_snapshots(stream_id PRIMARY KEY, version, aggregate_type, schema_version, state, taken_at)

Why it is safe and fast:

* WAL journal: readers never block the writer and the writer never blocks
  readers; ``synchronous=NORMAL`` (the default here) survives any crash of the
  process, only an OS crash or power cut can lose the last commits.
* Every write is one ``BEGIN IMMEDIATE`` transaction: it takes SQLite's single
  write lock up front, so the expected-version check and the insert it allows
  cannot be separated by another thread or process, and waiting writers queue
  on the busy timeout instead of failing.
* Except the commonest write, one event at a known version: a single INSERT
  that commits itself, checked inside its own write transaction by a trigger
  (``_HEAD_GUARD``, kept in the connections that make these appends, not in
  the file). The write lock is then held for one statement in C, never
  across Python code that may wait for the GIL: four threads appending this
  way got through about a quarter more events per second.
* Positions are the rowid, handed out under that lock as "highest + 1", so
  they grow in commit order: a reader that saw position ``p`` can never miss
  an event below it. They are never reused either, because the highest row
  is never deleted (a deleted stream's tombstone is inserted before its
  events are erased). That spares ``AUTOINCREMENT``'s bookkeeping, about a
  fifth of the cost of an insert.
* Connections are pooled in two pools of one kind each (``_pool.ConnectionPool``):
  plain ones for reads and batches, and ones carrying the head guard for
  one-event appends. Each statement is prepared once per connection by
  sqlite3's statement cache.
* Deleting a stream zeroes the erased rows in the file (``secure_delete``).

Appends from other processes reach this process's live subscriptions by
polling, every ``poll_interval`` seconds; appends from this process wake them
at once.

Before its first connection the store looks at the file (``files.inspect_file``):
a file FLEXT did not create is refused (``NotAFlextStoreError``) before any
pragma or statement touches it. ``read_only=True`` opens an existing store
through ``mode=ro`` connections, which can never write to it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import Any, Final, Literal

from flext_eventsourcing import (
    TOMBSTONE_TYPE,
    AppendResult,
    EventCodec,
    EventStoreBase,
    PendingAppend,
    StoredEvent,
    StoredSnapshot,
    StreamHead,
    WriteTransaction,
)
from flext_kernel.errors import CONCURRENCY_CONFLICT, STORAGE_ERROR, TIMEOUT, VALIDATION_ERROR, FlextError
from flext_kernel.result import Failure, FlextResult
from flext_plugin_eventstore_sqlite._pool import ConnectionPool, PoolClosed, PoolTimeout
from flext_plugin_eventstore_sqlite.files import FileKind, inspect_file, mark, refusal

__all__ = ["DEFAULT_FILE_NAME", "SCHEMA_VERSION", "SQLiteEventStore", "default_path", "path_from_location"]

DEFAULT_FILE_NAME: Final = "events.db"
"""File name of the default store, in the user's data directory."""
SCHEMA_VERSION: Final = 1
"""``PRAGMA user_version`` of the current table layout."""

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS flext_events (
    position INTEGER PRIMARY KEY,
    stream_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    event_id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (stream_id, version)
);
CREATE TABLE IF NOT EXISTS flext_snapshots (
    stream_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    aggregate_type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    state TEXT NOT NULL,
    taken_at TEXT NOT NULL
);
"""
# Columns in the order of StoredEvent's fields, so a row unpacks straight into one.
_EVENT_COLUMNS: Final = "stream_id, version, event_id, event_type, schema_version, data, position"
# Each row's parameters are a whole StoredEvent: position 0 (not stored yet) becomes NULL, which makes
# SQLite assign the rowid, one above the highest.
_ROW: Final = "(?, ?, ?, ?, ?, ?, NULLIF(?, 0))"
_INSERT: Final = f"INSERT INTO flext_events ({_EVENT_COLUMNS}) VALUES {_ROW}"
# Batches go in multi-row statements of these sizes (one statement runs faster than executemany's row at
# a time); a few fixed sizes keep them in the statement cache.
_INSERT_SIZES: Final = (64, 16, 4)
_INSERT_ROWS: Final = {size: _INSERT + (", " + _ROW) * (size - 1) for size in _INSERT_SIZES}
_HEAD: Final = (
    "SELECT version, event_type FROM flext_events WHERE stream_id = ? ORDER BY version DESC LIMIT 1"
)
_READ_STREAM: Final = (
    f"SELECT {_EVENT_COLUMNS} FROM flext_events WHERE stream_id = ? AND version > ? ORDER BY version LIMIT ?"
)
_READ_ALL: Final = f"SELECT {_EVENT_COLUMNS} FROM flext_events WHERE position > ? ORDER BY position LIMIT ?"
_SNAPSHOT_COLUMNS: Final = "stream_id, version, aggregate_type, schema_version, state, taken_at"
_ID_CHUNK: Final = 500  # event ids per IN (...) lookup, well under SQLite's variable limit


def default_path() -> Path:
    """The default store file: ``events.db`` in ``flext_kernel.paths.data_dir()`` (honours ``FLEXT_HOME``)."""
    from flext_kernel import paths

    return paths.data_dir() / DEFAULT_FILE_NAME


def path_from_location(location: str | Path | None) -> Path:
    """Turn a ``--store`` value into a file path: a path, ``sqlite:///abs/path``, or None for the default."""
    if location is None or location == "":
        return default_path()
    text = str(location)
    if text.startswith("sqlite:///"):
        text = "/" + text.removeprefix("sqlite:///").lstrip("/")
    elif text.startswith("sqlite://"):
        text = text.removeprefix("sqlite://")
    elif text.startswith("sqlite:"):
        text = text.removeprefix("sqlite:")
    if text in ("", ":memory:"):
        raise ValueError("the SQLite event store needs a file (in-memory databases are per connection)")
    return Path(text).expanduser()


# The one-event append is a single INSERT, committed on its own, on connections that carry this trigger
# (TEMP: it lives in the connection, not in the file). It rejects a row whose version does not follow
# its stream's live head (no head: version 1; a tombstone: never), inside the INSERT's own write
# transaction. Other connections, which insert batches, have no trigger: it costs about a microsecond
# per row even when it does nothing.
_TOMBSTONE_LITERAL: Final = "'" + TOMBSTONE_TYPE.replace("'", "''") + "'"
_HEAD_GUARD: Final = f"""
CREATE TEMP TRIGGER flext_insert_at_head BEFORE INSERT ON main.flext_events
WHEN NEW.version - 1 <> coalesce((
    SELECT CASE WHEN event_type = {_TOMBSTONE_LITERAL} THEN -1 ELSE version END
    FROM main.flext_events WHERE stream_id = NEW.stream_id ORDER BY version DESC LIMIT 1
), 0)
BEGIN
    SELECT RAISE(ABORT, 'flext: the stream is not at the version this event follows');
END
"""


class _Connection(sqlite3.Connection):
    """A pooled connection with a cursor of its own for appends.

    ``Connection.execute`` makes a new cursor per statement; reusing one
    cursor spares a few microseconds of the hundred an append takes.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.append_cursor = self.cursor()


def _roll_back(connection: _Connection) -> None:
    """The pools' reset: a connection goes back without an open transaction (raises if it is closed)."""
    if connection.in_transaction:
        connection.rollback()


class _Transaction:
    """The row operations of one ``BEGIN IMMEDIATE`` transaction."""

    __slots__ = ("_connection",)

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def head(self, stream_id: str) -> StreamHead | None:
        row = self._connection.execute(_HEAD, (stream_id,)).fetchone()
        return None if row is None else (row[0], row[1])

    def find(self, event_ids: Sequence[str]) -> list[StoredEvent]:
        found: list[StoredEvent] = []
        for start in range(0, len(event_ids), _ID_CHUNK):
            chunk = event_ids[start : start + _ID_CHUNK]
            marks = ", ".join("?" * len(chunk))
            sql = f"SELECT {_EVENT_COLUMNS} FROM flext_events WHERE event_id IN ({marks})"
            found.extend(StoredEvent(*row) for row in self._connection.execute(sql, chunk))
        return found

    def insert(self, rows: Sequence[StoredEvent]) -> list[int]:
        connection = self._connection
        if len(rows) == 1:
            cursor = connection.execute(_INSERT, rows[0])
            return [cursor.lastrowid or 0]
        start = 0
        for size in _INSERT_SIZES:
            statement = _INSERT_ROWS[size]
            while len(rows) - start >= size:
                connection.execute(statement, list(chain.from_iterable(rows[start : start + size])))
                start += size
        if start < len(rows):
            connection.executemany(_INSERT, rows[start:])
        # Under the write lock each row gets the highest rowid plus one: the batch's are consecutive.
        last: int = connection.execute("SELECT last_insert_rowid()").fetchone()[0]
        return list(range(last - len(rows) + 1, last + 1))

    def delete_events(self, stream_id: str, through_version: int) -> None:
        connection = self._connection
        connection.execute("PRAGMA secure_delete = ON")  # erased personal data is zeroed, not just unlinked
        try:
            connection.execute(
                "DELETE FROM flext_events WHERE stream_id = ? AND version <= ?", (stream_id, through_version)
            )
            connection.execute("DELETE FROM flext_snapshots WHERE stream_id = ?", (stream_id,))
        finally:
            connection.execute("PRAGMA secure_delete = OFF")

    def snapshot_version(self, stream_id: str) -> int | None:
        row = self._connection.execute(
            "SELECT version FROM flext_snapshots WHERE stream_id = ?", (stream_id,)
        ).fetchone()
        return None if row is None else int(row[0])

    def put_snapshot(self, row: StoredSnapshot) -> None:
        self._connection.execute(
            f"INSERT OR REPLACE INTO flext_snapshots ({_SNAPSHOT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            (row.stream_id, row.version, row.aggregate_type, row.schema_version, row.state, row.taken_at),
        )


class SQLiteEventStore(EventStoreBase):
    """An event store in one SQLite file (see the module docs for the layout and guarantees).

    Args:
        codec: the codec (a new one by default).
        path: the database file; None means ``default_path()``. Its directory is created.
        synchronous: SQLite's ``synchronous`` setting: ``NORMAL`` survives
            process crashes, ``FULL`` also power cuts (slower commits).
        busy_timeout: seconds a writer waits for another writer's lock before
            the operation fails with ``TIMEOUT``.
        poll_interval: longest wait of a live subscription before it reads again
            (the latency for appends made by other processes).
        max_connections: most connections of each kind (plain, head-guarded)
            open at once; more concurrent callers wait, up to ``busy_timeout``
            seconds, for one to be returned.
        read_only: open an existing store for reading only (``mode=ro``
            connections: appends fail, nothing is created or changed).

    Raises:
        NotAFlextStoreError: the file is not one FLEXT created (nothing was written to it).
        FlextError: ``read_only`` and no store is there (``NOT_FOUND``), the path is a
            directory, or the store was written by a newer plugin (``VALIDATION_ERROR``).
        OSError: the file cannot be read.

    """

    driver_errors = (sqlite3.Error, PoolTimeout, PoolClosed)
    unique_event_ids = True  # UNIQUE (event_id): a taken id fails the insert with an IntegrityError

    def __init__(
        self,
        codec: EventCodec | None = None,
        *,
        path: str | Path | None = None,
        synchronous: Synchronous = "NORMAL",
        busy_timeout: float = 30.0,
        poll_interval: float = 0.1,
        max_connections: int = 16,
        read_only: bool = False,
    ) -> None:
        super().__init__(codec, poll_interval=poll_interval)
        if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
        self.path = path_from_location(path)
        """The database file."""
        self.read_only = read_only
        """True if it was opened for reading only."""
        _check_file(self.path, reading=read_only)
        self.synchronous = synchronous
        """SQLite's ``synchronous`` setting for every connection."""
        self.busy_timeout = busy_timeout
        """Seconds a writer waits for the write lock."""
        self._pool = ConnectionPool(
            lambda: self._connect(guards_head=False),
            reset=_roll_back,
            max_size=max_connections,
            timeout=busy_timeout,
        )
        """Connections for reads, batches and every write transaction."""
        self._guarded_pool = ConnectionPool(
            lambda: self._connect(guards_head=True),
            reset=_roll_back,
            max_size=max_connections,
            timeout=busy_timeout,
        )
        """Connections carrying ``_HEAD_GUARD``, for one-event appends only."""
        if read_only:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self._reading() as connection:
                _create_schema(connection, self.path)
        except BaseException:
            self._close()
            raise

    # Connections.

    def _connect(self, *, guards_head: bool) -> _Connection:
        if self.read_only:
            return sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro",
                uri=True,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
                factory=_Connection,
            )
        connection = sqlite3.connect(
            self.path,
            timeout=self.busy_timeout,
            isolation_level=None,
            check_same_thread=False,
            factory=_Connection,
        )
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute(f"PRAGMA synchronous = {self.synchronous}")
            if guards_head:
                connection.execute(_HEAD_GUARD)
        except sqlite3.Error:
            connection.close()
            raise
        return connection

    @contextmanager
    def _reading(self) -> Iterator[_Connection]:
        connection = self._pool.acquire()
        try:
            yield connection
        finally:
            self._pool.release(connection)

    # Storage primitives.

    @contextmanager
    def _write(self) -> Iterator[WriteTransaction]:
        connection = self._pool.acquire()
        try:
            connection.execute("BEGIN IMMEDIATE")
            yield _Transaction(connection)
            connection.execute("COMMIT")
        finally:
            self._pool.release(connection)  # rolls back whatever did not commit

    def _append_at(self, pending: PendingAppend, version: int) -> AppendResult | None:
        """The usual append with the least Python around its statements (see EventStoreBase).

        One event: a single self-committing INSERT that ``_HEAD_GUARD`` lets
        through only at the stream's head. Several: ``BEGIN IMMEDIATE``, the
        head, the inserts of ``_Transaction.insert``, ``COMMIT``.
        """
        stream_id = pending.stream_id
        if len(pending.events) == 1:
            return self._append_one_at(pending, version)
        rows = pending.rows(version)  # encoded before the write lock is taken, not while others wait
        connection = self._pool.acquire()
        try:
            execute = connection.append_cursor.execute
            execute("BEGIN IMMEDIATE")
            head = execute(_HEAD, (stream_id,)).fetchone()
            if (0 if head is None else head[0]) != version or (
                head is not None and head[1] == TOMBSTONE_TYPE
            ):
                return None
            positions = _Transaction(connection).insert(rows)
            execute("COMMIT")
        finally:
            self._pool.release(connection)  # rolls back whatever did not commit
        return AppendResult(stream_id, version + len(positions), tuple(positions), True)

    def _append_one_at(self, pending: PendingAppend, version: int) -> AppendResult | None:
        connection = self._guarded_pool.acquire()
        try:
            position = connection.append_cursor.execute(_INSERT, pending.rows(version)[0]).lastrowid or 0
        except sqlite3.IntegrityError as exc:
            if exc.sqlite_errorname == "SQLITE_CONSTRAINT_TRIGGER":
                return None  # not at the head: the statement wrote nothing
            raise  # a taken event id: the base class looks the ids up
        finally:
            self._guarded_pool.release(connection)
        return AppendResult(pending.stream_id, version + 1, (position,), True)

    def _read_stream_rows(self, stream_id: str, after_version: int, limit: int | None) -> list[StoredEvent]:
        with self._reading() as connection:
            limit_or_all = -1 if limit is None else limit
            rows = connection.execute(_READ_STREAM, (stream_id, after_version, limit_or_all))
            return [StoredEvent(*row) for row in rows]

    def _read_all_rows(self, after_position: int, limit: int | None) -> list[StoredEvent]:
        with self._reading() as connection:
            rows = connection.execute(_READ_ALL, (after_position, -1 if limit is None else limit))
            return [StoredEvent(*row) for row in rows]

    def _snapshot_row(self, stream_id: str) -> StoredSnapshot | None:
        with self._reading() as connection:
            row = connection.execute(
                f"SELECT {_SNAPSHOT_COLUMNS} FROM flext_snapshots WHERE stream_id = ?", (stream_id,)
            ).fetchone()
        return None if row is None else StoredSnapshot(*row)

    def _close(self) -> None:
        """Close both pools: idle connections now, lent ones when their operation returns them."""
        self._pool.close()
        self._guarded_pool.close()

    def _translate_error(self, exc: Exception) -> FlextResult[Any]:
        """The one place sqlite3's and the pools' errors become kernel error codes."""
        name = getattr(exc, "sqlite_errorname", type(exc).__name__)
        data = {"sqlite_error": name, "path": str(self.path), "exception_type": type(exc).__name__}
        if isinstance(exc, PoolTimeout):
            data["max_connections"] = self._pool.max_size
            return Failure(f"the event store {self.path} had no free connection: {exc}", TIMEOUT, data)
        if isinstance(exc, PoolClosed):
            return Failure("the event store is closed", STORAGE_ERROR, data)
        if name in ("SQLITE_BUSY", "SQLITE_LOCKED") or "locked" in str(exc):
            return Failure(
                f"the event store {self.path} stayed locked by another writer for {self.busy_timeout}s",
                TIMEOUT,
                data,
            )
        if isinstance(exc, sqlite3.IntegrityError):
            return Failure(f"another writer got there first: {exc}", CONCURRENCY_CONFLICT, data)
        if self.read_only and name == "SQLITE_READONLY":
            return Failure(f"the event store {self.path} is open for reading only", STORAGE_ERROR, data)
        return Failure(f"the event store {self.path} failed: {exc}", STORAGE_ERROR, data)

    # Introspection for tests and `flext doctor`.

    def pragma(self, name: str) -> Any:
        """Return the value of ``PRAGMA name`` on a pooled connection (``journal_mode``, ...)."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"not a pragma name: {name!r}")
        with self._reading() as connection:
            row = connection.execute(f"PRAGMA {name}").fetchone()
        return None if row is None else row[0]


def _check_file(path: Path, *, reading: bool) -> None:
    """Refuse, before any connection, a file FLEXT did not create or whose layout is newer than this one."""
    found = inspect_file(path)
    refused = refusal(found, reading=reading)
    if refused is not None:
        raise refused
    if found.kind is FileKind.FLEXT and found.user_version > SCHEMA_VERSION:
        raise FlextError(
            f"the event store {path} has layout version {found.user_version}, newer than this plugin's "
            f"{SCHEMA_VERSION}",
            VALIDATION_ERROR,
            {"path": str(path), "hint": "upgrade flext-plugin-eventstore-sqlite"},
        )


def _create_schema(connection: sqlite3.Connection, path: Path) -> None:
    """Mark the file as FLEXT's and create the tables on a new file; refuse a newer layout."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        mark(connection, path)
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"event store schema version {version} is newer than this plugin's {SCHEMA_VERSION}"
            )
        if version < SCHEMA_VERSION:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    finally:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
