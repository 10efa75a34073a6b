"""GetMetricsText: the Prometheus exposition of what was recorded, valid for a Prometheus parser."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

from flext_sdk import FlextCommand, FlextKernel, FlextResult
from flext_sdk.contracts.observability import PROMETHEUS_CONTENT_TYPE, GetMetricsText


class Ping(FlextCommand):
    fail: bool = False


def test_the_exposition_holds_the_dispatches_and_failures_by_code(traced: Callable[..., FlextKernel]) -> None:
    kernel = traced()

    def ping(command: Ping) -> FlextResult[str]:
        return FlextResult.fail("down", error_code="TIMEOUT") if command.fail else FlextResult.ok("pong")

    kernel.command_bus.register(Ping, ping, owner="test")
    for fail in (False, False, True):
        kernel.command_bus.dispatch(Ping(fail=fail))
    answer = kernel.query_bus.execute(GetMetricsText()).unwrap()
    assert answer.content_type == PROMETHEUS_CONTENT_TYPE
    families = {family.name: family for family in text_string_to_metric_families(answer.text)}
    ping_type = f"{Ping.__module__}.Ping"
    dispatches = {
        sample.labels["outcome"]: sample.value
        for sample in families["flext_bus_dispatches"].samples
        if sample.labels.get("message_type") == ping_type
    }
    assert dispatches == {"ok": 2.0, "failed": 1.0}
    [failure] = [s for s in families["flext_bus_failures"].samples if s.name.endswith("_total")]
    assert failure.labels == {"bus": "command", "message_type": ping_type, "error_code": "TIMEOUT"}
    assert families["flext_bus_duration_seconds"].type == "histogram"
    counts = [
        s.value
        for s in families["flext_bus_duration_seconds"].samples
        if s.name.endswith("_count") and s.labels["message_type"] == ping_type
    ]
    assert counts == [3.0]


def test_two_kernels_keep_their_metrics_apart(traced: Callable[..., FlextKernel]) -> None:
    first, second = traced(), traced()
    first.command_bus.register(Ping, lambda command: FlextResult.ok("pong"), owner="test")
    first.command_bus.dispatch(Ping())
    assert "Ping" in first.query_bus.execute(GetMetricsText()).unwrap().text
    assert "Ping" not in second.query_bus.execute(GetMetricsText()).unwrap().text
