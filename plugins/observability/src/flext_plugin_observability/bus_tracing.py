"""A bus behaviour: one span and a few measurements per command, query or event dispatched.

The plugin adds one ``TracingBehavior`` to each bus (``bus.use``, owner
``observability``) only when telemetry is on; off, the buses carry nothing
of it. The span encloses the later behaviours and the handler (an event's:
every subscriber), so spans a handler starts (a nested dispatch, an
event-store append) are its children.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from time import perf_counter
from typing import TYPE_CHECKING, Any

from flext_kernel.messages import message_type_name
from flext_kernel.result import FlextResult

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from flext_plugin_observability.telemetry import Telemetry

__all__ = ["TracingBehavior"]

Next = Callable[[Any], FlextResult[Any]]
AsyncNext = Callable[[Any], Awaitable[FlextResult[Any]]]


@dataclass(frozen=True, slots=True)
class _Kind:
    """What is known of a message class before the first dispatch: its span name and labels."""

    span_name: str
    attributes: dict[str, str]
    labels: dict[str, str]


class TracingBehavior:
    """Span ``flext.<bus> <message type>`` per dispatch; dispatches, failures and duration as metrics."""

    __slots__ = ("_bus", "_correlation", "_instruments", "_kinds", "_tracer")

    def __init__(self, telemetry: Telemetry, bus: str, correlation: Callable[[], str | None]) -> None:
        self._tracer = telemetry.tracer
        self._instruments = telemetry.instruments
        self._bus = bus
        self._correlation = correlation
        self._kinds: dict[type, _Kind] = {}

    def handle(self, message: Any, next: Next) -> FlextResult[Any]:
        """Run ``next`` inside the message's span and record its outcome."""
        kind = self._kind(type(message))
        started = perf_counter()
        with self._tracer.start_as_current_span(kind.span_name, attributes=kind.attributes) as span:
            self._correlate(span)
            try:
                result = next(message)
            except Exception:
                self._measure(kind, None, started)
                raise  # the span records the exception and its status
            self._close(span, kind, result, started)
            return result

    async def handle_async(self, message: Any, next: AsyncNext) -> FlextResult[Any]:
        """Like ``handle``, awaiting ``next``."""
        kind = self._kind(type(message))
        started = perf_counter()
        with self._tracer.start_as_current_span(kind.span_name, attributes=kind.attributes) as span:
            self._correlate(span)
            try:
                result = await next(message)
            except Exception:
                self._measure(kind, None, started)
                raise
            self._close(span, kind, result, started)
            return result

    def _kind(self, cls: type) -> _Kind:
        kind = self._kinds.get(cls)
        if kind is None:
            name = message_type_name(cls)
            attributes = {"flext.bus": self._bus, "flext.message_type": name}
            labels = {"bus": self._bus, "message_type": name}
            kind = self._kinds[cls] = _Kind(f"flext.{self._bus} {name}", attributes, labels)
        return kind

    def _correlate(self, span: Span) -> None:
        correlation_id = self._correlation()
        if correlation_id is not None:
            span.set_attribute("flext.correlation_id", correlation_id)

    def _close(self, span: Span, kind: _Kind, result: FlextResult[Any], started: float) -> None:
        if not result.is_success:
            from opentelemetry.trace import StatusCode

            code = result.error_code or "UNKNOWN"
            span.set_attribute("flext.error_code", code)
            span.set_status(StatusCode.ERROR, result.error)
            self._instruments.failures.add(1, {**kind.labels, "error_code": code})
        self._measure(kind, result, started)

    def _measure(self, kind: _Kind, result: FlextResult[Any] | None, started: float) -> None:
        outcome = "raised" if result is None else "ok" if result.is_success else "failed"
        self._instruments.dispatches.add(1, {**kind.labels, "outcome": outcome})
        self._instruments.dispatch_duration.record(perf_counter() - started, kind.labels)
