"""The command history: one SQLite table under the data dir, shared by the shell and every ``flext`` run.

``record`` is what the kernel calls when a command line ends (see docs/plugins/shell.md,
"Kernel hook"); it never raises, since a history that cannot be written must not fail a command.
A completion run (``FLEXT_COMP_LINE`` set: the shell asked for candidates on Tab) is not a
command line anybody typed and is not recorded. The table keeps the newest ``FLEXT_HISTORY_SIZE``
entries (default 10,000), cut after each insert, so it does not grow forever.
Stdlib only, so the hook costs a few milliseconds.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from flext_kernel.paths import data_dir
from flext_plugin_shell.redact import redact

__all__ = [
    "DEFAULT_SIZE",
    "SIZE_VARIABLE",
    "Entry",
    "active_profile",
    "database",
    "entries",
    "entry",
    "record",
    "record_line",
    "size",
]

SIZE_VARIABLE: Final = "FLEXT_HISTORY_SIZE"
DEFAULT_SIZE: Final = 10_000
"""How many entries the history keeps (the newest) unless ``FLEXT_HISTORY_SIZE`` says otherwise."""

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    profile TEXT NOT NULL,
    command TEXT NOT NULL,
    exit_code INTEGER NOT NULL,
    duration REAL NOT NULL,
    source TEXT NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class Entry:
    """One command line that ran."""

    id: int
    """Its number, for ``!N`` in the shell."""
    time: float
    """When it started (seconds since the epoch)."""
    profile: str
    """The active profile (``FLEXT_PROFILE``)."""
    command: str
    """The command line after ``flext``, secrets redacted."""
    exit_code: int
    """How it ended."""
    duration: float
    """How long it ran, in seconds."""
    source: str
    """``shell`` or ``cli``."""


def active_profile() -> str:
    """``FLEXT_PROFILE``, else ``default``."""
    return os.environ.get("FLEXT_PROFILE") or "default"


def size() -> int:
    """``FLEXT_HISTORY_SIZE`` when it is a positive whole number, else ``DEFAULT_SIZE``."""
    given = os.environ.get(SIZE_VARIABLE, "").strip()
    return int(given) if given.isdigit() and int(given) > 0 else DEFAULT_SIZE


def database() -> Path:
    """``<data dir>/history.db``."""
    return data_dir() / "history.db"


@contextlib.contextmanager
def _connected() -> Iterator[sqlite3.Connection]:
    path = database()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fresh = not path.exists()
    connection = sqlite3.connect(path, timeout=5)
    try:
        if fresh:
            os.chmod(path, 0o600)
        connection.execute(_SCHEMA)
        with connection:
            yield connection
    finally:
        connection.close()


def record(argv: list[str], exit_code: int, duration: float, *, source: str = "cli") -> int | None:
    """Append ``argv`` (the words after ``flext``, redacted here) to the history; its id, or None.

    Never raises: a read-only or damaged history costs the entry, not the command.
    """
    if not argv or "FLEXT_COMP_LINE" in os.environ:
        return None
    return record_line(shlex.join(redact(list(argv))), exit_code, duration, source=source)


def record_line(command: str, exit_code: int, duration: float, *, source: str) -> int | None:
    """Append an already redacted command line; its id, or None when the history cannot be written."""
    try:
        with _connected() as connection:
            cursor = connection.execute(
                "INSERT INTO history (time, profile, command, exit_code, duration, source)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (time.time() - duration, active_profile(), command, int(exit_code), float(duration), source),
            )
            # The newest size() rows stay (ids need not be dense): the oldest kept is found by offset.
            connection.execute(
                "DELETE FROM history WHERE id < (SELECT id FROM history ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (size() - 1,),
            )
            return cursor.lastrowid
    except (sqlite3.Error, OSError):
        return None


def entries(
    *, search: str | None = None, failed: bool = False, since: float | None = None, limit: int | None = None
) -> list[Entry]:
    """The newest ``limit`` entries matching the filters, oldest first.

    Raises:
        sqlite3.Error: the history cannot be read (the command reports it as ``STORAGE_ERROR``).
        OSError: the data dir cannot be created.

    """
    clauses: list[str] = ["1=1"]
    values: list[object] = []
    if search:
        clauses.append("instr(lower(command), lower(?)) > 0")
        values.append(search)
    if failed:
        clauses.append("exit_code != 0")
    if since is not None:
        clauses.append("time >= ?")
        values.append(since)
    sql = f"SELECT * FROM history WHERE {' AND '.join(clauses)} ORDER BY id DESC"  # fixed clauses
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    if not database().exists():
        return []
    with _connected() as connection:
        rows = connection.execute(sql, values).fetchall()
    return [Entry(*row) for row in reversed(rows)]


def entry(number: int) -> Entry | None:
    """Entry ``number``, or None.

    Raises:
        sqlite3.Error: the history cannot be read.

    """
    if not database().exists():
        return None
    with _connected() as connection:
        row = connection.execute("SELECT * FROM history WHERE id = ?", (number,)).fetchone()
    return Entry(*row) if row else None
