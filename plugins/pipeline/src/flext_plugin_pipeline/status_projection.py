"""The ``pipeline-status`` projection: one document per pipeline with its last run, kept by the runner.

``flext pipeline status`` brings it up to date and reads it, instead of
replaying every pipeline's whole stream (which grows with every state
checkpoint of every run); ``flext projections rebuild pipeline-status``
rebuilds it from the events if it is ever in doubt.

Delegated Meltano runs (``flext meltano run``) are shown next to native
ones: the meltano plugin records each as ``meltano.RunStarted`` and
``meltano.RunFinished`` in the stream ``meltano-<project>``, and this
module reads them by those type names and their JSON fields (``run_id``,
``command``, ``outcome``, ``exit_code``, ``elapsed``, ``records``), never by
importing that plugin. Each project is one row named after its stream, with
``source: meltano``; ``meltano_runs`` folds the stream for ``history``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

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
from flext_plugin_pipeline.journal import RunRecord
from flext_sdk import Projection, ReadModel, RecordedEvent, when

__all__ = ["MELTANO_FINISHED", "MELTANO_SOURCE", "MELTANO_STARTED", "PipelineStatus", "meltano_runs"]

_BY_TYPE = {cls.message_type: cls for cls in EVENT_CLASSES}
MELTANO_STARTED: Final = "meltano.RunStarted"
"""The meltano plugin's event type: flext started ``meltano <command>`` in a project."""
MELTANO_FINISHED: Final = "meltano.RunFinished"
"""The meltano plugin's event type: that command ended."""
MELTANO_SOURCE: Final = "meltano"
"""The ``source`` of a row that is a Meltano project's delegated runs."""
_OUTCOMES: Final = {"completed": "completed", "failed": "failed", "interrupted": "interrupted"}


def _meltano_run(event: RecordedEvent) -> dict[str, Any] | None:
    """The fields of a Meltano ``run`` event (the other commands are not runs), else None."""
    if event.event_type not in (MELTANO_STARTED, MELTANO_FINISHED):
        return None
    try:
        fields = json.loads(event.data)
    except ValueError:
        return None
    return fields if isinstance(fields, dict) and fields.get("command") == "run" else None


def _meltano_error(fields: dict[str, Any]) -> str | None:
    if fields.get("outcome") == "completed":
        return None
    return f"meltano run exited {fields.get('exit_code')}"


def meltano_runs(events: Iterable[RecordedEvent]) -> list[RunRecord]:
    """A Meltano project's delegated runs (its ``meltano-<project>`` stream), oldest first."""
    runs: dict[str, RunRecord] = {}
    for event in events:
        fields = _meltano_run(event)
        if fields is None:
            continue
        run_id = str(fields.get("run_id"))
        if event.event_type == MELTANO_STARTED:
            runs[run_id] = RunRecord(run_id=run_id, started_at=_occurred(event, fields))
        elif run_id in runs:
            records = {str(k): int(v) for k, v in (fields.get("records") or {}).items()}
            runs[run_id] = runs[run_id].model_copy(
                update={
                    "status": _OUTCOMES.get(str(fields.get("outcome")), "failed"),
                    "finished_at": _occurred(event, fields),
                    "elapsed": float(fields.get("elapsed") or 0.0),
                    "records": records,
                    "error": _meltano_error(fields),
                }
            )
    return list(runs.values())


def _occurred(event: RecordedEvent, fields: dict[str, Any]) -> datetime:
    occurred = fields.get("occurred_at")
    if isinstance(occurred, str):
        return datetime.fromisoformat(occurred)
    return event.event.occurred_at


class PipelineStatus(Projection):
    """Per pipeline: status, run count, last run id, when it started, records, seconds, error."""

    name = "pipeline-status"
    version = 2
    """2: delegated Meltano runs are rows too."""

    def handle(self, event: RecordedEvent, model: ReadModel) -> None:
        """Decode pipeline events a store without the plugin's classes left raw, then handle them."""
        meltano = _meltano_run(event)
        if meltano is not None:
            self._meltano(event, meltano, model)
            return
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
    def _meltano(event: RecordedEvent, fields: dict[str, Any], model: ReadModel) -> None:
        """A Meltano project's row, named after its stream: the last delegated run."""
        key = event.stream_id
        if event.event_type == MELTANO_STARTED:
            current = model.get(key) or {"runs": 0}
            model.put(
                key,
                {
                    **current,
                    "source": MELTANO_SOURCE,
                    "project_dir": fields.get("project_dir"),
                    "status": "running",
                    "runs": current.get("runs", 0) + 1,
                    "last_run": fields.get("run_id"),
                    "attempt": 1,
                    "started_at": _occurred(event, fields).isoformat(),
                    "finished_at": None,
                    "records": 0,
                    "elapsed": 0.0,
                    "error": None,
                },
            )
            return
        records = fields.get("records") or {}
        PipelineStatus._update(
            model,
            key,
            str(fields.get("run_id")),
            status=_OUTCOMES.get(str(fields.get("outcome")), "failed"),
            elapsed=float(fields.get("elapsed") or 0.0),
            finished_at=_occurred(event, fields).isoformat(),
            records=sum(int(value) for value in records.values()),
            error=_meltano_error(fields),
        )

    @staticmethod
    def _update(model: ReadModel, pipeline: str, run_id: str, **changes: Any) -> None:
        current = model.get(pipeline)
        if current is not None and current.get("last_run") == run_id:
            model.put(pipeline, {**current, **changes})
