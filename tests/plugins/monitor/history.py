"""Pipeline run events written into a real event store, as the pipeline plugin writes them.

The tests and the benchmark need many runs with chosen durations (a real
run takes seconds and its duration is whatever it is), so this writes the
pipeline plugin's own event classes into the default store of the current
``FLEXT_HOME`` through the kernel, exactly what ``flext pipeline run``
appends: the monitor reads them by type name and JSON, as it would real ones.
One test (``test_dashboard_tmux``) also runs real pipelines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flext_plugin_pipeline.events import (
    PipelineRegistered,
    PipelineRunCompleted,
    PipelineRunFailed,
    PipelineRunStarted,
    StreamProgress,
    stream_of,
)
from flext_plugin_pipeline.journal import register_events

from flext_eventsourcing import ANY, stores_of
from flext_kernel.kernel import FlextKernel
from flext_sdk.cli import boot_kernel


@dataclass
class RunSpec:
    """One run: its pipeline, how long ago it ended, how long it took, and how it ended."""

    pipeline: str
    took: float
    ended_ago: float = 60.0
    status: str = "completed"
    """``completed``, ``failed`` or ``running`` (no end event)."""
    records: int = 100
    error: str = "target-file exited 1"
    stderr: list[str] = field(default_factory=list)
    progress: int = 0
    """``StreamProgress`` events to write (spread over ``took``)."""


def record(*runs: RunSpec, now: datetime | None = None) -> None:
    """Append each run's events to the default store of ``$FLEXT_HOME`` (created if missing)."""
    booted = boot_kernel()
    assert booted.is_success, booted
    with booted.value as kernel:
        _record(kernel, runs, now or datetime.now(UTC))


def _record(kernel: FlextKernel, runs: tuple[RunSpec, ...], now: datetime) -> None:
    stores = stores_of(kernel)
    assert stores.is_success, stores
    opened = stores.value.open_event_store()
    assert opened.is_success, opened
    store = opened.value
    register_events(store)
    try:
        registered: set[str] = set()
        for number, spec in enumerate(runs):
            events: list[Any] = []
            common: dict[str, Any] = {
                "aggregate_id": stream_of(spec.pipeline),
                "aggregate_type": "pipeline",
                "pipeline": spec.pipeline,
            }
            if spec.pipeline not in registered:
                events.append(
                    PipelineRegistered(**common, tap="tap-numbers", target="target-file", source="test")
                )
                registered.add(spec.pipeline)
            ended = now - timedelta(seconds=spec.ended_ago)
            started = ended - timedelta(seconds=spec.took)
            run_id = f"{started:%Y%m%dT%H%M%S}.{number:03d}-{spec.pipeline[:4]}"
            run: dict[str, Any] = {**common, "run_id": run_id}
            events.append(PipelineRunStarted(**run, pid=1, occurred_at=started))
            for step in range(1, spec.progress + 1):
                elapsed = spec.took * step / (spec.progress + 1)
                count = spec.records * step // (spec.progress + 1)
                events.append(
                    StreamProgress(
                        **run,
                        records={"numbers": count},
                        elapsed=elapsed,
                        occurred_at=started + timedelta(seconds=elapsed),
                    )
                )
            records = {"numbers": spec.records}
            if spec.status == "completed":
                events.append(
                    PipelineRunCompleted(**run, records=records, elapsed=spec.took, occurred_at=ended)
                )
            elif spec.status == "failed":
                events.append(
                    PipelineRunFailed(
                        **run,
                        error=spec.error,
                        code="RUN_FAILED",
                        stderr_tail=spec.stderr,
                        records=records,
                        elapsed=spec.took,
                        occurred_at=ended,
                    )
                )
            appended = store.append(stream_of(spec.pipeline), events, ANY)
            assert appended.is_success, appended
    finally:
        store.close()
