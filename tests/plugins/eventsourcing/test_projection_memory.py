"""The in-memory projection store passes the projection store contract; the runner's own rules."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from flext_eventsourcing.errors import PROJECTION_FAILED
from flext_eventsourcing.eventstore import ANY, NO_STREAM, RecordedEvent, UnknownEvent
from flext_eventsourcing.memory_projection_store import InMemoryProjectionStore
from flext_eventsourcing.memory_store import InMemoryEventStore
from flext_eventsourcing.projection import (
    Document,
    FlextProjection,
    Projection,
    ReadModel,
    check_projection_name,
    when,
)
from flext_eventsourcing.projection_runner import ProjectionRunner
from flext_kernel.errors import NOT_FOUND, UNKNOWN_MESSAGE_TYPE, FlextError
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


class _Tags(Projection):
    """Keeps nested documents, and mutates what ``get`` returns before (or instead of) putting it."""

    name = "tags"

    @when(Deposited)
    def _on(self, event: RecordedEvent, model: ReadModel) -> None:
        assert isinstance(event.event, Deposited)
        doc = model.get(event.stream_id) or {"amounts": [], "seen": {"n": 0}}
        doc["seen"]["n"] += 1  # changed in place, but only kept if put below
        if event.event.amount % 3:
            doc["amounts"].append(event.event.amount)
            model.put(event.stream_id, doc)
            doc["amounts"].append(-1)  # after put: must not leak into what was put
        elif event.event.amount % 2:
            model.delete(event.stream_id)
        index = model.get("index") or {"streams": {}}
        index["streams"][event.stream_id] = event.version
        model.put("index", index)


def _tags_view(cache_size: int, batch_size: int) -> dict[str, dict[str, object]]:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    for i in range(30):
        stream = f"s{i % 4}"
        head = events.read_stream(stream).unwrap()
        events.append(stream, [Deposited(aggregate_id=stream, amount=i)], len(head)).unwrap()
        if i % 7 == 0:  # catch up now and then, so later catch-ups start from stored documents
            runner = ProjectionRunner(events, store, [_Tags()], batch_size=batch_size, cache_size=cache_size)
            runner.catch_up().unwrap()
    ProjectionRunner(
        events, store, [_Tags()], batch_size=batch_size, cache_size=cache_size
    ).catch_up().unwrap()
    return dict(store.documents("tags"))


@pytest.mark.parametrize("batch_size", [1, 3, 500])
@pytest.mark.parametrize("cache_size", [1, 2, 10_000])
def test_documents_kept_across_batches_read_back_as_the_store_would(cache_size: int, batch_size: int) -> None:
    """Keeping documents across batches changes no result: each read is a fresh copy of what was committed."""
    assert _tags_view(cache_size, batch_size) == _tags_view(0, batch_size)


def test_a_catch_up_reads_each_document_from_the_store_once() -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    for _ in range(4):
        events.append("acc", [Deposited(aggregate_id="acc", amount=1)] * 1, ANY).unwrap()
    reads: list[str] = []
    original = store.get

    def counting_get(name: str, generation: int, key: str) -> Document | None:
        reads.append(key)
        return original(name, generation, key)

    store.get = counting_get  # type: ignore[method-assign]  # a spy on the store's reads
    ProjectionRunner(events, store, [Totals()], batch_size=1).catch_up().unwrap()
    assert sorted(reads) == ["_count", "acc"], "four batches, one read per key"
    reads.clear()
    ProjectionRunner(events, store, [Totals()], batch_size=1, cache_size=0).catch_up().unwrap()
    assert reads == [], "nothing new to handle"
    events.append("acc", [Deposited(aggregate_id="acc", amount=1)] * 1, ANY).unwrap()
    events.append("acc", [Deposited(aggregate_id="acc", amount=1)] * 1, ANY).unwrap()
    ProjectionRunner(events, store, [Totals()], batch_size=1, cache_size=0).catch_up().unwrap()
    assert sorted(reads) == ["_count", "_count", "acc", "acc"], "cache_size=0: read again each batch"
    assert dict(store.documents("contract-totals"))["acc"] == {"total": 6, "events": 6}


def test_cache_size_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="cache_size"):
        ProjectionRunner(InMemoryEventStore(), InMemoryProjectionStore(), cache_size=-1)


class _KeyedByStream(Totals):
    def read_keys(self, events: Sequence[RecordedEvent]) -> Iterable[str]:
        return {event.stream_id for event in events}


class _OnlyGet:
    """A projection store written before ``get_many`` existed (it does not subclass the protocol)."""

    def __init__(self) -> None:
        self.inner = InMemoryProjectionStore()
        self.gets: list[str] = []

    def get(self, name: str, generation: int, key: str) -> Document | None:
        self.gets.append(key)
        return self.inner.get(name, generation, key)

    def __getattr__(self, attribute: str) -> Any:
        if attribute == "get_many":
            raise AttributeError(attribute)
        return getattr(self.inner, attribute)


def test_read_ahead_works_with_a_store_that_has_no_get_many() -> None:
    events, old = InMemoryEventStore(), _OnlyGet()
    for account in ("a", "b"):
        events.append(account, [Deposited(aggregate_id=account, amount=2)], NO_STREAM).unwrap()
    ProjectionRunner(events, old, [_KeyedByStream()]).catch_up().unwrap()  # _OnlyGet has no get_many
    assert sorted(old.gets) == ["_count", "a", "b"]
    assert dict(old.inner.documents("contract-totals"))["b"] == {"total": 2, "events": 1}


def test_a_raising_read_keys_fails_the_projection_at_the_batch() -> None:
    class Broken(Totals):
        def read_keys(self, events: Sequence[RecordedEvent]) -> Iterable[str]:
            raise KeyError("no key for this event")

    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    events.append("a", [Deposited(aggregate_id="a", amount=2)], NO_STREAM).unwrap()
    failed = ProjectionRunner(events, store, [Broken()]).catch_up()
    assert failed.error_code == PROJECTION_FAILED
    assert "raised KeyError in read_keys on event contract.Deposited at position 1" in str(failed.error)
    (checkpoint,) = store.checkpoints("contract-totals")
    assert checkpoint.failed
    assert checkpoint.position == 0, "nothing of the batch was applied"


class _NoRows:
    """An event store without ``read_all_rows`` (the runner then takes ``read_all``'s decoded pages)."""

    def __init__(self, inner: InMemoryEventStore) -> None:
        self.inner = inner

    def __getattr__(self, attribute: str) -> Any:
        if attribute == "read_all_rows":
            raise AttributeError(attribute)
        return getattr(self.inner, attribute)


def _many_deposits(events: InMemoryEventStore, count: int) -> None:
    for i in range(count):
        stream = f"acc-{i % 7}"
        events.append(stream, [Deposited(aggregate_id=stream, amount=i)], ANY).unwrap()


@pytest.mark.parametrize("batch_size", [1, 49, 50, 51, 500])
def test_decoding_rows_a_few_at_a_time_or_whole_pages_gives_the_same_view(batch_size: int) -> None:
    events = InMemoryEventStore()
    _many_deposits(events, 173)
    by_rows, by_pages = InMemoryProjectionStore(), InMemoryProjectionStore()
    ProjectionRunner(events, by_rows, [Totals()], batch_size=batch_size).catch_up().unwrap()
    plain = _NoRows(events)
    ProjectionRunner(
        plain, by_pages, [Totals()], batch_size=batch_size
    ).catch_up().unwrap()  # _NoRows has no read_all_rows
    assert dict(by_rows.documents("contract-totals")) == dict(by_pages.documents("contract-totals"))
    assert dict(by_rows.documents("contract-totals"))["_count"] == {"n": 173}


def test_a_projection_failing_late_in_a_batch_applies_nothing_of_it() -> None:
    class LateFailure(Totals):
        def handle(self, event: RecordedEvent, model: ReadModel) -> None:
            if event.position == 120:  # in the third chunk of decoded rows
                raise ValueError("bad event")
            super().handle(event, model)

    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    _many_deposits(events, 173)
    failed = ProjectionRunner(events, store, [LateFailure()], batch_size=100).catch_up()
    assert failed.error_code == PROJECTION_FAILED
    assert failed.error_data["position"] == 120
    (checkpoint,) = store.checkpoints("contract-totals")
    assert (checkpoint.position, checkpoint.failed) == (100, True), "the first batch only"
    assert dict(store.documents("contract-totals", checkpoint.generation))["_count"] == {"n": 100}


class _CountedReads:
    """An event store that records which thread reads each page, and from where."""

    def __init__(self, inner: InMemoryEventStore, *, read_ahead: bool) -> None:
        self.inner = inner
        self.read_ahead = read_ahead
        self.reads: list[tuple[int, str]] = []

    def read_all_rows(self, from_position: int = 0, limit: int | None = None) -> Any:
        self.reads.append((from_position, threading.current_thread().name))
        return self.inner.read_all_rows(from_position, limit)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)


