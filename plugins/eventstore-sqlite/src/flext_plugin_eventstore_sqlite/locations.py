"""What a ``--store`` path means to this backend: is a store there, and may one be created there.

* ``find_store`` is the backend's probe (``LocationSyntax.probe``): commands
  that only read open a store with ``create=False``, and a path with no event
  store file is then refused instead of becoming a new, empty store.
* ``open_event_store`` and ``writable_path`` serve the factories: a path a
  user named is created only in a directory that exists (a typo in a
  directory name must not build a tree of directories); the default file,
  under the user's data directory, is created with its directories.

What is at the path is decided by ``files.inspect_file`` before anything
opens it: a file FLEXT did not create is refused (``NOT_A_FLEXT_STORE``) and
left untouched, by readers and writers alike. sqlite3's errors on opening
become the exceptions ``EventStores`` maps to error codes: one that cannot be
opened an ``OSError`` (``STORAGE_ERROR``), a missing directory a
``FileNotFoundError`` (``NOT_FOUND``).
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from flext_kernel.errors import NOT_FOUND, STORAGE_ERROR, VALIDATION_ERROR, FlextError
from flext_kernel.result import Failure, FlextResult, Success
from flext_plugin_eventstore_sqlite.files import FileKind, inspect_file, refusal
from flext_plugin_eventstore_sqlite.store import SQLiteEventStore, path_from_location

if TYPE_CHECKING:
    from flext_eventsourcing import EventCodec

__all__ = ["find_store", "open_event_store", "writable_path"]

_RECORDING = "commands that record events create it"


def find_store(location: str | None) -> FlextResult[None]:
    """Succeed if an event store FLEXT made is at ``location`` (None: the default file); change nothing.

    A missing or empty file is ``NOT_FOUND`` (``error_data["hint"]`` says how
    to create one); a directory ``VALIDATION_ERROR``; a file FLEXT did not
    create ``NOT_A_FLEXT_STORE`` (``files``: the file is only read); a file
    that cannot be read ``STORAGE_ERROR``.

    Raises:
        ValueError: ``location`` names no file (``:memory:``).

    """
    path = path_from_location(location)
    try:
        found = inspect_file(path)
    except OSError as exc:
        return Failure(f"cannot read the event store {path}: {exc}", STORAGE_ERROR, {"path": str(path)})
    refused = refusal(found, reading=True)
    if refused is None:
        return Success(None)
    data = dict(refused.error_data)
    if found.kind is FileKind.MISSING or (refused.error_code == NOT_FOUND and "hint" not in data):
        data["hint"] = _create_hint(location, path)
    return Failure(refused.message, refused.error_code or STORAGE_ERROR, data)


def _create_hint(location: str | None, path: Path) -> str:
    if not location:
        return f"{_RECORDING} (flext pipeline run NAME, flext events import FILE)"
    if path.parent.exists() and not path.parent.is_dir():
        return f"check the path: {path.parent} is a file, not a directory"
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
        FlextError: its "directory" is a file (``VALIDATION_ERROR``).
        ValueError: ``location`` names no file (``:memory:``).

    """
    path = path_from_location(location)
    if location and path.parent.exists() and not path.parent.is_dir():
        raise FlextError(
            f"cannot create the event store {path}: {path.parent} is a file, not a directory",
            VALIDATION_ERROR,
            {"path": str(path), "hint": "check --store"},
        )
    if location and not path.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"directory {path.parent} does not exist", str(path.parent))
    return path


def open_event_store(
    codec: EventCodec | None, location: str | None, *, read_only: bool = False
) -> SQLiteEventStore:
    """Open (or, unless ``read_only``, create) the event store at ``location`` for the backend's factory.

    Raises:
        FileNotFoundError: ``location`` names a file in a directory that does not exist.
        NotAFlextStoreError: the file is not one FLEXT created; nothing was written to it.
        FlextError: a directory, a newer layout, or (``read_only``) no store there.
        ValueError: no file named, or a file SQLite could not make an event store of.
        OSError: SQLite cannot open the file (permissions, a full disk).

    """
    path = path_from_location(location) if read_only else writable_path(location)
    try:
        return SQLiteEventStore(codec, path=path, read_only=read_only)
    except sqlite3.OperationalError as exc:
        raise OSError(f"{path}: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"{path} is not an event store this plugin can open: {exc}") from exc
