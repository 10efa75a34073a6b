"""The handlers of ``flext_sdk.contracts.pipeline``: a pipeline's resume state, for other plugins.

The state is the pipeline's journal's latest ``StateCheckpointed`` (docs/pipelines.md);
setting one records a checkpoint with a run id of its own (``imported-...``) and
the caller's ``source`` in its metadata, so ``flext events show pipeline-NAME``
says where a state came from.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flext_kernel.errors import NOT_FOUND
from flext_plugin_pipeline.events import AGGREGATE_TYPE, StateCheckpointed, stream_of
from flext_plugin_pipeline.journal import Journal
from flext_sdk import ANY, FlextResult

if TYPE_CHECKING:
    from flext_sdk.contracts.pipeline import GetPipelineState, SetPipelineState

__all__ = ["get_state", "set_state"]


def get_state(query: GetPipelineState) -> FlextResult[dict[str, Any] | None]:
    """The state the pipeline's next run resumes from (None: from scratch); NOT_FOUND if never registered."""
    journal = Journal(query.store, query.pipeline)
    known = _registered(journal)
    if known.is_failure:
        return FlextResult.fail(known.error or "", known.error_code, known.error_data)
    return journal.resume_state()


def set_state(command: SetPipelineState) -> FlextResult[str]:
    """Record ``command.state`` as the pipeline's latest confirmed state; the checkpoint's event id."""
    journal = Journal(command.store, command.pipeline)
    known = _registered(journal)
    if known.is_failure:
        return FlextResult.fail(known.error or "", known.error_code, known.error_data)
    run_id = f"imported-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    event = StateCheckpointed(
        aggregate_id=journal.stream,
        aggregate_type=AGGREGATE_TYPE,
        pipeline=command.pipeline,
        run_id=run_id,
        state=dict(command.state),
        metadata={"source": command.source},
    )
    appended = command.store.append(journal.stream, [event], ANY)
    if appended.is_failure:
        return FlextResult.fail(appended.error or "", appended.error_code, appended.error_data)
    return FlextResult.ok(str(event.event_id))


def _registered(journal: Journal) -> FlextResult[None]:
    read = journal.store.read_stream(journal.stream, limit=1)
    if read.is_failure:
        return FlextResult.fail(read.error or "", read.error_code, read.error_data)
    if not read.value:
        name = journal.pipeline
        return FlextResult.fail(
            f"no pipeline {name!r} in this event store ({stream_of(name)} is empty): register it first "
            f"with 'flext pipeline create'",
            NOT_FOUND,
            {"pipeline": name},
        )
    return FlextResult.ok(None)
