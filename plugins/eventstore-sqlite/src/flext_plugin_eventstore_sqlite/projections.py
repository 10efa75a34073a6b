"""SQLiteProjectionStore: read models and their checkpoints in the event store's SQLite file.

Layout, next to the event tables::

    flext_projections(id INTEGER PRIMARY KEY, name, generation, version, position,
                      state, error, updated_at, UNIQUE(name, generation))
    flext_projection_generations(name PRIMARY KEY, last_generation)  -- numbers are never given twice
    flext_rmgen_<id>(key TEXT PRIMARY KEY, document TEXT)   -- one table per generation
    VIEW flext_rm_<name>                                     -- the live generation

Readers query the view (``SELECT key, document FROM "flext_rm_balances"``,
``document`` being JSON text) or use ``documents()``. Why it is safe:

* ``commit`` is one ``BEGIN IMMEDIATE`` transaction that checks the
  checkpoint, writes the documents and moves the checkpoint: a process killed
  at any point leaves all of it or none (WAL journal).
* ``promote`` re-points the view, drops the older generations and marks the
  new one live in one transaction; a reader sees the old view or the new one.
* Tables are named by the generation's row id, never by the projection's
  name, so no two names can collide.
* ``get_many`` reads any number of documents in one read transaction: the
  generation's row, then its table, so both come from one snapshot (SQLite
  may give a dropped generation's row id to a new one, so the table is
  looked up each time, which in-process costs a few microseconds).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from typing_extensions import override

from flext_eventsourcing import (
    Document,
    NotAFlextStoreError,
    ProjectionCheckpoint,
    ProjectionState,
    ProjectionStore,
    ProjectionStoreError,
    check_projection_name,
    encode_changes,
)
from flext_kernel.errors import STORAGE_ERROR, TIMEOUT
from flext_plugin_eventstore_sqlite.files import inspect_file, mark, refusal

__all__ = ["SQLiteProjectionStore"]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS flext_projections (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    generation INTEGER NOT NULL,
    version INTEGER NOT NULL,
    position INTEGER NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    updated_at TEXT NOT NULL,
    UNIQUE (name, generation)
)
"""
# The highest generation number each projection was ever given, so that a dropped generation's number
# is never given again (see ProjectionStore.create_generation). Made by the first create_generation
# (a write anyway), not on open, so that a file made before it still opens read-only; until then the
# numbers continue from the generations the file holds.
_GENERATIONS_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS flext_projection_generations (
    name TEXT PRIMARY KEY,
    last_generation INTEGER NOT NULL
)
"""
_COLUMNS: Final = "name, generation, version, position, state, error, updated_at"
_KEYS_PER_SELECT: Final = 500
"""Keys per ``get_many`` query, well under SQLite's limit on bound parameters."""


def _table(row_id: int) -> str:
    return f'"flext_rmgen_{int(row_id)}"'


def _view(name: str) -> str:
    return f'"flext_rm_{check_projection_name(name)}"'


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _checkpoint(row: tuple[object, ...]) -> ProjectionCheckpoint:
    name, generation, version, position, state, error, updated_at = row
    return ProjectionCheckpoint(
        name=str(name),
        generation=int(generation),  # type: ignore[call-overload]  # INTEGER columns
        version=int(version),  # type: ignore[call-overload]
        position=int(position),  # type: ignore[call-overload]
        state=ProjectionState(str(state)),
        error=None if error is None else str(error),
        updated_at=datetime.fromisoformat(str(updated_at)),
    )


