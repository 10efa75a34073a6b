"""Subscriptions and the append signal, driven directly (the contract drives them through stores)."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from flext_eventsourcing.errors import FlextEventStoreError
from flext_eventsourcing.eventstore import RecordedEvent
from flext_eventsourcing.subscription import (
    CONNECTION_FAILED,
    AppendSignal,
    AsyncEventSubscription,
    EventSubscription,
)
from flext_kernel.errors import STORAGE_ERROR
from flext_kernel.result import FlextResult
from flext_sdk.testing.eventstore import WAIT, Noted


def recorded(position: int) -> RecordedEvent:
    event = Noted(aggregate_id="s", version=position)
    return RecordedEvent(position, "s", position, "contract.Noted", 1, event.model_dump_json(), event)


class Log:
    """A fake store: a list of events, a signal, and a hook that runs after each read."""

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []
        self.signal = AppendSignal()
        self.after_read: list[object] = []
        self.reads = 0

    def read_all(self, after: int, limit: int) -> FlextResult[list[RecordedEvent]]:
        self.reads += 1
        batch = [e for e in self.events if e.position > after][:limit]
        if self.after_read:
            hook = self.after_read.pop(0)
            assert callable(hook)
            hook()
        return FlextResult.ok(batch)

    def append(self, position: int) -> None:
        self.events.append(recorded(position))
        self.signal.notify()


def test_an_append_landing_between_an_empty_read_and_the_wait_is_not_missed() -> None:
    log = Log()
    # The append commits right after the subscription's read came back empty, before it waits:
    # the signal's token, taken before the read, must make the wait return at once.
    log.after_read.append(lambda: log.append(1))
    subscription = EventSubscription(log.read_all, log.signal, poll_interval=30)
    started = time.monotonic()
    event = subscription.next_event(timeout=5)
    assert event is not None
    assert event.position == 1
    assert time.monotonic() - started < 2


def test_batches_are_read_in_pages_and_position_follows_delivery() -> None:
    log = Log()
    for position in (2, 4, 5, 9, 10):
        log.append(position)
    subscription = EventSubscription(log.read_all, log.signal, 3, batch_size=2)
    assert [subscription.next_event(1).position for _ in range(3)] == [4, 5, 9]  # type: ignore[union-attr]
    assert subscription.position == 9
    assert log.reads == 2


def test_without_a_notice_the_subscription_polls() -> None:
    log = Log()
    subscription = EventSubscription(log.read_all, log.signal, poll_interval=0.02)
    log.events.append(recorded(1))  # written by "another process": nobody notifies
    event = subscription.next_event(timeout=2)
    assert event is not None
    assert event.position == 1


def test_a_timeout_returns_none_and_stop_ends_iteration() -> None:
    log = Log()
    subscription = EventSubscription(log.read_all, log.signal)
    assert subscription.next_event(timeout=0.05) is None
    log.append(1)
    subscription.stop()
    assert list(subscription) == []  # stopped: even buffered or stored events are not delivered
    assert subscription.stopped


def test_a_read_failure_raises_with_its_code() -> None:
    def failing(after: int, limit: int) -> FlextResult[list[RecordedEvent]]:
        return FlextResult.fail("disk on fire", error_code=STORAGE_ERROR, error_data={"disk": 1})

    subscription = EventSubscription(failing, AppendSignal())
    with pytest.raises(FlextEventStoreError, match="disk on fire") as raised:
        next(subscription)
    assert raised.value.error_code == STORAGE_ERROR
    assert raised.value.error_data == {"disk": 1}


def test_a_negative_start_is_refused() -> None:
    with pytest.raises(ValueError, match="0 or more"):
        EventSubscription(Log().read_all, AppendSignal(), -1)


def test_the_signal_wakes_threads_and_event_loops() -> None:
    signal = AppendSignal()
    token = signal.token()
    woke = threading.Event()

    def wait_in_thread() -> None:
        signal.wait(token, 10)
        woke.set()

    thread = threading.Thread(target=wait_in_thread)
    thread.start()

    async def wait_in_loop() -> float:
        started = time.monotonic()
        threading.Timer(0.05, signal.notify).start()
        await signal.wait_async(token, 10)
        return time.monotonic() - started

    assert asyncio.run(wait_in_loop()) < 5
    thread.join(5)
    assert woke.is_set()
    assert signal.token() == token + 1


class _WaiterArrivesDuringNotify:
    """A counter for ``AppendSignal`` that, while ``notify`` draws the next count, lets a waiter in.

    It starts the waiter and returns only once the waiter has registered and
    is blocked inside ``Condition.wait``: the narrowest race there is. A
    ``notify`` that looked for waiters *before* moving the count would have
    seen none, skipped the wake-up, and left the waiter to its timeout.
    """

    def __init__(self, signal: AppendSignal, waiter: threading.Thread) -> None:
        self.signal = signal
        self.waiter = waiter
        self.inner = itertools.count(1)

    def __next__(self) -> int:
        self.waiter.start()
        deadline = time.monotonic() + WAIT
        while self.signal._waiting == 0 and time.monotonic() < deadline:
            time.sleep(0.001)
        with self.signal._condition:  # granted once the waiter has let go of it inside wait()
            pass
        return next(self.inner)


@pytest.mark.parametrize("where", ["thread", "event loop"])
def test_a_waiter_arriving_while_notify_runs_is_woken(where: str) -> None:
    signal = AppendSignal()
    token = signal.token()

    def wait() -> None:
        if where == "thread":
            signal.wait(token, 60)
        else:
            asyncio.run(signal.wait_async(token, 60))

    waiter = threading.Thread(target=wait, daemon=True)
    signal._counter = _WaiterArrivesDuringNotify(signal, waiter)  # type: ignore[assignment]
    signal.notify()
    waiter.join(WAIT)
    assert not waiter.is_alive(), "the waiter slept on: the notify did not wake it"


def test_the_async_subscription_follows_and_stops() -> None:
    log = Log()
    log.append(1)

    async def read_all(after: int, limit: int) -> FlextResult[list[RecordedEvent]]:
        return log.read_all(after, limit)

    async def scenario() -> list[int]:
        seen: list[int] = []
        async with AsyncEventSubscription(read_all, log.signal, poll_interval=30) as subscription:
            threading.Timer(0.05, log.append, args=(2,)).start()
            async for event in subscription:
                seen.append(event.position)
                if event.position == 2:
                    break
            assert await subscription.next_event(timeout=0.05) is None
        assert subscription.stopped
        return seen

    assert asyncio.run(scenario()) == [1, 2]


# Outages: a store that cannot be reached is retried with back-off; nothing is lost or repeated.


class FlakyLog(Log):
    """A ``Log`` whose reads fail, as a store whose server is away does, while ``down`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.failed_at: list[float] = []

    def back(self, *positions: int) -> None:
        """The server is back, and these events were appended."""
        self.down = False
        for position in positions:
            self.append(position)

    def read_all(self, after: int, limit: int) -> FlextResult[list[RecordedEvent]]:
        if self.down:
            self.failed_at.append(time.monotonic())
            return FlextResult.fail(
                "cannot reach the store", error_code=STORAGE_ERROR, error_data={"reason": CONNECTION_FAILED}
            )
        return super().read_all(after, limit)


def test_an_outage_is_retried_with_back_off_and_the_subscription_resumes_exactly_once() -> None:
    log = FlakyLog()
    for position in (1, 2):
        log.append(position)
    outages: list[FlextResult[object] | None] = []
    subscription = EventSubscription(log.read_all, log.signal, poll_interval=30, on_outage=outages.append)
    assert [subscription.next_event(WAIT).position for _ in range(2)] == [1, 2]  # type: ignore[union-attr]
    log.down = True
    threading.Timer(0.8, log.back, (3, 4)).start()
    rest = [subscription.next_event(WAIT) for _ in range(2)]
    assert [event.position for event in rest if event is not None] == [3, 4]
    assert subscription.next_event(0.05) is None, "nothing twice"
    gaps = [later - earlier for earlier, later in itertools.pairwise(log.failed_at)]
    assert len(log.failed_at) >= 3
    assert all(later > earlier * 1.5 for earlier, later in itertools.pairwise(gaps)), f"back-off: {gaps}"
    assert subscription.retries == len(log.failed_at)
    assert [None if o is None else o.error_data["reason"] for o in outages] == [CONNECTION_FAILED, None]


def test_any_other_read_failure_ends_the_subscription_with_its_code() -> None:
    def broken(after: int, limit: int) -> FlextResult[list[RecordedEvent]]:
        return FlextResult.fail("relation does not exist", error_code=STORAGE_ERROR)

    subscription = EventSubscription(broken, AppendSignal())
    with pytest.raises(FlextEventStoreError, match="relation does not exist") as raised:
        subscription.next_event(WAIT)
    assert raised.value.error_code == STORAGE_ERROR
    assert subscription.retries == 0


def test_an_outage_longer_than_reconnect_for_ends_the_subscription() -> None:
    log = FlakyLog()
    log.down = True
    subscription = EventSubscription(log.read_all, log.signal, reconnect_for=0.3)
    started = time.monotonic()
    with pytest.raises(FlextEventStoreError, match="could not read after position 0: cannot reach the store"):
        next(iter(subscription))
    assert 0.3 <= time.monotonic() - started < 2


def test_stop_ends_a_subscription_waiting_out_its_back_off() -> None:
    log = FlakyLog()
    log.down = True
    subscription = EventSubscription(log.read_all, log.signal)
    subscription._delay = 30.0  # as after many failed reads
    threading.Timer(0.2, subscription.stop).start()
    started = time.monotonic()
    assert subscription.next_event() is None
    assert time.monotonic() - started < 2


def _async(read: Callable[[int, int], FlextResult[list[RecordedEvent]]]) -> Any:
    async def read_async(after: int, limit: int) -> FlextResult[list[RecordedEvent]]:
        return read(after, limit)

    return read_async


def test_the_async_subscription_retries_an_outage_too() -> None:
    log = FlakyLog()
    log.append(1)

    async def scenario() -> list[int]:
        subscription = AsyncEventSubscription(_async(log.read_all), log.signal, poll_interval=30)
        first = await subscription.next_event(WAIT)
        log.down = True
        asyncio.get_running_loop().call_later(0.4, log.back, 2)
        second = await subscription.next_event(WAIT)
        assert subscription.retries >= 1
        return [event.position for event in (first, second) if event is not None]

    assert asyncio.run(scenario()) == [1, 2]
