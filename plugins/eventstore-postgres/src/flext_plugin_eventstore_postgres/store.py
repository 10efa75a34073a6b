"""PostgresEventStore: the event store in PostgreSQL, with writers that run in parallel.

Layout (in one schema, ``flext`` by default; ``flext_layout.version`` = 1)::

    flext_events(position bigint PRIMARY KEY,        -- global order, see below
                 stream_id text, version bigint, event_id uuid UNIQUE,
                 event_type text, schema_version int, data json,
                 UNIQUE (stream_id, version))
    flext_snapshots(stream_id text PRIMARY KEY, version bigint, aggregate_type text,
                    schema_version int, state json, taken_at timestamptz)
    flext_layout(version int)
    flext_lock_stream_head(lock_key, stream_id)      -- plpgsql: lock a stream, read its head

How writers stay correct without a global lock:

* **One stream, one writer at a time.** Every write transaction starts by
  taking a transaction-scoped advisory lock on its stream
  (``pg_advisory_xact_lock(store key, hashtext(stream_id))``), then reads
  the stream's head in a later statement, whose snapshot includes whatever
  the lock's previous holder committed. The expected-version check and the
  insert it allows cannot be separated by another writer, in this process or
  any other; writers of *different* streams never wait for each other.
* **Positions follow transaction ids.** An event's position is
  ``xid * 2**16 + n``: the writing transaction's 64-bit id
  (``pg_current_xact_id()``) and the event's index in that transaction. Any
  two transactions' positions are ordered like their ids, whatever order
  they commit in. A write transaction takes its id right after its stream's
  lock, in the statement that reads the head.
* **An append is one round trip.** When the caller names the version it
  expects (what an aggregate's save does), one ``CALL`` of a plpgsql
  procedure locks the stream, reads its head, and only if the head is that
  version inserts the events, commits and sends the NOTIFY. Otherwise it
  writes nothing, and the append is decided by ``EventStoreBase``'s rules in
  a write transaction of two or more round trips (BEGIN with the lock and
  head; the insert with COMMIT and NOTIFY), as are ``ANY`` and
  ``STREAM_EXISTS`` appends, deletions and snapshots.
* **Readers stop at the oldest transaction still running.** ``read_all``
  only returns events whose transaction id is below
  ``pg_snapshot_xmin(pg_current_snapshot())``. Every transaction below that
  horizon has committed (and is visible) or rolled back; every transaction
  still running, and every later one, has a larger id and so only larger
  positions. An event above the horizon is held back even once committed,
  since an older transaction still running may commit a *lower* position.
  So a reader that has seen position ``p`` is never handed an event below
  ``p`` later: no gap a reader could skip. When committed events are held
  back, ``read_all`` polls (up to ``visibility_wait`` seconds) until the
  older transactions end, so a caller reads its own writes.

Why positions are not a sequence: with ``nextval`` positions and the same
horizon filter, transaction B can get its transaction id before A does but
its position after A's. B commits while A still runs; the horizon is A's id,
above B's, so B's event is handed out, and A's lower position commits later:
a skipped event. Deriving positions from the transaction id makes the two
orders one.

Why not one lock for all writers (what the ``eventsourcing`` library does
with ``LOCK TABLE ... IN EXCLUSIVE MODE``)? A global lock is held until
commit, so each writer waits for every other writer's round trips and WAL
flush; here writers of different streams run and commit in parallel (sharing
WAL flushes), and only readers wait, for the few milliseconds older writers
take to finish. The price:

* positions are large and sparse (still strictly increasing, never reused);
* one append writes at most ``MAX_EVENTS_PER_TRANSACTION`` (65,536) events;
* a transaction running anywhere on the *cluster* that holds a transaction id
  holds readers back until it ends (``read_all`` returns what is safe after
  ``visibility_wait``; subscriptions carry on when it ends): keep long write
  transactions off the event store's cluster;
* after 2**47 transactions on the cluster (decades at 100,000 per second)
  positions no longer fit a bigint and appends fail loudly.

Live subscriptions: COMMIT and a ``NOTIFY`` on the store's channel travel in
one round trip, the ``NOTIFY`` in its own transaction (inside the write
transaction it would make committing writers take turns on a cluster-wide
lock), which does not wait for its WAL flush. A listener thread, started by
the first ``subscribe``, wakes the store's subscriptions when another handle
(in any process) appended; if it loses its connection it reconnects with
back-off, and subscriptions fall back to re-reading every ``poll_interval``
seconds meanwhile.

Connections: a ``psycopg_pool.ConnectionPool``, opened on first use once the
tables have been checked on a connection of the store's own (so a wrong
address or a refused login fails at once, with the server's reason, instead
of after the pool's timeout). The pool's ``configure`` gives every new
connection its session settings and kept cursors; broken connections are
replaced by the pool, and when one turns up the others are checked
(``ConnectionPool.check``). The listener's connection is not pooled: it
stays in LISTEN for the store's life.

Driver and pool errors become kernel error codes in one place:
``PostgresEventStore._translate_error``.
"""

from __future__ import annotations

import logging
import os
import re
import select
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from flext_eventsourcing import (
    CONNECTION_FAILED,
    TOMBSTONE_TYPE,
    AppendResult,
    AppendSignal,
    AsyncEventSubscription,
    EventCodec,
    EventStoreBase,
    EventSubscription,
    ExpectedVersion,
    OutageHook,
    PendingAppend,
    StoredEvent,
    StoredSnapshot,
    StreamHead,
    WriteTransaction,
)
from flext_kernel.errors import CONCURRENCY_CONFLICT, NOT_FOUND, STORAGE_ERROR, TIMEOUT, VALIDATION_ERROR
from flext_kernel.messages import FlextDomainEvent
from flext_kernel.result import Failure, FlextResult, Success

__all__ = [
    "DEFAULT_SCHEMA",
    "MAX_EVENTS_PER_TRANSACTION",
    "POSITION_BITS",
    "SCHEMA_VERSION",
    "URL_VARIABLE",
    "PostgresEventStore",
    "split_location",
]

URL_VARIABLE: Final = "FLEXT_EVENTSTORE_URL"
"""The environment variable holding the default ``postgresql://`` URL."""
DEFAULT_SCHEMA: Final = "flext"
"""The schema the tables live in unless the URL (``?schema=``) or ``schema=`` says otherwise."""
SCHEMA_VERSION: Final = 1
"""``flext_layout.version`` of the current table layout."""
POSITION_BITS: Final = 16
"""Low bits of a position that number the events of one transaction (the rest is its id)."""
MAX_EVENTS_PER_TRANSACTION: Final = 1 << POSITION_BITS
"""Most events one append can write (65,536)."""

