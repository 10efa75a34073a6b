"""The target's connection to its SQLite file, and the one place driver errors become target errors.

Durability: the file is in WAL mode with ``synchronous=FULL``, so a COMMIT
has reached the disk when it returns, and a process killed at any instant
leaves every transaction either wholly in the file or wholly out of it.
Every write (a batch of rows, a table created or widened) is one
``BEGIN IMMEDIATE ... COMMIT``.
"""

from __future__ import annotations

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

    @property
    def connection(self) -> sqlite3.Connection:
        """The open connection (opening the file, WAL mode and ``synchronous=FULL`` the first time)."""
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
            connection.execute("PRAGMA synchronous = FULL")
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
            connection.execute("COMMIT")
        except BaseException as error:  # a disk error, or a signal's exception right after COMMIT returned
            self._rollback(connection)
            if isinstance(error, sqlite3.Error):
                raise storage_error(error, doing, self.path) from error
            raise

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
