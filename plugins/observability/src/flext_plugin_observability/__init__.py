"""FLEXT's OpenTelemetry plugin: traces and metrics of the kernel's work, Prometheus text for ``/metrics``.

Nothing is imported here: the kernel imports ``flext_plugin_observability.plugin``
when it loads the plugin, and that module imports OpenTelemetry only when
telemetry is switched on (``FLEXT_TELEMETRY_EXPORTER``); see docs/observability.md.
"""

__all__: list[str] = []
