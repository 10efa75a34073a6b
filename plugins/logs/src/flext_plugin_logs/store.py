"""The log store: one SQLite file, an FTS5 index over its lines, WAL, retention by size and age.

Many processes write at once (the CLI, a background pipeline run, the
scheduler), so the file is in WAL mode with a busy timeout, and every write
is one short transaction of a batch. Lines are rows of ``lines``; the FTS5
table ``lines_fts`` indexes their message and fields as *external content*
(triggers keep it in step), so the text is stored once.

A search asks FTS5 for matching rowids newest first and stops at the limit,
so a common word costs no more than a rare one; the other filters (time,
level, plugin, pipeline) are checked on the joined rows, except a
correlation id, whose few lines are read through their index first
(``_select``).

Retention deletes the lines older than the age limit, and, while the
pages in use exceed the size limit, the oldest lines down to 80% of it; the
file's free pages are then given back (``auto_vacuum=INCREMENTAL``).

Driver errors become ``LOG_STORE_FAILED`` (or ``LOG_QUERY_INVALID`` for a
query FTS5 refuses) here and nowhere else.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from flext_plugin_logs.errors import LOG_QUERY_INVALID, LOG_STORE_FAILED
from flext_plugin_logs.query import fts_query
from flext_sdk import FlextResult

__all__ = ["Filters", "LogStore", "Row", "StoredLine", "check_query"]

SCHEMA_VERSION: Final = 2
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    level INTEGER NOT NULL,
    logger TEXT NOT NULL,
    plugin TEXT,
    pipeline TEXT,
    run_id TEXT,
    correlation_id TEXT,
    message TEXT NOT NULL,
    fields TEXT
);
CREATE INDEX IF NOT EXISTS lines_ts ON lines(ts);
CREATE INDEX IF NOT EXISTS lines_correlation ON lines(correlation_id) WHERE correlation_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS lines_pipeline ON lines(pipeline) WHERE pipeline IS NOT NULL;
CREATE VIRTUAL TABLE IF NOT EXISTS lines_fts USING fts5(
    message, fields, content='lines', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS lines_added AFTER INSERT ON lines BEGIN
    INSERT INTO lines_fts(rowid, message, fields) VALUES (new.id, new.message, coalesce(new.fields, ''));
END;
CREATE TRIGGER IF NOT EXISTS lines_removed AFTER DELETE ON lines BEGIN
    INSERT INTO lines_fts(lines_fts, rowid, message, fields)
        VALUES ('delete', old.id, old.message, coalesce(old.fields, ''));
END;
CREATE TABLE IF NOT EXISTS ingested (
    path TEXT PRIMARY KEY,
    offset INTEGER NOT NULL,
    correlation_id TEXT,
    last_ts REAL,
    last_source TEXT
);
"""
_LAST_LINE: Final = ("last_ts REAL", "last_source TEXT")
"""The columns version 2 added to ``ingested``: the time and source of a run log's last line read."""
_COLUMNS: Final = "id, ts, level, logger, plugin, pipeline, run_id, correlation_id, message, fields"
_INSERT: Final = (
    "INSERT INTO lines (ts, level, logger, plugin, pipeline, run_id, correlation_id, message, fields) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_FROM_FTS: Final = "FROM lines_fts f JOIN lines l ON l.id = f.rowid WHERE lines_fts MATCH ?"
_JOINED: Final = ", ".join(f"l.{column.strip()}" for column in _COLUMNS.split(","))
_BUSY_TIMEOUT_MS: Final = 5000
_WAL_LIMIT: Final = 64 * 1024 * 1024
"""Bytes the WAL file is cut back to after a checkpoint (a large retention pass may grow it)."""
_SIZE_ROUNDS: Final = 4
"""Passes of deleting the oldest lines and compacting, at most, to get under the size limit."""
_MERGE_PAGES: Final = 256
"""Pages of index one merge step writes, about; a step is one short transaction."""
_MERGE_STEPS: Final = 10_000
"""Merge steps of one compaction, at most (a bound, not a target: it stops when nothing is left)."""
_KEEP_FRACTION: Final = 0.8
"""Size retention deletes down to this fraction of the limit, so it does not run at every batch."""


Row = tuple[float, int, str, str | None, str | None, str | None, str | None, str, str | None]
"""A line to insert: ts, level, logger, plugin, pipeline, run_id, correlation_id, message, fields (JSON)."""


@dataclass(frozen=True, slots=True)
class StoredLine:
    """One stored line, as the commands print it."""

    id: int
    """Its position in the store (later lines have larger ids)."""
    time: float
    """When it was logged, seconds since the epoch (UTC)."""
    level: int
    """Its ``logging`` level number."""
    logger: str
    """The logger, or for a pipeline's line the process that printed it (``tap-x``, ``flext``)."""
    plugin: str | None
    """The plugin that logged it (``pipeline`` for a run's lines); None when unknown."""
    pipeline: str | None
    """The pipeline of a run's line."""
    run_id: str | None
    """The run of a run's line."""
    correlation_id: str | None
    """The user action it belongs to."""
    message: str
    """The text, redacted."""
    fields: dict[str, Any] | None
    """Structured fields (``extra=`` of a logging call), redacted."""


@dataclass(frozen=True, slots=True)
class Ingested:
    """How far one run log was read, and what its next lines continue if they have no prefix."""

    offset: int = 0
    """The byte offset read up to (0: never read)."""
    correlation_id: str | None = None
    """The correlation id the log named last."""
    last_ts: float | None = None
    """The time of the last line read (a traceback's next lines, read later, get it)."""
    last_source: str | None = None
    """The source of the last line read."""


@dataclass(frozen=True, slots=True)
class Filters:
    """What a search, tail or export keeps; each None (or empty) keeps everything."""

    query: str | None = None
    """An FTS5 query over message and fields (words, ``"a phrase"``, ``pre*``, ``AND``/``OR``/``NOT``)."""
    since: float | None = None
    """Lines logged at or after this time (epoch seconds)."""
    until: float | None = None
    """Lines logged before this time."""
    level: int | None = None
    """The lowest level kept."""
    plugins: tuple[str, ...] = ()
    """Only lines of these plugins."""
    pipeline: str | None = None
    """Only lines of this pipeline's runs."""
    correlation_id: str | None = None
    """Only lines of this user action (or pipeline run)."""
    after_id: int | None = None
    """Only lines stored after this id (``tail --follow``)."""
    up_to_id: int | None = None
    """Only lines stored up to this id (``tail``'s first lines, read before it follows)."""


def _where(filters: Filters) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    parameters: list[Any] = []
    checks: Sequence[tuple[object, str]] = (
        (filters.since, "l.ts >= ?"),
        (filters.until, "l.ts < ?"),
        (filters.level, "l.level >= ?"),
        (filters.pipeline, "l.pipeline = ?"),
        (filters.correlation_id, "l.correlation_id = ?"),
        (filters.after_id, "l.id > ?"),
        (filters.up_to_id, "l.id <= ?"),
    )
    for value, clause in checks:
        if value is not None:
            clauses.append(clause)
            parameters.append(value)
    if filters.plugins:
        clauses.append(f"l.plugin IN ({', '.join('?' * len(filters.plugins))})")
        parameters.extend(filters.plugins)
    return clauses, parameters


def check_query(query: str) -> FlextResult[str]:
    """``query`` as the FTS5 query to run (``query.fts_query``), or why FTS5 refuses it.

    It is tried on an empty index in memory, so an error of the store is never blamed on the query.
    """
    match = fts_query(query)
    connection = sqlite3.connect(":memory:")
    try:
        connection.execute("CREATE VIRTUAL TABLE probe USING fts5(message, fields)")
        connection.execute("SELECT rowid FROM probe WHERE probe MATCH ?", (match,)).fetchall()
    except sqlite3.Error as exc:
        reason = str(exc).removeprefix("fts5: ")
        return FlextResult.fail(
            f"the search query {query!r} is not valid: {reason}", error_code=LOG_QUERY_INVALID
        )
    finally:
        connection.close()
    return FlextResult.ok(match)


def _line(row: sqlite3.Row | tuple[Any, ...]) -> StoredLine:
    fields = json.loads(row[9]) if row[9] else None
    return StoredLine(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], fields)


