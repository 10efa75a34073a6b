"""The ``observability`` plugin: OpenTelemetry spans and metrics of the kernel's work.

Off by default (``FLEXT_TELEMETRY_EXPORTER`` unset or ``none``): it then
registers only the ``GetMetricsText`` handler, which answers an empty
exposition, and imports neither OpenTelemetry nor pydantic-settings. On, it

- adds a ``TracingBehavior`` to the command, query and event buses;
- times each plugin's ``flext_startup`` (a hook wrapper) and counts plugins
  that fail;
- decorates the container's ``EventStores`` so that appends are spans, and
  the pipeline's run events become run and step spans (``runs``);
- renders its metrics as Prometheus text for ``GetMetricsText``.
"""

from __future__ import annotations

from collections.abc import Generator
from importlib.metadata import PackageNotFoundError, version
from time import perf_counter
from typing import TYPE_CHECKING, Any

from flext_kernel.correlation import current_correlation_id
from flext_kernel.plugins.base import FlextPlugin, PluginState
from flext_kernel.plugins.hookspecs import hookimpl
from flext_kernel.plugins.manifest import PluginManifest
from flext_kernel.result import FlextResult
from flext_plugin_observability import scrub
from flext_plugin_observability.switch import switched_on
from flext_sdk.contracts.observability import GetMetricsText, MetricsText

if TYPE_CHECKING:
    from flext_kernel.bus import FlextCommandBus, FlextEventBus, FlextQueryBus
    from flext_kernel.kernel import FlextKernel
    from flext_plugin_observability.runs import RunTracer
    from flext_plugin_observability.store_tracing import StoreTracing
    from flext_plugin_observability.telemetry import Telemetry

__all__ = ["NAME", "Plugin"]

NAME = "observability"
"""The plugin's name: its entry point's and the owner of what it registers."""

try:
    _VERSION = version("flext-plugin-observability")
except PackageNotFoundError:  # a source tree that is not installed
    _VERSION = "0.0.0"

_STARTUP = "flext_startup"


class Plugin(FlextPlugin):
    """Telemetry for one kernel: built at handler registration, closed with the kernel."""

    manifest = PluginManifest(
        name=NAME,
        version=_VERSION,
        description="OpenTelemetry traces and metrics of FLEXT, and Prometheus text for /metrics",
        kernel=">=0.1",
    )

    def __init__(self) -> None:
        self.telemetry: Telemetry | None = None
        """The providers and instruments, while telemetry is on and the plugin runs."""
        self._problem: FlextResult[Any] | None = None
        self._runs: RunTracer | None = None
        self._stores: StoreTracing | None = None
        self._failed: set[str] = set()

    @hookimpl
    def flext_register_handlers(
        self, command_bus: FlextCommandBus, query_bus: FlextQueryBus, event_bus: FlextEventBus
    ) -> None:
        """Answer ``GetMetricsText``; with telemetry on, build it and trace the three buses."""
        query_bus.register(GetMetricsText, self._metrics_text, owner=NAME)
        if not switched_on():
            return
        built = _build()
        if built.is_failure:
            self._problem = built  # flext_startup fails the plugin with it; nothing is traced
            return
        self.telemetry = built.value
        from flext_plugin_observability.bus_tracing import TracingBehavior

        for bus, kind in ((command_bus, "command"), (query_bus, "query"), (event_bus, "event")):
            bus.use(TracingBehavior(self.telemetry, kind, current_correlation_id), owner=NAME)

    def initialize(self, kernel: FlextKernel) -> FlextResult[None]:
        """Fail on bad settings; count plugins that failed to load; trace the event stores."""
        if self._problem is not None:
            problem, self._problem = self._problem, None
            return FlextResult.fail(problem.error or "", problem.error_code, problem.error_data)
        telemetry = self.telemetry
        if telemetry is None:
            return FlextResult.ok(None)
        for record in kernel.plugins.failures():
            self._count_failure(telemetry, record.name)
        self._trace_stores(kernel, telemetry)
        return FlextResult.ok(None)

    def shutdown(self) -> FlextResult[None]:
        """Put the store opener back, end unfinished run spans, flush and stop the providers."""
        if self._stores is not None:
            self._stores.restore()
            self._stores = None
        if self._runs is not None:
            self._runs.close()
            self._runs = None
        if self.telemetry is not None:
            self.telemetry.close()
            self.telemetry = None
        return FlextResult.ok(None)

    @hookimpl(wrapper=True, specname=_STARTUP)
    def time_startup(self, kernel: FlextKernel) -> Generator[None, Any, Any]:
        """A span and a duration for each plugin's ``flext_startup`` (the kernel calls them one at a time)."""
        telemetry = self.telemetry
        if telemetry is None:
            return (yield)
        plugin = _starting(kernel)
        started = perf_counter()
        with telemetry.tracer.start_as_current_span(
            "flext.plugin.startup",
            attributes={"flext.plugin": scrub.text(plugin)},
            record_exception=False,  # scrub.raised records it, redacted
            set_status_on_exception=False,
        ) as span:
            try:
                return (yield)
            except Exception as exc:
                scrub.raised(span, exc)
                raise
            finally:
                telemetry.instruments.plugin_startup.record(perf_counter() - started, {"plugin": plugin})

    @hookimpl
    def flext_contributions_removed(self, kernel: FlextKernel, owner: str) -> None:
        """Count a plugin that failed (it is unplugged; a clean stop or a reload is not counted)."""
        record = kernel.plugins.records.get(owner)
        if self.telemetry is not None and record is not None and record.failed and owner != NAME:
            self._count_failure(self.telemetry, owner)

    def _count_failure(self, telemetry: Telemetry, plugin: str) -> None:
        """Count ``plugin``'s failure once (it can be seen both at start-up and when it is unplugged)."""
        if plugin not in self._failed:
            self._failed.add(plugin)
            telemetry.instruments.plugin_failures.add(1, {"plugin": plugin})

    def _metrics_text(self, query: GetMetricsText) -> FlextResult[MetricsText]:
        telemetry = self.telemetry
        return FlextResult.ok(MetricsText(text=telemetry.metrics_text() if telemetry is not None else ""))

    def _trace_stores(self, kernel: FlextKernel, telemetry: Telemetry) -> None:
        from flext_eventsourcing import EventStores
        from flext_plugin_observability.runs import RunTracer
        from flext_plugin_observability.store_tracing import StoreTracing

        stores = kernel.container.get(EventStores)
        if stores.is_failure:
            return  # the eventsourcing plugin is off: there are no stores to trace
        self._runs = RunTracer(telemetry, current_correlation_id)
        self._stores = StoreTracing(telemetry, self._runs, current_correlation_id)
        self._stores.install(stores.value)


def _build() -> FlextResult[Telemetry]:
    from flext_plugin_observability.settings import load_settings
    from flext_plugin_observability.telemetry import build_telemetry

    return load_settings().flat_map(build_telemetry)


def _starting(kernel: FlextKernel) -> str:
    """The plugin whose ``flext_startup`` runs now: the first, in start order, not started yet that has one.

    The kernel starts plugins one at a time in ``active_order`` and marks each
    active right after; a hook wrapper is not told whose call it wraps.
    """
    for record in kernel.plugins.active_order():
        if record.state is PluginState.LOADED and _STARTUP in record.hooks:
            return record.name
    return "unknown"
