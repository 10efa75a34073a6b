"""PostgresProjectionStore: read models and their checkpoints in the event store's schema.

Layout, in the same schema as the events (``flext`` by default)::

    flext_projections(id bigserial PRIMARY KEY, name, generation, version, position,
                      state, error, updated_at, UNIQUE(name, generation))
    flext_projection_generations(name PRIMARY KEY, last_generation)  -- numbers are never given twice
    flext_rmgen_<id>(key text PRIMARY KEY, document jsonb)   -- one table per generation
    VIEW flext_rm_<name>                                      -- the live generation

Readers query the view (``SELECT key, document FROM flext."flext_rm_balances"``)
or use ``documents()``. ``commit`` locks the generation's checkpoint row
(``FOR UPDATE``), checks it, writes the documents and moves it, all in one
statement (data-modifying ``WITH`` clauses), so atomically and in one round
trip; ``promote`` re-points the view and drops the older generations in one
transaction (PostgreSQL's DDL is transactional), so readers never see a
half-built view.

``commit``, ``get`` and ``get_many`` run outside any explicit transaction,
one statement each: the store remembers which table holds a generation and
looks again only when that table is gone (another handle dropped the
generation) or a commit matched nothing. Each statement also checks that
the table's row still belongs to the generation, so a remembered table can
never be another generation's.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import psycopg
from psycopg import sql
from typing_extensions import override

from flext_eventsourcing import (
    Document,
    ProjectionCheckpoint,
    ProjectionState,
    ProjectionStore,
    ProjectionStoreError,
    check_projection_name,
    encode_changes,
)
from flext_kernel.errors import STORAGE_ERROR, TIMEOUT
from flext_plugin_eventstore_postgres.store import DEFAULT_SCHEMA, split_location

__all__ = ["PostgresProjectionStore"]

_COLUMNS: Final = "name, generation, version, position, state, error, updated_at"
_T = TypeVar("_T")


class PostgresProjectionStore(ProjectionStore):
    """Projection read models in a PostgreSQL schema (normally the event store's).

    Args:
        url: a ``postgresql://`` URL (may end in ``?schema=NAME``) or libpq
            string; None means ``$FLEXT_EVENTSTORE_URL``.
        schema: overrides the URL's ``?schema=`` (default ``flext``).
        lock_timeout: seconds to wait for another runner's lock (``TIMEOUT``).

    Raises:
        ValueError: no URL given or set.

    """

    def __init__(
        self, url: str | None = None, *, schema: str | None = None, lock_timeout: float = 30.0
    ) -> None:
        self.conninfo, url_schema = split_location(url)
        self.schema = schema or url_schema or DEFAULT_SCHEMA
        """The schema holding the tables."""
        self.lock_timeout = lock_timeout
        self._lock = threading.Lock()
        self._connection: psycopg.Connection[tuple[Any, ...]] | None = None
        self._closed = False
        self._tables: dict[tuple[str, int], int] = {}  # (name, generation) -> row id, as last seen
        self._ddl_key = zlib.crc32(f"flext-projections:{self.schema}".encode())

    def _name(self, table: str) -> sql.Composable:
        return sql.Identifier(self.schema, table)

    def _table(self, row_id: int) -> sql.Composable:
        return self._name(f"flext_rmgen_{int(row_id)}")

    def _view(self, name: str) -> sql.Composable:
        return self._name(f"flext_rm_{check_projection_name(name)}")

    @contextmanager
    def _session(self, *, transaction: bool = True) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """One transaction, or autocommitted statements; psycopg errors become ``ProjectionStoreError``."""
        with self._lock:
            if self._closed:
                raise ProjectionStoreError("the projection store is closed", STORAGE_ERROR)
            try:
                connection = self._connection
                if connection is None or connection.closed or connection.broken:
                    connection = self._open()
                if not transaction:
                    yield connection
                    return
                with connection.transaction():
                    yield connection
            except psycopg.Error as exc:
                raise self._translate(exc) from exc

    def _open(self) -> psycopg.Connection[tuple[Any, ...]]:
        connection = psycopg.connect(self.conninfo, autocommit=True, application_name="flext-projections")
        connection.execute(
            "SELECT set_config('lock_timeout', %s, false)", (f"{round(self.lock_timeout * 1000)}ms",)
        )
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (self._ddl_key,))
            connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
            connection.execute(
                sql.SQL(
                    """CREATE TABLE IF NOT EXISTS {} (
                        id bigserial PRIMARY KEY,
                        name text NOT NULL,
                        generation integer NOT NULL,
                        version integer NOT NULL,
                        position bigint NOT NULL,
                        state text NOT NULL,
                        error text,
                        updated_at timestamptz NOT NULL,
                        UNIQUE (name, generation)
                    )"""
                ).format(self._name("flext_projections"))
            )
            # The highest number each projection was ever given (see create_generation).
            connection.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, last_generation integer NOT NULL)"
                ).format(self._name("flext_projection_generations"))
            )
        self._connection = connection
        return connection

    def _translate(self, exc: psycopg.Error) -> ProjectionStoreError:
        data = {"schema": self.schema, "exception_type": type(exc).__name__, "sqlstate": exc.sqlstate}
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            return ProjectionStoreError(
                f"another projection runner held a lock for longer than {self.lock_timeout}s", TIMEOUT, data
            )
        return ProjectionStoreError(f"the PostgreSQL projection store failed: {first}", STORAGE_ERROR, data)

    def _row(
        self,
        connection: psycopg.Connection[tuple[Any, ...]],
        name: str,
        generation: int,
        *,
        lock: bool = False,
    ) -> tuple[int, int, str | None] | None:
        query = sql.SQL("SELECT id, position, error FROM {} WHERE name = %s AND generation = %s").format(
            self._name("flext_projections")
        )
        if lock:
            query = query + sql.SQL(" FOR UPDATE")
        row = connection.execute(query, (name, generation)).fetchone()
        return None if row is None else (int(row[0]), int(row[1]), row[2])

    @override
    def checkpoints(self, name: str | None = None) -> list[ProjectionCheckpoint]:
        query = sql.SQL(
            "SELECT {} FROM {} WHERE %s::text IS NULL OR name = %s ORDER BY name, generation"
        ).format(sql.SQL(_COLUMNS), self._name("flext_projections"))
        with self._session() as connection:
            rows = connection.execute(query, (name, name)).fetchall()
        return [
            ProjectionCheckpoint(
                name=row[0],
                generation=row[1],
                version=row[2],
                position=row[3],
                state=ProjectionState(row[4]),
                error=row[5],
                updated_at=row[6],
            )
            for row in rows
        ]

    @override
    def create_generation(self, name: str, version: int) -> ProjectionCheckpoint:
        check_projection_name(name)
        table = self._name("flext_projections")
        with self._session() as connection:
            # Two runners creating a generation of one projection take turns.
            connection.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (self._ddl_key & 0x7FFFFFFF, name)
            )
            # One above any number the projection was ever given, dropped generations included; schemas
            # made before flext_projection_generations continue from the generations they hold.
            (generation,) = connection.execute(  # type: ignore[misc]  # an upsert returning one row
                sql.SQL(
                    "INSERT INTO {generations} AS g (name, last_generation) "
                    "SELECT %(name)s, coalesce(max(generation), 0) + 1 FROM {table} WHERE name = %(name)s "
                    "ON CONFLICT (name) DO UPDATE "
                    "SET last_generation = greatest(g.last_generation + 1, excluded.last_generation) "
                    "RETURNING last_generation"
                ).format(generations=self._name("flext_projection_generations"), table=table),
                {"name": name},
            ).fetchone()
            now = datetime.now(UTC)
            (row_id,) = connection.execute(  # type: ignore[misc]  # RETURNING returns one row
                sql.SQL(
                    "INSERT INTO {} (name, generation, version, position, state, updated_at) "
                    "VALUES (%s, %s, %s, 0, %s, %s) RETURNING id"
                ).format(table),
                (name, generation, version, ProjectionState.BUILDING.value, now),
            ).fetchone()
            connection.execute(
                sql.SQL("CREATE TABLE {} (key text PRIMARY KEY, document jsonb NOT NULL)").format(
                    self._table(row_id)
                )
            )
        return ProjectionCheckpoint(
            name=name,
            generation=generation,
            version=version,
            position=0,
            state=ProjectionState.BUILDING,
            updated_at=now,
        )

    @override
    def get(self, name: str, generation: int, key: str) -> Document | None:
        return self.get_many(name, generation, (key,)).get(key)

    @override
    def get_many(self, name: str, generation: int, keys: Iterable[str]) -> dict[str, Document]:
        wanted = list(keys)
        if not wanted:
            return {}

        query = sql.SQL(
            "SELECT key, document::text FROM {table} WHERE key = ANY(%s) "
            "AND EXISTS (SELECT FROM {projections} WHERE id = %s AND name = %s AND generation = %s)"
        )
        with self._session(transaction=False) as connection:

            def select(row_id: int) -> list[tuple[Any, ...]]:
                table, projections = self._table(row_id), self._name("flext_projections")
                statement = query.format(table=table, projections=projections)
                return connection.execute(statement, (wanted, row_id, name, generation)).fetchall()

            rows = self._on_table(connection, name, generation, select) or []
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
        params = {
            "name": name,
            "generation": generation,
            "expected": expected_position,
            "position": position,
            "keys": [key for key, _ in puts],
            "documents": [text for _, text in puts],
            "deleted": deletes,
        }

        with self._session(transaction=False) as connection:

            def commit(row_id: int) -> tuple[Any, ...] | None:  # a row only if the checkpoint matched
                return connection.execute(self._commit_statement(row_id), {**params, "id": row_id}).fetchone()

            if self._on_table(connection, name, generation, commit) is not None:
                return True
            self._tables.pop((name, generation), None)  # look it up afresh next time
            return False

    def _on_table(
        self,
        connection: psycopg.Connection[tuple[Any, ...]],
        name: str,
        generation: int,
        statement: Callable[[int], _T],
    ) -> _T | None:
        """``statement(row_id)`` on the generation's table, autocommitted; None if there is no generation.

        The table remembered for the generation is tried first; if another
        handle dropped it since, the generation's row is looked up again and
        the statement runs once more (a failed autocommitted statement
        changed nothing).
        """
        for _ in range(2):
            row_id = self._tables.get((name, generation))
            if row_id is None:
                found = self._row(connection, name, generation)
                if found is None:
                    return None
                row_id = self._tables[name, generation] = found[0]
            try:
                return statement(row_id)
            except psycopg.errors.UndefinedTable:
                self._tables.pop((name, generation), None)
        return None  # dropped again between the lookup and the statement: the generation is gone

    def _commit_statement(self, row_id: int) -> sql.Composed:
        """``commit`` as one statement, so one round trip and its own transaction.

        The checkpoint row is locked and checked first (a concurrent commit
        makes it wait, then see the moved position and match nothing); the
        writes happen only if it matched, and the statement returns a row
        only then.
        """
        return sql.SQL(
            "WITH checkpoint AS ("
            "SELECT id FROM {projections} "
            "WHERE id = %(id)s AND name = %(name)s AND generation = %(generation)s "
            "AND position = %(expected)s AND error IS NULL FOR UPDATE), "
            "put AS (INSERT INTO {table} (key, document) "
            "SELECT c.key, c.document::jsonb FROM unnest(%(keys)b::text[], %(documents)b::text[]) "
            "AS c(key, document) WHERE EXISTS (SELECT FROM checkpoint) "
            "ON CONFLICT (key) DO UPDATE SET document = EXCLUDED.document), "
            "removed AS (DELETE FROM {table} "
            "WHERE key = ANY(%(deleted)b::text[]) AND EXISTS (SELECT FROM checkpoint)) "
            "UPDATE {projections} SET position = %(position)s, updated_at = now() "
            "WHERE id = (SELECT id FROM checkpoint) RETURNING id"
        ).format(projections=self._name("flext_projections"), table=self._table(row_id))

    @override
    def promote(self, name: str, generation: int) -> bool:
        table = self._name("flext_projections")
        with self._session() as connection:
            found = self._row(connection, name, generation, lock=True)
            if found is None or found[2] is not None:
                return False
            older = connection.execute(
                sql.SQL("SELECT id FROM {} WHERE name = %s AND generation < %s").format(table),
                (name, generation),
            ).fetchall()
            connection.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(self._view(name)))
            self._forget(name)
            for (row_id,) in older:
                connection.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._table(row_id)))
                connection.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(table), (row_id,))
            connection.execute(
                sql.SQL("CREATE VIEW {} AS SELECT key, document FROM {}").format(
                    self._view(name), self._table(found[0])
                )
            )
            connection.execute(
                sql.SQL("UPDATE {} SET state = %s, updated_at = now() WHERE id = %s").format(table),
                (ProjectionState.LIVE.value, found[0]),
            )
            return True

    @override
    def mark_failed(self, name: str, generation: int, error: str) -> None:
        with self._session() as connection:
            connection.execute(
                sql.SQL(
                    "UPDATE {} SET error = %s, updated_at = now() WHERE name = %s AND generation = %s"
                ).format(self._name("flext_projections")),
                (error, name, generation),
            )

    @override
    def drop(self, name: str, generation: int | None = None) -> None:
        table = self._name("flext_projections")
        with self._session() as connection:
            rows = connection.execute(
                sql.SQL(
                    "SELECT id, state FROM {} WHERE name = %s AND (%s::int IS NULL OR generation = %s)"
                ).format(table),
                (name, generation, generation),
            ).fetchall()
            self._forget(name)
            for row_id, state in rows:
                if state == ProjectionState.LIVE.value:
                    connection.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(self._view(name)))
                connection.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._table(row_id)))
                connection.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(table), (row_id,))

    @override
    def documents(self, name: str, generation: int | None = None) -> Iterator[tuple[str, Document]]:
        table = self._name("flext_projections")
        with self._session() as connection:
            if generation is None:
                row = connection.execute(
                    sql.SQL(
                        "SELECT id FROM {} WHERE name = %s AND state = %s ORDER BY generation DESC LIMIT 1"
                    ).format(table),
                    (name, ProjectionState.LIVE.value),
                ).fetchone()
            else:
                row = connection.execute(
                    sql.SQL("SELECT id FROM {} WHERE name = %s AND generation = %s").format(table),
                    (name, generation),
                ).fetchone()
            rows = (
                []
                if row is None
                else connection.execute(
                    sql.SQL('SELECT key, document::text FROM {} ORDER BY key COLLATE "C"').format(
                        self._table(row[0])
                    )
                ).fetchall()
            )
        for key, text in rows:
            yield key, dict(json.loads(text))

    def _forget(self, name: str) -> None:
        """Forget the tables of ``name``'s generations (called with the lock held)."""
        for remembered in [k for k in self._tables if k[0] == name]:
            del self._tables[remembered]

    @override
    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._connection is not None:
                self._connection.close()
                self._connection = None
