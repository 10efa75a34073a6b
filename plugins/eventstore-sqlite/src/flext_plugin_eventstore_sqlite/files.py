"""What is at a ``--store`` path: nothing, an event store FLEXT made, or somebody else's file.

FLEXT marks every SQLite file it creates with ``PRAGMA application_id =
APPLICATION_ID`` (the bytes ``FLXT``), in the transaction that creates its
tables. A file is FLEXT's when it carries that mark, or, made before FLEXT
marked its files, when it has no mark (``application_id`` 0), a
``user_version`` FLEXT gives (0 or 1), FLEXT's ``flext_events`` or
``flext_projections`` table, and no schema object whose name does not start
with ``flext_`` (or SQLite's own ``sqlite_``). A writer marks such a file the
first time it opens it; a reader leaves it as it is.

Anything else is refused before any statement or pragma that could change it
(``NotAFlextStoreError``): a file that is not a SQLite database, a database
with another application's mark, or one with tables FLEXT did not make. An
empty file (0 bytes, or a database with no schema object, no mark and
``user_version`` 0) holds no store: readers say so, writers make one in it.

Looking is read-only: the first 100 bytes (SQLite's header) are read as
bytes, and the schema, where needed, through a ``mode=ro`` connection, with
``immutable=1`` when no ``-wal`` file is next to the database, so that
looking at another application's WAL database does not leave ``-wal`` and
``-shm`` files beside it.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Final

from flext_eventsourcing import NotAFlextStoreError
from flext_kernel.errors import NOT_FOUND, VALIDATION_ERROR, FlextError

__all__ = ["APPLICATION_ID", "FileKind", "StoreFile", "inspect_file", "mark", "refusal"]

APPLICATION_ID: Final = 0x464C5854
"""``PRAGMA application_id`` of the SQLite files FLEXT creates: the bytes ``FLXT``."""

_MAGIC: Final = b"SQLite format 3\x00"
_HEADER: Final = 100
_LEGACY_USER_VERSIONS: Final = (0, 1)  # what FLEXT set before it marked its files
_FLEXT_TABLES: Final = ("flext_events", "flext_projections")
_LISTED: Final = 5  # foreign tables named in a refusal


class FileKind(Enum):
    """What a path holds, as far as an event store is concerned."""

    MISSING = "missing"
    """Nothing: a store may be created there."""
    DIRECTORY = "directory"
    """A directory: no store can be there."""
    EMPTY = "empty"
    """An empty file or database: no store yet, and nothing a store would overwrite."""
    FLEXT = "flext"
    """A database FLEXT made (marked, or from before the mark)."""
    NOT_SQLITE = "not_sqlite"
    """A file that is not a SQLite database."""
    FOREIGN = "foreign"
    """A SQLite database another application made."""


@dataclass(frozen=True, slots=True)
class StoreFile:
    """What ``inspect_file`` found at a path."""

    path: Path
    """The path looked at."""
    kind: FileKind
    """What is there."""
    application_id: int = 0
    """The database's ``application_id`` (0: none set)."""
    user_version: int = 0
    """The database's ``user_version``."""
    objects: tuple[str, ...] = ()
    """The names of its schema objects (tables, indexes, views, triggers), sorted."""

    @property
    def marked(self) -> bool:
        """True if it carries FLEXT's ``application_id``."""
        return self.application_id == APPLICATION_ID

    @property
    def has_events(self) -> bool:
        """True if it holds FLEXT's event table."""
        return "flext_events" in self.objects


def inspect_file(path: Path) -> StoreFile:
    """Find out what is at ``path`` without changing anything there.

    Raises:
        OSError: the file cannot be read (permissions), or SQLite cannot open it (locked, say).

    """
    if not path.exists():
        return StoreFile(path, FileKind.MISSING)
    if path.is_dir():
        return StoreFile(path, FileKind.DIRECTORY)
    with path.open("rb") as handle:
        header = handle.read(_HEADER)
    wal = path.with_name(path.name + "-wal")
    if not header and not wal.exists():
        return StoreFile(path, FileKind.EMPTY)
    if header and (len(header) < _HEADER or not header.startswith(_MAGIC)):
        return StoreFile(path, FileKind.NOT_SQLITE)
    application_id = int.from_bytes(header[68:72], "big", signed=True) if header else 0
    if application_id not in (0, APPLICATION_ID):  # another application's mark: not even opened
        return StoreFile(path, FileKind.FOREIGN, application_id)
    return _classify(path, *_read_schema(path, immutable=not wal.exists()))


