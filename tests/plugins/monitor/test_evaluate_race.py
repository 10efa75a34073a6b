"""Two evaluations that read the same alert state: only the first records the change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flext_plugin_monitor.alert_events import STREAM, register_events
from flext_plugin_monitor.evaluate import evaluate
from flext_plugin_monitor.rules import RulesFile
from flext_plugin_monitor.runs import RunFold

from flext_eventsourcing import FlextEventStore, stores_of
from flext_kernel.errors import CONCURRENCY_CONFLICT
from flext_kernel.result import FlextResult
from flext_sdk.cli import boot_kernel


class StaleReads:
    """A real store whose ``read_stream`` answers what it answered first: an evaluator that read early."""

    def __init__(self, store: FlextEventStore) -> None:
        self._store = store
        self._first: dict[str, Any] = {}

    def read_stream(self, stream_id: str, *args: Any, **kwargs: Any) -> Any:
        if stream_id not in self._first:
            self._first[stream_id] = self._store.read_stream(stream_id, *args, **kwargs)
        return self._first[stream_id]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def _no_metrics(_: str | None) -> FlextResult[list[Any]]:
    return FlextResult.ok([])


def test_the_second_of_two_racing_evaluations_records_nothing(flext_home: Path) -> None:
    rules = RulesFile.model_validate(
        {"rules": [{"name": "stale", "when": {"type": "no_success", "pipeline": "p", "within": "1h"}}]}
    )
    booted = boot_kernel()
    assert booted.is_success
    with booted.value as kernel:
        store = stores_of(kernel).value.open_event_store().value
        register_events(store)
        early = StaleReads(store)
        early.read_stream(STREAM)  # the second evaluator reads the (empty) stream first ...
        first = evaluate(rules, RunFold(), store, metrics_of=_no_metrics, notifiers={})
        assert first.is_success
        assert first.value.fired == ["stale"]
        second = evaluate(rules, RunFold(), early, metrics_of=_no_metrics, notifiers={})  # type: ignore[arg-type]
        assert second.is_failure  # ... and appends after the first did: refused, not fired twice
        assert second.error_code == CONCURRENCY_CONFLICT
        stored = store.read_stream(STREAM).value
        assert [recorded.event_type for recorded in stored] == ["monitor.AlertFired"]
        store.close()
