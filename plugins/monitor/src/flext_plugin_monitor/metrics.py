"""Metrics as rows: the Prometheus text of ``GetMetricsText`` (or a service's ``/metrics``), parsed.

Without a SERVICE the text is this process's (the observability plugin
answers ``GetMetricsText``); with one, the text is scraped over HTTP from
the service's own ``/metrics`` (a service checked over HTTP, such as
``flext serve``), since another process's metrics live in that process.
prometheus_client's parser reads the text: the exposition format is its
library's to define.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from flext_kernel.errors import NOT_FOUND, OPERATION_ERROR, VALIDATION_ERROR
from flext_kernel.result import FlextResult

if TYPE_CHECKING:
    from flext_kernel.kernel import FlextKernel

__all__ = ["MetricRow", "metrics_text", "parse_metrics"]

_SCRAPE_TIMEOUT = 5.0


@dataclass(frozen=True)
class MetricRow:
    """One sample: metric family, sample name, labels, value."""

    metric: str
    type: str
    sample: str
    labels: str
    """``key="value"`` pairs, comma separated, sorted by key ("" without labels)."""
    value: float


def parse_metrics(text: str) -> FlextResult[list[MetricRow]]:
    """Every sample of a Prometheus text exposition, in its order; unreadable text is ``VALIDATION_ERROR``."""
    from prometheus_client.parser import text_string_to_metric_families

    rows: list[MetricRow] = []
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = ",".join(f'{key}="{value}"' for key, value in sorted(sample.labels.items()))
                rows.append(MetricRow(family.name, family.type, sample.name, labels, float(sample.value)))
    except ValueError as exc:
        return FlextResult.fail(
            f"the metrics text is not Prometheus text: {exc}", error_code=VALIDATION_ERROR
        )
    return FlextResult.ok(rows)


def metrics_text(kernel: FlextKernel, service: str | None) -> FlextResult[str]:
    """The metrics text of this process (``GetMetricsText``), or SERVICE's scraped from its ``/metrics``."""
    if service is None:
        return _own(kernel)
    return _scraped(kernel, service)


def _own(kernel: FlextKernel) -> FlextResult[str]:
    from flext_sdk.contracts import require_handler
    from flext_sdk.contracts.observability import GetMetricsText

    there = require_handler(kernel, GetMetricsText, why="flext monitor metrics reads GetMetricsText")
    if there.is_failure:
        return FlextResult.fail(there.error or "", error_code=there.error_code, error_data=there.error_data)
    answer = kernel.query_bus.execute(GetMetricsText())
    if answer.is_failure:
        return FlextResult.fail(answer.error or "", error_code=answer.error_code)
    return FlextResult.ok(answer.value.text)


def _scraped(kernel: FlextKernel, service: str) -> FlextResult[str]:
    from flext_sdk.contracts import require_handler
    from flext_sdk.contracts.services import GetServiceHealth

    there = require_handler(kernel, GetServiceHealth, why=f"metrics of service {service!r}")
    if there.is_failure:
        return FlextResult.fail(there.error or "", error_code=there.error_code, error_data=there.error_data)
    found = kernel.query_bus.execute(GetServiceHealth(services=(service,), timeout=_SCRAPE_TIMEOUT))
    if found.is_failure:
        return FlextResult.fail(found.error or "", error_code=found.error_code or NOT_FOUND)
    target = found.value[0].target
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or "***" in target:
        return FlextResult.fail(
            f"service {service!r} is not checked over HTTP ({target}), so it serves no /metrics",
            error_code=VALIDATION_ERROR,
        )
    url = urlunsplit((parts.scheme, parts.netloc, "/metrics", "", ""))
    try:
        with urllib.request.urlopen(url, timeout=_SCRAPE_TIMEOUT) as response:  # http(s) only, checked above
            return FlextResult.ok(response.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as exc:
        with exc:
            first = (exc.read().decode("utf-8", "replace").strip().splitlines() or [""])[0]
        return FlextResult.fail(f"{url} answered {exc.code}: {first}", error_code=OPERATION_ERROR)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return FlextResult.fail(f"{url} could not be read: {reason}", error_code=OPERATION_ERROR)
