"""Plugin start-up spans, plugin failures counted, and the event stores traced until the plugin stops."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from flext_eventsourcing import EventStores
from flext_kernel.plugins.discovery import Candidate
from flext_sdk import ANY, FlextDomainEvent, FlextEventStore, FlextKernel

from .conftest import PLUGIN, STORES, metric_points, spans_of

BROKEN = """
from flext_sdk import PluginManifest, hookimpl

manifest = PluginManifest(name="broken", version="1.0.0", description="Fails to start")


@hookimpl
def flext_startup(kernel):
    raise RuntimeError("no database")
"""

STARTS = """
from flext_sdk import PluginManifest, hookimpl

manifest = PluginManifest(name="starts", version="1.0.0", description="Starts fine")


@hookimpl
def flext_startup(kernel):
    pass
"""


class Deposited(FlextDomainEvent):
    amount: int


@pytest.fixture
def local_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Candidate]:
    (tmp_path / "broken_plugin.py").write_text(BROKEN, encoding="utf-8")
    (tmp_path / "starts_plugin.py").write_text(STARTS, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return [
        Candidate("observability", PLUGIN, "entry-point"),
        Candidate("broken", "broken_plugin", "entry-point"),
        Candidate("starts", "starts_plugin", "entry-point"),
    ]


@pytest.mark.parametrize("order", ["observability first", "observability last"])
def test_each_start_up_is_a_span_and_a_plugin_that_fails_is_counted_once(
    order: str, local_plugins: list[Candidate], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEXT_TELEMETRY_EXPORTER", "memory")
    candidates = local_plugins if order == "observability first" else local_plugins[::-1]
    kernel = FlextKernel.boot(candidates).unwrap()
    try:
        assert kernel.plugins.records["broken"].failed
        startups = {span.attributes["flext.plugin"]: span for span in spans_of(kernel)}
        assert set(startups) == {"observability", "broken", "starts"}
        assert startups["broken"].status.status_code.name == "ERROR"
        assert startups["starts"].status.is_ok
        failures = {p.attributes["plugin"]: p.value for p in metric_points(kernel, "flext.plugin.failures")}
        assert failures == {"broken": 1}
    finally:
        kernel.close()


def test_appends_are_spans_until_the_plugin_stops(traced: Callable[..., FlextKernel]) -> None:
    kernel = traced(STORES)
    stores = kernel.container.resolve(EventStores)
    store = kernel.container.resolve(FlextEventStore)
    store.codec.register(Deposited)
    assert store.append("account-1", [Deposited(aggregate_id="account-1", amount=5)], ANY).is_success
    conflict = store.append("account-1", [Deposited(aggregate_id="account-1", amount=5)], 0)
    assert conflict.error_code == "CONCURRENCY_CONFLICT"
    appends = [span for span in spans_of(kernel) if span.name == "eventstore.append"]
    assert [span.status.status_code.name for span in appends] == ["UNSET", "ERROR"]
    assert appends[1].attributes["flext.error_code"] == "CONCURRENCY_CONFLICT"
    latency = {
        p.attributes["outcome"]: p.count for p in metric_points(kernel, "flext.eventstore.append.duration")
    }
    assert latency == {"ok": 1, "failed": 1}

    kernel.plugins.shutdown_one(kernel, "observability")
    kernel.remove_contributions("observability")
    assert "open_event_store" not in vars(stores)  # the opener is the class's again
    assert store.append("account-1", [Deposited(aggregate_id="account-1", amount=1)], ANY).is_success


def test_a_hot_reload_swaps_the_telemetry_and_leaves_one_tracer_on_the_buses(
    traced: Callable[..., FlextKernel],
) -> None:
    from flext_sdk.authoring.reload import reload_plugin

    kernel = traced(STORES)
    stores = kernel.container.resolve(EventStores)
    assert "open_event_store" in vars(stores)
    before = kernel.plugins.records["observability"].plugin
    assert reload_plugin(kernel, "observability").is_success
    after = kernel.plugins.records["observability"].plugin
    assert after is not before
    assert before.telemetry is None  # shut down: providers flushed and stopped
    store = stores.open_event_store().unwrap()
    store.codec.register(Deposited)
    assert store.append("account-2", [Deposited(aggregate_id="account-2", amount=1)], ANY).is_success
    names = [span.name for span in spans_of(kernel)]
    assert names.count("eventstore.append") == 1  # traced once, by the new instance only
    assert kernel.command_bus.remove_owner("observability") == 1  # one tracing behaviour, not two
