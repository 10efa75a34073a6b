"""The observability plugin's contract: the metrics FLEXT collected, as Prometheus text.

``flext serve`` answers ``GET /metrics`` without importing the observability
plugin: it asks ``GetMetricsText`` on the query bus, and the
``observability`` plugin (which keeps FLEXT's OpenTelemetry meters) answers
with a ``MetricsText``: the Prometheus text exposition of every metric it
recorded in this process, and the ``Content-Type`` to serve it with.
``require_handler(kernel, GetMetricsText, why=...)`` says first whether the
plugin is there.

With telemetry off (``FLEXT_TELEMETRY_EXPORTER=none``, the default) nothing
is recorded and the text holds no samples; it is still a valid exposition.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict

from flext_kernel.messages import FlextQuery
from flext_sdk.contracts._providers import provided_by

__all__ = ["PROMETHEUS_CONTENT_TYPE", "GetMetricsText", "MetricsText"]

PROMETHEUS_CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
"""The content type of the Prometheus text exposition format 0.0.4."""


class MetricsText(BaseModel):
    """A Prometheus scrape body and the content type to serve it with."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    text: str
    """The exposition: ``# HELP``/``# TYPE`` lines and samples, one per line, ending in a newline."""
    content_type: str = PROMETHEUS_CONTENT_TYPE
    """The HTTP ``Content-Type`` for ``text``."""


@provided_by("observability", distribution="flext-plugin-observability")
class GetMetricsText(FlextQuery):
    """The process's metrics in the Prometheus text format; answered with a ``MetricsText``."""

    model_config = ConfigDict(defer_build=True)
