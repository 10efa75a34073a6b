"""The OpenTelemetry providers of one kernel, and the instruments FLEXT records with.

Built only when telemetry is on, so OpenTelemetry is imported only then.
The providers are the kernel's own, not OpenTelemetry's global ones: two
kernels in one process (tests, ``flext dev``) keep apart, and a program that
set a global provider keeps it. Spans still nest with any other
instrumentation, because the current span lives in OpenTelemetry's context.

Every reader includes a ``PrometheusMetricReader`` on a private
``CollectorRegistry``: that is what ``GetMetricsText`` renders.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from flext_kernel.errors import NOT_FOUND
from flext_kernel.result import FlextResult
from flext_plugin_observability.settings import TelemetrySettings
from flext_plugin_observability.tally import Tally

if TYPE_CHECKING:
    from opentelemetry.metrics import Counter, Histogram, Meter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricReader
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import Tracer
    from prometheus_client import CollectorRegistry

__all__ = ["SCOPE", "Instruments", "Telemetry", "build_telemetry", "span_record"]

SCOPE = "flext"
"""The instrumentation scope of FLEXT's spans and metrics."""

_OTLP_HINT = "install it with 'pip install \"flext-plugin-observability[otlp]\"'"


@dataclass(frozen=True, slots=True)
class Instruments:
    """The metrics FLEXT records (names as OpenTelemetry has them; Prometheus adds ``_total``/units)."""

    dispatches: Tally
    """``flext.bus.dispatches`` (observable counter): messages through a bus, by bus, message type
    and outcome."""
    failures: Tally
    """``flext.bus.failures`` (observable counter): failed results, by bus, message type and error code."""
    dispatch_duration: Histogram
    """``flext.bus.duration`` (s): a dispatch through its behaviours and handler."""
    records_loaded: Counter
    """``flext.pipeline.records``: records a pipeline run loaded, by pipeline and stream."""
    runs: Counter
    """``flext.pipeline.runs``: run attempts that ended, by pipeline and outcome."""
    run_duration: Histogram
    """``flext.pipeline.run.duration`` (s): a run attempt, start to end."""
    store_latency: Histogram
    """``flext.eventstore.append.duration`` (s): one ``append`` on an event store, by outcome."""
    plugin_failures: Counter
    """``flext.plugin.failures``: plugins that failed to load, start or run, by plugin."""
    plugin_startup: Histogram
    """``flext.plugin.startup.duration`` (s): one plugin's ``flext_startup``."""


SECONDS: Final = (
    0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0,
    300.0, 900.0, 3600.0,
)  # fmt: skip
"""Histogram bucket bounds in seconds: from a 10 µs dispatch to an hour-long run."""


def _instruments(meter: Meter) -> Instruments:
    def seconds(name: str, description: str) -> Histogram:
        return meter.create_histogram(
            name, unit="s", description=description, explicit_bucket_boundaries_advisory=SECONDS
        )

    return Instruments(
        dispatches=_tally(meter, "flext.bus.dispatches", "Messages dispatched on a bus"),
        failures=_tally(meter, "flext.bus.failures", "Failed bus results by error code"),
        dispatch_duration=seconds("flext.bus.duration", "Time of a dispatch through behaviours and handler"),
        records_loaded=meter.create_counter("flext.pipeline.records", description="Records a run loaded"),
        runs=meter.create_counter("flext.pipeline.runs", description="Pipeline run attempts that ended"),
        run_duration=seconds("flext.pipeline.run.duration", "Pipeline run attempt, start to end"),
        store_latency=seconds("flext.eventstore.append.duration", "One event-store append"),
        plugin_failures=meter.create_counter("flext.plugin.failures", description="Plugins that failed"),
        plugin_startup=seconds("flext.plugin.startup.duration", "One plugin's flext_startup"),
    )


def _tally(meter: Meter, name: str, description: str) -> Tally:
    tally = Tally()
    meter.create_observable_counter(name, callbacks=[tally.observe], description=description)
    return tally