Cursor = psycopg.Cursor[tuple[Any, ...]]
ClientCursor = psycopg.ClientCursor[tuple[Any, ...]]


class Connection(psycopg.Connection[tuple[Any, ...]]):
    """A connection of the store's, with one cursor of each kind kept for the statements it runs.

    A new psycopg cursor per statement costs measurably more client CPU than a
    kept one (docs/performance.md), mostly finding again the adapters a kept
    cursor remembers. A pooled connection serves one caller at a time, and
    every caller reads a statement's rows before its next statement, so one
    of each is enough. They are made by the pool's ``configure``.
    """

    server_cursor: Cursor
    """Binds parameters on the server (prepared statements, binary arrays)."""
    client_cursor: ClientCursor
    """Binds parameters on the client (several statements in one query)."""
    unpooled: bool = False
    """Made for one operation while the pool catches up after an outage; closed when released."""


# Columns in the order of StoredEvent's fields, so a row unpacks straight into one.
_EVENT_COLUMNS: Final = "stream_id, version, event_id::text, event_type, schema_version, data::text, position"
# Transaction ids below this are finished: their events are safe to hand to readers.
# (Multiplying, not shifting: bigint arithmetic fails loudly on overflow, after 2**47 transactions.)
_XACT_POSITION: Final = f"(pg_current_xact_id()::text::bigint * {MAX_EVENTS_PER_TRANSACTION})"
_HORIZON: Final = f"(pg_snapshot_xmin(pg_current_snapshot())::text::bigint * {MAX_EVENTS_PER_TRANSACTION})"
_SCHEMA_DDL: Final = (
    "CREATE SCHEMA IF NOT EXISTS {schema}",
    """CREATE TABLE IF NOT EXISTS {events} (
        position bigint PRIMARY KEY,
        stream_id text NOT NULL,
        version bigint NOT NULL,
        event_id uuid NOT NULL UNIQUE,
        event_type text NOT NULL,
        schema_version integer NOT NULL,
        data json NOT NULL,
        UNIQUE (stream_id, version)
    )""",
    """CREATE TABLE IF NOT EXISTS {snapshots} (
        stream_id text PRIMARY KEY,
        version bigint NOT NULL,
        aggregate_type text NOT NULL,
        schema_version integer NOT NULL,
        state json NOT NULL,
        taken_at timestamptz NOT NULL
    )""",
    # Lock the stream, then read its head. Two statements, so the read's snapshot is taken after the
    # lock is granted and includes what the lock's previous holder committed; one function, so it
    # costs the client a single call and round trip.
    """CREATE OR REPLACE FUNCTION {lock_head}(lock_key integer, stream text,
                                              OUT version bigint, OUT event_type text)
    LANGUAGE plpgsql VOLATILE AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock(lock_key, hashtext(stream));
        SELECT e.version, e.event_type INTO version, event_type
          FROM {events} e WHERE e.stream_id = stream ORDER BY e.version DESC LIMIT 1;
    END
    $$""",
    "CREATE TABLE IF NOT EXISTS {layout} (version integer NOT NULL)",
    "INSERT INTO {layout} (version) SELECT {version} WHERE NOT EXISTS (SELECT 1 FROM {layout})",
)
# The append in one call: lock the stream, read its head, and only if the head is the expected version
# (and not a tombstone) insert, COMMIT, and NOTIFY in a transaction of its own, all inside one CALL, so
# one round trip, with plans plpgsql keeps per session. Otherwise it writes nothing and returns a NULL
# position: the client then decides with the full rules (EventStoreBase._append_at). The NOTIFY's
# transaction commits without waiting for its WAL flush: it stores nothing a crash could lose.
# Routines are created when missing, also in a schema made by an older plugin, so a changed body needs
# a new name (the _v1 suffix).
_APPEND_ROUTINE: Final = """CREATE OR REPLACE PROCEDURE {name}(
    lock_key integer, stream text, expected bigint, {parameters},
    channel text, token text, INOUT first_position bigint DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
    head_version bigint;
    head_type text;
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key, hashtext(stream));
    SELECT e.version, e.event_type INTO head_version, head_type
      FROM {{events}} e WHERE e.stream_id = stream ORDER BY e.version DESC LIMIT 1;
    IF coalesce(head_version, 0) <> expected OR head_type = {{tombstone}} THEN
        RETURN;
    END IF;
    first_position := {position};
    INSERT INTO {{events}} (position, stream_id, version, event_id, event_type, schema_version, data)
    {rows};
    COMMIT;
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM pg_notify(channel, token);
END
$$"""
_ROUTINES_DDL: Final = (
    _APPEND_ROUTINE.format(
        name="{append_one}",
        parameters="new_event_id text, new_event_type text, new_schema_version integer, new_data text",
        position=_XACT_POSITION,
        rows="VALUES (first_position, stream, expected + 1, new_event_id::uuid, new_event_type, "
        "new_schema_version, new_data::json)",
    ),
    _APPEND_ROUTINE.format(
        name="{append_many}",
        parameters="event_ids text[], event_types text[], schema_versions integer[], datas text[]",
        position=_XACT_POSITION,
        rows="SELECT first_position + r.n - 1, stream, expected + r.n, r.event_id::uuid, r.event_type, "
        "r.schema_version, r.data::json "
        "FROM unnest(event_ids, event_types, schema_versions, datas) "
        "WITH ORDINALITY AS r(event_id, event_type, schema_version, data, n)",
    ),
)
_ROUTINE_NAMES: Final = ("flext_append_one_v1", "flext_append_v1")
# libpq reports a missing database without an SQLSTATE: only the server's message names it.
_MISSING_DATABASE: Final = re.compile(r'database "((?:[^"]|"")+)" does not exist')
_CONNECT_TIMEOUT: Final = 10.0  # seconds to wait for a connection unless the store is told otherwise
_BEHIND_WAIT: Final = 0.05  # seconds to wait for the pool while it catches up after an outage (_acquire)
# psycopg_pool logs every failed background connection attempt as a warning; with no logging set up,
# Python's last-resort handler would print each on stderr (a tail across a server restart printed a
# dozen). The store reports the same failures through its results, so the pool's logger gets a handler
# that drops them unless the application configures logging.
logging.getLogger("psycopg.pool").addHandler(logging.NullHandler())
_RETRY_FIRST: Final = 0.001  # first pause while older transactions hold events back (seconds)
_RETRY_MOST: Final = 0.05  # longest pause between two such reads


