"""The target's connection to its SQLite file, and the one place driver errors become target errors.

Durability: the file is in WAL mode, and every write (a batch of rows, a
table created or widened) is one ``BEGIN IMMEDIATE ... COMMIT``, so a process
killed at any instant leaves every transaction either wholly in the file or
wholly out of it (WAL mode is consistent at any synchronous level).

What reaches the disk when: batches are committed with ``synchronous=NORMAL``
(SQLite then syncs the WAL before each checkpoint, the database after it, and
the WAL's header when it is reused, but not the WAL at each commit), and
``sync`` forces what ``synchronous=FULL`` would have forced at the last commit,
an fsync of the WAL file (and of its directory once, for a new WAL), which
covers every commit before it. The target calls ``sync`` before it prints a
STATE and after an activation, so at each of those points the file holds,
on disk, every row the STATE covers, as with ``FULL``; the commits between two
STATEs, which no STATE covers yet, are no longer waited for one by one (an
fsync per batch of 10,000 rows was a fifth of a load's time). A power loss
can then take back commits after the last STATE printed: the next run
extracts those records again, as after a kill.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Final

from flext_plugin_sqlite._tables import TablePlan, quote
from flext_plugin_sqlite.errors import LockTimeout, SchemaError, StorageError, TargetError

__all__ = ["MINIMUM_SQLITE", "RECORD_ERROR_CODES", "Database", "storage_error"]

MINIMUM_SQLITE: Final = (3, 37, 0)
"""The oldest SQLite library that has STRICT tables."""

_BUSY: Final = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED
_CACHE_KIB: Final = 65_536
"""Page cache of the connection (64 MiB; SQLite's default is 2 MiB): the key index of a large table
stays in memory, instead of being read back for each batch."""
_CHECKPOINT_PAGES: Final = 16_384
"""Pages in the WAL (64 MiB of 4 KiB pages) before SQLite copies them into the database (default 1,000):
a batch of 10,000 wide rows alone fills 1,000, and each checkpoint waits for two fsyncs."""
RECORD_ERROR_CODES: Final = frozenset({18, 19, 20})
"""Primary SQLite result codes that blame one row: TOOBIG, CONSTRAINT, MISMATCH."""


def storage_error(error: sqlite3.Error | OSError, doing: str, path: Path) -> TargetError:
    """``error``, raised while ``doing`` something to the database at ``path``, as a target error."""
    if isinstance(error, OSError):
        return StorageError(f"cannot {doing} {path}: {error.strerror or error}")
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    if code in _BUSY:
        return LockTimeout(
            f"cannot {doing} {path}: another connection held the database locked for longer than the "
            "busy timeout; stop the other writer (another target run, an open transaction) and run again"
        )
    return StorageError(f"cannot {doing} {path}: {error}")


class Database:
    """One connection to the target's SQLite file, opened on first use."""

    def __init__(self, path: Path, *, busy_timeout: float = 30.0) -> None:
        self.path = path
        """The database file (created with its parent directories)."""
        self.busy_timeout = busy_timeout
        """Seconds a write waits for another connection's lock before failing with TIMEOUT."""
        self._connection: sqlite3.Connection | None = None
        self._unsynced = False  # a commit since the last sync
        self._directory_synced = False

    @property
    def connection(self) -> sqlite3.Connection:
        """The open connection (opening the file, WAL mode and ``synchronous=NORMAL`` the first time)."""
        if self._connection is None:
            self._connection = self._open()
        return self._connection

    def _open(self) -> sqlite3.Connection:
        if sqlite3.sqlite_version_info < MINIMUM_SQLITE:
            raise StorageError(
                f"this Python's SQLite library is {sqlite3.sqlite_version}; STRICT tables need "
                f"{'.'.join(map(str, MINIMUM_SQLITE))} or newer"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise storage_error(error, "create the directory of", self.path) from error
        try:
            connection = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        except sqlite3.Error as error:
            raise storage_error(error, "open", self.path) from error
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")  # and sync() before each STATE
            connection.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
            connection.execute(f"PRAGMA wal_autocheckpoint = {_CHECKPOINT_PAGES}")
        except sqlite3.Error as error:
            connection.close()
            raise storage_error(error, "open", self.path) from error
        return connection

    @contextmanager
    def transaction(self, doing: str = "write to") -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; anything raised inside (or a signal) rolls it back.

        Driver errors of BEGIN and COMMIT become ``StorageError``/``LockTimeout``; those
        raised inside the block are the caller's to explain.
        """
        connection = self.connection
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise storage_error(error, doing, self.path) from error
        try:
            yield connection
        except BaseException:
            self._rollback(connection)
            raise
        try:
            self._unsynced = True  # set first: a signal right after COMMIT must not leave it unsynced
            connection.execute("COMMIT")
        except BaseException as error:  # a disk error, or a signal's exception right after COMMIT returned
            self._rollback(connection)
            if isinstance(error, sqlite3.Error):
                raise storage_error(error, doing, self.path) from error
            raise

    def sync(self) -> None:
        """Make every transaction committed so far durable: what ``synchronous=FULL`` does at a COMMIT.

        In WAL mode a commit is on disk once the WAL file is (checkpointed
        frames are in the database file, which SQLite synced after copying
        them); the fsync of a file covers every write to it, whichever
        descriptor made it. The WAL's directory is synced too, once, as
        SQLite does for a new WAL.

        Raises:
            StorageError: The fsync failed (the commits may not be on disk).

        """
        if not self._unsynced:
            return
        real = Path(os.path.realpath(self.path))  # SQLite names the WAL after the file a symlink leads to
        wal = real.with_name(real.name + "-wal")
        try:
            try:
                descriptor = os.open(wal, os.O_RDONLY)
            except FileNotFoundError:
                descriptor = os.open(real, os.O_RDONLY)  # no WAL: everything is in the database file
        except OSError as error:
            raise storage_error(error, "sync", self.path) from error
        try:
            os.fsync(descriptor)
            if not self._directory_synced:
                _sync_directory(real.parent)
                self._directory_synced = True
        except OSError as error:
            raise storage_error(error, "sync", self.path) from error
        finally:
            os.close(descriptor)
        self._unsynced = False

    @staticmethod
    def _rollback(connection: sqlite3.Connection) -> None:
        if connection.in_transaction:
            with suppress(sqlite3.Error):  # the error that led here is the one to report
                connection.execute("ROLLBACK")

    def prepare(self, plan: TablePlan) -> None:
        """Create ``plan``'s table, or add the columns it lacks; check that its primary key is the stream's.

        Raises:
            SchemaError: The table exists with another primary key than the stream's key properties.
            StorageError: The file could not be written.

        """
        if not plan.columns:
            return  # nothing to store; a table needs a column
        try:
            with self.transaction("create a table in") as connection:
                existing = connection.execute(
                    "SELECT name, pk FROM pragma_table_info(?)", (plan.name,)
                ).fetchall()
                if not existing:
                    connection.execute(plan.create_statement())
                    return
                _check_key(plan, existing)
                strict = connection.execute(
                    "SELECT strict FROM pragma_table_list(?)", (plan.name,)
                ).fetchone()
                have = {str(name).casefold() for name, _ in existing}
                for column in plan.columns:
                    if column.name.casefold() not in have:
                        connection.execute(
                            plan.add_column_statement(column, strict=bool(strict and strict[0]))
                        )
        except sqlite3.Error as error:
            raise storage_error(error, f"create or alter table {quote(plan.name)} in", self.path) from error

    def columns(self, table: str) -> set[str]:
        """The names of ``table``'s columns, case-folded; empty if there is no such table.

        Raises:
            StorageError: The file could not be read.

        """
        try:
            rows = self.connection.execute("SELECT name FROM pragma_table_info(?)", (table,)).fetchall()
        except sqlite3.Error as error:
            raise storage_error(error, "read", self.path) from error
        return {str(name).casefold() for (name,) in rows}

    def close(self) -> None:
        """Close the connection (an open transaction is rolled back); the next use opens it again."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            with suppress(sqlite3.Error):
                connection.close()


def _sync_directory(directory: Path) -> None:
    """Sync ``directory`` to disk (where the OS can open one), so that a file created in it stays."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # Windows cannot open a directory; its files' entries are written with them
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _check_key(plan: TablePlan, existing: list[tuple[str, int]]) -> None:
    primary = [str(name) for name, position in sorted(existing, key=lambda row: row[1]) if position > 0]
    if [name.casefold() for name in primary] == [key.casefold() for key in plan.keys]:
        return
    has = f"primary key ({', '.join(primary)})" if primary else "no primary key"
    wants = f"key properties ({', '.join(plan.keys)})" if plan.keys else "no key properties"
    raise SchemaError(
        f"table {plan.name!r} has {has} but stream {plan.stream!r} has {wants}; SQLite cannot change a "
        "table's primary key: drop or rename the table, or load into another table_prefix"
    )
