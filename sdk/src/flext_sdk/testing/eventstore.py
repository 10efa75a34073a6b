"""EventStoreContract: the conformance suite every FLEXT event store backend passes.

A backend's test module subclasses the contract and supplies one fixture,
``store_factory``: a callable that opens the backend *on this test's storage*
with the codec it is given. Calling it twice must give two handles on the
same data, the way two processes share one database (the restart and
multi-process tests rely on it)::

    class TestMyStore(EventStoreContract):
        @pytest.fixture
        def store_factory(self, tmp_path):
            return functools.partial(MyEventStore, path=tmp_path / "events.db")

Every test then runs against the backend: expected versions on new, existing
and deleted streams; idempotent and conflicting re-appends; writers racing in
threads and in processes with nothing lost or duplicated; global ordering;
upcasting of events and snapshots; unknown event types reported, not dropped;
snapshots and the repository on top; deletion by tombstone; subscriptions
that see every event exactly once, live and across a restart; and the async
API. A store that lives in one process's memory sets
``supports_processes = False`` (the process tests are then skipped, saying so);
the factory must be picklable otherwise, because spawned processes call it.

The events and the aggregate the tests use are defined here, at module level,
so that spawned processes can import them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest

from flext_eventsourcing import (
    ANY,
    NO_STREAM,
    STREAM_DELETED,
    STREAM_EXISTS,
    AggregateRepository,
    AppendResult,
    EventCodec,
    EventStoreBase,
    ExpectedVersion,
    FlextAggregateRoot,
    FlextEventStore,
    RecordedEvent,
    Snapshot,
    StreamDeleted,
    UnknownEvent,
    when,
)
from flext_kernel.errors import (
    CONCURRENCY_CONFLICT,
    DESERIALIZATION_ERROR,
    NOT_FOUND,
    UNKNOWN_MESSAGE_TYPE,
    VALIDATION_ERROR,
)
from flext_kernel.messages import FlextDomainEvent
from flext_kernel.result import FlextResult

__all__ = [
    "Added",
    "Counter",
    "EventStoreContract",
    "Noted",
    "Renamed",
    "RenamedV1",
    "RenamedV2",
    "StoreFactory",
    "Unregistered",
    "contract_codec",
]

StoreFactory = Callable[[EventCodec], FlextEventStore]
"""Opens the backend under test on the test's storage, with the given codec."""

WAIT = 10.0
"""Seconds a test waits for something that should happen at once; only a broken store waits that long."""


# The contract's own events and aggregate.


class Noted(FlextDomainEvent):
    """A plain event with a payload."""

    message_type: ClassVar[str | None] = "contract.Noted"
    n: int = 0
    text: str = ""


class RenamedV1(FlextDomainEvent):
    """``contract.Renamed`` as version 1 of the code wrote it: one ``name``."""

    message_type: ClassVar[str | None] = "contract.Renamed"
    schema_version: ClassVar[int] = 1
    name: str


class RenamedV2(FlextDomainEvent):
    """``contract.Renamed`` version 2: the name split in two."""

    message_type: ClassVar[str | None] = "contract.Renamed"
    schema_version: ClassVar[int] = 2
    first: str
    last: str


class Renamed(FlextDomainEvent):
    """``contract.Renamed`` today (version 3): with a title."""

    message_type: ClassVar[str | None] = "contract.Renamed"
    schema_version: ClassVar[int] = 3
    first: str
    last: str
    title: str


class Unregistered(FlextDomainEvent):
    """An event class the contract codec does not know."""

    message_type: ClassVar[str | None] = "contract.Unregistered"
    secret: int


class Added(FlextDomainEvent):
    """``Counter``'s one event."""

    message_type: ClassVar[str | None] = "contract.Added"
    amount: int


class Counter(FlextAggregateRoot):
    """An aggregate whose state is at schema version 2 (version 1 had no ``count``)."""

    aggregate_type: ClassVar[str | None] = "contract.Counter"
    schema_version: ClassVar[int] = 2
    total: int = 0
    count: int = 0

    def add(self, amount: int) -> None:
        """Raise ``Added``."""
        self.raise_event(Added, amount=amount)

    @when(Added)
    def _added(self, event: Added) -> None:
        self.total += event.amount
        self.count += 1


def _renamed_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    first, _, last = payload.pop("name").partition(" ")
    return {**payload, "first": first, "last": last}


def _renamed_v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "title": "(none)"}


def _counter_v1_to_v2(state: dict[str, Any]) -> dict[str, Any]:
    return {**state, "count": -1}  # -1: "unknown", which only this upcaster produces


def contract_codec(*, upcasters: bool = True) -> EventCodec:
    """The codec the contract opens stores with: its events, ``Counter`` and the upcasters."""
    codec = EventCodec([Noted, Renamed])
    codec.register_aggregate(Counter)
    if upcasters:
        codec.upcasters.add(Renamed, 1, _renamed_v1_to_v2)
        codec.upcasters.add(Renamed, 2, _renamed_v2_to_v3)
        codec.upcasters.add(Counter, 1, _counter_v1_to_v2)
    return codec


def _noted(stream_id: str, count: int, *, start: int = 0, text: str = "") -> list[FlextDomainEvent]:
    return [Noted(aggregate_id=stream_id, n=start + i, text=text) for i in range(count)]


def _ok(result: FlextResult[Any]) -> Any:
    assert result.is_success, f"expected success, got {result!r}"
    return result.value


def _fails(result: FlextResult[Any], code: str) -> FlextResult[Any]:
    assert result.is_failure, f"expected a {code} failure, got {result!r}"
    assert result.error_code == code, f"expected {code}, got {result!r}"
    return result


def _append_with_retry(store: FlextEventStore, stream_id: str, event: FlextDomainEvent) -> int:
    """Append one event to a contended stream, retrying on conflicts; return the attempts it took."""
    expected: ExpectedVersion = 0
    for attempt in range(1, 10_000):
        result = store.append(stream_id, [event], expected)
        if result.is_success:
            return attempt
        assert result.error_code == CONCURRENCY_CONFLICT, result
        actual = result.error_data["actual_version"]
        assert isinstance(actual, int)
        expected = actual
    raise AssertionError(f"could not append to {stream_id} in 10,000 attempts")


