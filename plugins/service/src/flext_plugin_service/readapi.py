"""The read API's data: events as stored, and pipelines and runs folded from the pipelines' events.

No plugin's query answers "list the pipelines" or "list the runs" yet, and
this plugin may not import the pipeline plugin, so ``flext serve`` reads the
event store (the kernel's ``EventStores``) and folds the pipeline events by
their stored type names and JSON (``pipeline.Registered``,
``pipeline.RunStarted``, ...), never by their classes. The fold is kept in
memory and caught up from the last position it saw on each request, so a
request costs the events written since the previous one, not the whole store.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flext_kernel.result import FlextResult

if TYPE_CHECKING:
    from flext_eventsourcing import FlextEventStore, RecordedEvent

__all__ = ["Page", "PipelineFold", "event_document", "page"]

_BATCH = 1000
_RUN_ENDS = {
    "pipeline.RunCompleted": "completed",
    "pipeline.RunFailed": "failed",
    "pipeline.RunStopped": "stopped",
}


@dataclass(frozen=True)
class Page:
    """One page of items and the cursor of the next (None: this was the last)."""

    items: list[dict[str, Any]]
    next: str | int | None

    def document(self) -> dict[str, Any]:
        """The JSON body: ``{"items": [...], "next": cursor}``."""
        return {"items": self.items, "next": self.next}


def event_document(recorded: RecordedEvent) -> dict[str, Any]:
    """An event as the API shows it: where it sits, its type, and its stored JSON."""
    return {
        "position": recorded.position,
        "stream_id": recorded.stream_id,
        "version": recorded.version,
        "event_type": recorded.event_type,
        "schema_version": recorded.schema_version,
        "data": json.loads(recorded.data),
    }


def page(items: list[dict[str, Any]], key: str, after: str | None, limit: int) -> Page:
    """The ``limit`` items after the one whose ``key`` is ``after`` (items in a stable order)."""
    start = 0
    if after is not None:
        start = next((index + 1 for index, item in enumerate(items) if str(item[key]) == after), len(items))
    chosen = items[start : start + limit]
    more = start + limit < len(items)
    return Page(chosen, chosen[-1][key] if more and chosen else None)


@dataclass
class PipelineFold:
    """Pipelines and runs, folded from the store's events in position order; thread-safe."""

    position: int = 0
    """The last global position folded."""
    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def catch_up(self, store: FlextEventStore) -> FlextResult[None]:
        """Fold every event written since the last call."""
        with self._lock:
            while True:
                read = store.read_all(self.position, limit=_BATCH)
                if read.is_failure:
                    return FlextResult.fail(read.error or "", error_code=read.error_code)
                for recorded in read.value:
                    self._fold(recorded)
                    self.position = recorded.position
                if len(read.value) < _BATCH:
                    return FlextResult.ok(None)

    def pipeline_list(self) -> list[dict[str, Any]]:
        """The registered pipelines, by name."""
        with self._lock:
            return [dict(self.pipelines[name]) for name in sorted(self.pipelines)]

    def run_list(self, pipeline: str | None = None) -> list[dict[str, Any]]:
        """The runs in the order they started (optionally of one pipeline)."""
        with self._lock:
            return [
                dict(run) for run in self.runs.values() if pipeline is None or run["pipeline"] == pipeline
            ]

    def _fold(self, recorded: RecordedEvent) -> None:
        kind = recorded.event_type
        if not kind.startswith("pipeline."):
            return
        data = json.loads(recorded.data)
        name = data.get("pipeline")
        if not isinstance(name, str):
            return
        when = data.get("occurred_at")
        if kind == "pipeline.Registered":
            previous = self.pipelines.get(name, {})
            self.pipelines[name] = {
                "name": name,
                "tap": data.get("tap"),
                "target": data.get("target"),
                "registered_at": previous.get("registered_at", when),
                "updated_at": when,
                "last_run_id": previous.get("last_run_id"),
                "last_run_status": previous.get("last_run_status"),
            }
        elif kind == "pipeline.Removed":
            self.pipelines.pop(name, None)
        elif kind == "pipeline.RunStarted":
            self._started(name, data, when)
        elif kind in _RUN_ENDS:
            self._ended(name, data, when, _RUN_ENDS[kind])

    def _started(self, name: str, data: dict[str, Any], when: Any) -> None:
        run_id = str(data.get("run_id"))
        previous = self.runs.pop(run_id, None)  # a retry's attempt moves the run to the end
        self.runs[run_id] = {
            "run_id": run_id,
            "pipeline": name,
            "status": "running",
            "attempt": data.get("attempt", 1),
            "full_refresh": data.get("full_refresh", False),
            "started_at": previous["started_at"] if previous else when,
            "ended_at": None,
            "records": {},
            "elapsed": None,
            "error": None,
            "code": None,
        }
        self._last_run(name, run_id, "running")

    def _ended(self, name: str, data: dict[str, Any], when: Any, status: str) -> None:
        run_id = str(data.get("run_id"))
        run = self.runs.setdefault(run_id, {"run_id": run_id, "pipeline": name, "started_at": None})
        run.update(
            status=status,
            ended_at=when,
            records=data.get("records", {}),
            elapsed=data.get("elapsed"),
            error=data.get("error"),
            code=data.get("code"),
        )
        self._last_run(name, run_id, status)

    def _last_run(self, name: str, run_id: str, status: str) -> None:
        if name in self.pipelines:
            self.pipelines[name]["last_run_id"] = run_id
            self.pipelines[name]["last_run_status"] = status
