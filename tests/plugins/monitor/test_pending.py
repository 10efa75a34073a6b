"""``pending.json``: when each ``for`` rule first held, kept across evaluations that race or fail."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from flext_plugin_monitor.alert_events import STREAM, register_events
from flext_plugin_monitor.evaluate import _write_pending, evaluate
from flext_plugin_monitor.metrics import MetricRow
from flext_plugin_monitor.rules import RulesFile
from flext_plugin_monitor.runs import RunFold

from flext_eventsourcing import stores_of
from flext_kernel.errors import CONCURRENCY_CONFLICT
from flext_kernel.result import FlextResult
from flext_sdk.cli import boot_kernel

from .test_evaluate_race import StaleReads


def _hot(_: str | None) -> FlextResult[list[MetricRow]]:
    return FlextResult.ok([MetricRow("queue", "gauge", "queue", "", 50.0)])


def test_an_evaluation_whose_append_fails_keeps_pending_as_it_was(flext_home: Path) -> None:
    rules = RulesFile.model_validate(
        {
            "rules": [
                {"name": "hot", "when": {"type": "metric", "metric": "queue", "above": 10, "for": "10m"}},
                {"name": "stale", "when": {"type": "no_success", "pipeline": "p", "within": "1h"}},
            ]
        }
    )
    pending = flext_home / "data" / "monitor" / "pending.json"
    pending.parent.mkdir(parents=True, exist_ok=True)
    since = time.time() - 1200  # "hot" has held for 20 minutes: this evaluation fires it
    pending.write_text(json.dumps({"hot": since}))
    booted = boot_kernel()
    assert booted.is_success
    with booted.value as kernel:
        store = stores_of(kernel).value.open_event_store().value
        register_events(store)
        early = StaleReads(store)
        early.read_stream(STREAM)
        only_stale = RulesFile.model_validate({"rules": [rules.rules[1].model_dump(by_alias=True)]})
        moved = evaluate(only_stale, RunFold(), store, metrics_of=_hot, notifiers={})  # another evaluator
        assert moved.is_success
        pending.write_text(json.dumps({"hot": since}))
        failed = evaluate(rules, RunFold(), early, metrics_of=_hot, notifiers={})  # type: ignore[arg-type]
        assert failed.is_failure
        assert failed.error_code == CONCURRENCY_CONFLICT
        assert json.loads(pending.read_text()) == {"hot": since}  # "hot" still fires at the next evaluation
        store.close()


def test_writers_at_the_same_time_do_not_trip_over_a_shared_temporary_file(flext_home: Path) -> None:
    errors: list[BaseException] = []

    def write(index: int) -> None:
        try:
            for count in range(200):
                _write_pending({f"rule{index}": float(count)})
        except BaseException as exc:  # the test reports what any writer raised
            errors.append(exc)

    writers = [threading.Thread(target=write, args=(index,)) for index in range(6)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert errors == []
    data: Any = json.loads((flext_home / "data" / "monitor" / "pending.json").read_text())
    assert len(data) == 1
    assert not [
        path.name for path in (flext_home / "data" / "monitor").iterdir() if path.name != "pending.json"
    ]