def _write_from_process(factory: StoreFactory, writer: int, count: int) -> list[str]:
    """What each spawned writer does: its own stream, plus a stream every writer fights over."""
    store = factory(contract_codec())
    written: list[str] = []
    try:
        own = f"process-{writer}"
        for i in range(count):
            event = Noted(aggregate_id=own, n=i, text=f"writer {writer}")
            _ok(store.append(own, [event], i))
            written.append(str(event.event_id))
            shared = Noted(aggregate_id="shared", n=i, text=f"writer {writer}")
            _append_with_retry(store, "shared", shared)
            written.append(str(shared.event_id))
    finally:
        store.close()
    return written


def _check_consistent(recorded: list[RecordedEvent]) -> None:
    """Positions strictly increase, ids are unique, every stream's versions run 1, 2, 3, ..."""
    positions = [r.position for r in recorded]
    assert positions == sorted(set(positions)), "global positions must strictly increase"
    ids = [r.event_id for r in recorded]
    assert len(ids) == len(set(ids)), "an event was stored twice"
    versions: dict[str, list[int]] = {}
    for r in recorded:
        versions.setdefault(r.stream_id, []).append(r.version)
    for stream_id, seen in versions.items():
        assert seen == list(range(1, len(seen) + 1)), f"versions of {stream_id} are not contiguous: {seen}"


