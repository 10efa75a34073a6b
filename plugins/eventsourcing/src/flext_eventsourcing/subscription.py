"""Subscriptions: every event after a position, stored ones first, then live ones as they commit.

A subscription is a loop over ``read_all(position, batch_size)``: it delivers
what it read, moves ``position`` to the last delivered event, and when a read
comes back empty it waits on the store's ``AppendSignal`` until something may
have been appended. Because it only ever asks for "events after the last one I
delivered", it sees each event exactly once and in global order, provided the
backend keeps the no-skippable-gaps guarantee (see ``flext_eventsourcing.eventstore``).

The signal is notified by the store after each of its own appends (instant
wake-up in the same process) and by backends that hear about other processes'
appends (PostgreSQL's LISTEN/NOTIFY); without such a notice, waiting ends
after ``poll_interval`` and the subscription reads again (SQLite across
processes). To resume after a restart, store ``position`` with the effects
of the events and subscribe from it.

A read that fails because the store cannot be reached (the failure's
``error_data["reason"]`` is ``"connection_failed"``: a database server that
restarts) is retried with back-off, 0.05 s doubling up to 5 s, for as long
as ``reconnect_for`` allows (by default for as long as it takes); since the
next read asks again for the events after the last one delivered, the
subscription resumes exactly where it was: nothing lost, nothing twice.
``on_outage`` hears when an outage begins (with the failure) and ends (with
None). Any other failure, or an outage longer than ``reconnect_for``, ends
the iteration with ``FlextEventStoreError`` carrying the failure's code.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from flext_eventsourcing.errors import FlextEventStoreError
from flext_eventsourcing.eventstore import RecordedEvent
from flext_kernel.result import FlextResult

if TYPE_CHECKING:
    import asyncio

__all__ = ["CONNECTION_FAILED", "AppendSignal", "AsyncEventSubscription", "EventSubscription", "OutageHook"]

ReadAll = Callable[[int, int], FlextResult[list[RecordedEvent]]]
ReadAllAsync = Callable[[int, int], Awaitable[FlextResult[list[RecordedEvent]]]]
OutageHook = Callable[[FlextResult[Any] | None], None]
"""Called with the failed read when an outage begins, and with None once a read succeeds again."""

CONNECTION_FAILED: Final = "connection_failed"
"""``error_data["reason"]`` of a failure that means "no usable connection": subscriptions retry it."""
_FIRST_RETRY: Final = 0.05  # seconds before the first retry of an outage
_MOST_RETRY: Final = 5.0  # the longest pause between two retries


class AppendSignal:
    """A counter that waiters in threads and in event loops can block on until it moves.

    ``notify`` runs after every append, and mostly nobody waits, so it takes
    the lock only when somebody does. That is safe because of an order on
    both sides: a waiter registers (under the lock) *before* it compares the
    count, and ``notify`` moves the count *before* it looks for waiters. So
    either the waiter sees the new count, or ``notify`` sees the waiter and
    takes the lock, which the waiter gives up only inside ``Condition.wait``.
    The count takes a new value from a counter each time, so two appends
    notifying at once can never leave it where a waiter's token is.
    """

    __slots__ = ("_async_waiters", "_condition", "_count", "_counter", "_waiting")

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._counter = itertools.count(1)
        self._count = 0
        self._waiting = 0  # waiters registered, in threads and event loops (changed under the lock)
        self._async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def token(self) -> int:
        """The current count; take it *before* reading, then ``wait(token, ...)`` if the read was empty."""
        return self._count

    def notify(self) -> None:
        """Say that something may have been appended (or a subscription was stopped): wake every waiter."""
        self._count = next(self._counter)
        if not self._waiting:
            return
        with self._condition:
            self._condition.notify_all()
            waiters = list(self._async_waiters)
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # a closed loop: its waiter is gone
                loop.call_soon_threadsafe(event.set)

    def wait(self, token: int, timeout: float) -> None:
        """Block until the count differs from ``token`` or ``timeout`` seconds pass."""
        with self._condition:
            self._waiting += 1
            try:
                self._condition.wait_for(lambda: self._count != token, timeout)
            finally:
                self._waiting -= 1

    async def wait_async(self, token: int, timeout: float) -> None:
        """Like ``wait``, without blocking the event loop."""
        import asyncio  # here, not at the top: opening a store must not load asyncio (and ssl)

        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._condition:
            self._async_waiters.add(waiter)
            self._waiting += 1
            moved = self._count != token
        try:
            if not moved:
                await asyncio.wait_for(waiter[1].wait(), timeout)
        except TimeoutError:
            pass
        finally:
            with self._condition:
                self._async_waiters.discard(waiter)
                self._waiting -= 1


class _SubscriptionState:
    """What the sync and async subscriptions share: position, buffer, stop flag, outage back-off."""

    __slots__ = (
        "_buffer",
        "_delay",
        "_on_outage",
        "_outage_since",
        "_signal",
        "_stopped",
        "batch_size",
        "poll_interval",
        "position",
        "reconnect_for",
        "retries",
    )

    def __init__(
        self,
        signal: AppendSignal,
        from_position: int,
        batch_size: int,
        poll_interval: float,
        reconnect_for: float | None,
        on_outage: OutageHook | None,
    ) -> None:
        if from_position < 0:
            raise ValueError(f"from_position must be 0 or more, not {from_position}")
        self.position = from_position
        """Global position of the last event delivered (where to resume after a restart)."""
        self.batch_size = batch_size
        """How many events one read asks for."""
        self.poll_interval = poll_interval
        """Longest wait between two reads when no append is signalled."""
        self.reconnect_for = reconnect_for
        """Longest outage, in seconds, retried before the subscription fails (None: no limit)."""
        self.retries = 0
        """Failed reads retried so far (the store could not be reached)."""
        self._on_outage = on_outage
        self._outage_since: float | None = None
        self._delay = _FIRST_RETRY
        self._signal = signal
        self._buffer: deque[RecordedEvent] = deque()
        self._stopped = False

    @property
    def stopped(self) -> bool:
        """True once ``stop`` was called (or the store closed)."""
        return self._stopped

    def stop(self) -> None:
        """Stop: a blocked ``next`` returns, and iteration ends. Safe from any thread."""
        self._stopped = True
        self._signal.notify()

    def _take(self) -> RecordedEvent:
        event = self._buffer.popleft()
        self.position = event.position
        return event

    def _fill(self, batch: FlextResult[list[RecordedEvent]], deadline: float | None) -> float | None:
        """Take a read's events into the buffer (None), or say how long to wait before retrying it.

        Raises:
            FlextEventStoreError: the read failed for good, or the outage outlasted
                ``reconnect_for`` or the caller's ``deadline``.

        """
        if batch.is_success:
            if self._outage_since is not None:
                self._outage_since, self._delay = None, _FIRST_RETRY
                if self._on_outage is not None:
                    self._on_outage(None)
            self._buffer.extend(batch.value)
            return None
        now = time.monotonic()
        began = now if self._outage_since is None else self._outage_since
        if (
            batch.error_data.get("reason") != CONNECTION_FAILED
            or (self.reconnect_for is not None and now - began >= self.reconnect_for)
            or (deadline is not None and now >= deadline)
        ):
            raise FlextEventStoreError(
                f"subscription could not read after position {self.position}: {batch.error}",
                batch.error_code,
                dict(batch.error_data),
            )
        if self._outage_since is None:
            self._outage_since = now
            if self._on_outage is not None:
                self._on_outage(batch)
        self.retries += 1
        delay, self._delay = self._delay, min(self._delay * 2, _MOST_RETRY)
        return delay if deadline is None else min(delay, deadline - now)

    def _remaining(self, deadline: float | None) -> float:
        if deadline is None:
            return self.poll_interval
        return min(self.poll_interval, deadline - time.monotonic())


class EventSubscription(_SubscriptionState):
    """An iterator over every event after ``from_position``; blocks for new ones until stopped.

    Iterate it (``for recorded in subscription``), or call ``next_event(timeout)``
    to wait at most ``timeout`` seconds. ``stop()`` (from any thread) or leaving
    its ``with`` block ends it. A store that cannot be reached is retried with
    back-off (see the module docs); other reading failures raise ``FlextEventStoreError``.
    """

    __slots__ = ("_closed", "_read")

    def __init__(
        self,
        read_all: ReadAll,
        signal: AppendSignal,
        from_position: int = 0,
        *,
        batch_size: int = 500,
        poll_interval: float = 0.1,
        closed: Callable[[], bool] = lambda: False,
        reconnect_for: float | None = None,
        on_outage: OutageHook | None = None,
    ) -> None:
        super().__init__(signal, from_position, batch_size, poll_interval, reconnect_for, on_outage)
        self._read = read_all
        self._closed = closed

    def next_event(self, timeout: float | None = None) -> RecordedEvent | None:
        """Return the next event, or None if none came within ``timeout`` seconds or it was stopped.

        Raises:
            FlextEventStoreError: a read failed for good, or the store stayed
                unreachable past ``reconnect_for`` or ``timeout``.

        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._stopped:
            if self._buffer:
                return self._take()
            if self._closed():
                self._stopped = True
                break
            token = self._signal.token()
            retry = self._fill(self._read(self.position, self.batch_size), deadline)
            if retry is None and self._buffer:
                continue
            wait = self._remaining(deadline) if retry is None else retry
            if wait <= 0:
                return None
            self._signal.wait(token, wait)
        return None

    def __iter__(self) -> Iterator[RecordedEvent]:
        return self

    def __next__(self) -> RecordedEvent:
        event = self.next_event()
        if event is None:
            raise StopIteration
        return event

    def __enter__(self) -> EventSubscription:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class AsyncEventSubscription(_SubscriptionState):
    """``EventSubscription`` as an async iterator: ``async for recorded in store.subscribe_async(p)``."""

    __slots__ = ("_closed", "_read")

    def __init__(
        self,
        read_all: ReadAllAsync,
        signal: AppendSignal,
        from_position: int = 0,
        *,
        batch_size: int = 500,
        poll_interval: float = 0.1,
        closed: Callable[[], bool] = lambda: False,
        reconnect_for: float | None = None,
        on_outage: OutageHook | None = None,
    ) -> None:
        super().__init__(signal, from_position, batch_size, poll_interval, reconnect_for, on_outage)
        self._read = read_all
        self._closed = closed

    async def next_event(self, timeout: float | None = None) -> RecordedEvent | None:
        """Return the next event, or None if none came within ``timeout`` seconds or it was stopped.

        Raises:
            FlextEventStoreError: as ``EventSubscription.next_event``.

        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._stopped:
            if self._buffer:
                return self._take()
            if self._closed():
                self._stopped = True
                break
            token = self._signal.token()
            retry = self._fill(await self._read(self.position, self.batch_size), deadline)
            if retry is None and self._buffer:
                continue
            wait = self._remaining(deadline) if retry is None else retry
            if wait <= 0:
                return None
            await self._signal.wait_async(token, wait)
        return None

    def __aiter__(self) -> AsyncIterator[RecordedEvent]:
        return self

    async def __anext__(self) -> RecordedEvent:
        event = await self.next_event()
        if event is None:
            raise StopAsyncIteration
        return event

    async def aclose(self) -> None:
        """Stop the subscription (``async with`` calls this)."""
        self.stop()

    async def __aenter__(self) -> AsyncEventSubscription:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
