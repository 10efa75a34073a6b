"""What a ``--store`` path means to this backend: is a store there, and may one be created there.

* ``find_store`` is the backend's probe (``LocationSyntax.probe``): commands
  that only read open a store with ``create=False``, and a path with no event
  store file is then refused instead of becoming a new, empty store.
* ``open_event_store`` and ``writable_path`` serve the factories: a path a
  user named is created only in a directory that exists (a typo in a
  directory name must not build a tree of directories); the default file,
  under the user's data directory, is created with its directories.

sqlite3's errors on opening become the exceptions ``EventStores`` maps to
error codes: a file that is not an event store a ``ValueError``
(``VALIDATION_ERROR``), one that cannot be opened an ``OSError``
(``STORAGE_ERROR``), a missing directory a ``FileNotFoundError`` (``NOT_FOUND``).
"""

from __future__ import annotations

import errno
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

from flext_kernel.errors import NOT_FOUND, STORAGE_ERROR, VALIDATION_ERROR
from flext_kernel.result import Failure, FlextResult, Success
from flext_plugin_eventstore_sqlite.store import SQLiteEventStore, path_from_location

if TYPE_CHECKING:
    from flext_eventsourcing import EventCodec

__all__ = ["find_store", "open_event_store", "writable_path"]

_RECORDING = "commands that record events create it"


def find_store(location: str | None) -> FlextResult[None]:
    """Succeed if an event store file is at ``location`` (None: the default file); create nothing.

    A missing file is ``NOT_FOUND`` (``error_data["hint"]`` says how to
    create one); a directory, a file that is not a SQLite database, or a
    database without the event table is ``VALIDATION_ERROR``; a file that
    cannot be read is ``STORAGE_ERROR``.

    Raises:
        ValueError: ``location`` names no file (``:memory:``).

    """
    path = path_from_location(location)
    data = {"path": str(path)}
    if not path.exists():
        return Failure(
            f"no event store at {path}: the file does not exist",
            NOT_FOUND,
            {**data, "hint": _create_hint(location, path)},
        )
    if not path.is_file():
        return Failure(f"{path} is not an event store: it is a directory", VALIDATION_ERROR, data)
    try:
        # Read-only, so that a file that is not a database is not made one.
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as connection:
            table = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'flext_events'"
            ).fetchone()
    except sqlite3.OperationalError as exc:
        return Failure(f"cannot read the event store {path}: {exc}", STORAGE_ERROR, data)
    except sqlite3.DatabaseError as exc:
        return Failure(f"{path} is not an event store: {exc}", VALIDATION_ERROR, data)
    if table is None:
        return Failure(
            f"{path} is not an event store: a SQLite database without FLEXT's flext_events table",
            VALIDATION_ERROR,
            data,
        )
    return Success(None)


def _create_hint(location: str | None, path: Path) -> str:
    if not location:
        return f"{_RECORDING} (flext pipeline run NAME, flext events import FILE)"
    if not path.parent.is_dir():
        return (
            f"check the path: {path.parent} does not exist either; to start a store there, "
            f"create the directory, then record events into it (flext events import FILE --store {path})"
        )
    return f"check the path; {_RECORDING} (flext events import FILE --store {path})"


def writable_path(location: str | None) -> Path:
    """The file a factory opens at ``location``: the default file, or a path in an existing directory.

    Raises:
        FileNotFoundError: ``location`` names a file in a directory that does not exist.
        ValueError: ``location`` names no file (``:memory:``).

    """
    path = path_from_location(location)
    if location and not path.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"directory {path.parent} does not exist", str(path.parent))
    return path


def open_event_store(codec: EventCodec | None, location: str | None) -> SQLiteEventStore:
    """Open (or create) the event store at ``location`` for the backend's factory.

    Raises:
        FileNotFoundError: ``location`` names a file in a directory that does not exist.
        ValueError: no file named, or the file is not an event store this plugin can open.
        OSError: SQLite cannot open the file (permissions, a full disk).

    """
    path = writable_path(location)
    try:
        return SQLiteEventStore(codec, path=path)
    except sqlite3.OperationalError as exc:
        raise OSError(f"{path}: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"{path} is not an event store this plugin can open: {exc}") from exc