def split_location(location: str | None) -> tuple[str, str | None]:
    """Split a store location into the connection string and the schema named by ``?schema=``.

    ``None`` or ``""`` means ``$FLEXT_EVENTSTORE_URL``. A ``postgresql://`` or
    ``postgres://`` URL may carry ``?schema=NAME`` (FLEXT's, removed before
    connecting); a libpq ``key=value`` string is passed through as it is.

    Raises:
        ValueError: no location and no ``FLEXT_EVENTSTORE_URL``, or not a PostgreSQL address.

    """
    text = location or os.environ.get(URL_VARIABLE, "")
    if not text:
        raise ValueError(f"no PostgreSQL event store address: pass a postgresql:// URL or set {URL_VARIABLE}")
    if "://" not in text:
        if "=" not in text:
            raise ValueError(f"not a PostgreSQL URL or connection string: {text!r}")
        return text, None
    parts = urlsplit(text)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"not a PostgreSQL URL (postgresql://...): {parts.scheme}://...")
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for key, value in query if key == "schema"]
    rest = [(key, value) for key, value in query if key != "schema"]
    return urlunsplit(parts._replace(query=urlencode(rest))), (schemas[-1] if schemas else None)


def _describe_server(conninfo: str) -> str:
    """``user@host:port/dbname`` of a connection string, never its password."""
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.Error:
        return "(unparsable connection string)"
    user = str(params.get("user") or os.environ.get("PGUSER") or "")
    host = str(params.get("host") or os.environ.get("PGHOST") or "localhost")
    port = str(params.get("port") or os.environ.get("PGPORT") or "5432")
    dbname = str(params.get("dbname") or os.environ.get("PGDATABASE") or "")
    return f"{user + '@' if user else ''}{host}:{port}/{dbname}"


def _location_connect_timeout(conninfo: str) -> float:
    """The ``connect_timeout`` a location names (libpq's parameter, in seconds), else 10."""
    try:
        given = conninfo_to_dict(conninfo).get("connect_timeout")
    except psycopg.Error:
        return _CONNECT_TIMEOUT  # the connection attempt will say what is wrong with the string
    if given is None or given == "":
        return _CONNECT_TIMEOUT
    try:
        seconds = float(given)
    except ValueError:
        raise ValueError(f"connect_timeout must be a number of seconds, not {given!r}") from None
    return seconds if seconds > 0 else _CONNECT_TIMEOUT  # libpq: 0 waits for ever; we keep a limit


def _int32(value: int) -> int:
    """``value`` (unsigned, 32 bits) as the signed int4 PostgreSQL's advisory locks take."""
    return value - (1 << 32) if value >= 1 << 31 else value


