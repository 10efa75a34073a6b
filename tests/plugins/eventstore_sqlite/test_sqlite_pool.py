"""The SQLite store's connection pool on its own: lending, limits, closing, broken connections."""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from collections.abc import Callable

import pytest
from flext_plugin_eventstore_sqlite._pool import ConnectionPool, PoolClosed, PoolTimeout


class Fake:
    """A connection that knows whether it is closed and whether it was reset."""

    numbers = itertools.count(1)

    def __init__(self) -> None:
        self.number = next(self.numbers)
        self.closed = False
        self.resets = 0
        self.broken = False

    def close(self) -> None:
        self.closed = True


def reset(connection: Fake) -> None:
    if connection.broken:
        raise sqlite3.OperationalError("disk I/O error")
    connection.resets += 1


def fake_pool(*, max_size: int = 16, timeout: float = 30.0) -> tuple[ConnectionPool[Fake], list[Fake]]:
    made: list[Fake] = []

    def connect() -> Fake:
        made.append(Fake())
        return made[-1]

    return ConnectionPool(connect, reset=reset, max_size=max_size, timeout=timeout), made


def run_threads(count: int, target: Callable[[int], None], timeout: float = 30) -> None:
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            target(index)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    if failures:
        raise failures[0]


def test_a_returned_connection_is_reset_and_lent_again() -> None:
    pool, made = fake_pool()
    first = pool.acquire()
    pool.release(first)
    assert pool.acquire() is first
    assert (first.resets, len(made), pool.size, pool.idle) == (1, 1, 1, 0)


def test_no_connection_is_lent_to_two_threads_at_once() -> None:
    pool, made = fake_pool(max_size=4)
    holders: dict[int, int] = {}  # connection number -> thread holding it
    lock = threading.Lock()
    start = threading.Barrier(16)

    def borrow(index: int) -> None:
        start.wait(10)
        for _ in range(300):
            connection = pool.acquire()
            with lock:
                assert connection.number not in holders, "lent twice"
                holders[connection.number] = index
            time.sleep(0)  # let another thread run while this one holds it
            with lock:
                del holders[connection.number]
            pool.release(connection)

    run_threads(16, borrow)
    assert len(made) <= 4
    assert pool.size == pool.idle == len(made)


def test_callers_beyond_max_size_wait_for_a_returned_connection() -> None:
    pool, made = fake_pool(max_size=2, timeout=10)
    held = [pool.acquire(), pool.acquire()]
    got: list[Fake] = []
    waiter = threading.Thread(target=lambda: got.append(pool.acquire()))
    waiter.start()
    time.sleep(0.05)
    assert got == []  # waiting: no third connection is made
    pool.release(held[0])
    waiter.join(5)
    assert got == [held[0]]
    assert len(made) == 2


def test_a_wait_longer_than_the_timeout_fails() -> None:
    pool, _ = fake_pool(max_size=1, timeout=0.05)
    held = pool.acquire()
    started = time.monotonic()
    with pytest.raises(PoolTimeout, match="all 1 are in use"):
        pool.acquire()
    assert time.monotonic() - started >= 0.05
    pool.release(held)
    assert pool.acquire() is held


def test_close_closes_idle_connections_at_once_and_lent_ones_when_returned() -> None:
    pool, _ = fake_pool()
    lent, idle = pool.acquire(), pool.acquire()
    pool.release(idle)
    pool.close()
    assert idle.closed
    assert not lent.closed  # its borrower may still be using it
    assert pool.size == 1
    pool.release(lent)
    assert lent.closed
    assert pool.size == 0
    with pytest.raises(PoolClosed):
        pool.acquire()


def test_close_wakes_callers_waiting_for_a_connection() -> None:
    pool, _ = fake_pool(max_size=1, timeout=30)
    pool.acquire()
    raised: list[BaseException] = []

    def wait() -> None:
        try:
            pool.acquire()
        except PoolClosed as exc:
            raised.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.05)
    pool.close()
    waiter.join(5)
    assert not waiter.is_alive()
    assert [type(exc) for exc in raised] == [PoolClosed]


def test_a_connection_that_fails_its_reset_is_closed_and_replaced() -> None:
    pool, made = fake_pool(max_size=1, timeout=1)
    broken = pool.acquire()
    broken.broken = True
    pool.release(broken)
    assert broken.closed
    assert pool.size == 0  # its place is free: the next caller does not wait
    fresh = pool.acquire()
    assert fresh is not broken
    assert len(made) == 2


def test_a_discarded_connection_frees_its_place_for_a_waiting_caller() -> None:
    pool, _ = fake_pool(max_size=1, timeout=10)
    lent = pool.acquire()
    got: list[Fake] = []
    waiter = threading.Thread(target=lambda: got.append(pool.acquire()))
    waiter.start()
    time.sleep(0.05)
    pool.discard(lent)
    waiter.join(5)
    assert lent.closed
    assert len(got) == 1
    assert got[0] is not lent


def test_a_failed_connect_frees_its_place() -> None:
    attempts = itertools.count()

    def connect() -> Fake:
        if next(attempts) == 0:
            raise sqlite3.OperationalError("unable to open database file")
        return Fake()

    pool: ConnectionPool[Fake] = ConnectionPool(connect, max_size=1, timeout=0.05)
    with pytest.raises(sqlite3.OperationalError):
        pool.acquire()
    assert pool.size == 0
    assert isinstance(pool.acquire(), Fake)


def test_real_sqlite_connections_closed_by_their_borrower_are_discarded() -> None:
    """A closed sqlite3 connection fails the store's reset (``in_transaction`` raises) and is dropped."""

    def roll_back(connection: sqlite3.Connection) -> None:  # the store's reset
        if connection.in_transaction:
            connection.rollback()

    pool: ConnectionPool[sqlite3.Connection] = ConnectionPool(
        lambda: sqlite3.connect(":memory:", check_same_thread=False), reset=roll_back
    )
    connection = pool.acquire()
    connection.close()
    pool.release(connection)
    assert pool.size == 0
    assert pool.acquire() is not connection


def test_max_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ConnectionPool(Fake, max_size=0)
