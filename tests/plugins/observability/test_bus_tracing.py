"""Spans and metrics of bus dispatches: outcome, nesting, exceptions, events, the async path."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from flext_sdk import FlextCommand, FlextDomainEvent, FlextKernel, FlextQuery, FlextResult

from .conftest import metric_points, spans_of


class Greet(FlextCommand):
    who: str = "Ada"


class Count(FlextQuery):
    pass


class Greeted(FlextDomainEvent):
    who: str


class Boom(FlextCommand):
    pass


def _wire(kernel: FlextKernel) -> list[str]:
    heard: list[str] = []

    def greet(command: Greet) -> FlextResult[str]:
        if not command.who:
            return FlextResult.fail("who must not be blank", error_code="VALIDATION_ERROR")
        kernel.event_bus.publish(Greeted(aggregate_id="greeter", who=command.who))  # nested dispatch
        return FlextResult.ok(f"Hello, {command.who}!")

    def boom(command: Boom) -> FlextResult[None]:
        raise RuntimeError("a bug")

    kernel.command_bus.register(Greet, greet, owner="test")
    kernel.command_bus.register(Boom, boom, owner="test")
    kernel.query_bus.register(Count, lambda query: FlextResult.ok(len(heard)), owner="test")
    kernel.event_bus.subscribe(Greeted, lambda event: heard.append(event.who), owner="test")
    return heard


def test_a_dispatch_is_a_span_and_what_its_handler_dispatches_nests_under_it(
    traced: Callable[..., FlextKernel],
) -> None:
    kernel = traced()
    heard = _wire(kernel)
    assert kernel.command_bus.dispatch(Greet()).value == "Hello, Ada!"
    assert heard == ["Ada"]
    spans = {span.name.split(".")[-1]: span for span in spans_of(kernel) if span.name.startswith("flext.")}
    command, event = spans["Greet"], spans["Greeted"]
    assert command.name.startswith("flext.command ")
    assert event.name.startswith("flext.event ")
    assert event.parent is not None
    assert event.parent.span_id == command.context.span_id
    assert event.context.trace_id == command.context.trace_id
    assert command.attributes["flext.bus"] == "command"
    assert command.status.is_ok


def test_a_failed_result_marks_the_span_and_counts_the_failure_by_code(
    traced: Callable[..., FlextKernel],
) -> None:
    kernel = traced()
    _wire(kernel)
    assert kernel.command_bus.dispatch(Greet(who="")).error_code == "VALIDATION_ERROR"
    [span] = [span for span in spans_of(kernel) if span.name.endswith("Greet")]
    assert span.status.status_code.name == "ERROR"
    assert span.status.description == "who must not be blank"
    assert span.attributes["flext.error_code"] == "VALIDATION_ERROR"
    [failure] = metric_points(kernel, "flext.bus.failures")
    assert failure.value == 1
    assert failure.attributes["error_code"] == "VALIDATION_ERROR"
    assert failure.attributes["bus"] == "command"
    outcomes = {p.attributes["outcome"]: p.value for p in metric_points(kernel, "flext.bus.dispatches")}
    assert outcomes == {"failed": 1}


def test_a_handler_that_raises_is_recorded_and_the_exception_goes_on(
    traced: Callable[..., FlextKernel],
) -> None:
    kernel = traced()
    _wire(kernel)
    with pytest.raises(RuntimeError, match="a bug"):
        kernel.command_bus.dispatch(Boom())
    [span] = [span for span in spans_of(kernel) if span.name.endswith("Boom")]
    assert span.status.status_code.name == "ERROR"
    assert [event.name for event in span.events] == ["exception"]
    [point] = [
        p for p in metric_points(kernel, "flext.bus.dispatches") if p.attributes["outcome"] == "raised"
    ]
    assert point.value == 1


def test_queries_and_the_async_path_are_traced_and_timed(traced: Callable[..., FlextKernel]) -> None:
    kernel = traced()
    _wire(kernel)
    assert kernel.query_bus.execute(Count()).value == 0
    assert asyncio.run(kernel.command_bus.dispatch_async(Greet(who="Grace"))).value == "Hello, Grace!"
    names = [span.name.rsplit(".", 1)[-1] for span in spans_of(kernel)]
    assert names.count("Count") == 1
    assert names.count("Greet") == 1
    durations = {
        p.attributes["message_type"].rsplit(".", 1)[-1]: p.count
        for p in metric_points(kernel, "flext.bus.duration")
    }
    assert durations["Count"] == 1
    assert durations["Greet"] == 1


def test_unplugged_the_buses_carry_no_tracing_any_more(traced: Callable[..., FlextKernel]) -> None:
    kernel = traced()
    _wire(kernel)
    kernel.remove_contributions("observability")
    before = len(spans_of(kernel))
    assert kernel.command_bus.dispatch(Greet()).is_success
    assert len(spans_of(kernel)) == before


def test_a_dispatch_span_carries_the_correlation_id_of_its_action(traced: Callable[..., FlextKernel]) -> None:
    from flext_kernel.correlation import correlation_scope

    kernel = traced()
    _wire(kernel)
    with correlation_scope("action-42"):
        kernel.command_bus.dispatch(Greet())
    kernel.command_bus.dispatch(Greet(who="Grace"))  # outside any action: no id
    ids = [
        span.attributes.get("flext.correlation_id")
        for span in spans_of(kernel)
        if span.name.endswith("Greet")
    ]
    assert ids == ["action-42", None]
