"""Event bus: every subscriber runs, failures are isolated and reported, async fan-out."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from flext_kernel.bus import FlextEventBus, Next
from flext_kernel.errors import HANDLER_ERROR, FlextBusError
from flext_kernel.messages import FlextCommand, FlextDomainEvent, message_type_name
from flext_kernel.result import FlextResult


class UserEvent(FlextDomainEvent):
    pass


class UserCreated(UserEvent):
    name: str = "ada"


class UserDeleted(UserEvent):
    pass


class Unrelated(FlextDomainEvent):
    pass


class NotAnEvent(FlextCommand):
    pass


def created() -> UserCreated:
    return UserCreated(aggregate_id="user-1")


class Collector:
    def __init__(self) -> None:
        self.events: list[FlextDomainEvent] = []

    def handle(self, event: FlextDomainEvent) -> FlextResult[None]:
        self.events.append(event)
        return FlextResult.ok(None)


def test_every_subscriber_receives_the_event_in_subscription_order() -> None:
    bus = FlextEventBus()
    order: list[str] = []
    bus.subscribe(UserCreated, lambda e: order.append("first"))
    bus.subscribe(UserCreated, lambda e: order.append("second") or FlextResult.ok(None))
    bus.subscribe(UserEvent, lambda e: order.append("base"))
    event = created()
    assert bus.publish(event) == FlextResult.ok(None)
    assert order == ["first", "second", "base"]


def test_publish_without_subscribers_succeeds() -> None:
    assert FlextEventBus().publish(created()).is_success


def test_subscribing_to_a_base_class_receives_subclasses() -> None:
    bus = FlextEventBus()
    everything, users, deleted = Collector(), Collector(), Collector()
    bus.subscribe(FlextDomainEvent, everything)
    bus.subscribe(UserEvent, users)
    bus.subscribe(UserDeleted, deleted)
    events = [created(), UserDeleted(aggregate_id="u"), Unrelated(aggregate_id="x")]
    for event in events:
        assert bus.publish(event).is_success
    assert everything.events == events
    assert users.events == events[:2]
    assert deleted.events == [events[1]]
    assert bus.subscribers(UserDeleted) == [
        f"{__name__}.Collector",
        f"{__name__}.Collector",
        f"{__name__}.Collector",
    ]


def test_a_failing_subscriber_does_not_stop_the_others_and_each_failure_is_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = FlextEventBus()
    after = Collector()

    def refuses(event: UserCreated) -> FlextResult[None]:
        return FlextResult.fail("mailbox full", error_code="SMTP")

    def crashes(event: UserCreated) -> FlextResult[None]:
        raise RuntimeError("boom")

    def returns_junk(event: UserCreated) -> int:
        return 3

    bus.subscribe(UserCreated, refuses)
    bus.subscribe(UserCreated, crashes)
    bus.subscribe(UserCreated, returns_junk)  # type: ignore[arg-type]
    bus.subscribe(UserCreated, after)
    with caplog.at_level(logging.ERROR, logger="flext_kernel.bus"):
        result = bus.publish(created())
    assert after.events, "the subscriber after the failures still ran"
    assert result.is_failure
    assert result.error_code == HANDLER_ERROR
    assert result.error_data["event_type"] == message_type_name(UserCreated)
    failures: Any = result.error_data["failures"]
    assert [f["subscriber"].rsplit(".", 1)[-1] for f in failures] == ["refuses", "crashes", "returns_junk"]
    assert failures[0] | {"subscriber": ""} == {
        "subscriber": "",
        "error": "mailbox full",
        "error_code": "SMTP",
        "exception_type": None,
    }
    assert failures[1]["error"] == "boom"
    assert failures[1]["exception_type"] == "RuntimeError"
    assert "not a FlextResult" in failures[2]["error"]
    assert "3 of 4 subscribers failed" in (result.error or "")
    assert "crashes: boom" in (result.error or "")
    assert any(record.exc_info for record in caplog.records), "the traceback is logged"


def test_base_exceptions_are_not_swallowed() -> None:
    bus = FlextEventBus()

    def interrupt(event: UserCreated) -> None:
        raise KeyboardInterrupt

    bus.subscribe(UserCreated, interrupt)
    with pytest.raises(KeyboardInterrupt):
        bus.publish(created())


def test_subscribing_twice_is_refused_and_types_are_checked() -> None:
    bus = FlextEventBus()
    collector = Collector()
    bus.subscribe(UserCreated, collector)
    with pytest.raises(FlextBusError, match="already subscribed"):
        bus.subscribe(UserCreated, collector)
    bus.subscribe(UserDeleted, collector)  # another type is fine
    with pytest.raises(FlextBusError, match="not a FlextDomainEvent"):
        bus.subscribe(NotAnEvent, collector)  # type: ignore[type-var,arg-type]


def test_unregister_one_subscriber_or_all_of_a_type() -> None:
    bus = FlextEventBus()
    first, second = Collector(), Collector()
    bus.subscribe(UserCreated, first)
    bus.subscribe(UserCreated, second)
    bus.subscribe(UserEvent, second)
    assert bus.unregister(UserCreated, first) == 1
    bus.publish(created())
    assert (len(first.events), len(second.events)) == (0, 2)
    assert bus.unsubscribe(UserCreated) == 1
    bus.publish(created())
    assert len(second.events) == 3  # still subscribed to the base class
    assert bus.unregister(UserCreated) == 0


def test_remove_owner_removes_subscribers_and_behaviours() -> None:
    bus = FlextEventBus()
    mine, theirs = Collector(), Collector()
    calls: list[str] = []

    class Behaviour:
        def handle(self, message: Any, next: Next) -> FlextResult[Any]:
            calls.append("behaviour")
            return next(message)

    bus.subscribe(UserCreated, mine, owner="plugin")
    bus.subscribe(UserCreated, theirs, owner="other")
    bus.use(Behaviour(), owner="plugin")
    assert bus.remove_owner("plugin") == 2
    bus.publish(created())
    assert (mine.events, len(theirs.events), calls) == ([], 1, [])


def test_behaviours_wrap_the_whole_publish() -> None:
    bus = FlextEventBus()
    seen: list[object] = []

    class Spy:
        def handle(self, message: Any, next: Next) -> FlextResult[Any]:
            result = next(message)
            seen.append((type(message).__name__, result.error_code))
            return result

    bus.use(Spy(), message_types=[UserEvent])
    bus.subscribe(UserCreated, lambda e: FlextResult.fail("x"))
    bus.subscribe(UserCreated, lambda e: FlextResult.fail("y"))
    bus.publish(created())
    bus.publish(Unrelated(aggregate_id="x"))
    assert seen == [("UserCreated", HANDLER_ERROR)]


def test_publish_async_runs_async_subscribers_concurrently() -> None:
    bus = FlextEventBus()
    first_started, second_started = asyncio.Event(), asyncio.Event()

    async def first(event: UserCreated) -> FlextResult[str]:
        first_started.set()
        await asyncio.wait_for(second_started.wait(), timeout=5)
        return FlextResult.ok("first")

    async def second(event: UserCreated) -> None:
        second_started.set()
        await asyncio.wait_for(first_started.wait(), timeout=5)

    bus.subscribe(UserCreated, first)
    bus.subscribe(UserCreated, second)
    # Run one after the other, each would wait for the other forever (5 s timeout).
    assert asyncio.run(bus.publish_async(created())).is_success


def test_publish_async_calls_sync_subscribers_and_reports_every_failure_in_order() -> None:
    bus = FlextEventBus()
    collector = Collector()

    async def async_fails(event: UserCreated) -> FlextResult[None]:
        return FlextResult.fail("async failure", error_code="A")

    async def async_raises(event: UserCreated) -> None:
        raise ValueError("async boom")

    def sync_raises(event: UserCreated) -> None:
        raise ValueError("sync boom")

    bus.subscribe(UserCreated, async_fails)
    bus.subscribe(UserCreated, sync_raises)
    bus.subscribe(UserCreated, collector)
    bus.subscribe(UserCreated, async_raises)
    result = asyncio.run(bus.publish_async(created()))
    assert len(collector.events) == 1
    assert result.error_code == HANDLER_ERROR
    failures: Any = result.error_data["failures"]
    assert [f["error"] for f in failures] == ["async failure", "sync boom", "async boom"]
    assert [f["error_code"] for f in failures] == ["A", None, None]


def test_publish_async_without_failures_and_without_subscribers() -> None:
    bus = FlextEventBus()
    assert asyncio.run(bus.publish_async(created())).is_success
    bus.subscribe(UserCreated, Collector())
    assert asyncio.run(bus.publish_async(created())).is_success


def test_async_cancellation_is_not_reported_as_a_failure() -> None:
    bus = FlextEventBus()

    async def cancelled(event: UserCreated) -> None:
        raise asyncio.CancelledError

    bus.subscribe(UserCreated, cancelled)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(bus.publish_async(created()))


def test_sync_publish_with_an_async_subscriber_raises() -> None:
    bus = FlextEventBus()

    async def listener(event: UserCreated) -> None:
        return None

    bus.subscribe(UserCreated, listener)
    with pytest.raises(FlextBusError, match="publish_async"):
        bus.publish(created())