class _Statements:
    """The store's SQL, with its schema's names quoted in, rendered once."""

    __slots__ = (
        "append_many",
        "append_one",
        "begin_lock_head",
        "commit_and_notify",
        "delete_events",
        "delete_snapshot",
        "find",
        "find_one",
        "first_position",
        "insert",
        "insert_one",
        "insert_one_commit_and_notify",
        "layout_version",
        "lock_head",
        "read_all",
        "read_stream",
        "routines_count",
        "routines_ddl",
        "schema_ddl",
        "snapshot",
        "snapshot_and_stream",
        "snapshot_version",
        "upsert_snapshot",
    )

    def __init__(self, schema: str, channel: str, token: str) -> None:
        names = {
            "lock_head": sql.Identifier(schema, "flext_lock_stream_head"),
            "schema": sql.Identifier(schema),
            "events": sql.Identifier(schema, "flext_events"),
            "snapshots": sql.Identifier(schema, "flext_snapshots"),
            "layout": sql.Identifier(schema, "flext_layout"),
            "version": sql.Literal(SCHEMA_VERSION),
            "append_one": sql.Identifier(schema, _ROUTINE_NAMES[0]),
            "append_many": sql.Identifier(schema, _ROUTINE_NAMES[1]),
            "tombstone": sql.Literal(TOMBSTONE_TYPE),
        }

        def render(template: str) -> str:
            return sql.SQL(template).format(**names).as_string()

        self.routines_ddl = tuple(render(statement) for statement in _ROUTINES_DDL)
        self.schema_ddl = tuple(render(statement) for statement in _SCHEMA_DDL) + self.routines_ddl
        self.routines_count = (
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = %s AND p.proname = ANY(%s)"
        )
        # Parameters bound by the server, so psycopg prepares the CALL after a few uses; the batch's
        # columns travel as binary arrays.
        self.append_one = render(
            "CALL {append_one}(%s::integer, %s::text, %s::bigint, %s::text, %s::text, %s::integer, "
            "%s::text, %s::text, %s::text)"
        )
        self.append_many = render(
            "CALL {append_many}(%s::integer, %s::text, %s::bigint, %b::text[], %b::text[], %b::integer[], "
            "%b::text[], %s::text, %s::text)"
        )
        self.layout_version = render("SELECT max(version) FROM {layout}")
        # The stream's lock and head, and this transaction's first position: its id times 2**16. The
        # id is taken in the select list, which runs once the function has returned: after the lock.
        self.lock_head = render(f"SELECT version, event_type, {_XACT_POSITION} FROM {{lock_head}}(%s, %s)")
        self.begin_lock_head = f"BEGIN; {self.lock_head}"
        self.first_position = f"SELECT {_XACT_POSITION}"
        # Simple-query protocol (no parameters): COMMIT and the NOTIFY after it in one round trip. The
        # NOTIFY runs after COMMIT, in its own transaction: inside the write transaction it would make
        # all committing writers take turns on a cluster-wide lock. That transaction stores nothing a
        # crash could lose, so it does not wait for its WAL flush.
        notify = sql.SQL("COMMIT; SELECT set_config('synchronous_commit', 'off', true), pg_notify({}, {})")
        self.commit_and_notify = notify.format(sql.Literal(channel), sql.Literal(token)).as_string()
        commit_and_notify = self.commit_and_notify.replace("%", "%%")  # a literal part of a query
        # Arrays travel in binary (%b): no quoting and escaping of every element on the client.
        self.find = render(
            f"SELECT {_EVENT_COLUMNS} FROM {{events}} WHERE event_id = ANY(%b::text[]::uuid[])"
        )
        self.find_one = render(f"SELECT {_EVENT_COLUMNS} FROM {{events}} WHERE event_id = %s::uuid")
        # Positions come from the client: the transaction's first position plus the event's index in it.
        self.insert_one = render(
            "INSERT INTO {events} "
            "(position, stream_id, version, event_id, event_type, schema_version, data) "
            "VALUES (%s, %s, %s, %s::uuid, %s, %s, %s::json)"
        )
        self.insert_one_commit_and_notify = f"{self.insert_one}; {commit_and_notify}"
        self.insert = render(
            "INSERT INTO {events} "
            "(position, stream_id, version, event_id, event_type, schema_version, data) "
            "SELECT r.position, r.stream_id, r.version, r.event_id::uuid, r.event_type, r.schema_version, "
            "r.data::json "
            "FROM unnest(%b::bigint[], %b::text[], %b::bigint[], %b::text[], %b::text[], %b::integer[], "
            "%b::text[]) AS r(position, stream_id, version, event_id, event_type, schema_version, data)"
        )
        self.delete_events = render("DELETE FROM {events} WHERE stream_id = %s AND version <= %s")
        self.delete_snapshot = render("DELETE FROM {snapshots} WHERE stream_id = %s")
        self.snapshot_version = render("SELECT version FROM {snapshots} WHERE stream_id = %s")
        self.upsert_snapshot = render(
            "INSERT INTO {snapshots} (stream_id, version, aggregate_type, schema_version, state, taken_at) "
            "VALUES (%s, %s, %s, %s, %s::json, %s::timestamptz) ON CONFLICT (stream_id) DO UPDATE SET "
            "version = EXCLUDED.version, aggregate_type = EXCLUDED.aggregate_type, "
            "schema_version = EXCLUDED.schema_version, state = EXCLUDED.state, taken_at = EXCLUDED.taken_at"
        )
        self.snapshot = render(
            "SELECT stream_id, version, aggregate_type, schema_version, state::text, taken_at "
            "FROM {snapshots} WHERE stream_id = %s"
        )
        # The snapshot (the row whose stream_id is NULL: events always have one) and the events after
        # it, in one statement, so both come from one MVCC snapshot: a snapshot saved meanwhile cannot
        # be paired with events read after another version. Its version is below theirs: it sorts first.
        self.snapshot_and_stream = render(
            "WITH s AS (SELECT version, aggregate_type, schema_version, state::text AS state, taken_at "
            "FROM {snapshots} WHERE stream_id = %(stream)s) "
            "(SELECT NULL, version, NULL, aggregate_type, schema_version, state, NULL, taken_at FROM s) "
            "UNION ALL "
            f"(SELECT {_EVENT_COLUMNS}, NULL FROM {{events}} WHERE stream_id = %(stream)s "
            "AND version > coalesce((SELECT version FROM s), 0)) "
            "ORDER BY 2"
        )
        self.read_stream = render(
            f"SELECT {_EVENT_COLUMNS} FROM {{events}} "
            "WHERE stream_id = %s AND version > %s ORDER BY version LIMIT %s"
        )
        # The events below the horizon, plus one marker row (stream_id NULL) when committed events
        # above it are held back by an older transaction that is still running.
        self.read_all = render(
            f"(SELECT {_EVENT_COLUMNS} FROM {{events}} "
            f"WHERE position > %(after)s AND position < {_HORIZON} ORDER BY position LIMIT %(limit)s) "
            "UNION ALL "
            "(SELECT NULL, NULL, NULL, NULL, NULL, NULL, max(position) FROM {events} "
            f"HAVING max(position) >= {_HORIZON} AND max(position) > %(after)s) "
            "ORDER BY 7"
        )