class SQLiteProjectionStore(ProjectionStore):
    """Projection read models in a SQLite file (normally the event store's own).

    Args:
        path: the database file (created if missing).
        busy_timeout: seconds to wait for another writer before failing with ``TIMEOUT``.

    """

    def __init__(self, path: Path | str, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        """The database file."""
        self.busy_timeout = busy_timeout
        """Seconds to wait for another writer."""
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._closed = False

    @contextmanager
    def _session(self, write: bool) -> Iterator[sqlite3.Connection]:
        """One transaction on the store's connection; SQLite errors become ``ProjectionStoreError``."""
        with self._lock:
            if self._closed:
                raise ProjectionStoreError("the projection store is closed", STORAGE_ERROR)
            try:
                connection = self._connection or self._open()
                connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield connection
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._translate(exc) from exc

    def _open(self) -> sqlite3.Connection:
        """Connect, once a look at the file found it FLEXT's (or nothing); mark it and add the table."""
        try:
            refused = refusal(inspect_file(self.path), reading=False)
        except OSError as exc:
            raise ProjectionStoreError(str(exc), STORAGE_ERROR, {"path": str(self.path)}) from exc
        if refused is not None:
            raise ProjectionStoreError(refused.message, refused.error_code, refused.error_data)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("BEGIN IMMEDIATE")
            mark(connection, self.path)
            connection.execute(_SCHEMA)
            connection.execute("COMMIT")
        except NotAFlextStoreError as exc:
            connection.close()
            raise ProjectionStoreError(exc.message, exc.error_code, exc.error_data) from exc
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def _translate(self, exc: sqlite3.Error) -> ProjectionStoreError:
        data = {"path": str(self.path), "exception_type": type(exc).__name__}
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return ProjectionStoreError(
                f"another writer held {self.path} for longer than {self.busy_timeout}s", TIMEOUT, data
            )
        return ProjectionStoreError(f"the projection store {self.path} failed: {exc}", STORAGE_ERROR, data)

    @staticmethod
    def _row(
        connection: sqlite3.Connection, name: str, generation: int
    ) -> tuple[int, int, str | None] | None:
        row = connection.execute(
            "SELECT id, position, error FROM flext_projections WHERE name = ? AND generation = ?",
            (name, generation),
        ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]), row[2])

    @override
    def checkpoints(self, name: str | None = None) -> list[ProjectionCheckpoint]:
        with self._session(write=False) as connection:
            if name is None:
                rows = connection.execute(
                    f"SELECT {_COLUMNS} FROM flext_projections ORDER BY name, generation"
                )
            else:
                rows = connection.execute(
                    f"SELECT {_COLUMNS} FROM flext_projections WHERE name = ? ORDER BY generation", (name,)
                )
            return [_checkpoint(row) for row in rows.fetchall()]

    @override
    def create_generation(self, name: str, version: int) -> ProjectionCheckpoint:
        check_projection_name(name)
        with self._session(write=True) as connection:
            connection.execute(_GENERATIONS_SCHEMA)
            (generation,) = connection.execute(
                "SELECT 1 + max("
                "coalesce((SELECT max(generation) FROM flext_projections WHERE name = ?1), 0), "
                "coalesce((SELECT last_generation FROM flext_projection_generations WHERE name = ?1), 0))",
                (name,),
            ).fetchone()
            connection.execute(
                "INSERT INTO flext_projection_generations (name, last_generation) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET last_generation = excluded.last_generation",
                (name, generation),
            )
            cursor = connection.execute(
                f"INSERT INTO flext_projections ({_COLUMNS}) VALUES (?, ?, ?, 0, ?, NULL, ?)",
                (name, generation, version, ProjectionState.BUILDING.value, _now()),
            )
            assert cursor.lastrowid is not None
            connection.execute(
                f"CREATE TABLE {_table(cursor.lastrowid)} (key TEXT PRIMARY KEY, document TEXT NOT NULL)"
            )
            row = connection.execute(
                f"SELECT {_COLUMNS} FROM flext_projections WHERE id = ?", (cursor.lastrowid,)
            ).fetchone()
            return _checkpoint(row)

    @override
    def get(self, name: str, generation: int, key: str) -> Document | None:
        return self.get_many(name, generation, (key,)).get(key)

    @override
    def get_many(self, name: str, generation: int, keys: Iterable[str]) -> dict[str, Document]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        rows: list[tuple[str, str]] = []
        with self._session(write=False) as connection:
            found = self._row(connection, name, generation)
            if found is None:
                return {}
            for start in range(0, len(wanted), _KEYS_PER_SELECT):
                chunk = wanted[start : start + _KEYS_PER_SELECT]
                marks = ", ".join("?" * len(chunk))
                query = f"SELECT key, document FROM {_table(found[0])} WHERE key IN ({marks})"
                rows += connection.execute(query, chunk).fetchall()
        return {key: dict(json.loads(text)) for key, text in rows}

    @override
    def commit(
        self,
        name: str,
        generation: int,
        expected_position: int,
        position: int,
        changes: Mapping[str, Document | None],
    ) -> bool:
        puts, deletes = encode_changes(changes)
        with self._session(write=True) as connection:
            found = self._row(connection, name, generation)
            if found is None or found[2] is not None or found[1] != expected_position:
                return False
            table = _table(found[0])
            if puts:
                connection.executemany(
                    f"INSERT INTO {table} (key, document) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET document = excluded.document",
                    puts,
                )
            if deletes:
                connection.executemany(f"DELETE FROM {table} WHERE key = ?", [(key,) for key in deletes])
            connection.execute(
                "UPDATE flext_projections SET position = ?, updated_at = ? WHERE id = ?",
                (position, _now(), found[0]),
            )
            return True

    @override
    def promote(self, name: str, generation: int) -> bool:
        with self._session(write=True) as connection:
            found = self._row(connection, name, generation)
            if found is None or found[2] is not None:
                return False
            older = connection.execute(
                "SELECT id FROM flext_projections WHERE name = ? AND generation < ?", (name, generation)
            ).fetchall()
            connection.execute(f"DROP VIEW IF EXISTS {_view(name)}")
            for (row_id,) in older:
                connection.execute(f"DROP TABLE IF EXISTS {_table(row_id)}")
                connection.execute("DELETE FROM flext_projections WHERE id = ?", (row_id,))
            connection.execute(f"CREATE VIEW {_view(name)} AS SELECT key, document FROM {_table(found[0])}")
            connection.execute(
                "UPDATE flext_projections SET state = ?, updated_at = ? WHERE id = ?",
                (ProjectionState.LIVE.value, _now(), found[0]),
            )
            return True

    @override
    def mark_failed(self, name: str, generation: int, error: str) -> None:
        with self._session(write=True) as connection:
            connection.execute(
                "UPDATE flext_projections SET error = ?, updated_at = ? WHERE name = ? AND generation = ?",
                (error, _now(), name, generation),
            )

    @override
    def drop(self, name: str, generation: int | None = None) -> None:
        with self._session(write=True) as connection:
            rows = connection.execute(
                "SELECT id, state FROM flext_projections WHERE name = ? AND (? IS NULL OR generation = ?)",
                (name, generation, generation),
            ).fetchall()
            for row_id, state in rows:
                if state == ProjectionState.LIVE.value:
                    connection.execute(f"DROP VIEW IF EXISTS {_view(name)}")
                connection.execute(f"DROP TABLE IF EXISTS {_table(row_id)}")
                connection.execute("DELETE FROM flext_projections WHERE id = ?", (row_id,))

    @override
    def documents(self, name: str, generation: int | None = None) -> Iterator[tuple[str, Document]]:
        with self._session(write=False) as connection:
            if generation is None:
                row = connection.execute(
                    "SELECT id FROM flext_projections WHERE name = ? AND state = ? "
                    "ORDER BY generation DESC LIMIT 1",
                    (name, ProjectionState.LIVE.value),
                ).fetchone()
            else:
                row = connection.execute(
                    "SELECT id FROM flext_projections WHERE name = ? AND generation = ?", (name, generation)
                ).fetchone()
            rows = (
                []
                if row is None
                else connection.execute(f"SELECT key, document FROM {_table(row[0])} ORDER BY key").fetchall()
            )
        for key, text in rows:
            yield key, dict(json.loads(text))

    @override
    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._connection is not None:
                self._connection.close()
                self._connection = None