def _readers_alive() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("flext-projection-read")]


def test_the_next_page_is_read_ahead_and_the_reader_ends_with_the_catch_up() -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    _many_deposits(events, 120)
    counted = _CountedReads(events, read_ahead=True)
    runner = ProjectionRunner(counted, store, [Totals()], batch_size=50)
    assert runner.catch_up().unwrap() == {"contract-totals": 120}
    assert [position for position, _ in counted.reads] == [0, 50, 100, 120]  # every page once, in order
    assert [name.startswith("flext-projection-read") for _, name in counted.reads] == [
        False,
        True,
        True,
        True,
    ]
    assert _readers_alive() == []
    counted.reads.clear()
    assert runner.catch_up().unwrap() == {"contract-totals": 0}
    assert [name for _, name in counted.reads] == [threading.current_thread().name]  # nothing new: no thread


def test_an_in_process_store_is_read_in_the_callers_thread() -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    _many_deposits(events, 120)
    counted = _CountedReads(events, read_ahead=False)
    runner = ProjectionRunner(counted, store, [Totals()], batch_size=50)
    assert runner.catch_up().unwrap() == {"contract-totals": 120}
    assert counted.reads == [(p, threading.current_thread().name) for p in (0, 50, 100, 120)]


def test_a_catch_up_that_fails_with_a_page_in_flight_applies_nothing_more() -> None:
    class FailsAtSixty(Totals):
        def handle(self, event: RecordedEvent, model: ReadModel) -> None:
            if event.position == 60:
                raise ValueError("bad event")
            super().handle(event, model)

    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    _many_deposits(events, 120)
    counted = _CountedReads(events, read_ahead=True)
    failed = ProjectionRunner(counted, store, [FailsAtSixty()], batch_size=50).catch_up()
    assert [p for p, _ in counted.reads] == [0, 50, 100]  # the third page was in flight
    assert failed.error_code == PROJECTION_FAILED
    (checkpoint,) = store.checkpoints("contract-totals")
    assert (checkpoint.position, checkpoint.failed) == (50, True)
    assert dict(store.documents("contract-totals", checkpoint.generation))["_count"] == {"n": 50}
    assert _readers_alive() == []


