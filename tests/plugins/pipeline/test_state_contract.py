"""``flext_sdk.contracts.pipeline``: other plugins read and set a pipeline's resume state through the buses.

The pipeline plugin handles ``GetPipelineState`` and ``SetPipelineState`` in a
real kernel (event sourcing and singer loaded as it requires); the store is an
in-memory one, as a caller's opened store would be passed.
"""

from __future__ import annotations

import pytest
from flext_plugin_pipeline.events import PipelineRegistered
from flext_plugin_pipeline.journal import Journal

from flext_eventsourcing.memory_store import InMemoryEventStore
from flext_sdk.contracts import require_handler
from flext_sdk.contracts.pipeline import GetPipelineState, SetPipelineState

PLUGINS = ("flext_eventsourcing.plugin", "flext_plugin_singer.plugin", "flext_plugin_pipeline.plugin")
STATE = {"bookmarks": {"users": {"replication_key": "modifyTimestamp", "replication_key_value": "20260101"}}}


@pytest.fixture
def kernel(flext_kernel_factory):  # type: ignore[no-untyped-def]
    return flext_kernel_factory(*PLUGINS)


def test_a_state_set_through_the_bus_is_the_one_the_next_run_resumes_from(kernel) -> None:  # type: ignore[no-untyped-def]
    store = InMemoryEventStore()
    journal = Journal(store, "directory")
    assert journal.record(
        PipelineRegistered, tap="tap-ldif", target="target-sqlite", source="p.yaml"
    ).is_success
    assert kernel.query_bus.execute(GetPipelineState(pipeline="directory", store=store)).unwrap() is None

    checkpoint = kernel.command_bus.dispatch(
        SetPipelineState(pipeline="directory", state=STATE, source="meltano:dev:tap-to-target", store=store)
    )
    assert checkpoint.is_success, checkpoint
    assert kernel.query_bus.execute(GetPipelineState(pipeline="directory", store=store)).unwrap() == STATE
    assert journal.resume_state().unwrap() == STATE  # what a run of the pipeline starts from
    [recorded] = [
        r for r in store.read_stream("pipeline-directory").unwrap() if r.event_type.endswith("Checkpointed")
    ]
    assert str(recorded.event_id) == checkpoint.value
    assert recorded.event.metadata == {"source": "meltano:dev:tap-to-target"}
    assert recorded.event.run_id.startswith("imported-")


def test_a_pipeline_never_registered_is_not_found_and_nothing_is_written(kernel) -> None:  # type: ignore[no-untyped-def]
    store = InMemoryEventStore()
    got = kernel.query_bus.execute(GetPipelineState(pipeline="nope", store=store))
    assert got.is_failure
    assert got.error_code == "NOT_FOUND"
    assert "no pipeline 'nope' in this event store" in (got.error or "")
    set_ = kernel.command_bus.dispatch(
        SetPipelineState(pipeline="nope", state=STATE, source="x", store=store)
    )
    assert set_.error_code == "NOT_FOUND"
    assert store.read_stream("pipeline-nope").unwrap() == []


def test_without_the_pipeline_plugin_the_caller_is_told_which_plugin_it_needs(flext_kernel_factory) -> None:  # type: ignore[no-untyped-def]
    kernel = flext_kernel_factory("flext_eventsourcing.plugin")
    needed = require_handler(kernel, GetPipelineState, why="flext meltano state export")
    assert needed.is_failure
    assert "pipeline" in (needed.error or "")
    assert "flext meltano state export" in (needed.error or "")
