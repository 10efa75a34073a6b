"""A pipeline's event stream: appending what happens to a run, and reading runs back.

Every event of a run carries its run id (``run_id``), the correlation id of
the user action that started the run (``correlation_id``: the ``flext``
invocation's, see ``flext_kernel.correlation``), and the previous event's id
as ``causation_id``, so ``flext events show pipeline-<name>`` reads as a
trace and ``--correlation-id`` finds everything one command did.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from flext_plugin_pipeline.events import (
    AGGREGATE_TYPE,
    EVENT_CLASSES,
    PipelineEvent,
    PipelineRunCompleted,
    PipelineRunFailed,
    PipelineRunStarted,
    PipelineRunStopped,
    StateCheckpointed,
    StreamProgress,
    stream_of,
)
from flext_sdk import ANY, FlextEventStore, FlextResult

__all__ = ["Journal", "RunRecord", "register_events"]


def register_events(store: FlextEventStore) -> None:
    """Teach the store's codec the pipeline events (once per store)."""
    for cls in EVENT_CLASSES:
        if cls not in store.codec:
            store.codec.register(cls, owner="pipeline")


class RunRecord(BaseModel):
    """One run as history shows it, folded from its events."""

    run_id: str
    attempt: int = 1
    status: str = "running"
    started_at: datetime
    finished_at: datetime | None = None
    records: dict[str, int] = {}
    elapsed: float = 0.0
    full_refresh: bool = False
    background: bool = False
    pid: int | None = None
    error: str | None = None
    code: str | None = None
    stderr_tail: list[str] = []
    transform: dict[str, Any] | None = None
    checkpoints: int = 0
    will_retry: bool = False
    """A failed attempt that another attempt was to follow."""
    forced: bool = False
    """A stopped run whose processes had to be killed."""
    stopped_during: str | None = None
    """The step a stop ended: ``extract-load`` or ``transform``."""
    state: dict[str, Any] | None = None
    """For a stopped run: the state the next run resumes from (the last one a target confirmed)."""

    @property
    def total(self) -> int:
        """Records over all streams."""
        return sum(self.records.values())


class Journal:
    """Appends a pipeline's events and reads its runs back."""

    def __init__(self, store: FlextEventStore, pipeline: str) -> None:
        register_events(store)
        self.store = store
        self.pipeline = pipeline
        self.stream = stream_of(pipeline)
        self._last_event: str | None = None

    def record(self, cls: type[PipelineEvent], **fields: Any) -> FlextResult[None]:
        """Append one event to the pipeline's stream.

        Its ``correlation_id`` is the action's in force (the event's default); its cause the
        journal's previous event, else what the kernel knows (the event being handled, if any).
        """
        if self._last_event is not None:
            fields.setdefault("causation_id", self._last_event)
        event = cls(aggregate_id=self.stream, aggregate_type=AGGREGATE_TYPE, pipeline=self.pipeline, **fields)
        appended = self.store.append(self.stream, [event], ANY)
        if appended.is_failure:
            return FlextResult.fail(appended.error or "", error_code=appended.error_code)
        self._last_event = str(event.event_id)
        return FlextResult.ok(None)

    def runs(self) -> FlextResult[list[RunRecord]]:
        """Every run, oldest first."""
        read = self.store.read_stream(self.stream)
        if read.is_failure:
            return FlextResult.fail(read.error or "", error_code=read.error_code)
        runs: dict[str, RunRecord] = {}
        for recorded in read.value:
            _fold(runs, recorded.event, recorded.event.occurred_at)
        return FlextResult.ok(list(runs.values()))

    def resume_state(self) -> FlextResult[dict[str, Any] | None]:
        """The last state a target confirmed, the one the next run starts from (None: from scratch)."""
        read = self.store.read_stream(self.stream)
        if read.is_failure:
            return FlextResult.fail(read.error or "", error_code=read.error_code)
        for recorded in reversed(read.value):
            if isinstance(recorded.event, StateCheckpointed):
                return FlextResult.ok(recorded.event.state)
        return FlextResult.ok(None)


def _fold(runs: dict[str, RunRecord], event: object, when: datetime) -> None:
    if isinstance(event, PipelineRunStarted):
        runs[event.run_id] = RunRecord(
            run_id=event.run_id,
            attempt=event.attempt,
            started_at=when,
            full_refresh=event.full_refresh,
            background=event.background,
            pid=event.pid,
        )
        return
    run = runs.get(getattr(event, "run_id", ""))
    if run is None:
        return
    if isinstance(event, StreamProgress):
        run.records, run.elapsed = event.records, event.elapsed
    elif isinstance(event, StateCheckpointed):
        run.checkpoints += 1
    elif isinstance(event, PipelineRunCompleted):
        run.status, run.records, run.elapsed, run.transform = (
            "completed",
            event.records,
            event.elapsed,
            event.transform,
        )
        run.finished_at = when
    elif isinstance(event, PipelineRunFailed):
        run.status, run.error, run.code, run.stderr_tail = (
            "failed",
            event.error,
            event.code,
            event.stderr_tail,
        )
        run.records, run.elapsed, run.finished_at = event.records or run.records, event.elapsed, when
        run.will_retry = event.will_retry
    elif isinstance(event, PipelineRunStopped):
        run.status, run.records, run.elapsed, run.finished_at = (
            "stopped",
            event.records or run.records,
            event.elapsed or run.elapsed,
            when,
        )
        run.forced, run.stopped_during, run.state = event.forced, event.during, event.state
        run.error = event.error