class EventStoreContract:
    """The tests every event store backend passes; subclass it and supply ``store_factory``."""

    supports_processes: ClassVar[bool] = True
    """False for stores whose data lives in one process (the multi-process tests are skipped)."""
    writer_threads: ClassVar[int] = 4
    """How many threads the concurrency tests run."""
    writer_processes: ClassVar[int] = 3
    """How many processes the multi-process tests spawn."""

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        """Override: return ``factory(codec) -> store`` opening the backend on this test's storage."""
        raise NotImplementedError(f"{type(self).__name__} must override the 'store_factory' fixture")

    @pytest.fixture
    def store(self, store_factory: StoreFactory) -> Iterator[FlextEventStore]:
        """A store opened with ``contract_codec()``, closed after the test."""
        store = store_factory(contract_codec())
        try:
            yield store
        finally:
            store.close()

    # Expected versions.

    @pytest.mark.parametrize("expected", [NO_STREAM, 0, ANY], ids=["NO_STREAM", "0", "ANY"])
    def test_a_new_stream_accepts_no_stream_zero_and_any(
        self, store: FlextEventStore, expected: ExpectedVersion
    ) -> None:
        """A stream with no events takes an append expecting ``NO_STREAM``, 0 or ``ANY``."""
        result = _ok(store.append("s", _noted("s", 2), expected))
        assert (result.stream_id, result.version, result.written) == ("s", 2, True)
        assert [r.version for r in _ok(store.read_stream("s"))] == [1, 2]

    @pytest.mark.parametrize("expected", [STREAM_EXISTS, 1, 5], ids=["STREAM_EXISTS", "1", "5"])
    def test_a_new_stream_rejects_stream_exists_and_any_version(
        self, store: FlextEventStore, expected: ExpectedVersion
    ) -> None:
        """A stream with no events refuses ``STREAM_EXISTS`` and versions above 0, writing nothing."""
        failure = _fails(store.append("s", _noted("s", 1), expected), CONCURRENCY_CONFLICT)
        assert failure.error_data["actual_version"] == 0
        assert failure.error_data["stream_id"] == "s"
        assert _ok(store.read_all()) == []

    @pytest.mark.parametrize("expected", [2, STREAM_EXISTS, ANY], ids=["2", "STREAM_EXISTS", "ANY"])
    def test_an_existing_stream_accepts_its_version_stream_exists_and_any(
        self, store: FlextEventStore, expected: ExpectedVersion
    ) -> None:
        """An existing stream takes its current version, ``STREAM_EXISTS`` and ``ANY``."""
        _ok(store.append("s", _noted("s", 2), NO_STREAM))
        result = _ok(store.append("s", _noted("s", 1, start=2), expected))
        assert result.version == 3
        assert [r.version for r in _ok(store.read_stream("s"))] == [1, 2, 3]

    @pytest.mark.parametrize("expected", [NO_STREAM, 0, 1, 3], ids=["NO_STREAM", "0", "1-stale", "3-ahead"])
    def test_an_existing_stream_rejects_other_versions_naming_both(
        self, store: FlextEventStore, expected: ExpectedVersion
    ) -> None:
        """Any other expectation is a ``CONCURRENCY_CONFLICT`` naming expected and actual versions."""
        _ok(store.append("s", _noted("s", 2), NO_STREAM))
        failure = _fails(store.append("s", _noted("s", 3, start=2), expected), CONCURRENCY_CONFLICT)
        assert failure.error_data["actual_version"] == 2
        wanted = failure.error_data["expected_version"]
        assert wanted == (expected if isinstance(expected, int) else "no_stream")
        assert "version 2" in (failure.error or "")
        if isinstance(expected, int):
            assert f"version {expected}" in (failure.error or "")
        assert [r.version for r in _ok(store.read_all())] == [1, 2], "a failed append wrote something"

    @pytest.mark.parametrize(
        "expected",
        [NO_STREAM, STREAM_EXISTS, ANY, 0, 2, 3],
        ids=["NO_STREAM", "STREAM_EXISTS", "ANY", "0", "2", "3"],
    )
    def test_a_deleted_stream_rejects_every_expected_version(
        self, store: FlextEventStore, expected: ExpectedVersion
    ) -> None:
        """A deleted stream is closed: every append fails with ``STREAM_DELETED``."""
        _ok(store.append("s", _noted("s", 2), NO_STREAM))
        _ok(store.delete_stream("s", reason="erasure request"))
        failure = _fails(store.append("s", _noted("s", 1), expected), STREAM_DELETED)
        assert failure.error_data["tombstone_version"] == 3
        assert [type(r.event) for r in _ok(store.read_all())] == [StreamDeleted]

    @pytest.mark.parametrize("expected", [-1, True, "1", None])
    def test_a_malformed_expected_version_is_a_validation_error(
        self, store: FlextEventStore, expected: Any
    ) -> None:
        """Negative, boolean or non-integer expected versions are ``VALIDATION_ERROR``."""
        _fails(store.append("s", _noted("s", 1), expected), VALIDATION_ERROR)
        assert _ok(store.read_all()) == []

    def test_an_empty_batch_only_checks_the_version(self, store: FlextEventStore) -> None:
        """Appending no events checks the expected version and writes nothing."""
        assert _ok(store.append("s", [], NO_STREAM)) == AppendResult("s", 0, (), False)
        _ok(store.append("s", _noted("s", 2), NO_STREAM))
        assert _ok(store.append("s", [], 2)) == AppendResult("s", 2, (), False)
        _fails(store.append("s", [], 1), CONCURRENCY_CONFLICT)
        assert len(_ok(store.read_all())) == 2

    @pytest.mark.parametrize("size", [1, 3], ids=["one-event", "batch"])
    def test_the_append_shortcut_writes_only_at_its_version(self, store: FlextEventStore, size: int) -> None:
        """A backend's ``_append_at`` shortcut writes at exactly its version, else nothing (returns None).

        Every append with a version goes through the shortcut first and falls
        back to the full rules when it returns None, so a shortcut that writes
        where it should not would be invisible to the tests above whenever the
        rules would have allowed the write anyway.
        """
        if not isinstance(store, EventStoreBase) or type(store)._append_at is EventStoreBase._append_at:
            pytest.skip(f"{type(store).__name__} has no append shortcut (_append_at)")

        def shortcut(stream_id: str, version: int, start: int = 0) -> AppendResult | None:
            pending = store.codec.prepare(stream_id, _noted(stream_id, size, start=start)).unwrap()
            return store._append_at(pending, version)

        assert shortcut("s", 2) is None  # no stream yet
        _ok(store.append("s", _noted("s", 2), NO_STREAM))
        assert shortcut("s", 0) is None
        assert shortcut("s", 1, start=2) is None
        assert shortcut("s", 3, start=2) is None
        assert len(_ok(store.read_all())) == 2
        written = shortcut("s", 2, start=2)
        assert written is not None
        assert (written.version, written.written, len(written.positions)) == (2 + size, True, size)
        recorded = _ok(store.read_all())
        assert [r.position for r in recorded[2:]] == list(written.positions)
        assert [r.version for r in _ok(store.read_stream("s"))] == list(range(1, 3 + size))
        _ok(store.delete_stream("s"))
        assert shortcut("s", 3 + size, start=2 + size) is None  # the tombstone's version
        assert shortcut("new", 0) is not None

    def test_an_append_at_its_version_takes_the_shortcut_and_a_conflict_the_rules(
        self, store: FlextEventStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With a shortcut, versioned appends skip ``_write``; a conflict, and ``ANY``, go through it."""
        if not isinstance(store, EventStoreBase) or type(store)._append_at is EventStoreBase._append_at:
            pytest.skip(f"{type(store).__name__} has no append shortcut (_append_at)")
        transactions: list[int] = []
        write = store._write

        def counted() -> Any:
            transactions.append(1)
            return write()

        monkeypatch.setattr(store, "_write", counted)
        _ok(store.append("s", _noted("s", 1), NO_STREAM))
        _ok(store.append("s", _noted("s", 3, start=1), 1))
        assert transactions == [], "appends at their version should not need the general path"
        failure = _fails(store.append("s", _noted("s", 1, start=4), 1), CONCURRENCY_CONFLICT)
        assert failure.error_data["actual_version"] == 4
        assert transactions == [1]  # the shortcut wrote nothing; the rules decided
        _ok(store.append("s", _noted("s", 1, start=4), ANY))
        assert transactions == [1, 1]

    # What is stored.

    def test_events_come_back_equal_with_their_stream_version(self, store: FlextEventStore) -> None:
        """Events read back equal the ones sent, with ``version`` set to their place."""
        sent = [
            Noted(
                aggregate_id="s",
                n=7,
                text="héllo ✓",
                aggregate_type="Thing",
                correlation_id="req-1",
                causation_id="cmd-1",
                metadata={"actor": "ada", "tags": [1, None, "x"]},
            ),
            Noted(aggregate_id="s", n=8),
        ]
        _ok(store.append("s", sent, ANY))
        back = _ok(store.read_stream("s"))
        assert [r.version for r in back] == [1, 2]
        assert [r.event.version for r in back] == [1, 2]
        assert back[0].event == sent[0]  # it was sent with the version it got
        assert back[0].event.model_dump(exclude={"version"}) == sent[0].model_dump(exclude={"version"})
        assert back[1].event.model_dump(exclude={"version"}) == sent[1].model_dump(exclude={"version"})
        assert all(r.is_known and r.event_type == "contract.Noted" and r.schema_version == 1 for r in back)
        assert back[0].event_id == sent[0].event_id
        assert isinstance(back[0].event, Noted)
        assert back[0].event.text == "héllo ✓"

    def test_an_event_of_another_stream_is_rejected(self, store: FlextEventStore) -> None:
        """An event whose ``aggregate_id`` is not the stream fails the whole batch."""
        failure = _fails(store.append("s", [*_noted("s", 1), *_noted("t", 1)], ANY), VALIDATION_ERROR)
        assert "'t'" in (failure.error or "")
        assert _ok(store.read_all()) == []

    def test_a_batch_repeating_an_event_id_is_rejected(self, store: FlextEventStore) -> None:
        """One event id twice in a batch is a ``VALIDATION_ERROR``."""
        event = _noted("s", 1)[0]
        _fails(store.append("s", [event, event], ANY), VALIDATION_ERROR)
        assert _ok(store.read_all()) == []

    def test_read_stream_after_a_version_with_a_limit(self, store: FlextEventStore) -> None:
        """``read_stream`` returns the events after ``from_version``, at most ``limit``."""
        _ok(store.append("s", _noted("s", 5), NO_STREAM))
        _ok(store.append("other", _noted("other", 2), NO_STREAM))
        assert [r.version for r in _ok(store.read_stream("s", 2))] == [3, 4, 5]
        assert [r.version for r in _ok(store.read_stream("s", 1, limit=2))] == [2, 3]
        assert _ok(store.read_stream("s", 5)) == []
        assert _ok(store.read_stream("missing")) == []
        _fails(store.read_stream("s", -1), VALIDATION_ERROR)
        _fails(store.read_stream("s", 0, limit=0), VALIDATION_ERROR)

    # Idempotent and conflicting re-appends.

    @pytest.mark.parametrize("expected_on_retry", [0, NO_STREAM, ANY], ids=["stale-0", "NO_STREAM", "ANY"])
    def test_resending_an_appended_batch_succeeds_and_writes_nothing(
        self, store: FlextEventStore, expected_on_retry: ExpectedVersion
    ) -> None:
        """A retried batch succeeds with the original positions, even with a stale version."""
        batch = _noted("s", 3)
        first = _ok(store.append("s", batch, NO_STREAM))
        _ok(store.append("s", _noted("s", 1, start=3), 3))  # the stream moved on meanwhile
        again = _ok(store.append("s", batch, expected_on_retry))
        assert again == AppendResult("s", 3, first.positions, False)
        assert len(_ok(store.read_all())) == 4
        assert [r.event_id for r in _ok(store.read_stream("s"))][:3] == [e.event_id for e in batch]

    def test_reusing_an_event_id_for_a_different_event_conflicts(self, store: FlextEventStore) -> None:
        """The same event id with another payload is a ``CONCURRENCY_CONFLICT``."""
        original = Noted(aggregate_id="s", n=1, text="original")
        _ok(store.append("s", [original], NO_STREAM))
        forged = original.model_copy(update={"text": "forged"})
        failure = _fails(store.append("s", [forged], ANY), CONCURRENCY_CONFLICT)
        assert failure.error_data["event_id"] == str(original.event_id)
        assert failure.error_data["reason"] == "event_id_reused"
        (stored,) = _ok(store.read_all())
        assert isinstance(stored.event, Noted)
        assert stored.event.text == "original"

    def test_reusing_an_event_id_in_another_stream_conflicts(self, store: FlextEventStore) -> None:
        """The same event id in another stream is a ``CONCURRENCY_CONFLICT``."""
        original = Noted(aggregate_id="s", n=1)
        _ok(store.append("s", [original], NO_STREAM))
        moved = original.model_copy(update={"aggregate_id": "t"})
        _fails(store.append("t", [moved], NO_STREAM), CONCURRENCY_CONFLICT)
        assert _ok(store.read_stream("t")) == []

    def test_a_partly_stored_batch_conflicts_and_writes_nothing(self, store: FlextEventStore) -> None:
        """A batch of which only some events are stored is a conflict, not a retry."""
        batch = _noted("s", 2)
        _ok(store.append("s", batch[:1], NO_STREAM))
        failure = _fails(store.append("s", batch, ANY), CONCURRENCY_CONFLICT)
        assert failure.error_data["reason"] == "partial_batch"
        assert len(_ok(store.read_all())) == 1

    # Several streams at once (EventStoreBase.append_streams, what `flext events import` uses).

    @staticmethod
    def _multi(store: FlextEventStore) -> EventStoreBase:
        if not isinstance(store, EventStoreBase):
            pytest.skip(f"{type(store).__name__} is not an EventStoreBase: it has no append_streams")
        return store

    def test_append_streams_writes_every_batch_in_one_go(self, store: FlextEventStore) -> None:
        """Each batch follows ``append``'s rules; all are written, positions in batch order."""
        multi = self._multi(store)
        _ok(store.append("b", _noted("b", 1), NO_STREAM))
        results = _ok(
            multi.append_streams([("a", _noted("a", 2), NO_STREAM), ("b", _noted("b", 1, start=1), 1)])
        )
        assert [(r.stream_id, r.version, r.written) for r in results] == [("a", 2, True), ("b", 2, True)]
        recorded = _ok(store.read_all())
        assert [(r.stream_id, r.version) for r in recorded] == [("b", 1), ("a", 1), ("a", 2), ("b", 2)]
        assert [r.position for r in recorded[1:]] == [p for r in results for p in r.positions]
        _check_consistent(recorded)

    @pytest.mark.parametrize("failing", ["conflict", "deleted", "reused_id"])
    def test_append_streams_writes_nothing_when_one_batch_fails(
        self, store: FlextEventStore, failing: str
    ) -> None:
        """If any batch fails, no batch is written: the store is as it was."""
        multi = self._multi(store)
        taken = Noted(aggregate_id="z", n=0)
        _ok(store.append("z", [taken], NO_STREAM))
        _ok(store.append("d", _noted("d", 1), NO_STREAM))
        _ok(store.delete_stream("d"))
        before = _ok(store.read_all())
        choices: dict[str, tuple[str, list[FlextDomainEvent], ExpectedVersion]] = {
            "conflict": ("z", _noted("z", 1, start=1), 0),
            "deleted": ("d", _noted("d", 1, start=1), ANY),
            "reused_id": ("c", [taken.model_copy(update={"aggregate_id": "c"})], NO_STREAM),
        }
        bad = choices[failing]
        code = STREAM_DELETED if failing == "deleted" else CONCURRENCY_CONFLICT
        batches = [("a", _noted("a", 3), NO_STREAM), bad, ("b", _noted("b", 1), NO_STREAM)]
        failure = _fails(multi.append_streams(batches), code)
        assert failure.error_data["stream_id"] == bad[0]
        assert _ok(store.read_all()) == before

    def test_append_streams_again_writes_nothing(self, store: FlextEventStore) -> None:
        """Batches stored already are retries: they succeed and write nothing, the others are written."""
        multi = self._multi(store)
        a, b = _noted("a", 2), _noted("b", 1)
        first = _ok(multi.append_streams([("a", a, NO_STREAM)]))
        again = _ok(multi.append_streams([("a", a, NO_STREAM), ("b", b, NO_STREAM)]))
        assert again[0] == AppendResult("a", 2, first[0].positions, False)
        assert again[1].written
        assert len(_ok(store.read_all())) == 3

    def test_append_streams_refuses_a_stream_twice_or_an_event_id_twice(self, store: FlextEventStore) -> None:
        """One batch per stream, and no event id in two batches, checked before anything is written."""
        multi = self._multi(store)
        twice = _fails(
            multi.append_streams([("a", _noted("a", 1), NO_STREAM), ("a", _noted("a", 1), 1)]),
            VALIDATION_ERROR,
        )
        assert "stream 'a' has two batches" in (twice.error or "")
        shared = Noted(aggregate_id="a", n=1)
        reused = _fails(
            multi.append_streams(
                [
                    ("a", [shared], NO_STREAM),
                    ("b", [shared.model_copy(update={"aggregate_id": "b"})], NO_STREAM),
                ]
            ),
            VALIDATION_ERROR,
        )
        assert f"event id {shared.event_id} appears in two batches" in (reused.error or "")
        assert _ok(store.read_all()) == []

        # Global order.

    def test_read_all_follows_append_order_across_streams(self, store: FlextEventStore) -> None:
        """``read_all`` returns every stream's events in the order they were appended."""
        order: list[tuple[str, int]] = []
        for round_ in range(3):
            for stream_id in ("a", "b", "c"):
                _ok(store.append(stream_id, _noted(stream_id, 2, start=2 * round_), ANY))
                order += [(stream_id, 2 * round_ + 1), (stream_id, 2 * round_ + 2)]
        recorded = _ok(store.read_all())
        assert [(r.stream_id, r.version) for r in recorded] == order
        _check_consistent(recorded)

    def test_read_all_after_a_position_with_a_limit(self, store: FlextEventStore) -> None:
        """``read_all`` returns the events after ``from_position``, at most ``limit``."""
        _ok(store.append("s", _noted("s", 6), NO_STREAM))
        everything = _ok(store.read_all())
        positions = [r.position for r in everything]
        assert all(p > 0 for p in positions)
        assert [r.position for r in _ok(store.read_all(positions[1]))] == positions[2:]
        assert [r.position for r in _ok(store.read_all(positions[1], 3))] == positions[2:5]
        assert [r.position for r in _ok(store.read_all(0, 2))] == positions[:2]
        assert _ok(store.read_all(positions[-1])) == []
        _fails(store.read_all(-1), VALIDATION_ERROR)
        _fails(store.read_all(0, 0), VALIDATION_ERROR)

    def test_read_all_rows_are_read_all_undecoded(self, store: FlextEventStore) -> None:
        """A store offering ``read_all_rows`` (every ``EventStoreBase`` does) gives ``read_all``'s rows."""
        read_all_rows = getattr(store, "read_all_rows", None)
        if read_all_rows is None:
            pytest.skip(f"{type(store).__name__} has no read_all_rows (optional: readers use read_all)")
        _ok(store.append("s", _noted("s", 6), NO_STREAM))
        _ok(store.append("t", _noted("t", 2), NO_STREAM))
        everything = _ok(store.read_all())
        assert store.codec.decode_all(_ok(read_all_rows())) == everything
        after = everything[1].position
        assert store.codec.decode_all(_ok(read_all_rows(after, 3))) == everything[2:5]
        assert _ok(read_all_rows(everything[-1].position)) == []
        _fails(read_all_rows(-1), VALIDATION_ERROR)
        _fails(read_all_rows(0, 0), VALIDATION_ERROR)

    def test_positions_are_never_reused_after_a_delete(self, store: FlextEventStore) -> None:
        """Positions keep growing after a stream's events are erased."""
        _ok(store.append("s", _noted("s", 3), NO_STREAM))
        highest = _ok(store.read_all())[-1].position
        _ok(store.delete_stream("s"))
        later = _ok(store.append("t", _noted("t", 1), NO_STREAM))
        tombstone, after = _ok(store.read_all())
        assert highest < tombstone.position < after.position == later.positions[0]

    # Concurrency.

    def test_writers_in_threads_lose_and_duplicate_nothing(self, store: FlextEventStore) -> None:
        """Threads appending at once, to their own and to one shared stream, lose nothing."""
        per_writer = 25
        errors: list[BaseException] = []
        sent: list[str] = []
        lock = threading.Lock()
        start = threading.Barrier(self.writer_threads)

        def write(writer: int) -> None:
            try:
                start.wait(WAIT)
                own = f"thread-{writer}"
                for i in range(per_writer):
                    event = Noted(aggregate_id=own, n=i)
                    _ok(store.append(own, [event], i))
                    shared = Noted(aggregate_id="shared", n=i, text=own)
                    _append_with_retry(store, "shared", shared)
                    with lock:
                        sent.extend((str(event.event_id), str(shared.event_id)))
            except BaseException as exc:  # reported by the test thread below
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(w,)) for w in range(self.writer_threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        recorded = _ok(store.read_all())
        _check_consistent(recorded)
        assert sorted(str(r.event_id) for r in recorded) == sorted(sent)
        assert len(_ok(store.read_stream("shared"))) == self.writer_threads * per_writer

    def test_only_one_of_several_racing_writers_wins(self, store: FlextEventStore) -> None:
        """Writers expecting the same version race; exactly one wins, the rest conflict."""
        _ok(store.append("s", _noted("s", 1), NO_STREAM))
        start = threading.Barrier(self.writer_threads)
        results: list[FlextResult[AppendResult]] = []

        def write(writer: int) -> None:
            start.wait(WAIT)
            results.append(store.append("s", _noted("s", 2, text=f"writer {writer}"), 1))

        threads = [threading.Thread(target=write, args=(w,)) for w in range(self.writer_threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        assert len(results) == self.writer_threads
        assert sum(r.is_success for r in results) == 1
        assert {r.error_code for r in results if r.is_failure} == {CONCURRENCY_CONFLICT}
        texts = {r.event.text for r in _ok(store.read_stream("s", 1)) if isinstance(r.event, Noted)}
        assert len(texts) == 1, "events of two writers ended up in the stream"

    def test_writers_in_processes_lose_and_duplicate_nothing(
        self, store: FlextEventStore, store_factory: StoreFactory
    ) -> None:
        """Processes appending at once lose nothing, and a live subscriber here sees it all."""
        if not self.supports_processes:
            pytest.skip(f"{type(self).__name__} keeps its data in one process (supports_processes = False)")
        per_writer = 20
        total = self.writer_processes * per_writer * 2
        seen: list[RecordedEvent | None] = []
        subscription = store.subscribe(0)
        # A live subscriber in this process while the others write: it must see all of it, once, in order.
        reader = threading.Thread(
            target=lambda: seen.extend(subscription.next_event(60) for _ in range(total))
        )
        reader.start()
        context = multiprocessing.get_context("spawn")  # fork is unsafe in a process with threads
        try:
            with concurrent.futures.ProcessPoolExecutor(self.writer_processes, mp_context=context) as pool:
                futures = [
                    pool.submit(_write_from_process, store_factory, writer, per_writer)
                    for writer in range(self.writer_processes)
                ]
                sent = [event_id for future in futures for event_id in future.result(timeout=120)]
            reader.join(60)
        finally:
            subscription.stop()
        recorded = _ok(store.read_all())
        _check_consistent(recorded)
        assert sorted(str(r.event_id) for r in recorded) == sorted(sent)
        assert len(_ok(store.read_stream("shared"))) == self.writer_processes * per_writer
        assert [r.position if r else None for r in seen] == [r.position for r in recorded]

    # Upcasting and unknown types.

    def test_old_event_versions_are_upcast_on_read(self, store: FlextEventStore) -> None:
        """Events stored as schema versions 1 and 2 are read as version 3 through the upcasters."""
        _ok(store.append("s", [RenamedV1(aggregate_id="s", name="Ada Lovelace")], NO_STREAM))
        _ok(store.append("s", [RenamedV2(aggregate_id="s", first="Grace", last="Hopper")], 1))
        _ok(store.append("s", [Renamed(aggregate_id="s", first="Alan", last="Turing", title="Dr")], 2))
        for recorded in (_ok(store.read_stream("s")), _ok(store.read_all())):
            events = [r.event for r in recorded]
            assert all(type(e) is Renamed for e in events), events
            assert [(e.first, e.last, e.title) for e in events if isinstance(e, Renamed)] == [
                ("Ada", "Lovelace", "(none)"),
                ("Grace", "Hopper", "(none)"),
                ("Alan", "Turing", "Dr"),
            ]
            assert [r.schema_version for r in recorded] == [1, 2, 3]
            assert '"name":"Ada Lovelace"' in recorded[0].data  # the stored row is untouched

    def test_a_missing_upcaster_is_reported_not_dropped(self, store_factory: StoreFactory) -> None:
        """Without the upcaster an old event is an ``UnknownEvent`` with its raw payload."""
        writer = store_factory(contract_codec())
        try:
            _ok(writer.append("s", [RenamedV1(aggregate_id="s", name="Ada Lovelace")], NO_STREAM))
        finally:
            writer.close()
        reader = store_factory(contract_codec(upcasters=False))
        try:
            (recorded,) = _ok(reader.read_stream("s"))
        finally:
            reader.close()
        assert not recorded.is_known
        event = recorded.event
        assert isinstance(event, UnknownEvent)
        assert event.error_code == DESERIALIZATION_ERROR
        assert "upcaster" in event.reason
        assert event.payload["name"] == "Ada Lovelace"

    def test_an_unknown_event_type_is_reported_with_its_raw_payload(self, store: FlextEventStore) -> None:
        """An unregistered type is an ``UnknownEvent`` in place, never skipped."""
        secret = Unregistered(aggregate_id="s", secret=42, correlation_id="req-9")
        _ok(store.append("s", [*_noted("s", 1), secret, *_noted("s", 1, start=1)], NO_STREAM))
        for recorded in (_ok(store.read_stream("s")), _ok(store.read_all())):
            assert [r.is_known for r in recorded] == [True, False, True]
            unknown = recorded[1].event
            assert isinstance(unknown, UnknownEvent)
            assert unknown.error_code == UNKNOWN_MESSAGE_TYPE
            assert unknown.event_type == recorded[1].event_type == "contract.Unregistered"
            assert "contract.Unregistered" in unknown.reason
            assert unknown.payload["secret"] == 42
            assert (unknown.event_id, unknown.version, unknown.aggregate_id) == (secret.event_id, 2, "s")
            assert unknown.correlation_id == "req-9"

    def test_an_unknown_type_reads_normally_once_registered(self, store_factory: StoreFactory) -> None:
        """Registering the class makes the same stored event readable."""
        first = store_factory(contract_codec())
        try:
            _ok(first.append("s", [Unregistered(aggregate_id="s", secret=7)], NO_STREAM))
        finally:
            first.close()
        codec = contract_codec()
        codec.register(Unregistered)
        second = store_factory(codec)
        try:
            (recorded,) = _ok(second.read_stream("s"))
        finally:
            second.close()
        assert isinstance(recorded.event, Unregistered)
        assert recorded.event.secret == 7

    def test_an_unknown_event_appended_again_keeps_its_type_and_payload(self, store: FlextEventStore) -> None:
        """Appending an ``UnknownEvent`` writes its original type and payload."""
        _ok(store.append("s", [Unregistered(aggregate_id="s", secret=5)], NO_STREAM))
        (recorded,) = _ok(store.read_stream("s"))
        _ok(store.delete_stream("s"))
        _fails(store.append("s", [recorded.event], ANY), STREAM_DELETED)
        copy = recorded.event.model_copy(update={"aggregate_id": "copy", "event_id": uuid.uuid4()})
        _ok(store.append("copy", [copy], NO_STREAM))
        (again,) = _ok(store.read_stream("copy"))
        assert again.event_type == "contract.Unregistered"
        assert isinstance(again.event, UnknownEvent)
        assert again.event.payload["secret"] == 5

    # Snapshots.

    def test_the_latest_snapshot_wins(self, store: FlextEventStore) -> None:
        """A stream keeps its newest snapshot; snapshots ahead of the stream are refused."""
        _ok(store.append("c", [Added(aggregate_id="c", amount=1) for _ in range(5)], NO_STREAM))
        assert _ok(store.load_snapshot("c")) is None

        def snap(version: int) -> Snapshot:
            return Snapshot(
                "c", version, "contract.Counter", 2, {"id": "c", "total": version, "count": version}
            )

        _ok(store.save_snapshot(snap(3)))
        _ok(store.save_snapshot(snap(4)))
        _ok(store.save_snapshot(snap(2)))  # older: kept out
        loaded = _ok(store.load_snapshot("c"))
        assert (loaded.version, loaded.state, loaded.aggregate_type) == (4, snap(4).state, "contract.Counter")
        _fails(store.save_snapshot(snap(6)), VALIDATION_ERROR)  # ahead of the stream
        _fails(store.save_snapshot(Snapshot("nope", 1, "contract.Counter", 2, {})), NOT_FOUND)
        assert _ok(store.load_snapshot("c")).version == 4

    def test_an_old_snapshot_is_upcast_on_load(self, store: FlextEventStore) -> None:
        """A snapshot of an older state shape is upcast when it is loaded."""
        _ok(store.append("c", [Added(aggregate_id="c", amount=2)], NO_STREAM))
        _ok(store.save_snapshot(Snapshot("c", 1, "contract.Counter", 1, {"id": "c", "total": 2})))
        loaded = _ok(store.load_snapshot("c"))
        assert (loaded.schema_version, loaded.state) == (2, {"id": "c", "total": 2, "count": -1})

    def test_the_repository_saves_loads_and_detects_conflicts(self, store: FlextEventStore) -> None:
        """The repository round-trips an aggregate and refuses a save from a stale copy."""
        repository = AggregateRepository(store, snapshot_every=None)
        counter = Counter(id="c")
        for amount in (1, 2, 3):
            counter.add(amount)
        saved = _ok(repository.save(counter, correlation_id="req-1"))
        assert (saved.version, counter.version, counter.uncommitted_events) == (3, 3, ())
        assert all(r.event.correlation_id == "req-1" for r in _ok(store.read_stream("c")))
        mine = _ok(repository.load(Counter, "c"))
        theirs = _ok(repository.load(Counter, "c"))
        assert (mine.total, mine.count, mine.version) == (6, 3, 3)
        mine.add(10)
        theirs.add(20)
        _ok(repository.save(mine))
        _fails(repository.save(theirs), CONCURRENCY_CONFLICT)
        assert _ok(repository.load(Counter, "c")).total == 16
        _fails(repository.load(Counter, "missing"), NOT_FOUND)

    def test_the_repository_snapshots_every_n_events_and_loads_from_them(
        self, store: FlextEventStore
    ) -> None:
        """The repository snapshots every N events and loads from the latest snapshot."""
        repository = AggregateRepository(store, snapshot_every=10)
        counter = Counter(id="c")
        versions: list[int | None] = []
        for batch in (7, 8, 10):
            for _ in range(batch):
                counter.add(1)
            _ok(repository.save(counter))
            snapshot = _ok(store.load_snapshot("c"))
            versions.append(None if snapshot is None else snapshot.version)
        assert versions == [None, 15, 25]
        # Prove that loading starts from the snapshot: store a doctored one, then load.
        counter.add(5)
        _ok(repository.save(counter))
        _ok(
            store.save_snapshot(
                Snapshot("c", 26, "contract.Counter", 2, {"id": "c", "total": 1000, "count": 1})
            )
        )
        loaded = _ok(repository.load(Counter, "c"))
        assert (loaded.total, loaded.version) == (1000, 26)
        counter.add(1)
        _ok(repository.save(counter))
        assert _ok(repository.load(Counter, "c")).total == 1001  # snapshot plus the event after it

    def test_the_repository_rebuilds_from_events_when_a_snapshot_is_unusable(
        self, store_factory: StoreFactory
    ) -> None:
        """A snapshot that cannot be upcast is skipped and the events are replayed."""
        store = store_factory(contract_codec(upcasters=False))
        try:
            repository = AggregateRepository(store, snapshot_every=None)
            counter = Counter(id="c")
            counter.add(4)
            counter.add(5)
            _ok(repository.save(counter))
            _ok(store.save_snapshot(Snapshot("c", 2, "contract.Counter", 1, {"id": "c", "total": 999})))
            loaded = _ok(repository.load(Counter, "c"))
            assert (loaded.total, loaded.count) == (9, 2)  # no v1 -> v2 upcaster: replayed instead
        finally:
            store.close()

    def test_the_repository_refuses_streams_it_cannot_rebuild(self, store: FlextEventStore) -> None:
        """Unknown events and deleted streams make ``load`` fail with their codes."""
        repository = AggregateRepository(store)
        _ok(
            store.append(
                "u", [Added(aggregate_id="u", amount=1), Unregistered(aggregate_id="u", secret=1)], ANY
            )
        )
        failure = _fails(repository.load(Counter, "u"), UNKNOWN_MESSAGE_TYPE)
        assert failure.error_data["version"] == 2
        counter = Counter(id="d")
        counter.add(1)
        _ok(repository.save(counter))
        _ok(store.delete_stream("d", reason="erasure request 17"))
        failure = _fails(repository.load(Counter, "d"), STREAM_DELETED)
        assert "erasure request 17" in (failure.error or "")

    # Deleting.

    def test_deleting_erases_events_and_snapshot_and_leaves_a_tombstone(self, store: FlextEventStore) -> None:
        """``delete_stream`` erases data and snapshot and appends a ``StreamDeleted``."""
        _ok(store.append("s", _noted("s", 3, text="personal data"), NO_STREAM))
        _ok(store.append("keep", _noted("keep", 1), NO_STREAM))
        _ok(store.save_snapshot(Snapshot("s", 3, "contract.Counter", 2, {"id": "s"})))
        result = _ok(store.delete_stream("s", reason="GDPR request 42", expected_version=3))
        assert (result.version, result.written, len(result.positions)) == (4, True, 1)
        (tombstone,) = _ok(store.read_stream("s"))
        assert isinstance(tombstone.event, StreamDeleted)
        assert (tombstone.version, tombstone.event.reason) == (4, "GDPR request 42")
        assert (tombstone.event.deleted_events, tombstone.event.last_version) == (3, 3)
        assert _ok(store.load_snapshot("s")) is None
        everything = _ok(store.read_all())
        assert [(r.stream_id, type(r.event)) for r in everything] == [("keep", Noted), ("s", StreamDeleted)]
        assert not any("personal data" in r.data for r in everything)
        _fails(store.save_snapshot(Snapshot("s", 4, "contract.Counter", 2, {"id": "s"})), STREAM_DELETED)

    def test_deleting_a_missing_or_deleted_stream_fails(self, store: FlextEventStore) -> None:
        """Deleting a missing stream is ``NOT_FOUND``; deleting twice is ``STREAM_DELETED``."""
        _fails(store.delete_stream("missing"), NOT_FOUND)
        _ok(store.append("s", _noted("s", 1), NO_STREAM))
        _ok(store.delete_stream("s"))
        _fails(store.delete_stream("s"), STREAM_DELETED)
        assert len(_ok(store.read_all())) == 1

    def test_deleting_with_a_wrong_expected_version_deletes_nothing(self, store: FlextEventStore) -> None:
        """A delete with a stale expected version conflicts and erases nothing."""
        _ok(store.append("s", _noted("s", 2), NO_STREAM))
        failure = _fails(store.delete_stream("s", expected_version=1), CONCURRENCY_CONFLICT)
        assert failure.error_data["actual_version"] == 2
        assert [r.version for r in _ok(store.read_stream("s"))] == [1, 2]

    # Subscriptions.

    def test_a_subscription_catches_up_then_follows_live_appends(self, store: FlextEventStore) -> None:
        """A subscription delivers stored events, then new ones as they are appended."""
        _ok(store.append("s", _noted("s", 3), NO_STREAM))
        with store.subscribe(0) as subscription:
            caught_up = [subscription.next_event(WAIT) for _ in range(3)]
            assert subscription.next_event(0.05) is None
            writer = threading.Timer(0.05, lambda: _ok(store.append("t", _noted("t", 2), NO_STREAM)))
            writer.start()
            live = [subscription.next_event(WAIT) for _ in range(2)]
            writer.join()
            assert subscription.next_event(0.05) is None
        assert [(r.stream_id, r.version) for r in caught_up if r] == [("s", 1), ("s", 2), ("s", 3)]
        assert [(r.stream_id, r.version) for r in live if r] == [("t", 1), ("t", 2)]
        assert live[-1] is not None
        assert subscription.position == live[-1].position

    def test_a_subscription_sees_concurrent_writers_exactly_once_in_order(
        self, store: FlextEventStore
    ) -> None:
        """A live subscription sees concurrent writers' events once each, in global order."""
        per_writer = 30
        total = self.writer_threads * per_writer
        errors: list[BaseException] = []

        def write(writer: int) -> None:
            try:
                for i in range(per_writer):
                    _ok(store.append(f"w{writer}", _noted(f"w{writer}", 1, start=i), i))
            except BaseException as exc:  # reported by the test thread below
                errors.append(exc)

        with store.subscribe(0) as subscription:
            threads = [threading.Thread(target=write, args=(w,)) for w in range(self.writer_threads)]
            for thread in threads:
                thread.start()
            seen = [subscription.next_event(WAIT) for _ in range(total)]
            for thread in threads:
                thread.join(WAIT)
            assert subscription.next_event(0.1) is None
        assert errors == []
        assert None not in seen
        stored = _ok(store.read_all())
        assert [r.position for r in seen if r] == [r.position for r in stored]
        _check_consistent(stored)

    def test_a_subscription_resumes_after_a_restart_without_gaps_or_repeats(
        self, store_factory: StoreFactory
    ) -> None:
        """Resuming from a stored position after a restart misses and repeats nothing."""
        first = store_factory(contract_codec())
        try:
            _ok(first.append("s", _noted("s", 6), NO_STREAM))
            subscription = first.subscribe(0)
            handled = [subscription.next_event(WAIT) for _ in range(4)]
            checkpoint = subscription.position
            subscription.stop()
            assert subscription.next_event(0) is None
        finally:
            first.close()
        second = store_factory(contract_codec())
        try:
            _ok(second.append("t", _noted("t", 3), NO_STREAM))
            with second.subscribe(checkpoint) as resumed:
                handled += [resumed.next_event(WAIT) for _ in range(5)]
                assert resumed.next_event(0.1) is None
            everything = _ok(second.read_all())
        finally:
            second.close()
        assert [r.event_id for r in handled if r] == [r.event_id for r in everything]

    def test_stop_and_close_end_a_waiting_subscription(self, store: FlextEventStore) -> None:
        """``stop()`` and closing the store end a subscription blocked waiting for events."""
        for end in ("stop", "close"):
            subscription = store.subscribe(0)
            got: list[RecordedEvent] = []
            reader = threading.Thread(target=got.extend, args=(subscription,))
            reader.start()
            time.sleep(0.05)
            if end == "stop":
                subscription.stop()
            else:
                store.close()
            reader.join(WAIT)
            assert not reader.is_alive(), f"{end}() did not end a waiting subscription"
            assert got == []
            assert subscription.stopped

    # The async API.

    def test_the_async_api_matches_the_sync_one(self, store: FlextEventStore) -> None:
        """Every ``*_async`` operation, the async subscription and repository behave alike."""

        async def scenario() -> None:
            result = _ok(await store.append_async("s", _noted("s", 2), NO_STREAM))
            assert result.version == 2
            _fails(await store.append_async("s", _noted("s", 1), 0), CONCURRENCY_CONFLICT)
            assert [r.version for r in _ok(await store.read_stream_async("s", 1))] == [2]
            assert len(_ok(await store.read_all_async(0, 10))) == 2
            _ok(await store.save_snapshot_async(Snapshot("s", 2, "contract.Counter", 2, {"id": "s"})))
            assert _ok(await store.load_snapshot_async("s")).version == 2
            seen: list[RecordedEvent] = []
            async with store.subscribe_async(0) as subscription:
                seen += [e for e in [await subscription.next_event(WAIT) for _ in range(2)] if e]
                later = asyncio.create_task(store.append_async("t", _noted("t", 1), NO_STREAM))
                live = await subscription.next_event(WAIT)
                await later
                assert live is not None
                seen.append(live)
            assert [(r.stream_id, r.version) for r in seen] == [("s", 1), ("s", 2), ("t", 1)]
            deleted = _ok(await store.delete_stream_async("s", reason="async"))
            assert deleted.version == 3
            repository = AggregateRepository(store)
            counter = Counter(id="c")
            counter.add(3)
            _ok(await repository.save_async(counter))
            assert _ok(await repository.load_async(Counter, "c")).total == 3

        asyncio.run(scenario())

    # A property: any sequence of correct appends gives contiguous streams in one global order.

    def test_appends_with_correct_versions_give_contiguous_streams(self, store: FlextEventStore) -> None:
        """Property: correct appends in any order give contiguous streams in one global order."""
        pytest.importorskip("hypothesis", reason="install hypothesis to run this property")
        from hypothesis import given, settings
        from hypothesis import strategies as st

        @settings(max_examples=40, deadline=None, database=None)
        @given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=25))
        def check(operations: list[tuple[int, int]]) -> None:
            _check_appends(store, operations)

        check()


def _check_appends(store: FlextEventStore, operations: list[tuple[int, int]]) -> None:
    """Append batches of ``(stream, size)`` with correct expected versions; check what comes back."""
    prefix = uuid.uuid4().hex[:12]  # fresh streams for each example, in the one store of the test
    versions: dict[str, int] = {}
    expected_order: list[tuple[str, int]] = []
    start = _ok(store.read_all())
    after = start[-1].position if start else 0
    for stream_index, size in operations:
        stream_id = f"{prefix}-{stream_index}"
        current = versions.get(stream_id, 0)
        expected: ExpectedVersion = NO_STREAM if current == 0 and size % 2 else current
        _ok(store.append(stream_id, _noted(stream_id, size, start=current), expected))
        versions[stream_id] = current + size
        expected_order += [(stream_id, current + i + 1) for i in range(size)]
    recorded = _ok(store.read_all(after))
    assert [(r.stream_id, r.version) for r in recorded] == expected_order
    _check_consistent(recorded)
    for stream_id, version in versions.items():
        assert [r.version for r in _ok(store.read_stream(stream_id))] == list(range(1, version + 1))
