"""Pipelines and runs, folded from the event store's pipeline events by type name and JSON.

The monitor may not import the pipeline plugin, so it reads the store (the
``eventsourcing`` plugin's ``EventStores``) and folds the stored events by
their type names (``pipeline.RunStarted``, ``pipeline.StreamProgress``, ...)
and JSON, never by their classes. ``catch_up`` reads only what was written
since the last call, so the dashboard's refresh costs the new events, not
the whole store.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from flext_kernel.result import FlextResult

if TYPE_CHECKING:
    from flext_eventsourcing import FlextEventStore, RecordedEvent

__all__ = ["SAMPLES", "ErrorLine", "Firing", "Run", "RunFold"]

_BATCH: Final = 2000
SAMPLES: Final = 40
"""Records/s samples kept per running run (the sparkline's width)."""
_ENDS: Final = {
    "pipeline.RunCompleted": "completed",
    "pipeline.RunFailed": "failed",
    "pipeline.RunStopped": "stopped",
}


def _epoch(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass
class Run:
    """One run as the monitor shows it."""

    run_id: str
    pipeline: str
    status: str = "running"
    started: float | None = None
    """Epoch seconds of its first attempt's start."""
    ended: float | None = None
    elapsed: float | None = None
    """Seconds the run took (as its end event says), None while running."""
    records: int = 0
    """Records over all its streams so far."""
    error: str | None = None
    code: str | None = None
    rates: deque[float] = field(default_factory=lambda: deque(maxlen=SAMPLES))
    """Records per second between successive progress events."""
    _last: tuple[float, int] = (0.0, 0)

    def progress(self, elapsed: float, records: int) -> None:
        """A ``StreamProgress``: the rate since the previous one joins the sparkline."""
        before_elapsed, before_records = self._last
        if elapsed > before_elapsed:
            self.rates.append(max(0.0, (records - before_records) / (elapsed - before_elapsed)))
        self._last = (elapsed, records)
        self.records = records


@dataclass
class Firing:
    """One scheduled command's run (the scheduler's ``FiringStarted``/``FiringFinished``)."""

    run_id: str
    command: str
    """The FLEXT command line it ran (``pipeline run numbers``, ``monitor alerts evaluate``)."""
    started: float | None = None
    ended: float | None = None
    elapsed: float | None = None
    status: str = "running"
    """The scheduler's outcome once finished (``completed``, ``failed``, ...)."""


@dataclass(frozen=True)
class ErrorLine:
    """An error line from a failed run's events (the logs plugin answers no query yet)."""

    time: float | None
    pipeline: str
    run_id: str
    text: str


@dataclass
class RunFold:
    """Pipelines, runs and error lines, in store order; not thread-safe (one reader)."""

    position: int = 0
    """The last global position folded."""
    pipelines: dict[str, str | None] = field(default_factory=dict)
    """Each registered pipeline and its last run id."""
    runs: dict[str, Run] = field(default_factory=dict)
    """Every run, in the order it (last) started."""
    errors: deque[ErrorLine] = field(default_factory=lambda: deque(maxlen=200))
    """The latest error lines, oldest first."""
    firings: dict[str, Firing] = field(default_factory=dict)
    """Scheduled commands' runs, by the scheduler's run id."""

    def catch_up(self, store: FlextEventStore) -> FlextResult[int]:
        """Fold every event written since the last call; the number of events read."""
        read_count = 0
        while True:
            read = store.read_all(self.position, limit=_BATCH)
            if read.is_failure:
                return FlextResult.fail(read.error or "", error_code=read.error_code)
            for recorded in read.value:
                self.fold(recorded)
                self.position = recorded.position
            read_count += len(read.value)
            if len(read.value) < _BATCH:
                return FlextResult.ok(read_count)

    def fold(self, recorded: RecordedEvent) -> None:
        """Fold one stored event (events of other kinds are skipped without parsing)."""
        kind = recorded.event_type
        if kind in ("schedule.FiringStarted", "schedule.FiringFinished"):
            self._firing(kind, json.loads(recorded.data))
            return
        if not kind.startswith("pipeline."):
            return
        data = json.loads(recorded.data)
        name = data.get("pipeline")
        if not isinstance(name, str):
            return
        if kind == "pipeline.Registered":
            self.pipelines.setdefault(name, None)
        elif kind == "pipeline.Removed":
            self.pipelines.pop(name, None)
        elif kind == "pipeline.RunStarted":
            self._started(name, data)
        elif kind == "pipeline.StreamProgress":
            run = self.runs.get(str(data.get("run_id")))
            if run is not None:
                run.progress(float(data.get("elapsed") or 0.0), _total(data))
        elif kind in _ENDS:
            self._ended(name, data, _ENDS[kind])

    def _started(self, name: str, data: dict[str, Any]) -> None:
        run_id = str(data.get("run_id"))
        previous = self.runs.pop(run_id, None)
        run = Run(run_id, name, started=previous.started if previous else _epoch(data.get("occurred_at")))
        self.runs[run_id] = run
        self.pipelines[name] = run_id

    def _ended(self, name: str, data: dict[str, Any], status: str) -> None:
        run_id = str(data.get("run_id"))
        run = self.runs.get(run_id)
        if run is None:
            run = self.runs[run_id] = Run(run_id, name)
        run.status = status
        run.ended = _epoch(data.get("occurred_at"))
        run.elapsed = float(data["elapsed"]) if isinstance(data.get("elapsed"), int | float) else None
        run.records = _total(data) or run.records
        run.error = data.get("error")
        run.code = data.get("code")
        self.pipelines[name] = run_id
        if status == "failed":
            for line in [*(data.get("stderr_tail") or []), f"run {run_id} failed: {run.error}"]:
                self.errors.append(ErrorLine(run.ended, name, run_id, str(line)))

    def _firing(self, kind: str, data: dict[str, Any]) -> None:
        run_id = str(data.get("run_id"))
        if kind == "schedule.FiringStarted":
            command = data.get("command")
            words = " ".join(str(word) for word in command) if isinstance(command, list) else str(command)
            self.firings[run_id] = Firing(run_id, words, started=_epoch(data.get("started_at")))
            return
        firing = self.firings.get(run_id)
        if firing is None:
            return
        firing.ended = _epoch(data.get("finished_at")) or _epoch(data.get("occurred_at"))
        firing.status = str(data.get("outcome") or "finished")
        if firing.started is not None and firing.ended is not None:
            firing.elapsed = max(0.0, firing.ended - firing.started)

    def running(self) -> list[Run]:
        """The runs started and not ended, oldest first."""
        return [run for run in self.runs.values() if run.status == "running"]

    def finished(self) -> list[Run]:
        """The ended runs, in the order they started."""
        return [run for run in self.runs.values() if run.status != "running"]

    def last_run(self, pipeline: str) -> Run | None:
        """The pipeline's latest run (None: never ran)."""
        run_id = self.pipelines.get(pipeline)
        return self.runs.get(run_id) if run_id else None


def _total(data: dict[str, Any]) -> int:
    records = data.get("records")
    if not isinstance(records, dict):
        return 0
    return sum(value for value in records.values() if isinstance(value, int))
