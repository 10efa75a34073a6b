"""The in-memory projection store passes the projection store contract; the runner's own rules."""

from __future__ import annotations

import threading
import time

import pytest

from flext_kernel.errors import NOT_FOUND, FlextError
from flext_kernel.eventstore import NO_STREAM, RecordedEvent
from flext_kernel.memory_projection_store import InMemoryProjectionStore
from flext_kernel.memory_store import InMemoryEventStore
from flext_kernel.projection import FlextProjection, Projection, ReadModel, check_projection_name, when
from flext_kernel.projection_runner import ProjectionRunner
from flext_sdk.testing.projections import Deposited, ProjectionStoreContract, ProjectionStoreFactory, Totals


class TestInMemoryProjectionStore(ProjectionStoreContract):
    shares_storage = False

    @pytest.fixture
    def projection_store_factory(self) -> ProjectionStoreFactory:
        store = InMemoryProjectionStore()
        return lambda: store


@pytest.mark.parametrize("name", ["", "Upper", "1st", "has space", "x" * 41, "semi;colon", 'quo"te'])
def test_projection_names_that_cannot_be_table_names_are_refused(name: str) -> None:
    with pytest.raises(FlextError, match="invalid projection name"):
        check_projection_name(name)


def test_a_projection_class_with_a_bad_name_fails_at_definition() -> None:
    with pytest.raises(FlextError, match="invalid projection name"):

        class Bad(Projection):
            name = "Bad Name"


def test_a_plain_object_with_name_version_and_handle_is_a_projection() -> None:
    class Counting:
        name = "counting"
        version = 1

        def handle(self, event: RecordedEvent, model: ReadModel) -> None:
            model.put("n", {"n": (model.get("n") or {"n": 0})["n"] + 1})

    assert isinstance(Counting(), FlextProjection)
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    events.append("s", [Deposited(aggregate_id="s", amount=1)] * 1, NO_STREAM).unwrap()
    ProjectionRunner(events, store, [Counting()]).catch_up().unwrap()
    assert dict(store.documents("counting")) == {"n": {"n": 1}}


def test_the_runner_registers_the_event_classes_a_projection_handles() -> None:
    events = InMemoryEventStore()
    assert "contract.Deposited" not in events.codec
    ProjectionRunner(events, InMemoryProjectionStore(), [Totals()])
    assert "contract.Deposited" in events.codec


def test_unknown_projections_and_duplicates_are_reported() -> None:
    runner = ProjectionRunner(InMemoryEventStore(), InMemoryProjectionStore(), [Totals()])
    missing = runner.rebuild("nope")
    assert missing.error_code == NOT_FOUND
    assert "contract-totals" in str(missing.error)
    assert runner.catch_up(["nope"]).error_code == NOT_FOUND
    with pytest.raises(ValueError, match="two projections"):
        runner.add(Totals())
    with pytest.raises(ValueError, match="batch_size"):
        ProjectionRunner(InMemoryEventStore(), InMemoryProjectionStore(), batch_size=0)


def test_rebuild_from_a_timestamp_skips_older_events() -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    events.append("old", [Deposited(aggregate_id="old", amount=1)], NO_STREAM).unwrap()
    recent = Deposited(aggregate_id="new", amount=2)
    events.append("new", [recent], NO_STREAM).unwrap()
    runner = ProjectionRunner(events, store, [Totals()])
    runner.rebuild("contract-totals", from_timestamp=recent.occurred_at).unwrap()
    assert set(dict(store.documents("contract-totals"))) == {"new", "_count"}


def test_statuses_show_stored_projections_that_no_plugin_provides() -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    ProjectionRunner(events, store, [Totals()]).catch_up().unwrap()
    (status,) = ProjectionRunner(events, store).status().unwrap()
    assert (status.name, status.registered, status.state) == ("contract-totals", False, "orphaned")


def test_run_follows_new_events_until_stopped() -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    runner = ProjectionRunner(events, store, [Totals()])
    stop = threading.Event()
    thread = threading.Thread(target=lambda: runner.run(stop, poll_interval=0.05))
    thread.start()
    try:
        for i in range(5):
            events.append(f"a{i}", [Deposited(aggregate_id=f"a{i}", amount=1)], NO_STREAM).unwrap()
        for _ in range(200):
            if dict(store.documents("contract-totals")).get("_count") == {"n": 5}:
                break
            time.sleep(0.02)
        assert dict(store.documents("contract-totals"))["_count"] == {"n": 5}
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


class _Unused(Projection):
    name = "unused"

    @when(Deposited)
    def _on(self, event: RecordedEvent, model: ReadModel) -> None:
        model.delete(event.stream_id)


def test_handled_event_types_come_from_when_methods() -> None:
    assert _Unused.handled_event_types() == (Deposited,)
