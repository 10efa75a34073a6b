"""A FLEXT pipeline's Singer state, read and written through the event store (no pipeline-plugin import).

The pipeline plugin keeps a pipeline's state as its journal, documented in
docs/pipelines.md: every state a target confirmed is a
``pipeline.StateCheckpointed`` event (``pipeline``, ``run_id``, ``state``)
in the stream ``pipeline-<name>``, and the next run resumes from the latest
one. It offers no command, service or contract to read or set that state, so
this module reads the latest such event and appends one (as an event of that
stored type, built here: the pipeline plugin's modules are never imported).
It is the one place that knows this layout; a state contract in the SDK
would replace it (see docs/plugins/meltano.md, "Not done yet").
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from flext_kernel.errors import NOT_FOUND, UNKNOWN_MESSAGE_TYPE
from flext_kernel.result import Failure, FlextResult

if TYPE_CHECKING:
    from flext_eventsourcing import FlextEventStore

__all__ = ["CHECKPOINT_TYPE", "pipeline_state", "set_pipeline_state", "stream_of"]

CHECKPOINT_TYPE: Final = "pipeline.StateCheckpointed"
"""The stored type of a confirmed state in a pipeline's journal."""
_AGGREGATE_TYPE: Final = "pipeline"


def stream_of(pipeline: str) -> str:
    """A pipeline's journal: ``pipeline-<name>``."""
    return f"pipeline-{pipeline}"


def pipeline_state(store: FlextEventStore, pipeline: str) -> FlextResult[dict[str, Any] | None]:
    """The state the pipeline's next run resumes from (None: it starts from scratch)."""
    read = store.read_stream(stream_of(pipeline))
    if isinstance(read, Failure):
        return FlextResult.fail(read.error or "", read.error_code, read.error_data)
    for recorded in reversed(read.value):
        state = _checkpointed_state(recorded.event)
        if state is not None:
            return FlextResult.ok(state)
    return FlextResult.ok(None)


def set_pipeline_state(
    store: FlextEventStore, pipeline: str, state: dict[str, Any], *, source: str
) -> FlextResult[str]:
    """Make ``state`` the one the pipeline's next run resumes from; the id of the checkpoint appended.

    The pipeline must have a journal (be registered); ``source`` says where the
    state came from (kept in the event's metadata).
    """
    from flext_eventsourcing import ANY, UnknownEvent

    stream = stream_of(pipeline)
    read = store.read_stream(stream)
    if isinstance(read, Failure) or not read.value:
        return FlextResult.fail(
            f"no FLEXT pipeline {pipeline!r} (its journal {stream} is empty): "
            "register it first with 'flext meltano import'",
            NOT_FOUND,
            {"pipeline": pipeline},
        )
    run_id = f"meltano-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:4]}"
    event_id = uuid.uuid4()
    payload: dict[str, Any] = {
        "event_id": str(event_id),
        "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "aggregate_id": stream,
        "aggregate_type": _AGGREGATE_TYPE,
        "correlation_id": run_id,
        "metadata": {"plugin": "meltano", "source": source},
        "pipeline": pipeline,
        "run_id": run_id,
        "state": state,
    }
    event = UnknownEvent(
        event_id=event_id,
        aggregate_id=stream,
        event_type=CHECKPOINT_TYPE,
        stored_schema_version=1,
        payload=payload,
        reason="written by the meltano plugin",
        error_code=UNKNOWN_MESSAGE_TYPE,
    )
    appended = store.append(stream, [event], ANY)
    if isinstance(appended, Failure):
        return FlextResult.fail(appended.error or "", appended.error_code, appended.error_data)
    return FlextResult.ok(str(event_id))


def _checkpointed_state(event: object) -> dict[str, Any] | None:
    """The ``state`` of a checkpoint event, decoded by the pipeline's class or kept raw (None otherwise)."""
    event_type = getattr(event, "event_type", None) or getattr(event, "message_type", None)
    if event_type != CHECKPOINT_TYPE:
        return None
    state = getattr(event, "state", None)
    if state is None:
        payload = getattr(event, "payload", None)
        state = payload.get("state") if isinstance(payload, dict) else None
    return dict(state) if isinstance(state, dict) else None
