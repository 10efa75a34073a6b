"""The PostgreSQL event store passes the event store contract, plus what is special about PostgreSQL."""

from __future__ import annotations

import functools
import itertools
import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flext_plugin_eventstore_postgres import DEFAULT_SCHEMA, PostgresEventStore
from flext_plugin_eventstore_postgres import store as store_module
from flext_plugin_eventstore_postgres.plugin import flext_event_store_backends, manifest
from flext_plugin_eventstore_postgres.plugin import open_store as open_backend
from flext_plugin_eventstore_postgres.store import POSITION_BITS, SCHEMA_VERSION, split_location
from psycopg import errors as pg_errors
from psycopg import sql

from flext_eventsourcing import (
    ANY,
    NO_STREAM,
    FlextEventStore,
    FlextEventStoreError,
    RecordedEvent,
    StoredEvent,
)
from flext_kernel.errors import CONCURRENCY_CONFLICT, STORAGE_ERROR, TIMEOUT, VALIDATION_ERROR
from flext_kernel.result import FlextResult
from flext_sdk.testing.eventstore import (
    WAIT,
    EventStoreContract,
    Noted,
    StoreFactory,
    contract_codec,
)

pytestmark = pytest.mark.postgres


class TestPostgresEventStore(EventStoreContract):
    @pytest.fixture
    def store_factory(self, postgres_url: str, pg_schema: str) -> StoreFactory:
        # A partial of the class pickles by reference, so spawned writer processes can call it.
        return functools.partial(PostgresEventStore, url=postgres_url, schema=pg_schema)


# Helpers.


def wait_for(condition: Callable[[], bool], timeout: float = WAIT, what: str = "the condition") -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.005)


@pytest.fixture
def open_store(postgres_url: str, pg_schema: str) -> Iterator[Callable[..., PostgresEventStore]]:
    """Open handles on this test's schema (like separate processes would); all closed afterwards."""
    opened: list[PostgresEventStore] = []

    def open_(**options: Any) -> PostgresEventStore:
        store = PostgresEventStore(contract_codec(), url=postgres_url, schema=pg_schema, **options)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