class _Transaction:
    """The row operations of one write transaction, in as few round trips as the rules allow.

    An append the one-call procedure could not take is two: BEGIN travels with ``head``, the first
    statement of every write (it takes the stream's lock), and a one-event insert waits to travel
    with COMMIT and the NOTIFY. Both go as
    one simple-protocol query each, with their parameters bound on the client (``ClientCursor``,
    libpq's quoting): the cheapest way through psycopg for a few small values. Statements whose
    results are needed (an id lookup, a snapshot's version) and batch inserts (binary arrays) are
    sent at once, with the parameters bound by the server.
    """

    __slots__ = ("_connection", "_deferred", "_first_position", "_sql", "_store", "written")

    def __init__(self, store: PostgresEventStore) -> None:
        self._store = store
        self._sql = store._sql
        self._connection: Connection | None = None
        self._deferred: list[tuple[str, tuple[Any, ...]]] = []  # sent with COMMIT
        self._first_position: int | None = None  # this transaction's id times 2**16
        self.written = 0
        """How many events this transaction inserted (numbers the next ones)."""

    def _execute(self, query: str, params: Any) -> Cursor:
        """Send a statement now (after whatever was deferred), starting the transaction if needed."""
        connection = self._connection
        if connection is None:
            self._connection, _ = self._store._start("BEGIN")
            connection = self._connection
        if self._deferred:
            self._send_deferred(connection, "")
        return connection.server_cursor.execute(query, params)

    def _send_deferred(self, connection: Connection, tail: str) -> None:
        """Send the deferred statements and ``tail`` (a statement without parameters) in one query."""
        deferred, self._deferred = self._deferred, []
        client = connection.client_cursor
        if len(deferred) == 1 and tail == self._sql.commit_and_notify:  # an append of one event
            client.execute(self._sql.insert_one_commit_and_notify, deferred[0][1])
            return
        queries = [query for query, _ in deferred]
        if tail:
            queries.append(tail.replace("%", "%%"))
        client.execute("; ".join(queries), [value for _, values in deferred for value in values])

    def commit(self) -> None:
        """Send what was deferred, COMMIT and, if events were written, the NOTIFY: one round trip.

        Raises the error of a deferred statement (a taken event id, say); nothing is committed then.
        """
        connection = self._connection
        if connection is None:
            return  # nothing was sent: nothing to commit
        tail = self._sql.commit_and_notify if self.written else "COMMIT"
        if self._deferred:
            self._send_deferred(connection, tail)
        else:
            connection.server_cursor.execute(tail)

    def close(self) -> None:
        """Give the connection back (rolling back what did not commit)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            self._store._release(connection)

    # The row operations.

    def head(self, stream_id: str) -> StreamHead | None:
        # Every write starts here (the base class asks for the head first): this takes the stream's
        # lock, held until the transaction ends, then reads the head as of after the lock.
        params = (self._store._lock_key, stream_id)
        if self._connection is None:
            self._connection, cursor = self._store._start(self._sql.begin_lock_head, params, client=True)
            cursor.nextset()  # the SELECT's rows, after BEGIN's
        else:
            cursor = self._execute(self._sql.lock_head, params)
        version, event_type, first_position = cursor.fetchone()  # type: ignore[misc]  # one row
        if self._first_position is None:
            self._first_position = first_position
        return None if version is None else (version, event_type)

    def find(self, event_ids: Sequence[str]) -> list[StoredEvent]:
        if len(event_ids) == 1:  # the common case, without the cost of an array parameter
            rows = self._execute(self._sql.find_one, (event_ids[0],)).fetchall()
        else:
            rows = self._execute(self._sql.find, (list(event_ids),)).fetchall()
        return [StoredEvent(*row) for row in rows]

    def insert(self, rows: Sequence[StoredEvent]) -> list[int]:
        if self.written + len(rows) > MAX_EVENTS_PER_TRANSACTION:  # append() refuses such batches
            raise ValueError(f"one transaction can write at most {MAX_EVENTS_PER_TRANSACTION} events")
        if self._first_position is None:
            (self._first_position,) = self._execute(self._sql.first_position, None).fetchone()  # type: ignore[misc]
        # Positions: the transaction's first one plus the event's index in the transaction.
        first = self._first_position + self.written
        positions = list(range(first, first + len(rows)))
        if len(rows) == 1:
            self._deferred.append((self._sql.insert_one, (first, *rows[0][:6])))  # all but position
        else:
            columns = [list(column) for column in zip(*rows, strict=True)]
            self._execute(self._sql.insert, (positions, *columns[:6]))
        self.written += len(rows)
        return positions

    def delete_events(self, stream_id: str, through_version: int) -> None:
        self._execute(self._sql.delete_events, (stream_id, through_version))
        self._execute(self._sql.delete_snapshot, (stream_id,))

    def snapshot_version(self, stream_id: str) -> int | None:
        row = self._execute(self._sql.snapshot_version, (stream_id,)).fetchone()
        return None if row is None else int(row[0])

    def put_snapshot(self, row: StoredSnapshot) -> None:
        self._execute(
            self._sql.upsert_snapshot,
            (row.stream_id, row.version, row.aggregate_type, row.schema_version, row.state, row.taken_at),
        )


class _Listener:
    """A thread that LISTENs on the store's channel and wakes its subscriptions on foreign appends."""

    __slots__ = (
        "_channel",
        "_connect",
        "_lock",
        "_signal",
        "_stopping",
        "_thread",
        "_token",
        "_wake",
        "listening",
        "notices",
    )

    def __init__(
        self, connect: Callable[[], Connection], channel: str, token: str, signal: AppendSignal
    ) -> None:
        self._connect = connect
        self._channel = channel
        self._token = token
        self._signal = signal
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._stopping = False
        self.listening = False
        """True while LISTEN is in effect (False before, while reconnecting, after ``stop``)."""
        self.notices = 0
        """How many times another handle's notification woke the subscriptions."""

    def start(self) -> None:
        """Start the thread unless it runs already; it notifies the signal once it listens."""
        with self._lock:
            if self._thread is not None or self._stopping:
                return
            self._wake = socket.socketpair()
            self._thread = threading.Thread(target=self._run, name="flext-eventstore-listener", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread; it closes its connection (waits at most ``timeout`` seconds for it)."""
        with self._lock:
            self._stopping = True
            thread, wake = self._thread, self._wake
        if thread is None or wake is None:
            return
        with suppress(OSError):  # the thread already ended and closed it
            wake[1].send(b"x")
        thread.join(timeout)

    def _pause(self, seconds: float) -> bool:
        """Wait ``seconds`` or until stopped; return True if stopped."""
        assert self._wake is not None
        ready, _, _ = select.select([self._wake[0]], [], [], seconds)
        return bool(ready) or self._stopping

    def _run(self) -> None:
        try:
            self._listen_until_stopped()
        finally:
            assert self._wake is not None
            for end in self._wake:
                end.close()

    def _listen_until_stopped(self) -> None:
        delay = 0.05
        while not self._stopping:
            try:
                connection = self._connect()
            except psycopg.Error:
                if self._pause(delay):
                    return
                delay = min(delay * 2, 5.0)
                continue
            try:
                connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                self.listening = True
                delay = 0.05
                self._signal.notify()  # appends made while nobody listened: read again
                self._pump(connection)
            except psycopg.Error:
                if self._pause(delay):
                    return
            finally:
                self.listening = False
                connection.close()

    def _pump(self, connection: Connection) -> None:
        assert self._wake is not None
        wake = self._wake[0].fileno()
        while not self._stopping:
            ready, _, _ = select.select([connection.fileno(), wake], [], [])
            if wake in ready:
                return
            foreign = [n for n in connection.notifies(timeout=0) if n.payload != self._token]
            if foreign:
                self.notices += 1
                self._signal.notify()


class PostgresEventStore(EventStoreBase):
    """An event store in a PostgreSQL schema (see the module docs for the layout and guarantees).

    Nothing connects until the first operation; the schema and tables are
    created then if they are missing (safely, even by several processes at
    once). Connections are pooled (``psycopg_pool``), one per concurrent
    caller up to ``max_connections``.

    Args:
        codec: the codec (a new one by default).
        url: a ``postgresql://`` URL (may end in ``?schema=NAME``) or a libpq
            ``key=value`` string; None means ``$FLEXT_EVENTSTORE_URL``.
        schema: the schema holding the tables; overrides the URL's ``?schema=``
            (default ``flext``).
        listen: wake subscriptions through LISTEN/NOTIFY; False leaves them polling.
        poll_interval: longest wait of a live subscription before it reads again
            (1 s with LISTEN, a fallback; 0.1 s without).
        visibility_wait: longest time ``read_all`` waits for older transactions
            that hold back committed events before returning what is safe.
        lock_timeout: seconds a writer waits for another writer of the same
            stream before the operation fails with ``TIMEOUT``.
        connect_timeout: seconds to wait for a connection: a new one, or a
            pooled one when ``max_connections`` are in use (then ``TIMEOUT``);
            None: the location's ``connect_timeout`` (libpq's parameter), else 10.
        max_connections: most pooled connections open at once (the
            listener's is extra).

    Raises:
        ValueError: no URL given or set, a schema name that is too long, or a
            ``connect_timeout`` in the location that is not a number.

    """

    driver_errors = (psycopg.Error,)  # psycopg_pool's errors are psycopg.OperationalError
    unique_event_ids = True  # event_id is UNIQUE: a taken id fails the insert with a UniqueViolation
    max_events_per_transaction = MAX_EVENTS_PER_TRANSACTION  # the low bits of a position
    read_ahead = True  # a read waits on the server, with the GIL let go

    def __init__(
        self,
        codec: EventCodec | None = None,
        *,
        url: str | None = None,
        schema: str | None = None,
        listen: bool = True,
        poll_interval: float | None = None,
        visibility_wait: float = 2.0,
        lock_timeout: float = 30.0,
        connect_timeout: float | None = None,
        max_connections: int = 16,
    ) -> None:
        if poll_interval is None:
            poll_interval = 1.0 if listen else 0.1
        super().__init__(codec, poll_interval=poll_interval)
        self.conninfo, url_schema = split_location(url)
        """The connection string (without FLEXT's ``?schema=``)."""
        self.schema = schema or url_schema or DEFAULT_SCHEMA
        """The schema holding the tables."""
        if len(self.schema.encode()) > 63:
            raise ValueError(f"a PostgreSQL schema name has at most 63 bytes: {self.schema!r}")
        self.server = _describe_server(self.conninfo)
        """``user@host:port/dbname``, for messages (never the password)."""
        self.visibility_wait = visibility_wait
        """Longest wait of ``read_all`` for older transactions holding events back."""
        self.lock_timeout = lock_timeout
        """Seconds a writer waits for a stream's lock."""
        if connect_timeout is None:
            connect_timeout = _location_connect_timeout(self.conninfo)
        self.connect_timeout = connect_timeout
        """Seconds to wait for a connection."""
        self.channel = f"flext_events_{self.schema}"[:63]
        """The NOTIFY channel of this schema's appends."""
        key = zlib.crc32(f"flext-eventstore:{self.schema}".encode())
        self._lock_key = _int32(key)  # stream locks: (this key, hashtext(stream_id))
        self._ddl_key = key  # the one-bigint advisory key that serializes creating the tables
        self._token = uuid.uuid4().hex  # NOTIFY payload: our own appends are already signalled locally
        self._sql = _Statements(self.schema, self.channel, self._token)
        self._connection_options: dict[str, Any] = {
            "autocommit": True,
            "connect_timeout": max(1, round(connect_timeout)),
            "application_name": "flext-eventstore",
        }
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            self.conninfo,
            connection_class=Connection,
            kwargs=self._connection_options,
            # None kept open for nothing: the pool grows by one per caller that finds none idle, and
            # connections unused for max_idle (10 minutes) are closed. With min_size=1 the first caller
            # would find the pool's first connection still being made and start a second.
            min_size=0,
            max_size=max_connections,
            open=False,  # opened by _open, once the tables are there
            configure=self._configure,
            # No check on every getconn: it would cost a round trip per operation. A broken
            # connection shows when used; _start then checks the idle ones (ConnectionPool.check).
            # No reset either: with one, psycopg_pool returns connections through a worker thread,
            # so the next caller would wait for that thread; _release rolls back instead.
            timeout=connect_timeout,
            name=f"flext-eventstore-{self.schema}",
            num_workers=1,  # connections are made rarely: one worker thread is enough
        )
        self._ready = False  # the tables exist and the pool is open
        self._lent = 0  # pooled connections lent to callers now
        self._lent_lock = threading.Lock()
        self._pool_behind = False  # the pool gave no connection in time while the server answered
        self._one_call_append = True  # False if the append routines are missing and we may not create them
        self._listener = _Listener(self._connect, self.channel, self._token, self.signal) if listen else None

    # Connections.

    def _configure(self, connection: Connection) -> None:
        """Set up a new connection's session (the pool's ``configure``, and the listener's)."""
        connection.execute(
            "SELECT set_config('lock_timeout', %s, false)", (f"{round(self.lock_timeout * 1000)}ms",)
        )
        connection.server_cursor = connection.cursor()
        connection.client_cursor = psycopg.ClientCursor(connection)

    def _connect(self) -> Connection:
        """A connection outside the pool, set up like a pooled one (first use, the listener)."""
        connection = Connection.connect(self.conninfo, **self._connection_options)
        try:
            self._configure(connection)
        except BaseException:
            connection.close()
            raise
        return connection

    def _open(self) -> None:
        """First use: check (or create) the tables on a connection of its own, then open the pool.

        Its own connection, not a pooled one: the pool connects in a worker
        thread and retries in the background, so a wrong address would only
        show as a ``PoolTimeout`` after ``connect_timeout``; here it fails at
        once with the server's reason. Several threads may get here at once:
        creating the tables is safe (see ``_create_schema``), opening the pool
        twice does nothing.
        """
        if self.closed:
            raise PoolClosed("the event store is closed")
        connection = self._connect()
        try:
            self._create_schema(connection)
        finally:
            connection.close()
        self._pool.open()
        if self.closed:  # closed meanwhile by another thread, whose close found the pool not yet open
            self._pool.close()
            raise PoolClosed("the event store is closed")
        self._ready = True

    def _acquire(self) -> Connection:
        """A pooled connection; while the pool catches up after an outage, one of the operation's own.

        When the pool gives none within ``connect_timeout`` and not every
        connection is lent out, the pool could not make one: it retries in
        the background with back-off (1, 2, 4, 8 s ...), and keeps waiting
        out that back-off after the server is back. A direct attempt then
        raises the server's reason if it is still away; if the server
        answers, the operation gets that connection (closed when released),
        and until the pool has connections again the next operations wait
        for it only ``_BEHIND_WAIT`` before doing the same. A server that
        restarts costs no operation more than the time it was away.
        """
        if not self._ready:
            self._open()
        try:
            connection = self._pool.getconn(_BEHIND_WAIT if self._pool_behind else None)
        except PoolTimeout:
            if self._lent >= self._pool.max_size:
                raise  # every connection is in use: a TIMEOUT, as documented
            direct = self._connect()  # the server's reason if it is away
            direct.unpooled = True
            self._pool_behind = True
            return direct
        with self._lent_lock:
            self._lent += 1
        self._pool_behind = False
        return connection

    def _release(self, connection: Connection) -> None:
        """Give ``connection`` back to the pool, rolled back (the pool drops it if it is broken).

        Rolled back here rather than by the pool, which would log a warning
        for each: a failed write transaction (a conflict) is routine. A
        connection made outside the pool (``_acquire``) is closed instead.
        """
        if connection.unpooled:
            connection.close()
            return
        if connection.pgconn.transaction_status != TransactionStatus.IDLE and not connection.broken:
            with suppress(psycopg.Error):
                connection.rollback()
        with self._lent_lock:
            self._lent -= 1
        self._pool.putconn(connection)

    def _start(self, query: str, params: Any = None, *, client: bool = False) -> tuple[Connection, Cursor]:
        """Take a pooled connection and run an operation's first statement on it.

        ``client=True`` binds the parameters on the client (``ClientCursor``), which lets one
        query hold several statements.

        A pooled connection whose server session is gone (the server restarted,
        an administrator ended it) only shows it when used. Then the pool drops
        it and makes another, checks the other idle ones (they may have lost
        their sessions too), and the statement runs once more, so a restart
        costs no failed operation.
        """
        for attempt in (1, 2):
            connection = self._acquire()
            try:
                cursor = connection.client_cursor if client else connection.server_cursor
                return connection, cursor.execute(query, params)
            except psycopg.OperationalError:
                stale = attempt == 1 and connection.broken
                self._release(connection)
                if not stale:
                    raise
                self._pool.check()
            except BaseException:
                self._release(connection)
                raise
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _fetch(self, query: str, params: Any) -> list[tuple[Any, ...]]:
        """Run one read statement and return its rows."""
        connection, cursor = self._start(query, params)
        try:
            return cursor.fetchall()
        finally:
            self._release(connection)

    def _create_schema(self, connection: Connection) -> None:
        """Create the schema and tables if missing; refuse a layout newer than this plugin's.

        Also creates the append routines (``_append_at``) if a schema made by an
        older plugin lacks them. Both under the store's DDL advisory lock.
        """
        layout = sql.Identifier(self.schema, "flext_layout").as_string()
        if connection.execute("SELECT to_regclass(%s)", (layout,)).fetchone() == (None,):
            with connection.transaction():
                # CREATE ... IF NOT EXISTS is not safe against a concurrent CREATE: take turns.
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (self._ddl_key,))
                for statement in self._sql.schema_ddl:
                    connection.execute(statement)
        row = connection.execute(self._sql.layout_version).fetchone()
        version = 0 if row is None or row[0] is None else int(row[0])
        if version > SCHEMA_VERSION:
            raise pg_errors.FeatureNotSupported(
                f"event store layout version {version} in schema {self.schema!r} is newer than "
                f"this plugin's {SCHEMA_VERSION}: upgrade flext-plugin-eventstore-postgres"
            )
        routines = (self.schema, list(_ROUTINE_NAMES))
        if connection.execute(self._sql.routines_count, routines).fetchone() != (len(_ROUTINE_NAMES),):
            # A schema made by an older plugin: add the routines this one calls, one process at a time.
            # A role that may not create them still reads and appends, without the one-call append.
            try:
                with connection.transaction():
                    connection.execute("SELECT pg_advisory_xact_lock(%s)", (self._ddl_key,))
                    for statement in self._sql.routines_ddl:
                        connection.execute(statement)
            except pg_errors.InsufficientPrivilege:
                self._one_call_append = False

    def find(self) -> FlextResult[None]:
        """Succeed if the store's tables are in its schema; connect once, create nothing.

        The backend's probe (``LocationSyntax.probe``), for commands that
        only read: a database that does not exist, or a schema without the
        store's tables, is ``NOT_FOUND`` (``error_data["hint"]`` says how to
        create it); a server that cannot be reached is ``STORAGE_ERROR``.
        """
        layout = sql.Identifier(self.schema, "flext_layout").as_string()
        try:
            connection = self._connect()
            try:
                found = connection.execute("SELECT to_regclass(%s)", (layout,)).fetchone()
            finally:
                connection.close()
        except psycopg.Error as exc:
            return self._translate_error(exc)
        if found is None or found[0] is None:
            return Failure(
                f"no event store in schema {self.schema!r} of {self.server}",
                NOT_FOUND,
                {
                    "server": self.server,
                    "schema": self.schema,
                    "hint": "check the address and its ?schema=; commands that record events create "
                    "the schema (flext events import FILE --store URL, flext pipeline run NAME --store URL)",
                },
            )
        return Success(None)

    # Storage primitives.

    @contextmanager
    def _write(self) -> Iterator[WriteTransaction]:
        # BEGIN and COMMIT by hand: BEGIN with the first statement, COMMIT with a deferred insert and
        # the NOTIFY for other handles, so that an append outside _append_at is two round trips.
        transaction = _Transaction(self)
        try:
            yield transaction
            transaction.commit()
        finally:
            transaction.close()  # rolls back whatever did not commit

    def _read_stream_rows(self, stream_id: str, after_version: int, limit: int | None) -> list[StoredEvent]:
        rows = self._fetch(self._sql.read_stream, (stream_id, after_version, limit))
        return [StoredEvent(*row) for row in rows]

    def _read_all_rows(self, after_position: int, limit: int | None) -> list[StoredEvent]:
        params = {"after": after_position, "limit": limit}
        deadline: float | None = None
        pause = _RETRY_FIRST
        while True:
            rows = self._fetch(self._sql.read_all, params)
            held_back = bool(rows) and rows[-1][0] is None  # the marker row sorts last
            safe = [StoredEvent(*row) for row in (rows[:-1] if held_back else rows)]
            if not held_back or (limit is not None and len(safe) >= limit) or self.closed:
                return safe
            # Committed events wait behind an older transaction that is still running.
            now = time.monotonic()
            if deadline is None:
                deadline = now + self.visibility_wait
            if now >= deadline:
                return safe
            time.sleep(min(pause, deadline - now))
            pause = min(pause * 2, _RETRY_MOST)

    def _snapshot_row(self, stream_id: str) -> StoredSnapshot | None:
        rows = self._fetch(self._sql.snapshot, (stream_id,))
        if not rows:
            return None
        stream, version, aggregate_type, schema_version, state, taken_at = rows[0]
        return StoredSnapshot(stream, version, aggregate_type, schema_version, state, taken_at.isoformat())

    def _snapshot_and_stream_rows(self, stream_id: str) -> tuple[StoredSnapshot | None, list[StoredEvent]]:
        rows = self._fetch(self._sql.snapshot_and_stream, {"stream": stream_id})
        snapshot = None
        if rows and rows[0][0] is None:  # the snapshot's row
            _, version, _, aggregate_type, schema_version, state, _, taken_at = rows[0]
            snapshot = StoredSnapshot(
                stream_id, version, aggregate_type, schema_version, state, taken_at.isoformat()
            )
            rows = rows[1:]
        return snapshot, [StoredEvent(*row[:7]) for row in rows]

    def _close(self) -> None:
        """Stop the listener and close the pool: idle connections now, busy ones when released."""
        if self._listener is not None:
            self._listener.stop()
        self._pool.close()

    # Operations this backend refines.

    def append(
        self, stream_id: str, events: Sequence[FlextDomainEvent], expected_version: ExpectedVersion
    ) -> FlextResult[AppendResult]:
        """Append ``events`` if the stream is at ``expected_version`` (see ``FlextEventStore.append``).

        At most ``MAX_EVENTS_PER_TRANSACTION`` events per call (``VALIDATION_ERROR`` beyond).
        """
        if len(events) > MAX_EVENTS_PER_TRANSACTION:
            return Failure(
                f"one append can write at most {MAX_EVENTS_PER_TRANSACTION} events, not {len(events)}; "
                "split the batch",
                VALIDATION_ERROR,
                {"events": len(events), "limit": MAX_EVENTS_PER_TRANSACTION},
            )
        return super().append(stream_id, events, expected_version)

    def _append_at(self, pending: PendingAppend, version: int) -> AppendResult | None:
        """The usual append in one round trip: one CALL checks, inserts, commits and notifies."""
        if not self._ready:
            self._open()  # the first use checks the schema and its routines
        if not self._one_call_append:
            return None
        rows = pending.rows(version)
        stream_id = pending.stream_id
        # Each row: stream_id, version, event_id, event_type, schema_version, data, position.
        columns: Sequence[Any]
        if len(rows) == 1:
            query, columns = self._sql.append_one, rows[0][2:6]
        else:
            query, columns = self._sql.append_many, [list(column) for column in zip(*rows, strict=True)][2:6]
        params = (self._lock_key, stream_id, version, *columns, self.channel, self._token)
        connection, cursor = self._start(query, params)
        try:
            row = cursor.fetchone()
        finally:
            self._release(connection)
        first = None if row is None else row[0]
        if first is None:  # the stream is not at ``version``: nothing was written
            return None
        return AppendResult(stream_id, version + len(rows), tuple(range(first, first + len(rows))), True)

    def subscribe(
        self,
        from_position: int = 0,
        *,
        reconnect_for: float | None = None,
        on_outage: OutageHook | None = None,
    ) -> EventSubscription:
        """Return a live subscription to every event after ``from_position`` (starts the listener).

        It lives through a server restart: reads that cannot reach the server
        are retried with back-off (``EventStoreBase.subscribe``).
        """
        self._start_listening()
        return super().subscribe(from_position, reconnect_for=reconnect_for, on_outage=on_outage)

    def subscribe_async(
        self,
        from_position: int = 0,
        *,
        reconnect_for: float | None = None,
        on_outage: OutageHook | None = None,
    ) -> AsyncEventSubscription:
        """``subscribe`` as an async iterator (starts the listener)."""
        self._start_listening()
        return super().subscribe_async(from_position, reconnect_for=reconnect_for, on_outage=on_outage)

    def _start_listening(self) -> None:
        if self._listener is not None and not self.closed:
            self._listener.start()

    @property
    def listening(self) -> bool:
        """True while LISTEN is in effect (from shortly after the first ``subscribe`` until ``close``)."""
        return self._listener is not None and self._listener.listening

    def _translate_error(self, exc: Exception) -> FlextResult[Any]:
        """The one place psycopg's and psycopg_pool's errors become kernel error codes."""
        sqlstate = getattr(exc, "sqlstate", None)
        text = _first_line(exc)
        data: dict[str, Any] = {
            "sqlstate": sqlstate,
            "exception_type": type(exc).__name__,
            "server": self.server,
            "schema": self.schema,
        }
        if isinstance(exc, PoolTimeout):
            data["max_connections"] = self._pool.max_size
            return Failure(
                f"no connection to the PostgreSQL event store at {self.server} was free within "
                f"{self.connect_timeout:g}s: all {self._pool.max_size} were in use",
                TIMEOUT,
                data,
            )
        if isinstance(exc, PoolClosed):
            return Failure("the event store is closed", STORAGE_ERROR, data)
        if isinstance(exc, pg_errors.UniqueViolation):
            data["constraint"] = exc.diag.constraint_name
            return Failure(f"another writer got there first: {text}", CONCURRENCY_CONFLICT, data)
        if sqlstate is not None and sqlstate.startswith("40"):  # serialization failure, deadlock
            return Failure(f"the write collided with another one: {text}", CONCURRENCY_CONFLICT, data)
        if isinstance(exc, pg_errors.LockNotAvailable):
            return Failure(
                f"another writer held the stream's lock for longer than {self.lock_timeout}s",
                TIMEOUT,
                data,
            )
        if isinstance(exc, pg_errors.QueryCanceled):
            return Failure(f"the event store did not answer in time: {text}", TIMEOUT, data)
        missing = _MISSING_DATABASE.search(str(exc)) if isinstance(exc, psycopg.OperationalError) else None
        if missing is not None:
            database = missing.group(1).replace('""', '"')
            data.update(database=database, hint=f"create it (createdb {database}) or check the address")
            return Failure(f"the database {database!r} does not exist ({self.server})", NOT_FOUND, data)
        if _is_connection_failure(exc):
            data["reason"] = CONNECTION_FAILED  # subscriptions retry these
            return Failure(
                f"cannot reach the PostgreSQL event store at {self.server}: {text} "
                f"(is the server running, and is {URL_VARIABLE} right?)",
                STORAGE_ERROR,
                data,
            )
        return Failure(f"the PostgreSQL event store at {self.server} failed: {text}", STORAGE_ERROR, data)


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _is_connection_failure(exc: Exception) -> bool:
    """True for errors that mean "no usable connection": refused, lost, server shutting down."""
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate is None:
        return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
    # 08: connection exception; 57P01-57P03: admin/crash shutdown, cannot connect now.
    return sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03")
