"""The ``pipeline-status`` projection: one document per pipeline with its last run, kept by the runner.

``flext pipeline status`` brings it up to date and reads it, instead of
replaying every pipeline's whole stream (which grows with every state
checkpoint of every run); ``flext projections rebuild pipeline-status``
rebuilds it from the events if it is ever in doubt.
"""

from __future__ import annotations

from typing import Any

from flext_plugin_pipeline.events import (
    EVENT_CLASSES,
    PipelineRegistered,
    PipelineRemoved,
    PipelineRunCompleted,
    PipelineRunFailed,
    PipelineRunStarted,
    PipelineRunStopped,
    StreamProgress,
)
from flext_sdk import Projection, ReadModel, RecordedEvent, when

__all__ = ["PipelineStatus"]

_BY_TYPE = {cls.message_type: cls for cls in EVENT_CLASSES}


class PipelineStatus(Projection):
    """Per pipeline: status, run count, last run id, when it started, records, seconds, error."""

    name = "pipeline-status"
    version = 1

    def handle(self, event: RecordedEvent, model: ReadModel) -> None:
        """Decode pipeline events a store without the plugin's classes left raw, then handle them."""
        known = _BY_TYPE.get(event.event_type)
        if not event.is_known and known is not None:
            event = event._replace(event=known.model_validate_json(event.data))
        super().handle(event, model)

    @when(PipelineRegistered)
    def _registered(self, event: RecordedEvent, model: ReadModel) -> None:
        registered = event.event
        assert isinstance(registered, PipelineRegistered)
        current = model.get(registered.pipeline) or {"status": "never run", "runs": 0}
        model.put(registered.pipeline, {**current, "tap": registered.tap, "target": registered.target})

    @when(PipelineRemoved)
    def _removed(self, event: RecordedEvent, model: ReadModel) -> None:
        removed = event.event
        assert isinstance(removed, PipelineRemoved)
        model.delete(removed.pipeline)

    @when(PipelineRunStarted)
    def _started(self, event: RecordedEvent, model: ReadModel) -> None:
        started = event.event
        assert isinstance(started, PipelineRunStarted)
        current = model.get(started.pipeline) or {"runs": 0}
        model.put(
            started.pipeline,
            {
                **current,
                "status": "running",
                "runs": current.get("runs", 0) + 1,
                "last_run": started.run_id,
                "attempt": started.attempt,
                "started_at": started.occurred_at.isoformat(),
                "records": 0,
                "elapsed": 0.0,
                "error": None,
            },
        )

    @when(StreamProgress)
    def _progress(self, event: RecordedEvent, model: ReadModel) -> None:
        progress = event.event
        assert isinstance(progress, StreamProgress)
        self._update(model, progress.pipeline, progress.run_id, records=sum(progress.records.values()))

    @when(PipelineRunCompleted, PipelineRunFailed, PipelineRunStopped)
    def _ended(self, event: RecordedEvent, model: ReadModel) -> None:
        ended = event.event
        assert isinstance(ended, PipelineRunCompleted | PipelineRunFailed | PipelineRunStopped)
        status = {PipelineRunCompleted: "completed", PipelineRunFailed: "failed"}.get(type(ended), "stopped")
        changes: dict[str, Any] = {
            "status": status,
            "elapsed": ended.elapsed,
            "finished_at": ended.occurred_at.isoformat(),
            "error": ended.error if isinstance(ended, PipelineRunFailed) else None,
        }
        if ended.records:
            changes["records"] = sum(ended.records.values())
        self._update(model, ended.pipeline, ended.run_id, **changes)

    @staticmethod
    def _update(model: ReadModel, pipeline: str, run_id: str, **changes: Any) -> None:
        current = model.get(pipeline)
        if current is not None and current.get("last_run") == run_id:
            model.put(pipeline, {**current, **changes})