class Telemetry:
    """A tracer and meter provider pair with FLEXT's instruments; ``close`` flushes and stops them."""

    def __init__(
        self,
        settings: TelemetrySettings,
        tracer_provider: TracerProvider,
        meter_provider: MeterProvider,
        registry: CollectorRegistry,
        *,
        span_memory: InMemorySpanExporter | None = None,
        metric_memory: InMemoryMetricReader | None = None,
        give_up: Callable[[int], None] | None = None,
    ) -> None:
        self.settings = settings
        """What it was built from."""
        self.tracer_provider = tracer_provider
        """The kernel's tracer provider."""
        self.meter_provider = meter_provider
        """The kernel's meter provider."""
        self.registry = registry
        """The private Prometheus registry the metrics are rendered from."""
        self.span_memory = span_memory
        """The in-memory span exporter (exporter ``memory``), else None."""
        self.metric_memory = metric_memory
        """The in-memory metric reader (exporter ``memory``), else None."""
        self.tracer: Tracer = tracer_provider.get_tracer(SCOPE)
        """FLEXT's tracer."""
        self.instruments = _instruments(meter_provider.get_meter(SCOPE))
        """FLEXT's metrics."""
        self._give_up = give_up
        """With ``otlp``: called with the failures counted before the spans' last export."""
        self._closed = False

    def metrics_text(self) -> str:
        """The Prometheus text exposition of every metric recorded so far."""
        from prometheus_client import generate_latest

        return generate_latest(self.registry).decode("utf-8")

    def close(self) -> None:
        """Flush and stop both providers; with ``memory_file`` set, write what was recorded there first."""
        if self._closed:
            return
        self._closed = True
        # Bounded: an exporter that cannot reach its collector gives up after ``otlp_timeout``
        # (each export), and these bound the waits around the exports.
        bound = int(self.settings.otlp_timeout * 1000) + 1000
        before = _failures() if self._give_up is not None else 0
        self.tracer_provider.force_flush(timeout_millis=bound)
        if self.settings.memory_file is not None:
            self._dump(self.settings.memory_file)
        self.tracer_provider.shutdown()
        if self._give_up is not None:
            self._give_up(before)
        self.meter_provider.shutdown(timeout_millis=bound)

    def _dump(self, path: Path) -> None:
        lines = (
            [span_record(span) for span in self.span_memory.get_finished_spans()] if self.span_memory else []
        )
        if self.metric_memory is not None:
            lines.extend(_metric_records(self.metric_memory))
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "".join(json.dumps(line, sort_keys=True) + "\n" for line in lines)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)  # a reader never sees half a file


def _failures() -> int:
    """The OTLP export failures the process logged so far (0 when the OTLP exporter never ran)."""
    from flext_plugin_observability.otlp_warning import failures

    return failures()


def span_record(span: ReadableSpan) -> dict[str, Any]:
    """A finished span as a flat JSON-able dict (ids in hex; times in ns since the epoch)."""
    context, parent = span.context, span.parent
    return {
        "kind": "span",
        "name": span.name,
        "trace_id": f"{context.trace_id:032x}" if context else None,
        "span_id": f"{context.span_id:016x}" if context else None,
        "parent_id": f"{parent.span_id:016x}" if parent else None,
        "start": span.start_time,
        "end": span.end_time,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
        "events": [{"name": event.name, "attributes": dict(event.attributes or {})} for event in span.events],
    }


def _metric_records(reader: InMemoryMetricReader) -> list[dict[str, Any]]:
    data = reader.get_metrics_data()
    records: list[dict[str, Any]] = []
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                points = [_point(point) for point in metric.data.data_points]
                records.append({"kind": "metric", "name": metric.name, "unit": metric.unit, "points": points})
    return records


def _point(point: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"attributes": dict(point.attributes or {})}
    for field in ("value", "sum", "count"):
        if hasattr(point, field):
            found[field] = getattr(point, field)
    return found