def _spoiled(stream_id: str) -> UnknownEvent:
    """A ``contract.Deposited`` whose amount is not a number: stored as is, it does not decode."""
    return UnknownEvent(
        aggregate_id=stream_id,
        event_type="contract.Deposited",
        stored_schema_version=1,
        payload={"aggregate_id": stream_id, "version": 1, "amount": "lots"},
        reason="written by hand",
        error_code=UNKNOWN_MESSAGE_TYPE,
    )


class _Generic:
    """A projection that does not say which classes it handles."""

    name = "generic"
    version = 1

    def handle(self, event: RecordedEvent, model: ReadModel) -> None:
        model.put(event.stream_id, {"seen": True})


@pytest.mark.parametrize(
    "projection", [Totals(), _KeyedByStream(), _Generic()], ids=["when", "read_keys", "generic"]
)
def test_an_event_that_does_not_decode_stops_every_kind_of_projection(projection: FlextProjection) -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    events.codec.register(Deposited)  # the class is known, as a plugin's projection makes it
    events.append("a", [Deposited(aggregate_id="a", amount=2)], NO_STREAM).unwrap()
    events.append("b", [_spoiled("b")], NO_STREAM).unwrap()
    failed = ProjectionRunner(events, store, [projection], batch_size=1).catch_up()
    assert failed.error_code == PROJECTION_FAILED
    assert failed.error_data["position"] == 2
    assert failed.error == (
        f"projection {projection.name!r} cannot decode event contract.Deposited at position 2 (stream 'b', "
        "version 1): stored contract.Deposited does not fit its class: amount: Input should be a valid "
        "integer, unable to parse string as an integer"
    )
    (checkpoint,) = store.checkpoints(projection.name)
    assert (checkpoint.position, checkpoint.failed) == (1, True), "stopped at the event, after the one before"


def test_a_handler_failing_before_an_undecodable_event_of_the_batch_is_reported_first() -> None:
    class Fragile(Totals):
        def handle(self, event: RecordedEvent, model: ReadModel) -> None:
            raise ValueError("broken handler")

    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    events.append("a", [Deposited(aggregate_id="a", amount=2)], NO_STREAM).unwrap()
    events.append("b", [_spoiled("b")], NO_STREAM).unwrap()
    failed = ProjectionRunner(events, store, [Fragile()]).catch_up()
    assert failed.error_data["position"] == 1
    assert "broken handler" in str(failed.error)


def test_an_event_of_a_type_nobody_registered_does_not_stop_a_projection_that_does_not_handle_it() -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    foreign = _spoiled("x").model_copy(update={"event_type": "elsewhere.Thing"})
    events.append("x", [foreign], NO_STREAM).unwrap()
    events.append("a", [Deposited(aggregate_id="a", amount=2)], NO_STREAM).unwrap()
    assert ProjectionRunner(events, store, [Totals()]).catch_up().unwrap() == {"contract-totals": 2}
