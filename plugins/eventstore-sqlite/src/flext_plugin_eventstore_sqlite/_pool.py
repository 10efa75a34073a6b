"""ConnectionPool: the SQLite store's connections, each lent to one caller at a time.

Why a pool of our own rather than a library's. The store keeps two kinds of
connection (plain ones, and ones carrying a TEMP trigger that guards
one-event appends), set up when they are opened; its hot path borrows one
per append, around a hundred microseconds all told, so a pool may add no
more than a lock and a list operation. The maintained pools do not fit:

* ``psycopg_pool`` is for psycopg connections only;
* SQLAlchemy's ``QueuePool`` would add a large dependency to the embedded
  default backend and wraps every checkout in a proxy object;
* DBUtils' ``PooledDB`` wraps connections and cursors in proxies that
  reconnect transparently, in the middle of whatever the caller was doing,
  and every statement goes through them;
* ``generic-connection-pool`` takes several locks per checkout (endpoint,
  manager, event queue).

So this is one small class, used once per kind, with its own tests
(``tests/plugins/eventstore_sqlite/test_sqlite_pool.py``). Its vocabulary
follows ``psycopg_pool``: ``connect`` makes a ready connection, ``reset``
brings a returned one back to a clean state, and a connection that fails its
reset is closed and its place freed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Generic, Protocol, TypeVar

__all__ = ["ConnectionPool", "PoolClosed", "PoolTimeout"]


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


class PoolTimeout(TimeoutError):
    """Every connection stayed lent out for longer than the pool's ``timeout``."""


class PoolClosed(RuntimeError):
    """The pool is closed: it lends nothing more."""


class ConnectionPool(Generic[C]):
    """At most ``max_size`` connections made by ``connect``; idle ones are lent again, last returned first.

    Args:
        connect: makes a new connection, ready to use.
        reset: run on every returned connection (a rollback, say); if it
            raises, the connection is closed instead of kept.
        max_size: most connections open at once; a caller beyond that waits
            for one to be returned.
        timeout: longest such wait, in seconds, before ``PoolTimeout``.

    """

    __slots__ = (
        "_available",
        "_closed",
        "_connect",
        "_idle",
        "_lock",
        "_reset",
        "_size",
        "_waiting",
        "max_size",
        "timeout",
    )

    def __init__(
        self,
        connect: Callable[[], C],
        *,
        reset: Callable[[C], object] | None = None,
        max_size: int = 16,
        timeout: float = 30.0,
    ) -> None:
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1, not {max_size}")
        self._connect = connect
        self._reset = reset
        self.max_size = max_size
        """Most connections open at once."""
        self.timeout = timeout
        """Longest wait, in seconds, for a connection when ``max_size`` are lent out."""
        self._lock = threading.Lock()
        self._available = threading.Condition(self._lock)
        self._idle: list[C] = []  # a stack: the connection used last is the warmest
        self._size = 0  # open connections, idle or lent out, and those being made
        self._waiting = 0  # callers waiting in acquire
        self._closed = False

    @property
    def size(self) -> int:
        """Connections open now, idle or lent out."""
        return self._size

    @property
    def idle(self) -> int:
        """Connections open now and not lent out."""
        return len(self._idle)

    @property
    def closed(self) -> bool:
        """True once ``close`` was called."""
        return self._closed

    def acquire(self) -> C:
        """Lend a connection: an idle one, else a new one, else wait for one to be returned.

        Raises:
            PoolTimeout: ``max_size`` connections stayed lent out for ``timeout`` seconds.
            PoolClosed: the pool is closed (also while waiting).

        """
        with self._lock:
            if self._idle:  # the usual case: one lock, one pop
                return self._idle.pop()
            returned = self._wait()
        if returned is not None:
            return returned
        try:
            return self._connect()
        except BaseException:
            self._forget()  # the place counted for it is free again
            raise

    def _wait(self) -> C | None:
        """With the lock held: a returned connection, or None once a new one may be made (counted)."""
        deadline: float | None = None
        while True:
            if self._closed:
                raise PoolClosed("the connection pool is closed")
            if self._idle:
                return self._idle.pop()
            if self._size < self.max_size:
                self._size += 1
                return None
            now = time.monotonic()
            if deadline is None:
                deadline = now + self.timeout
            if now >= deadline:
                raise PoolTimeout(
                    f"no connection was returned within {self.timeout:g}s: all {self.max_size} are in use"
                )
            self._waiting += 1
            try:
                self._available.wait(deadline - now)
            finally:
                self._waiting -= 1

    def release(self, connection: C) -> None:
        """Take back a lent connection: reset and keep it, or close it (pool closed, or the reset failed)."""
        if self._reset is not None:
            try:
                self._reset(connection)
            except BaseException as exc:
                self.discard(connection)
                if not isinstance(exc, Exception):
                    raise  # an interrupt: the connection is closed, the interrupt goes on
                return
        with self._lock:
            if not self._closed:
                self._idle.append(connection)
                if self._waiting:
                    self._available.notify()
                return
            self._size -= 1
        _close(connection)

    def discard(self, connection: C) -> None:
        """Close a lent connection instead of taking it back (it is broken); its place is free again."""
        self._forget()
        _close(connection)

    def _forget(self) -> None:
        with self._lock:
            self._size -= 1
            if self._waiting:
                self._available.notify()

    def close(self) -> None:
        """Close the idle connections and lend no more; lent ones are closed when they are returned.

        Callers waiting for a connection get ``PoolClosed``.
        """
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._size -= len(idle)
            self._available.notify_all()
        for connection in idle:
            _close(connection)


def _close(connection: _Closable) -> None:
    with suppress(Exception):  # a broken connection may fail to close; it is dropped either way
        connection.close()
