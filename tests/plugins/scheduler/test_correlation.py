"""One correlation id per firing: on the firing's events, in its job's environment, on the run it starts.

The run id stays in ``run_id``; the correlation id is new per claim, so two
firings (and the scheduler or ``run-due`` command that fired them) never
share one. Through a real firing, the pipeline the scheduler starts records
its run events and its run log under the firing's id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flext_plugin_scheduler.book import ScheduleBook
from flext_plugin_scheduler.clock import StopFlag
from flext_plugin_scheduler.events import FiringFinished, SlotClaimed
from flext_plugin_scheduler.loop import Scheduler

from flext_kernel.correlation import correlation_scope, is_valid_correlation_id
from flext_sdk import FlextKernel
from flext_sdk.testing import FlextCliRunner

from .conftest import T0, FakeClock, OpenStore, definition, events_of, listed, of_type, past, stream, wait_for

EVERY_SECOND = "* * * * * *"


def test_each_firing_has_its_own_correlation_id_on_its_events_not_the_run_id(
    kernel: FlextKernel, open_store: OpenStore
) -> None:
    book = ScheduleBook(open_store())
    book.add(definition("sync")).unwrap()
    clock = FakeClock(T0, until=datetime(2026, 12, 7, 10, 31, tzinfo=UTC))
    with correlation_scope("the-scheduler-command"):  # what `flext scheduler` runs under
        Scheduler(book, kernel, clock).run(StopFlag()).unwrap()
    events = events_of(book, "sync")
    claims = [event for event in events if isinstance(event, SlotClaimed)]
    finished = [event for event in events if isinstance(event, FiringFinished)]
    assert len(claims) == len(finished) == 2
    ids = [claim.correlation_id for claim in claims]
    assert all(is_valid_correlation_id(found) for found in ids)
    assert len(set(ids)) == 2
    assert "the-scheduler-command" not in ids
    assert all(claim.correlation_id != claim.run_id for claim in claims)
    by_run = {claim.run_id: claim for claim in claims}
    for event in finished:  # the end of each firing carries its claim's id, and the run id in its own field
        assert event.correlation_id == by_run[event.run_id].correlation_id
        assert event.causation_id == str(by_run[event.run_id].event_id)


def _exported(flext_cli: FlextCliRunner, store: tuple[str, ...]) -> list[dict[str, Any]]:
    exported = flext_cli("events", "export", *store)
    assert exported.exit_code == 0, exported
    return [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]


@pytest.mark.slow
def test_a_pipeline_fired_by_the_scheduler_records_its_run_under_the_firings_correlation_id(
    flext_cli: FlextCliRunner, numbers_pipeline: Callable[..., Path], tmp_path: Path
) -> None:
    numbers_pipeline("numbers")
    store = ("--store", str(tmp_path / "ops.db"))
    added = flext_cli(
        "schedule", "add", "numbers-often", "--cron", EVERY_SECOND, "--pipeline", "numbers", *store
    )
    assert added.exit_code == 0, added
    wait_for(lambda: past(listed(flext_cli, *store)["numbers-often"]["next_due"]), what="the first slot")
    ran = flext_cli(
        "--output", "json", "schedule", "run-due", *store, env={"FLEXT_CORRELATION_ID": "cron-tick-7"}
    )
    assert ran.exit_code == 0, ran
    (firing,) = ran.json()["data"]
    assert firing["outcome"] == "completed", firing

    events = stream(flext_cli, "numbers-often", *store)
    (claim,) = of_type(events, "SlotClaimed")
    documents = _exported(flext_cli, store)
    schedule_events = [doc for doc in documents if doc["stream_id"] == "schedule-numbers-often"]
    claimed = next(doc for doc in schedule_events if doc["event_type"] == "schedule.SlotClaimed")
    correlation_id = claimed["data"]["correlation_id"]
    assert is_valid_correlation_id(correlation_id)
    assert correlation_id not in (claim["run_id"], "cron-tick-7")  # the firing's own, not the command's
    for doc in schedule_events:
        if doc["event_type"] in ("schedule.SlotClaimed", "schedule.FiringStarted", "schedule.FiringFinished"):
            assert doc["data"]["correlation_id"] == correlation_id, doc

    run_events = [doc for doc in documents if doc["event_type"].startswith("pipeline.Run")]
    assert {doc["event_type"] for doc in run_events} >= {"pipeline.RunStarted", "pipeline.RunCompleted"}
    assert {doc["data"]["correlation_id"] for doc in run_events} == {correlation_id}
    run_id = next(doc["data"]["run_id"] for doc in run_events)
    assert run_id != correlation_id  # the pipeline's run keeps its own id

    logged = flext_cli("pipeline", "logs", "numbers", "--run", run_id)
    assert logged.exit_code == 0, logged
    assert f"correlation id {correlation_id}" in logged.stdout.splitlines()[0]
