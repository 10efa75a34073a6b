"""One correlation id per user action: scopes, messages, buses, failures, threads and asyncio tasks."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flext_kernel.bus import FlextCommandBus, FlextEventBus, FlextQueryBus, Next
from flext_kernel.correlation import (
    CORRELATION_ENV,
    causation_scope,
    correlation_from_environment,
    correlation_scope,
    current_causation_id,
    current_correlation_id,
    in_current_context,
    is_valid_correlation_id,
    new_correlation_id,
)
from flext_kernel.messages import FlextCommand, FlextDomainEvent, FlextQuery
from flext_kernel.result import Failure, FlextResult


class Rename(FlextCommand):
    name: str


class Lookup(FlextQuery):
    key: str


class Renamed(FlextDomainEvent):
    name: str


class Noted(FlextDomainEvent):
    note: str


ids = st.text(alphabet="abcXYZ019-_.:", min_size=1, max_size=40)


# Ids and scopes.


def test_a_new_id_is_a_valid_time_ordered_uuid() -> None:
    made = [new_correlation_id() for _ in range(50)]
    assert len(set(made)) == 50
    assert all(is_valid_correlation_id(text) for text in made)
    assert {uuid.UUID(text).version for text in made} == {7}
    assert [text[:13] for text in made] == sorted(text[:13] for text in made)  # millisecond prefix


@pytest.mark.parametrize(
    "text", ["", " ", "a b", "line\nbreak", 'quote"', "é", "x" * 129, "semi;colon", "a/b"]
)
def test_bad_ids_are_refused(text: str) -> None:
    assert not is_valid_correlation_id(text)
    with pytest.raises(ValueError, match="not a correlation id"), correlation_scope(text):
        pass  # pragma: no cover - never entered
    assert current_correlation_id() is None


def test_the_environment_gives_the_id_when_valid_else_a_new_one() -> None:
    assert correlation_from_environment({CORRELATION_ENV: "req-1"}) == "req-1"
    assert correlation_from_environment({CORRELATION_ENV: "  req-2 \n"}) == "req-2"
    for environ in ({}, {CORRELATION_ENV: ""}, {CORRELATION_ENV: "two words"}):
        made = correlation_from_environment(environ)
        assert is_valid_correlation_id(made)
        assert uuid.UUID(made).version == 7


def test_a_scope_yields_its_id_and_ends_with_the_body() -> None:
    assert current_correlation_id() is None
    with correlation_scope() as made:
        assert current_correlation_id() == made
        assert is_valid_correlation_id(made)
    assert current_correlation_id() is None


@given(outer=ids, inner=st.lists(ids, min_size=1, max_size=6), fail=st.booleans())
def test_nested_scopes_restore_the_outer_id(outer: str, inner: list[str], fail: bool) -> None:
    def nest(remaining: list[str], expected_outside: str) -> None:
        if not remaining:
            if fail:
                raise RuntimeError("the body failed")
            return
        head, *tail = remaining
        try:
            with correlation_scope(head):
                assert current_correlation_id() == head
                nest(tail, head)
        finally:
            assert current_correlation_id() == expected_outside

    with correlation_scope(outer):
        try:
            nest(inner, outer)
        except RuntimeError:
            assert fail
        assert current_correlation_id() == outer
    assert current_correlation_id() is None


# Messages.


def test_an_event_takes_the_id_in_force_when_built_unless_given_one() -> None:
    assert Renamed(aggregate_id="a", name="x").correlation_id is None
    with correlation_scope("req-7"):
        built = Renamed(aggregate_id="a", name="x")
        given_one = Renamed(aggregate_id="a", name="x", correlation_id="other")
        none_on_purpose = Renamed(aggregate_id="a", name="x", correlation_id=None)
        decoded = Renamed.model_validate_json(
            Renamed(aggregate_id="a", name="x", correlation_id=None).model_dump_json()
        )
    assert built.correlation_id == "req-7"
    assert given_one.correlation_id == "other"
    assert none_on_purpose.correlation_id is None
    assert decoded.correlation_id is None, "a stored event read back keeps what it was stored with"


# The buses.


def test_a_command_handler_its_behaviours_and_its_events_share_the_dispatchers_id() -> None:
    seen: dict[str, Any] = {}

    class Watching:
        def handle(self, message: Any, next: Next) -> FlextResult[Any]:
            seen["behaviour"] = current_correlation_id()
            return next(message)

    def rename(command: Rename) -> FlextResult[Renamed]:
        seen["handler"] = current_correlation_id()
        return FlextResult.ok(Renamed(aggregate_id="a", name=command.name))

    bus = FlextCommandBus()
    bus.use(Watching())
    bus.register(Rename, rename)
    with correlation_scope("cli-1"):
        event = bus.dispatch(Rename(name="n")).unwrap()
    assert seen == {"behaviour": "cli-1", "handler": "cli-1"}
    assert event.correlation_id == "cli-1"
    assert event.causation_id is None  # a command has no id: nothing to name as the cause


def test_a_subscriber_names_the_event_it_handles_as_the_cause_of_what_it_builds() -> None:
    bus = FlextEventBus()
    built: list[Noted] = []

    def follow_up(event: Renamed) -> None:
        with causation_scope(event.event_id):
            built.append(Noted(aggregate_id="n", note=event.name))
            built.append(Noted(aggregate_id="n", note="own", causation_id="x"))
        built.append(Noted(aggregate_id="n", note="after"))

    bus.subscribe(Renamed, follow_up)
    with correlation_scope("cli-2"):
        published = Renamed(aggregate_id="a", name="first")
        assert bus.publish(published).is_success
    assert [(e.note, e.correlation_id, e.causation_id) for e in built] == [
        ("first", "cli-2", str(published.event_id)),
        ("own", "cli-2", "x"),
        ("after", "cli-2", None),
    ]


def test_a_causation_scope_ends_with_its_body_however_it_ends() -> None:
    def handler() -> None:
        with causation_scope(uuid.UUID(int=5)):
            assert current_causation_id() == str(uuid.UUID(int=5))
            raise RuntimeError("the handler failed")

    with pytest.raises(RuntimeError, match="the handler failed"):
        handler()
    assert current_causation_id() is None
    assert Noted(aggregate_id="a", note="x").causation_id is None


# Failures.


def test_a_failure_keeps_the_id_of_the_action_that_made_it() -> None:
    bus = FlextQueryBus()
    bus.register(Lookup, lambda query: FlextResult.fail(f"no {query.key}", error_code="NOT_FOUND"))
    with correlation_scope("cli-3"):
        failed = bus.execute(Lookup(key="k"))
        built = Failure("direct")
        unhandled = FlextCommandBus().dispatch(Rename(name="n"))
        caught = FlextResult.from_exception(ValueError("bad"))
    assert failed.is_failure
    assert (failed.correlation_id, built.correlation_id, caught.correlation_id) == ("cli-3",) * 3
    assert unhandled.error_code == "NO_HANDLER"  # made once, when the pipeline was compiled
    with correlation_scope("cli-4"):
        rewritten = failed.map_error(str.upper)
    assert rewritten.correlation_id == "cli-3", "rewording a failure does not move it to another action"
    assert FlextResult.fail("outside").correlation_id is None
    assert FlextResult.ok(1).correlation_id is None
    assert failed == FlextResult.fail("no k", error_code="NOT_FOUND"), "the id is not part of equality"


def test_a_failures_id_cannot_be_changed() -> None:
    with correlation_scope("cli-5"):
        failed = FlextResult.fail("x")
    with pytest.raises(AttributeError, match="immutable"):
        failed.correlation_id = "other"  # type: ignore[misc]
    assert failed.correlation_id == "cli-5"


# Threads and asyncio tasks.


def test_threads_started_in_the_current_context_keep_the_id() -> None:
    seen: dict[str, str | None] = {}

    def work(label: str) -> str | None:
        seen[label] = current_correlation_id()
        return FlextResult.fail("from a thread").correlation_id

    with correlation_scope("cli-6"):
        carried = threading.Thread(target=in_current_context(work), args=("carried",))
        bare = threading.Thread(target=work, args=("bare",))
        carried.start()
        bare.start()
        carried.join()
        bare.join()
        with ThreadPoolExecutor(max_workers=2) as pool:
            pooled = list(pool.map(in_current_context(work), ["pool-1", "pool-2"]))
    assert seen == {"carried": "cli-6", "bare": None, "pool-1": "cli-6", "pool-2": "cli-6"}
    assert pooled == ["cli-6", "cli-6"]


def test_asyncio_tasks_keep_the_id_of_the_scope_that_made_them() -> None:
    async def handle(command: Rename) -> FlextResult[Renamed]:
        await asyncio.sleep(0)
        return FlextResult.ok(Renamed(aggregate_id="a", name=command.name))

    bus = FlextCommandBus()
    bus.register(Rename, handle)

    async def action(correlation_id: str) -> tuple[str | None, str | None]:
        with correlation_scope(correlation_id):
            await asyncio.sleep(0)
            event = (await bus.dispatch_async(Rename(name=correlation_id))).unwrap()
            failure = await asyncio.create_task(_fails_later())
            return event.correlation_id, failure.correlation_id

    async def both() -> list[tuple[str | None, str | None]]:
        return list(await asyncio.gather(action("task-a"), action("task-b")))

    assert asyncio.run(both()) == [("task-a", "task-a"), ("task-b", "task-b")]


async def _fails_later() -> Failure:
    await asyncio.sleep(0)
    return FlextResult.fail("later")


def test_async_subscribers_build_events_under_the_publishers_id() -> None:
    bus = FlextEventBus()
    built: list[Noted] = []

    async def later(event: Renamed) -> None:
        await asyncio.sleep(0)
        with causation_scope(event.event_id):
            built.append(Noted(aggregate_id="n", note="async"))

    bus.subscribe(Renamed, later)
    bus.subscribe(Renamed, lambda event: built.append(Noted(aggregate_id="n", note="sync")))
    published = Renamed(aggregate_id="a", name="x")

    async def publish(correlation_id: str) -> bool:
        with correlation_scope(correlation_id):
            return (await bus.publish_async(published)).is_success

    async def both() -> list[bool]:
        return list(await asyncio.gather(publish("cli-7"), publish("cli-8")))

    assert asyncio.run(both()) == [True, True]
    assert sorted((e.note, e.correlation_id, e.causation_id) for e in built) == [
        ("async", "cli-7", str(published.event_id)),
        ("async", "cli-8", str(published.event_id)),
        ("sync", "cli-7", None),
        ("sync", "cli-8", None),
    ]


# Logging.


def test_the_logging_behaviour_records_the_dispatchers_id() -> None:
    from flext_kernel.behaviors import LoggingBehavior

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("tests.correlation.bus")
    logger.addHandler(Keep())
    logger.setLevel(logging.INFO)
    logger.propagate = False
    bus = FlextQueryBus()
    bus.use(LoggingBehavior(logger))
    bus.register(Lookup, lambda query: FlextResult.fail("missing", error_code="NOT_FOUND"))
    with correlation_scope("cli-9"):
        bus.execute(Lookup(key="k"))
    bus.execute(Lookup(key="k"))
    assert [getattr(record, "correlation_id", "missing") for record in records] == ["cli-9", None]
