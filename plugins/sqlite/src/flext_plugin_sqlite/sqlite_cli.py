"""``flext data sqlite``: look into a SQLite file (what ``target-sqlite`` loaded), read-only.

- ``tables DATABASE``: every table (and view) with its row and column counts;
- ``query DATABASE SQL``: one read-only statement's rows.

The file is opened with ``mode=ro``, so no statement can change it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Final

from flext_kernel.errors import NOT_FOUND, STORAGE_ERROR, VALIDATION_ERROR
from flext_sdk.cli import EXIT_FAILED, EXIT_USAGE, current, emit, emit_error, emit_table, note

__all__ = ["query", "tables"]

_BAD_INPUT: Final = frozenset({1, 8, 26})  # SQLITE_ERROR (bad SQL), SQLITE_READONLY, SQLITE_NOTADB


class _Refused(Exception):
    """A failure already reported; carries the exit code."""

    def __init__(self, exit_code: int) -> None:
        super().__init__(exit_code)
        self.exit_code = exit_code


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _report(error: sqlite3.Error, database: Path, doing: str) -> int:
    """The one place a driver error becomes ``error: ... (CODE)`` and an exit code."""
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if code is not None else 1  # the driver's own errors (two statements) are bad input
    message = " ".join(str(error).split())
    if primary == 26:
        return emit_error(
            f"{database} is not a SQLite database ({message})",
            VALIDATION_ERROR,
            hint="name the file target-sqlite wrote (its 'database' setting)",
            exit_code=EXIT_USAGE,
        )
    if primary == 8:
        return emit_error(
            f"the statement would change {database}: {message}",
            VALIDATION_ERROR,
            hint="flext data sqlite query only reads (SELECT, WITH, read-only PRAGMAs)",
            exit_code=EXIT_USAGE,
        )
    if primary in _BAD_INPUT:
        return emit_error(
            f"cannot {doing}: {message}",
            VALIDATION_ERROR,
            hint=f"flext data sqlite tables {database} lists the tables; one statement per call",
            exit_code=EXIT_USAGE,
        )
    return emit_error(
        f"cannot {doing} {database}: {message}", STORAGE_ERROR, hint=None, exit_code=EXIT_FAILED
    )


@contextmanager
def _read_only(database: Path) -> Iterator[sqlite3.Connection]:
    """``database`` opened read-only; raises ``_Refused`` after reporting a missing or unreadable file."""
    if not database.is_file():
        what = "is a directory" if database.is_dir() else "does not exist"
        raise _Refused(
            emit_error(
                f"{database} {what}",
                NOT_FOUND,
                hint="name the SQLite file target-sqlite wrote (its 'database' setting)",
                exit_code=EXIT_USAGE,
            )
        )
    try:
        connection = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
        connection.execute("PRAGMA query_only = ON")
    except sqlite3.Error as error:
        raise _Refused(_report(error, database, "open")) from error
    with closing(connection):
        yield connection


def _listing(connection: sqlite3.Connection) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    found = connection.execute(
        "SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view') "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
    ).fetchall()
    for name, kind in found:
        columns = len(connection.execute("SELECT name FROM pragma_table_info(?)", (name,)).fetchall())
        try:
            count: int | None = connection.execute(f"SELECT count(*) FROM {_quote(name)}").fetchone()[0]
        except sqlite3.OperationalError:
            count = None  # a view over a table that is gone
        rows.append({"table": name, "type": kind, "rows": count, "columns": columns})
    return rows


def tables(database: Path) -> int:
    """List the tables (and views) of a SQLite file with their row and column counts.

    Args:
        database: The SQLite file, e.g. the 'database' setting of target-sqlite.

    """
    try:
        with _read_only(database) as connection:
            rows = _listing(connection)
    except _Refused as refused:
        return refused.exit_code
    except sqlite3.Error as error:
        return _report(error, database, "read")
    if not rows:
        note(f"{database} has no tables")
    return emit_table(rows, ["table", "type", "rows", "columns"], title=str(database))


def _cell(value: Any) -> Any:
    return value.hex() if isinstance(value, bytes) else value


def _names(description: Any) -> list[str]:
    """Column names of a result, made unique (``SELECT a, a`` gives ``a`` and ``a_2``)."""
    names: list[str] = []
    for column in description:
        name, suffix = str(column[0]), 2
        while name in names:
            name, suffix = f"{column[0]}_{suffix}", suffix + 1
        names.append(name)
    return names


def query(database: Path, sql: str, *, limit: int = 100) -> int:
    """Run one read-only SQL statement on a SQLite file and print its rows.

    Args:
        database: The SQLite file, e.g. the 'database' setting of target-sqlite.
        sql: One statement: SELECT, WITH, or a PRAGMA that only reads. The file is opened read-only.
        limit: Print at most this many rows; 0 prints them all.

    """
    if limit < 0:
        return emit_error(
            f"--limit must be 0 or more, not {limit}", VALIDATION_ERROR, hint=None, exit_code=EXIT_USAGE
        )
    try:
        with _read_only(database) as connection:
            cursor = connection.execute(sql)
            if cursor.description is None:
                return emit([], human="the statement returned no rows")
            names = _names(cursor.description)
            fetched = cursor.fetchmany(limit + 1) if limit else cursor.fetchall()
    except _Refused as refused:
        return refused.exit_code
    except sqlite3.Error as error:
        return _report(error, database, "run the statement")
    shown = fetched[:limit] if limit else fetched
    if limit and len(fetched) > limit:
        note(f"showing the first {limit} rows; --limit 0 shows them all")
    rows = [{name: _cell(value) for name, value in zip(names, row, strict=True)} for row in shown]
    if current().output != "table":
        return emit(rows, raw_keys=True)  # the columns are the user's own names
    return emit_table(rows, names, raw_keys=True)
