"""No secret reaches a span: status texts, attributes and exception events go through the SDK redactor."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from flext_sdk import FlextCommand, FlextKernel, FlextResult, redaction

from .conftest import spans_of

SECRET = "s3cr3t-Obs-7f1c9a"


class Leak(FlextCommand):
    pass


class Blow(FlextCommand):
    pass


def _everything(span: Any) -> str:
    """Every text a span carries to an exporter: name, status, attributes, events and their attributes."""
    parts = [span.name, str(span.status.description), repr(dict(span.attributes or {}))]
    for event in span.events:
        parts += [event.name, repr(dict(event.attributes or {}))]
    return "\n".join(parts)


def _wire(kernel: FlextKernel) -> None:
    def leak(command: Leak) -> FlextResult[None]:
        return FlextResult.fail(f"login refused for {SECRET}", error_code="AUTH_ERROR")

    def blow(command: Blow) -> FlextResult[None]:
        raise RuntimeError(f"could not connect with {SECRET}")

    kernel.command_bus.register(Leak, leak, owner="test")
    kernel.command_bus.register(Blow, blow, owner="test")


def test_a_registered_secret_in_a_failure_or_an_exception_never_reaches_a_span(
    traced: Callable[..., FlextKernel],
) -> None:
    redaction.register(SECRET)
    kernel = traced()
    _wire(kernel)
    assert kernel.command_bus.dispatch(Leak()).is_failure
    with pytest.raises(RuntimeError):
        kernel.command_bus.dispatch(Blow())
    with pytest.raises(RuntimeError):
        asyncio.run(kernel.command_bus.dispatch_async(Blow()))
    spans = {span.name: span for span in spans_of(kernel)}
    leaked, blown = spans[f"flext.command {_name(Leak, spans)}"], spans[f"flext.command {_name(Blow, spans)}"]
    for span in spans_of(kernel):
        assert SECRET not in _everything(span)
    assert leaked.status.status_code.name == "ERROR"
    assert leaked.status.description == "login refused for ***"
    assert blown.status.status_code.name == "ERROR"
    assert blown.status.description == "RuntimeError: could not connect with ***"
    [event] = [event for event in blown.events if event.name == "exception"]
    assert event.attributes is not None
    assert event.attributes["exception.type"] == "RuntimeError"
    assert event.attributes["exception.message"] == "could not connect with ***"


def test_a_secret_shaped_value_in_an_error_is_hidden_even_unregistered(
    traced: Callable[..., FlextKernel],
) -> None:
    kernel = traced()

    def leak(command: Leak) -> FlextResult[None]:
        return FlextResult.fail("connect failed: password=hunter2-unreg", error_code="AUTH_ERROR")

    kernel.command_bus.register(Leak, leak, owner="test")
    assert kernel.command_bus.dispatch(Leak()).is_failure
    for span in spans_of(kernel):
        assert "hunter2-unreg" not in _everything(span)


def _name(cls: type, spans: dict[str, Any]) -> str:
    [name] = [name.split(" ", 1)[1] for name in spans if name.endswith(cls.__name__)]
    return name