def _read_schema(path: Path, *, immutable: bool) -> tuple[int, int, tuple[str, ...]]:
    """The ``application_id``, ``user_version`` and schema object names, read without writing."""
    uri = f"{path.resolve().as_uri()}?mode=ro" + ("&immutable=1" if immutable else "")
    try:
        with closing(sqlite3.connect(uri, uri=True)) as connection:
            (application_id,) = connection.execute("PRAGMA application_id").fetchone()
            (user_version,) = connection.execute("PRAGMA user_version").fetchone()
            names = connection.execute("SELECT name FROM sqlite_master ORDER BY name").fetchall()
    except sqlite3.OperationalError as exc:
        raise OSError(f"cannot read {path}: {exc}") from exc
    except sqlite3.DatabaseError:  # a header that looks right over pages that are not a database
        return -1, 0, ()
    return int(application_id), int(user_version), tuple(str(name) for (name,) in names)


def _classify(path: Path, application_id: int, user_version: int, objects: tuple[str, ...]) -> StoreFile:
    found = StoreFile(path, FileKind.FOREIGN, application_id, user_version, objects)
    if application_id == -1:
        return StoreFile(path, FileKind.NOT_SQLITE)
    if application_id == APPLICATION_ID:
        return StoreFile(path, FileKind.FLEXT, application_id, user_version, objects)
    if application_id != 0:
        return found
    if not objects and user_version == 0:
        return StoreFile(path, FileKind.EMPTY)
    if (
        user_version in _LEGACY_USER_VERSIONS
        and any(table in objects for table in _FLEXT_TABLES)
        and not _foreign_objects(objects)
    ):
        return StoreFile(path, FileKind.FLEXT, application_id, user_version, objects)
    return found


def _foreign_objects(objects: tuple[str, ...]) -> list[str]:
    return [name for name in objects if not name.startswith(("flext_", "sqlite_"))]


def refusal(found: StoreFile, *, reading: bool) -> FlextError | None:
    """Why a store cannot be opened at ``found.path``, as the exception to raise; None if it can.

    ``reading``: the caller only reads, so a path with no store (missing,
    empty, or a FLEXT file without events yet) is refused too (``NOT_FOUND``).
    A FLEXT file of a newer layout is the caller's to refuse: it knows its layout.
    """
    path = found.path
    data: dict[str, object] = {"path": str(path)}
    if reading and found.kind is FileKind.MISSING:
        return FlextError(f"no event store at {path}: the file does not exist", NOT_FOUND, data)
    if found.kind is FileKind.DIRECTORY:
        return FlextError(
            f"{path} is a directory, not an event store file",
            VALIDATION_ERROR,
            {**data, "hint": f"name a file in it: --store {path / 'events.db'}"},
        )
    if found.kind in (FileKind.NOT_SQLITE, FileKind.FOREIGN):
        return NotAFlextStoreError(
            f"{path} is not a FLEXT event store: it is {_describe(found)}; FLEXT leaves it untouched",
            {
                **data,
                "application_id": found.application_id,
                "hint": "check --store: name a FLEXT event store, or a new file for commands that record "
                "events to create",
            },
        )
    if not reading:
        return None
    if found.kind is FileKind.EMPTY:
        return FlextError(f"no event store at {path}: the file is empty", NOT_FOUND, data)
    if found.kind is FileKind.FLEXT and not found.has_events:
        return FlextError(f"no event store at {path}: it holds no events yet", NOT_FOUND, data)
    return None


def _describe(found: StoreFile) -> str:
    if found.kind is FileKind.NOT_SQLITE:
        return "not a SQLite database"
    if found.application_id:
        return f"a SQLite database of another application (application_id {found.application_id:#010x})"
    foreign = _foreign_objects(found.objects)
    if foreign:
        listed = ", ".join(foreign[:_LISTED]) + (", ..." if len(foreign) > _LISTED else "")
        return f"a SQLite database of another application (tables: {listed})"
    return f"a SQLite database of another application (user_version {found.user_version})"


def mark(connection: sqlite3.Connection, path: Path) -> None:
    """Mark the database at ``path`` as FLEXT's, inside the caller's write transaction on ``connection``.

    Raises:
        NotAFlextStoreError: another application marked or filled it since it was inspected.

    """
    (application_id,) = connection.execute("PRAGMA application_id").fetchone()
    if application_id == APPLICATION_ID:
        return
    names = tuple(str(name) for (name,) in connection.execute("SELECT name FROM sqlite_master"))
    (user_version,) = connection.execute("PRAGMA user_version").fetchone()
    found = _classify(path, int(application_id), int(user_version), tuple(sorted(names)))
    if found.kind not in (FileKind.EMPTY, FileKind.FLEXT):
        refused = refusal(found, reading=False)
        assert isinstance(refused, NotAFlextStoreError)
        raise refused
    connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
