"""Event-store appends as spans and latency, and the pipeline's run events handed to the ``RunTracer``.

The kernel has no decorator for container services, so the plugin decorates
the one object every store is opened through: the container's
``EventStores`` (the ``eventsourcing`` plugin's service). Each store it
opens from then on gets its ``append`` wrapped on the instance, so the
store keeps its class (``isinstance`` checks on backends still hold) and
everything else runs untouched. When the plugin stops, ``restore`` puts the
original ``open_event_store`` back; stores opened meanwhile keep their
wrapper, which then only calls through (``active`` is False).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from time import perf_counter
from typing import TYPE_CHECKING, Any

from flext_kernel.result import FlextResult
from flext_plugin_observability import scrub

if TYPE_CHECKING:
    from flext_eventsourcing import EventStores, FlextEventStore
    from flext_kernel.messages import FlextDomainEvent
    from flext_plugin_observability.runs import RunTracer
    from flext_plugin_observability.telemetry import Telemetry

__all__ = ["StoreTracing"]

_WRAPPED = "_flext_observability_wrapped"


class StoreTracing:
    """Decorates ``EventStores.open_event_store`` so that the stores it opens are traced."""

    def __init__(self, telemetry: Telemetry, runs: RunTracer, correlation: Callable[[], str | None]) -> None:
        self._telemetry = telemetry
        self._runs = runs
        self._correlation = correlation
        self._stores: EventStores | None = None
        self.active = True
        """False once the plugin stopped: wrapped appends then only call through."""

    def install(self, stores: EventStores) -> None:
        """Wrap ``stores.open_event_store`` (on the instance) until ``restore``."""
        opener = stores.open_event_store

        @functools.wraps(opener)
        def open_event_store(*args: Any, **kwargs: Any) -> FlextResult[FlextEventStore]:
            opened = opener(*args, **kwargs)
            if opened.is_success:
                self.trace(opened.value)
            return opened

        stores.open_event_store = open_event_store  # type: ignore[method-assign]  # the decoration
        self._stores = stores

    def restore(self) -> None:
        """Stop tracing: the opener is the class's again, wrapped stores call straight through."""
        self.active = False
        if self._stores is not None:
            vars(self._stores).pop("open_event_store", None)
            self._stores = None

    def trace(self, store: FlextEventStore) -> None:
        """Wrap ``store.append`` on the instance (once)."""
        if getattr(store, _WRAPPED, False):
            return
        append = store.append

        @functools.wraps(append)
        def traced_append(
            stream_id: str, events: Sequence[FlextDomainEvent], expected_version: Any
        ) -> FlextResult[Any]:
            if not self.active:
                return append(stream_id, events, expected_version)
            return self._append(append, stream_id, events, expected_version)

        try:
            store.append = traced_append  # type: ignore[method-assign]  # the decoration
            setattr(store, _WRAPPED, True)
        except AttributeError:  # a backend with __slots__: it is not traced, and nothing else changes
            return

    def _append(
        self,
        append: Callable[..., FlextResult[Any]],
        stream_id: str,
        events: Sequence[FlextDomainEvent],
        expected_version: Any,
    ) -> FlextResult[Any]:
        telemetry = self._telemetry
        attributes: dict[str, Any] = {"flext.stream_id": stream_id, "flext.events": len(events)}
        correlation_id = self._correlation()
        if correlation_id is not None:
            attributes["flext.correlation_id"] = correlation_id
        started = perf_counter()
        with telemetry.tracer.start_as_current_span(
            "eventstore.append",
            attributes=scrub.attributes(attributes),
            record_exception=False,  # scrub.raised records it, redacted
            set_status_on_exception=False,
        ) as span:
            try:
                result = append(stream_id, events, expected_version)
            except Exception as exc:
                scrub.raised(span, exc)
                raise
            outcome = "ok" if result.is_success else "failed"
            if not result.is_success:
                span.set_attribute("flext.error_code", scrub.text(result.error_code or "UNKNOWN"))
                scrub.failed(span, result.error)
        telemetry.instruments.store_latency.record(perf_counter() - started, {"outcome": outcome})
        if result.is_success:
            self._runs.observe(events)  # after the append span: a run span is not its child
        return result
