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
from flext_plugin_observability import scrub
from flext_plugin_observability.tally import Labels

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from flext_plugin_observability.telemetry import Telemetry

__all__ = ["TracingBehavior"]

Next = Callable[[Any], FlextResult[Any]]
AsyncNext = Callable[[Any], Awaitable[FlextResult[Any]]]


@dataclass(frozen=True, slots=True)
class _Kind:
    """What is known of a message class before its first dispatch: span name, attributes, labels.

    Built once per class, so a dispatch builds no dict unless a correlation id is current.
    """

    span_name: str
    attributes: dict[str, str]
    labels: dict[str, str]
    by_outcome: dict[str, Labels]
    """``labels`` plus ``outcome`` for ``ok``, ``failed`` and ``raised``, as the tally's keys."""


def _kind_of(bus: str, cls: type) -> _Kind:
    name = message_type_name(cls)
    name = scrub.text(name)  # a class name is code, but it still leaves the process
    labels = {"bus": bus, "message_type": name}
    by_outcome = {outcome: (*labels.items(), ("outcome", outcome)) for outcome in ("ok", "failed", "raised")}
    attributes = {"flext.bus": bus, "flext.message_type": name}
    return _Kind(f"flext.{bus} {name}", attributes, labels, by_outcome)


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
        cls = type(message)
        kind = self._kinds.get(cls) or self._kinds.setdefault(cls, _kind_of(self._bus, cls))
        started = perf_counter()
        with self._tracer.start_as_current_span(
            kind.span_name,
            attributes=self._attributes(kind),
            record_exception=False,  # scrub.raised records it, redacted
            set_status_on_exception=False,
        ) as span:
            try:
                result = next(message)
            except Exception as exc:
                scrub.raised(span, exc)  # type and redacted message; OpenTelemetry's own copies both as is
                self._measure(kind, "raised", started)
                raise
            self._close(span, kind, result, started)
            return result

    async def handle_async(self, message: Any, next: AsyncNext) -> FlextResult[Any]:
        """Like ``handle``, awaiting ``next``."""
        cls = type(message)
        kind = self._kinds.get(cls) or self._kinds.setdefault(cls, _kind_of(self._bus, cls))
        started = perf_counter()
        with self._tracer.start_as_current_span(
            kind.span_name,
            attributes=self._attributes(kind),
            record_exception=False,  # scrub.raised records it, redacted
            set_status_on_exception=False,
        ) as span:
            try:
                result = await next(message)
            except Exception as exc:
                scrub.raised(span, exc)  # type and redacted message; OpenTelemetry's own copies both as is
                self._measure(kind, "raised", started)
                raise
            self._close(span, kind, result, started)
            return result

    def _attributes(self, kind: _Kind) -> dict[str, str]:
        correlation_id = self._correlation()
        if correlation_id is None:
            return kind.attributes
        return {**kind.attributes, "flext.correlation_id": scrub.text(correlation_id)}

    def _close(self, span: Span, kind: _Kind, result: FlextResult[Any], started: float) -> None:
        if result.is_success:
            self._measure(kind, "ok", started)
            return
        code = scrub.text(result.error_code or "UNKNOWN")
        span.set_attribute("flext.error_code", code)
        scrub.failed(span, result.error)
        self._instruments.failures.add((*kind.labels.items(), ("error_code", code)))
        self._measure(kind, "failed", started)

    def _measure(self, kind: _Kind, outcome: str, started: float) -> None:
        self._instruments.dispatches.add(kind.by_outcome[outcome])
        self._instruments.dispatch_duration.record(perf_counter() - started, kind.labels)