def _select(filters: Filters, *, newest_first: bool) -> FlextResult[tuple[str, list[Any]]]:
    """The SQL of a search (its ``LIMIT ?`` last, to be bound) and its parameters, or why the query is bad.

    With a query, FTS5 hands out matching rowids in id order and stops at the limit, so a
    common word costs no more than a rare one. With a correlation id as well the order turns
    round: that action's few lines come through their index and FTS5 is asked about each
    (``CROSS JOIN`` keeps that order), instead of walking every match of a common word.
    """
    clauses, parameters = _where(filters)
    order = "DESC" if newest_first else "ASC"
    if not filters.query:
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        return FlextResult.ok(
            (f"SELECT {_COLUMNS} FROM lines l{where} ORDER BY l.id {order} LIMIT ?", parameters)
        )
    checked = check_query(filters.query)
    if checked.is_failure:
        return FlextResult.fail(checked.error or "", error_code=checked.error_code)
    if filters.correlation_id is not None:
        sql = (
            f"SELECT {_JOINED} FROM lines l CROSS JOIN lines_fts f ON f.rowid = l.id WHERE "
            + " AND ".join(clauses)
            + f" AND lines_fts MATCH ? ORDER BY l.id {order} LIMIT ?"
        )
        return FlextResult.ok((sql, [*parameters, checked.value]))
    sql = f"SELECT {_JOINED} {_FROM_FTS}" + "".join(f" AND {clause}" for clause in clauses)
    return FlextResult.ok((f"{sql} ORDER BY f.rowid {order} LIMIT ?", [checked.value, *parameters]))