def build_telemetry(settings: TelemetrySettings) -> FlextResult[Telemetry]:
    """The providers for ``settings.exporter``; ``otlp`` without its extra is ``NOT_FOUND`` with a hint."""
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from prometheus_client import CollectorRegistry

    exporters = _exporters(settings)
    if exporters.is_failure:
        return FlextResult.fail(exporters.error or "", exporters.error_code, exporters.error_data)
    span_exporter, readers, span_memory, metric_memory, give_up = exporters.value
    resource = Resource.create({"service.name": settings.service_name})
    registry = CollectorRegistry(auto_describe=True)
    prometheus = PrometheusMetricReader(disable_target_info=True, scope_info_enabled=False, registry=registry)
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(_processor(span_exporter, batch=settings.exporter == "otlp"))
    # No exemplars: every histogram record inside a span would offer one to a reservoir (a tenth of
    # the record's cost), and the Prometheus text format FLEXT serves does not carry them.
    meter_provider = MeterProvider(
        resource=resource, metric_readers=[prometheus, *readers], exemplar_filter=AlwaysOffExemplarFilter()
    )
    telemetry = Telemetry(
        settings,
        tracer_provider,
        meter_provider,
        registry,
        span_memory=span_memory,
        metric_memory=metric_memory,
        give_up=give_up,
    )
    return FlextResult.ok(telemetry)


_Exporters: TypeAlias = tuple[
    "SpanExporter",
    list["MetricReader"],
    "InMemorySpanExporter | None",
    "InMemoryMetricReader | None",
    "Callable[[int], None] | None",
]
"""The span exporter, the extra metric readers, the in-memory pair (exporter ``memory`` only), and
what ``close`` calls before the last metric export (``otlp`` only)."""


def _exporters(settings: TelemetrySettings) -> FlextResult[_Exporters]:
    from opentelemetry.sdk.metrics.export import (
        ConsoleMetricExporter,
        InMemoryMetricReader,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    interval = settings.metric_interval * 1000
    if settings.exporter == "memory":
        spans, metrics = InMemorySpanExporter(), InMemoryMetricReader()
        return FlextResult.ok((spans, [metrics], spans, metrics, None))
    if settings.exporter == "console":  # stderr: stdout is the command's output (--output json)
        reader = PeriodicExportingMetricReader(
            ConsoleMetricExporter(out=sys.stderr), export_interval_millis=interval
        )
        return FlextResult.ok((ConsoleSpanExporter(out=sys.stderr), [reader], None, None, None))
    try:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        return FlextResult.fail(
            f"FLEXT_TELEMETRY_EXPORTER=otlp needs the OTLP exporter, which is not installed: {_OTLP_HINT}",
            error_code=NOT_FOUND,
            error_data={"hint": _OTLP_HINT},
        )
    from flext_plugin_observability.otlp_warning import install

    base = settings.otlp_endpoint.rstrip("/") if settings.otlp_endpoint else None
    timeout = settings.otlp_timeout  # OpenTelemetry's default (10 s, with retries) is per export
    if base:
        span_exporter = OTLPSpanExporter(endpoint=f"{base}/v1/traces", timeout=timeout)
        metric_exporter = OTLPMetricExporter(endpoint=f"{base}/v1/metrics", timeout=timeout)
    else:
        span_exporter, metric_exporter = (
            OTLPSpanExporter(timeout=timeout),
            OTLPMetricExporter(timeout=timeout),
        )
    warning = install(base or "its default endpoint (OTEL_EXPORTER_OTLP_ENDPOINT)")
    reader = PeriodicExportingMetricReader(metric_exporter, export_interval_millis=interval)

    def give_up(before: int) -> None:
        """The spans' last export failed just now: let the last metric export fail at once too."""
        if warning.failures > before:
            metric_exporter.shutdown()

    return FlextResult.ok((span_exporter, [reader], None, None, give_up))


def _processor(exporter: SpanExporter, *, batch: bool) -> Any:
    """A batch processor for a network exporter; the others export each span as it ends."""
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    return BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
