"""Kernels with the observability plugin, telemetry on (``memory``) or off, and what they recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from flext_sdk import FlextKernel
from flext_sdk.testing import FlextKernelFactory

PLUGIN = "flext_plugin_observability.plugin:Plugin"
STORES = "flext_eventsourcing.plugin"


def telemetry_of(kernel: FlextKernel) -> Any:
    """The plugin's telemetry in ``kernel`` (the test fails if it is off)."""
    plugin = kernel.plugins.records["observability"].plugin
    telemetry = getattr(plugin, "telemetry", None)  # a hot reload replaces the Plugin class itself
    assert telemetry is not None, "telemetry is off"
    return telemetry


def spans_of(kernel: FlextKernel) -> list[Any]:
    """The finished spans the in-memory exporter holds."""
    exporter = telemetry_of(kernel).span_memory
    assert exporter is not None
    return list(exporter.get_finished_spans())


def metric_points(kernel: FlextKernel, name: str) -> list[Any]:
    """The data points of metric ``name`` the in-memory reader holds now."""
    reader = telemetry_of(kernel).metric_memory
    assert reader is not None
    data = reader.get_metrics_data()
    assert data is not None
    return [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


@pytest.fixture
def traced(
    monkeypatch: pytest.MonkeyPatch, flext_kernel_factory: FlextKernelFactory
) -> Callable[..., FlextKernel]:
    """Boot a kernel with the plugin (and the given plugins), telemetry to the in-memory exporters."""
    monkeypatch.setenv("FLEXT_TELEMETRY_EXPORTER", "memory")
    monkeypatch.setenv("FLEXT_EVENTSTORE_URL", "memory://")

    def boot(*plugins: object) -> FlextKernel:
        return flext_kernel_factory(PLUGIN, *plugins)

    return boot