class LogStore:
    """One open connection to the store; not shared between threads (SQLite's rule)."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._connection = connection
        self.path = path
        """The store's file."""

    @classmethod
    def open(cls, path: Path) -> FlextResult[LogStore]:
        """Open (creating it ``0600`` in a ``0700`` directory) the store at ``path``."""
        try:
            if not path.exists():
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                with contextlib.suppress(FileExistsError):
                    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            connection = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            return FlextResult.fail(f"cannot open the log store {path}: {exc}", error_code=LOG_STORE_FAILED)
        store = cls(connection, path)
        prepared = store._prepare()
        if prepared.is_failure:
            connection.close()
            return FlextResult.fail(prepared.error or "", error_code=prepared.error_code)
        return FlextResult.ok(store)

    def _prepare(self) -> FlextResult[None]:
        def prepare() -> None:
            connection = self._connection
            connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            connection.execute(f"PRAGMA journal_size_limit = {_WAL_LIMIT}")
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version == SCHEMA_VERSION:
                connection.execute("PRAGMA synchronous = NORMAL")
                return
            connection.execute("PRAGMA auto_vacuum = INCREMENTAL")  # before the first table: it sticks
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            with connection:
                connection.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} COMMIT;")
            connection.execute("BEGIN IMMEDIATE")  # a store of version 1: add the columns, once
            try:
                have = {row[1] for row in connection.execute("PRAGMA table_info(ingested)")}
                for column in _LAST_LINE:
                    if column.split()[0] not in have:
                        connection.execute(f"ALTER TABLE ingested ADD COLUMN {column}")
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            except BaseException:
                connection.rollback()
                raise
            connection.commit()

        return self._run(prepare)

    def _run(self, work: Any) -> FlextResult[Any]:
        """Run ``work()``; a driver error is a ``LOG_STORE_FAILED`` result (the one place that maps them)."""
        try:
            return FlextResult.ok(work())
        except sqlite3.Error as exc:
            return FlextResult.fail(f"log store {self.path}: {exc}", error_code=LOG_STORE_FAILED)

    def _fetch(self, sql: str, parameters: Sequence[Any]) -> FlextResult[list[Any]]:
        return self._run(lambda: self._connection.execute(sql, parameters).fetchall())

    def _scalar(self, sql: str) -> FlextResult[int]:
        return self._run(lambda: int(self._connection.execute(sql).fetchone()[0]))

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()

    def insert(self, rows: Sequence[Row]) -> FlextResult[int]:
        """Store ``rows`` in one transaction; the result is how many."""

        def insert() -> int:
            with self._connection:
                self._connection.executemany(
                    _INSERT,
                    rows,
                )
            return len(rows)

        return self._run(insert)

    def search(self, filters: Filters, limit: int) -> FlextResult[list[StoredLine]]:
        """The newest ``limit`` lines that pass ``filters``, oldest first."""
        query = _select(filters, newest_first=True)
        if query.is_failure:
            return FlextResult.fail(query.error or "", error_code=query.error_code)
        sql, parameters = query.value
        found = self._fetch(sql, [*parameters, limit])
        return found.map(lambda rows: [_line(row) for row in reversed(rows)])

    def iterate(self, filters: Filters, *, page: int = 5000) -> Iterator[FlextResult[list[StoredLine]]]:
        """Every line that passes ``filters``, oldest first, a page at a time (an export, a follower's look).

        It stops at the first page that is not full: a follower looks again later anyway,
        and an export wants what was there when it started.
        """
        after = filters.after_id or 0
        while True:
            query = _select(replace(filters, after_id=after), newest_first=False)
            if query.is_failure:
                yield FlextResult.fail(query.error or "", error_code=query.error_code)
                return
            sql, parameters = query.value
            found = self._fetch(sql, [*parameters, page])
            if found.is_failure:
                yield FlextResult.fail(found.error or "", error_code=found.error_code)
                return
            lines = [_line(row) for row in found.value]
            if lines:
                yield FlextResult.ok(lines)
            if len(lines) < page:
                return
            after = lines[-1].id

    def last_id(self) -> FlextResult[int]:
        """The id of the newest line (0 when empty)."""
        return self._scalar("SELECT coalesce(max(id), 0) FROM lines")

    def count(self) -> FlextResult[int]:
        """How many lines the store holds."""
        return self._scalar("SELECT count(*) FROM lines")

    def used_bytes(self) -> FlextResult[int]:
        """The bytes of the pages in use (the file less its free pages)."""

        def used() -> int:
            pragma = self._connection.execute
            pages = pragma("PRAGMA page_count").fetchone()[0] - pragma("PRAGMA freelist_count").fetchone()[0]
            return int(pages * pragma("PRAGMA page_size").fetchone()[0])

        return self._run(used)

    def enforce_retention(self, *, max_bytes: int, max_age_seconds: float) -> FlextResult[int]:
        """Delete lines older than the limit, then the oldest while over ``max_bytes``; how many went."""

        def enforce() -> int:
            deleted = self._delete("DELETE FROM lines WHERE ts < ?", time.time() - max_age_seconds)
            if deleted:
                self._compact()
            for _round in range(_SIZE_ROUNDS):
                used = self.used_bytes().unwrap()
                total = self.count().unwrap()
                if used <= max_bytes or total == 0:
                    break
                drop = min(total, int(total * (1 - _KEEP_FRACTION * max_bytes / used)) + 1)
                deleted += self._delete(
                    "DELETE FROM lines WHERE id <= (SELECT id FROM lines ORDER BY id LIMIT 1 OFFSET ?)",
                    drop - 1,
                )
                self._compact()
            return deleted

        return self._run(enforce)

    def _delete(self, sql: str, parameter: float) -> int:
        with self._connection:
            return max(self._connection.execute(sql, (parameter,)).rowcount, 0)

    def _compact(self) -> None:
        """Fold the index's deletions into its segments, a bounded step per transaction, and free the pages.

        FTS5 keeps a deleted row's entries as tombstones until its segments are merged, so the
        file does not shrink from deletes alone; small steps let other writers in between.
        """
        connection = self._connection
        for _step in range(_MERGE_STEPS):
            before = connection.total_changes
            with connection:
                connection.execute(
                    "INSERT INTO lines_fts(lines_fts, rank) VALUES ('merge', ?)", (-_MERGE_PAGES,)
                )
            if connection.total_changes - before < 2:  # FTS5's sign that there was nothing left to merge
                break
        connection.executescript("PRAGMA incremental_vacuum;")  # execute() would free one page only
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()  # the file shrinks at a checkpoint

    def offset_of(self, path: str) -> FlextResult[Ingested]:
        """How far a run log was read, the correlation id it named, its last line's time and source."""

        def offset() -> Ingested:
            row = self._connection.execute(
                "SELECT offset, correlation_id, last_ts, last_source FROM ingested WHERE path = ?", (path,)
            ).fetchone()
            return Ingested(int(row[0]), row[1], row[2], row[3]) if row else Ingested()

        return self._run(offset)

    def insert_ingested(
        self,
        rows: Sequence[Row],
        path: str,
        read: tuple[int, int],
        correlation_id: str | None,
        last: tuple[float, str] | None = None,
    ) -> FlextResult[int]:
        """Store a run log's new lines and how far it was read, in one transaction, never twice.

        ``read`` is (the offset the lines start at, the offset after them); ``last`` the time
        and source of the last line read (None: keep what was kept). If another
        process stored them meanwhile (the file's offset is no longer the first), nothing is
        stored and the result is 0.
        """

        def insert() -> int:
            connection = self._connection
            connection.execute("BEGIN IMMEDIATE")
            try:
                row = connection.execute("SELECT offset FROM ingested WHERE path = ?", (path,)).fetchone()
                if (int(row[0]) if row else 0) != read[0]:
                    connection.rollback()
                    return 0
                connection.executemany(
                    _INSERT,
                    rows,
                )
                last_ts, last_source = last if last is not None else (None, None)
                connection.execute(
                    "INSERT INTO ingested (path, offset, correlation_id, last_ts, last_source) "
                    "VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT(path) DO UPDATE SET offset = excluded.offset, "
                    "correlation_id = excluded.correlation_id, "
                    "last_ts = coalesce(excluded.last_ts, last_ts), "
                    "last_source = coalesce(excluded.last_source, last_source)",
                    (path, read[1], correlation_id, last_ts, last_source),
                )
            except BaseException:
                connection.rollback()
                raise
            connection.commit()
            return len(rows)

        return self._run(insert)