@pytest.fixture
def raw(postgres_url: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """A plain autocommit connection, for looking behind the store's back."""
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        yield connection


def _events_table(schema: str) -> sql.Composed:
    return sql.SQL("{}").format(sql.Identifier(schema, "flext_events"))


def _check_consistent(recorded: list[RecordedEvent]) -> None:
    positions = [r.position for r in recorded]
    assert positions == sorted(set(positions)), "positions must strictly increase"
    assert len({r.event_id for r in recorded}) == len(recorded), "an event was stored twice"
    versions: dict[str, list[int]] = {}
    for r in recorded:
        versions.setdefault(r.stream_id, []).append(r.version)
    assert all(seen == list(range(1, len(seen) + 1)) for seen in versions.values()), versions


def _rows_of(store: PostgresEventStore, stream_id: str, count: int = 1) -> list[StoredEvent]:
    events = [Noted(aggregate_id=stream_id, n=i, text=stream_id) for i in range(count)]
    return store.codec.prepare(stream_id, events).unwrap().rows(0)


# No gap a reader could skip.


def test_a_reader_never_skips_an_event_whose_transaction_commits_late(
    open_store: Callable[..., PostgresEventStore], raw: psycopg.Connection[tuple[Any, ...]], pg_schema: str
) -> None:
    writer, others, reader = open_store(), open_store(), open_store(visibility_wait=0.2)
    writer.append("before", [Noted(aggregate_id="before")], NO_STREAM).unwrap()
    seen: list[RecordedEvent] = []
    subscription = reader.subscribe(0)
    follower = threading.Thread(target=lambda: seen.extend(iter(subscription)))
    follower.start()
    try:
        wait_for(lambda: len(seen) == 1, what="the subscription catching up")
        with writer._write() as held:  # a writer transaction that has taken its position and stays open
            assert held.head("held") is None
            (held_position,) = held.insert(_rows_of(writer, "held"))
            # Other writers commit meanwhile, with later positions: they are not blocked.
            later = [
                others.append(f"later-{i}", [Noted(aggregate_id=f"later-{i}")], NO_STREAM).unwrap()
                for i in range(3)
            ]
            later_positions = [result.positions[0] for result in later]
            assert all(position > held_position for position in later_positions)
            # They are committed: a reader going by position alone would see them and move past
            # held_position, then never look back.
            committed = raw.execute(
                sql.SQL("SELECT position FROM {} WHERE position > %s ORDER BY position").format(
                    _events_table(pg_schema)
                ),
                (held_position,),
            ).fetchall()
            assert [row[0] for row in committed] == later_positions
            # The store holds them back while the earlier position may still commit.
            visible = reader.read_all(0).unwrap()
            assert [r.stream_id for r in visible] == ["before"]
            assert reader.read_all(visible[-1].position).unwrap() == []
            assert [r.stream_id for r in seen] == ["before"]
        # The held transaction commits now: every reader gets it, before the later ones.
        after = reader.read_all(visible[-1].position).unwrap()
        assert [r.stream_id for r in after] == ["held", "later-0", "later-1", "later-2"]
        assert [r.position for r in after] == [held_position, *later_positions]
        wait_for(lambda: len(seen) == 5, what="the subscription delivering the late event")
    finally:
        subscription.stop()
        follower.join(WAIT)
    assert [r.stream_id for r in seen] == ["before", "held", "later-0", "later-1", "later-2"]


def test_a_tailing_reader_misses_nothing_while_commits_land_out_of_position_order(
    open_store: Callable[..., PostgresEventStore],
) -> None:
    store = open_store()
    writers, transactions = 4, 12
    commits: list[int] = []  # first position of each transaction, in the order they committed
    lock = threading.Lock()
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            for i in range(transactions):
                with store._write() as tx:
                    stream_id = f"w{writer}"
                    head = tx.head(stream_id)
                    rows = _rows_of(store, stream_id, 2)
                    version = 0 if head is None else head[0]
                    rows = [row._replace(version=version + k + 1) for k, row in enumerate(rows)]
                    rows = [row._replace(event_id=str(uuid.uuid4())) for row in rows]
                    positions = tx.insert(rows)
                    # Writer 0 dawdles before committing, so later positions commit before its own.
                    time.sleep(0.02 if writer == 0 else 0.002 * (i % 3))
                with lock:
                    commits.append(positions[0])
        except BaseException as exc:  # reported by the test thread below
            errors.append(exc)

    tail: list[RecordedEvent] = []
    done = threading.Event()

    def follow() -> None:
        position = 0
        while True:
            finished = done.is_set()
            batch = store.read_all(position, 7).unwrap()
            tail.extend(batch)
            position = batch[-1].position if batch else position
            if finished and not batch:
                return

    follower = threading.Thread(target=follow)
    follower.start()
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    done.set()
    follower.join(60)
    assert errors == []
    inversions = sum(1 for a, b in itertools.pairwise(commits) if b < a)
    assert inversions > 0, "the commits never landed out of position order: the test proved nothing"
    everything = store.read_all().unwrap()
    assert len(everything) == writers * transactions * 2
    assert [r.position for r in tail] == [r.position for r in everything]
    _check_consistent(everything)


def test_a_long_transaction_elsewhere_on_the_server_holds_readers_back_until_it_ends(
    open_store: Callable[..., PostgresEventStore], postgres_url: str
) -> None:
    store = open_store(visibility_wait=0.1)
    with psycopg.connect(postgres_url) as other:  # any transaction that holds a transaction id
        other.execute("SELECT pg_current_xact_id()")
        store.append("s", [Noted(aggregate_id="s")], NO_STREAM).unwrap()
        assert store.read_all().unwrap() == [], "an event after a running transaction was handed out"
        assert len(store.read_stream("s").unwrap()) == 1  # streams are not held back
        other.rollback()
    assert [r.stream_id for r in store.read_all().unwrap()] == ["s"]


def test_read_all_waits_for_a_short_older_transaction_to_read_its_own_writes(
    open_store: Callable[..., PostgresEventStore], postgres_url: str
) -> None:
    store = open_store(visibility_wait=WAIT)
    with psycopg.connect(postgres_url) as other:
        other.execute("SELECT pg_current_xact_id()")
        store.append("s", [Noted(aggregate_id="s")], NO_STREAM).unwrap()
        timer = threading.Timer(0.1, other.commit)
        timer.start()
        started = time.monotonic()
        recorded = store.read_all().unwrap()
        waited = time.monotonic() - started
        timer.join()
    assert [r.stream_id for r in recorded] == ["s"]
    assert 0.05 < waited < WAIT


def test_positions_are_transaction_ids_with_the_event_index(
    open_store: Callable[..., PostgresEventStore],
) -> None:
    store = open_store()
    first = store.append("s", [Noted(aggregate_id="s", n=i) for i in range(3)], NO_STREAM).unwrap()
    second = store.append("t", [Noted(aggregate_id="t")], NO_STREAM).unwrap()
    base = first.positions[0]
    assert first.positions == (base, base + 1, base + 2)
    assert base % (1 << POSITION_BITS) == 0
    assert second.positions[0] >> POSITION_BITS > base >> POSITION_BITS


def test_a_batch_larger_than_one_transaction_holds_is_refused(
    open_store: Callable[..., PostgresEventStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "MAX_EVENTS_PER_TRANSACTION", 2)
    store = open_store()
    failure = store.append("s", [Noted(aggregate_id="s", n=i) for i in range(3)], NO_STREAM)
    assert failure.error_code == VALIDATION_ERROR
    assert failure.error_data == {"events": 3, "limit": 2}
    assert store.read_all().unwrap() == []


# Live subscriptions: LISTEN/NOTIFY, with polling behind it.


def test_listen_notify_wakes_a_subscriber_of_another_handle_at_once(
    open_store: Callable[..., PostgresEventStore],
) -> None:
    subscriber = open_store(poll_interval=30.0)  # polling alone would take 30 s
    writer = open_store()
    latencies: list[float] = []
    with subscriber.subscribe(0) as subscription:
        wait_for(lambda: subscriber.listening, what="LISTEN")
        for i in range(5):
            sent = time.monotonic()
            writer.append("s", [Noted(aggregate_id="s", n=i)], i).unwrap()
            recorded = subscription.next_event(WAIT)
            latencies.append(time.monotonic() - sent)
            assert recorded is not None
            assert recorded.version == i + 1
    assert subscriber._listener is not None
    assert subscriber._listener.notices >= 1, "no notification ever reached the subscriber"
    assert max(latencies) < 1.0, f"latencies {latencies}"


def test_without_listen_subscriptions_poll(open_store: Callable[..., PostgresEventStore]) -> None:
    subscriber = open_store(listen=False, poll_interval=0.05)
    writer = open_store()
    with subscriber.subscribe(0) as subscription:
        assert not subscriber.listening
        writer.append("s", [Noted(aggregate_id="s")], NO_STREAM).unwrap()
        recorded = subscription.next_event(WAIT)
    assert recorded is not None
    assert recorded.stream_id == "s"


def test_the_listener_reconnects_when_its_connection_is_killed(
    open_store: Callable[..., PostgresEventStore], raw: psycopg.Connection[tuple[Any, ...]]
) -> None:
    subscriber = open_store(poll_interval=30.0)
    writer = open_store()

    def listener_pids() -> list[int]:
        rows = raw.execute(
            "SELECT pid FROM pg_stat_activity WHERE query = %s",
            (f'LISTEN "{subscriber.channel}"',),
        ).fetchall()
        return [row[0] for row in rows]

    with subscriber.subscribe(0) as subscription:
        wait_for(lambda: subscriber.listening and len(listener_pids()) == 1, what="LISTEN")
        (killed,) = listener_pids()
        raw.execute("SELECT pg_terminate_backend(%s)", (killed,))
        wait_for(lambda: listener_pids() not in ([], [killed]), what="the listener reconnecting")
        wait_for(lambda: subscriber.listening, what="LISTEN again")
        sent = time.monotonic()
        writer.append("s", [Noted(aggregate_id="s")], NO_STREAM).unwrap()
        recorded = subscription.next_event(WAIT)
        assert recorded is not None
        assert time.monotonic() - sent < 1.0


def _sessions(raw: psycopg.Connection[tuple[Any, ...]], pids: set[int]) -> set[int]:
    """Which of ``pids`` still have a session on the server."""
    rows = raw.execute("SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)", (list(pids),)).fetchall()
    return {row[0] for row in rows}


def _borrow(store: PostgresEventStore, count: int) -> list[store_module.Connection]:
    """Take ``count`` pooled connections at once (the pool grows to hold them)."""
    return [store._acquire() for _ in range(count)]


def store_connections(transaction: Any) -> list[store_module.Connection]:
    """The connection a write transaction runs on (none once it ended)."""
    connection = transaction._connection
    return [] if connection is None else [connection]


def test_closing_the_store_stops_the_listener_and_closes_every_connection(
    open_store: Callable[..., PostgresEventStore], raw: psycopg.Connection[tuple[Any, ...]]
) -> None:
    store = open_store()
    subscription = store.subscribe(0)
    wait_for(lambda: store.listening, what="LISTEN")
    store.append("s", [Noted(aggregate_id="s")], NO_STREAM).unwrap()
    assert subscription.next_event(WAIT) is not None
    connections = _borrow(store, 3)
    pids = {connection.info.backend_pid for connection in connections}
    for connection in connections:
        store._release(connection)
    store.close()
    assert not store.listening
    assert subscription.next_event(0) is None
    assert all(connection.closed for connection in connections)
    wait_for(lambda: _sessions(raw, pids) == set(), what="the pooled sessions ending")
    wait_for(
        lambda: (
            raw.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query = %s", (f'LISTEN "{store.channel}"',)
            ).fetchone()
            == (0,)
        ),
        what="the listening session ending",
    )


def test_close_with_connections_in_use_closes_them_when_their_operations_end(
    open_store: Callable[..., PostgresEventStore], raw: psycopg.Connection[tuple[Any, ...]]
) -> None:
    store = open_store()
    store.append("s", [Noted(aggregate_id="s")], NO_STREAM).unwrap()
    connections = _borrow(store, 3)
    pids = {connection.info.backend_pid for connection in connections}
    store._release(connections.pop())
    store._release(connections.pop())
    (busy,) = connections  # lent out by hand, as an operation would hold it
    with store._write() as held:  # a write transaction in progress on one of the other two
        assert held.head("s") == (1, "contract.Noted")
        (writing,) = store_connections(held)
        store.close()
        assert (busy.closed, writing.closed) == (False, False)
        assert held.head("s") == (1, "contract.Noted")  # the operation in progress carries on
    assert writing.closed
    failed = store.append("s", [Noted(aggregate_id="s")], 1)
    assert (failed.error_code, failed.error) == (STORAGE_ERROR, "the event store is closed")
    assert not busy.closed
    store._release(busy)
    assert busy.closed
    wait_for(lambda: _sessions(raw, pids) == set(), what="the sessions ending")


def test_a_store_shared_by_many_threads_stays_within_its_connections(
    open_store: Callable[..., PostgresEventStore],
) -> None:
    threads, events = 12, 15
    store = open_store(max_connections=3)
    start = threading.Barrier(threads)
    failures: list[str] = []

    def write(index: int) -> None:
        start.wait(WAIT)
        stream = f"s{index}"
        for version in range(events):
            result = store.append(stream, [Noted(aggregate_id=stream, n=version)], version)
            if result.is_failure:
                failures.append(result.error or "")
            if store.read_stream(stream, from_version=version).is_failure:
                failures.append("read")

    workers = [threading.Thread(target=write, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert failures == []
    recorded = store.read_all().unwrap()
    assert len(recorded) == threads * events
    _check_consistent(recorded)
    stats = store._pool.get_stats()
    assert stats["pool_max"] == 3
    assert 1 <= stats["connections_num"] <= 3


def test_a_pooled_session_killed_on_the_server_is_replaced_and_the_next_append_works(
    open_store: Callable[..., PostgresEventStore], raw: psycopg.Connection[tuple[Any, ...]]
) -> None:
    store = open_store()
    store.append("s", [Noted(aggregate_id="s")], NO_STREAM).unwrap()
    connections = _borrow(store, 2)
    killed = {connection.info.backend_pid for connection in connections}
    for connection in connections:
        store._release(connection)
    for pid in killed:  # only this store's own sessions
        raw.execute("SELECT pg_terminate_backend(%s)", (pid,))
    wait_for(lambda: _sessions(raw, killed) == set(), what="the sessions ending")
    # The first statement finds its session gone: the pool drops it, checks the other idle one (gone
    # too), makes new ones, and the append runs again on one of them: nothing fails.
    store.append("s", [Noted(aggregate_id="s", n=1)], 1).unwrap()
    store.append("s", [Noted(aggregate_id="s", n=i) for i in (2, 3)], 2).unwrap()
    assert [r.version for r in store.read_stream("s").unwrap()] == [1, 2, 3, 4]
    (now,) = _borrow(store, 1)
    assert now.info.backend_pid not in killed
    store._release(now)
    assert store._pool.get_stats().get("connections_lost", 0) >= 1


def test_no_free_pooled_connection_within_the_timeout_is_a_timeout(
    open_store: Callable[..., PostgresEventStore],
) -> None:
    store = open_store(max_connections=1, connect_timeout=0.3)
    store.append("s", [Noted(aggregate_id="s")], NO_STREAM).unwrap()
    with store._write() as held:  # the only pooled connection, in use
        held.head("s")
        result = store.read_all()
    assert result.error_code == TIMEOUT
    assert result.error_data["max_connections"] == 1
    assert "all 1 were in use" in (result.error or "")
    assert store.read_all().is_success


# The schema.


def test_tables_are_created_on_first_use_not_on_open(
    open_store: Callable[..., PostgresEventStore], raw: psycopg.Connection[tuple[Any, ...]], pg_schema: str
) -> None:
    def tables() -> set[str]:
        rows = raw.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (pg_schema,)
        ).fetchall()
        return {row[0] for row in rows}

    store = open_store()
    assert tables() == set()
    assert store.read_all().unwrap() == []
    assert tables() == {"flext_events", "flext_snapshots", "flext_layout"}


def test_concurrent_first_use_creates_the_schema_once(open_store: Callable[..., PostgresEventStore]) -> None:
    stores = [open_store() for _ in range(6)]
    start = threading.Barrier(len(stores))
    results: list[FlextResult[Any]] = []

    def first_use(index: int) -> None:
        start.wait(WAIT)
        results.append(stores[index].append(f"s{index}", [Noted(aggregate_id=f"s{index}")], NO_STREAM))

    threads = [threading.Thread(target=first_use, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert [r.error for r in results if r.is_failure] == []
    assert len(stores[0].read_all().unwrap()) == len(stores)


def test_a_layout_from_a_newer_plugin_is_refused(
    open_store: Callable[..., PostgresEventStore], raw: psycopg.Connection[tuple[Any, ...]], pg_schema: str
) -> None:
    open_store().read_all().unwrap()
    raw.execute(
        sql.SQL("UPDATE {} SET version = %s").format(sql.Identifier(pg_schema, "flext_layout")),
        (SCHEMA_VERSION + 1,),
    )
    failure = open_store().read_all()
    assert failure.error_code == STORAGE_ERROR
    assert "newer than this plugin" in (failure.error or "")


def _routines(raw: psycopg.Connection[tuple[Any, ...]], schema: str) -> set[str]:
    rows = raw.execute(
        "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %s",
        (schema,),
    ).fetchall()
    return {row[0] for row in rows}


def test_a_schema_from_an_older_plugin_gets_the_append_routines(
    open_store: Callable[..., PostgresEventStore], raw: psycopg.Connection[tuple[Any, ...]], pg_schema: str
) -> None:
    open_store().append("s", [Noted(aggregate_id="s")], NO_STREAM).unwrap()
    assert {"flext_append_one_v1", "flext_append_v1"} <= _routines(raw, pg_schema)
    for name in ("flext_append_one_v1", "flext_append_v1"):  # as a schema made before they existed
        raw.execute(sql.SQL("DROP PROCEDURE {}").format(sql.Identifier(pg_schema, name)))
    store = open_store()
    store.append("s", [Noted(aggregate_id="s", n=1)], 1).unwrap()
    store.append("s", [Noted(aggregate_id="s", n=i) for i in (2, 3)], 2).unwrap()
    assert {"flext_append_one_v1", "flext_append_v1"} <= _routines(raw, pg_schema)
    assert [r.version for r in store.read_stream("s").unwrap()] == [1, 2, 3, 4]


def test_a_role_that_may_not_create_the_routines_still_appends(
    open_store: Callable[..., PostgresEventStore],
    raw: psycopg.Connection[tuple[Any, ...]],
    pg_schema: str,
    postgres_url: str,
) -> None:
    open_store().append("s", [Noted(aggregate_id="s")], NO_STREAM).unwrap()
    for name in ("flext_append_one_v1", "flext_append_v1"):
        raw.execute(sql.SQL("DROP PROCEDURE {}").format(sql.Identifier(pg_schema, name)))
    role = f"flext_writer_{uuid.uuid4().hex[:8]}"
    names = {"role": sql.Identifier(role), "schema": sql.Identifier(pg_schema)}
    raw.execute(sql.SQL("CREATE ROLE {role} LOGIN").format(**names))
    try:
        for grant in (
            "GRANT USAGE ON SCHEMA {schema} TO {role}",
            "GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA {schema} TO {role}",
            "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema} TO {role}",
        ):
            raw.execute(sql.SQL(grant).format(**names))
        url = psycopg.conninfo.make_conninfo(postgres_url, user=role)
        writer = PostgresEventStore(contract_codec(), url=url, schema=pg_schema)
        try:
            writer.append("s", [Noted(aggregate_id="s", n=1)], 1).unwrap()
            assert writer.append("s", [Noted(aggregate_id="s", n=2)], 1).error_code == CONCURRENCY_CONFLICT
        finally:
            writer.close()
        assert "flext_append_one_v1" not in _routines(raw, pg_schema)
        assert [r.version for r in open_store().read_stream("s").unwrap()] == [1, 2]
    finally:
        raw.execute(sql.SQL("DROP OWNED BY {role}").format(**names))
        raw.execute(sql.SQL("DROP ROLE {role}").format(**names))


def test_deleted_events_are_gone_from_the_table(
    open_store: Callable[..., PostgresEventStore], raw: psycopg.Connection[tuple[Any, ...]], pg_schema: str
) -> None:
    store = open_store()
    store.append("s", [Noted(aggregate_id="s", text="SECRET")], NO_STREAM).unwrap()
    store.delete_stream("s", reason="erasure").unwrap()
    rows = raw.execute(sql.SQL("SELECT data::text FROM {}").format(_events_table(pg_schema))).fetchall()
    assert len(rows) == 1
    assert "SECRET" not in rows[0][0]


def test_an_idempotent_retry_after_a_lost_answer_writes_nothing(
    open_store: Callable[..., PostgresEventStore], raw: psycopg.Connection[tuple[Any, ...]], pg_schema: str
) -> None:
    store = open_store()
    batch = [Noted(aggregate_id="s", n=i) for i in range(3)]
    first = store.append("s", batch, NO_STREAM).unwrap()
    retry = store.append("s", batch, NO_STREAM).unwrap()
    assert (retry.positions, retry.written) == (first.positions, False)
    count = raw.execute(sql.SQL("SELECT count(*) FROM {}").format(_events_table(pg_schema))).fetchone()
    assert count == (3,)


# Connections and errors.


def test_connections_are_pooled_not_opened_per_call(open_store: Callable[..., PostgresEventStore]) -> None:
    store = open_store()
    for i in range(20):
        store.append("s", [Noted(aggregate_id="s", n=i)], i).unwrap()
        store.read_all().unwrap()
    assert store._pool.get_stats()["connections_num"] == 1  # after the one that checked the tables


def test_pooled_connections_keep_their_session_setup_and_cursors(
    open_store: Callable[..., PostgresEventStore],
) -> None:
    store = open_store(lock_timeout=1.5)
    store.append("s", [Noted(aggregate_id="s")], NO_STREAM).unwrap()
    connection = store._acquire()
    try:
        assert connection.execute("SHOW lock_timeout").fetchone() == ("1500ms",)
        assert connection.info.parameter_status("application_name") == "flext-eventstore"
        assert connection.autocommit
        assert isinstance(connection.client_cursor, psycopg.ClientCursor)
        assert connection.server_cursor.connection is connection
    finally:
        store._release(connection)


def test_an_unreachable_server_fails_with_a_clear_message_and_no_password() -> None:
    store = PostgresEventStore(
        contract_codec(), url="postgresql://flext:s3cr3t@127.0.0.1:1/events", connect_timeout=2
    )
    try:
        for result in (
            store.append("s", [Noted(aggregate_id="s")], NO_STREAM),
            store.read_all(),
            store.read_stream("s"),
            store.load_snapshot("s"),
        ):
            assert result.error_code == STORAGE_ERROR
            assert result.error_data["reason"] == "connection_failed"
            message = result.error or ""
            assert message.startswith("cannot reach the PostgreSQL event store at flext@127.0.0.1:1/events")
            assert "FLEXT_EVENTSTORE_URL" in message
            assert "s3cr3t" not in message
            assert "s3cr3t" not in repr(result.error_data)
        # A subscription retries an unreachable server with back-off, within next_event's timeout.
        with pytest.raises(FlextEventStoreError, match="cannot reach"), store.subscribe(0) as subscription:
            subscription.next_event(3)
        assert subscription.retries >= 1
    finally:
        store.close()


def test_a_writer_waiting_too_long_for_a_stream_lock_times_out(
    open_store: Callable[..., PostgresEventStore], postgres_url: str
) -> None:
    store = open_store(lock_timeout=0.1)
    store.append("s", [Noted(aggregate_id="s")], NO_STREAM).unwrap()
    with store._write() as held:
        held.head("s")  # holds the stream's lock until the block ends
        result = store.append("s", [Noted(aggregate_id="s")], 1)
        assert result.error_code == TIMEOUT
        assert result.error_data["sqlstate"] == "55P03"
        assert store.append("other", [Noted(aggregate_id="other")], NO_STREAM).is_success
    assert store.append("s", [Noted(aggregate_id="s")], 1).is_success


def test_driver_errors_become_kernel_codes(open_store: Callable[..., PostgresEventStore]) -> None:
    store = open_store()
    assert store._translate_error(pg_errors.UniqueViolation("dup")).error_code == CONCURRENCY_CONFLICT
    assert store._translate_error(pg_errors.SerializationFailure("x")).error_code == CONCURRENCY_CONFLICT
    assert store._translate_error(pg_errors.DeadlockDetected("x")).error_code == CONCURRENCY_CONFLICT
    assert store._translate_error(pg_errors.QueryCanceled("slow")).error_code == TIMEOUT
    assert store._translate_error(pg_errors.AdminShutdown("bye")).error_data["reason"] == "connection_failed"
    broken = store._translate_error(pg_errors.UndefinedTable('relation "x" does not exist'))
    assert broken.error_code == STORAGE_ERROR
    assert "relation" in (broken.error or "")
    assert broken.error_data["sqlstate"] == "42P01"


# Where the store is.


@pytest.mark.parametrize(
    ("location", "conninfo", "schema"),
    [
        ("postgresql://u@h:5433/db", "postgresql://u@h:5433/db", None),
        ("postgresql://u@h/db?schema=events", "postgresql://u@h/db", "events"),
        ("postgres://h/db?sslmode=require&schema=e", "postgres://h/db?sslmode=require", "e"),
        ("host=h dbname=db", "host=h dbname=db", None),
    ],
)
def test_locations_are_urls_with_an_optional_schema(location: str, conninfo: str, schema: str | None) -> None:
    assert split_location(location) == (conninfo, schema)


def test_the_default_location_is_flext_eventstore_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEXT_EVENTSTORE_URL", "postgresql://app:pw@db.example:6432/events?schema=audit")
    store = PostgresEventStore()
    assert (store.conninfo, store.schema) == ("postgresql://app:pw@db.example:6432/events", "audit")
    assert store.server == "app@db.example:6432/events"
    store.close()
    assert PostgresEventStore(schema="mine").schema == "mine"
    monkeypatch.delenv("FLEXT_EVENTSTORE_URL")
    with pytest.raises(ValueError, match="FLEXT_EVENTSTORE_URL"):
        PostgresEventStore()
    with pytest.raises(ValueError, match="not a PostgreSQL URL"):
        PostgresEventStore(url="sqlite:///tmp/events.db")
    assert PostgresEventStore(url="postgresql://h/db").schema == DEFAULT_SCHEMA


# The plugin.


def test_the_plugin_provides_the_postgres_backend(postgres_url: str, pg_schema: str) -> None:
    assert manifest.name == "eventstore-postgres"
    backends = flext_event_store_backends()
    assert backends == {"postgres": open_backend}
    store = backends["postgres"](contract_codec(), location=f"{postgres_url}?schema={pg_schema}")
    try:
        assert isinstance(store, FlextEventStore)
        assert isinstance(store, PostgresEventStore)
        assert store.schema == pg_schema
        assert store.append("s", [Noted(aggregate_id="s")], ANY).is_success
    finally:
        store.close()


def test_the_installed_entry_point_loads_without_importing_psycopg(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        from flext_kernel.kernel import FlextKernel
        from flext_kernel.plugins.base import PluginState
        from flext_kernel.plugins.discovery import discover

        candidates = [c for c in discover() if c.name in ("eventsourcing", "eventstore-postgres")]
        print(sorted((c.target, c.distribution) for c in candidates))
        kernel = FlextKernel.boot(candidates, strict=True).unwrap()
        try:
            print(kernel.plugins.records["eventstore-postgres"].state is PluginState.ACTIVE)
            print(sorted(dict(kernel.plugins.collect("flext_event_store_backends"))["eventstore-postgres"]))
        finally:
            kernel.close()
        print("psycopg" in sys.modules or "psycopg_pool" in sys.modules)
        """
    )
    env = {**os.environ, "FLEXT_HOME": str(tmp_path)}
    env.pop("FLEXT_EVENTSTORE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "[('flext_eventsourcing.plugin', 'flext-eventsourcing'), "
        "('flext_plugin_eventstore_postgres.plugin', 'flext-plugin-eventstore-postgres')]",
        "True",
        "['postgres']",
        "False",
    ]


def test_flext_help_loads_the_plugin_but_not_psycopg(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import contextlib, io, sys
        from flext_kernel.cli.main import run

        sys.argv = ["flext", "--help"]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
            run()
        print("flext_plugin_eventstore_postgres.plugin" in sys.modules)
        print(sorted(name for name in sys.modules if name.split(".")[0] in ("psycopg", "psycopg_pool")))
        """
    )
    env = {**os.environ, "FLEXT_HOME": str(tmp_path), "NO_COLOR": "1"}  # an empty command cache
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["True", "[]"]


def test_multi_stream_appends_in_opposite_orders_never_deadlock(
    open_store: Callable[..., PostgresEventStore],
) -> None:
    """Two writers append to the same streams, listed in opposite orders, at the same moment.

    Each stream's lock is taken as its batch is decided; taken in the caller's order,
    ``[a, b]`` against ``[b, a]`` deadlocks and PostgreSQL aborts one of them, which
    reaches the caller as a spurious conflict.
    """
    rounds = 15
    stores = [open_store(), open_store()]
    orders = [("a", "b"), ("b", "a")]
    start = threading.Barrier(2)
    failures: list[FlextResult[Any]] = []
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        store, order = stores[writer], orders[writer]
        try:
            for i in range(rounds):
                batches = [
                    (stream, [Noted(aggregate_id=stream, n=i, text=f"w{writer}")], ANY) for stream in order
                ]
                start.wait(30)
                result = store.append_streams(batches)
                if result.is_failure:
                    failures.append(result)
        except BaseException as exc:  # reported by the test thread below
            errors.append(exc)
            start.abort()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert failures == []
    for stream in ("a", "b"):
        assert len(stores[0].read_stream(stream).unwrap()) == 2 * rounds
