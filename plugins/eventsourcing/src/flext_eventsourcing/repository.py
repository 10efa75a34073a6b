"""AggregateRepository: load aggregates from an event store and save their new events.

``load(Account, "acc-1")`` starts from the latest snapshot when there is a
usable one (same aggregate type, state at the class's ``schema_version`` after
upcasting) and replays the events after it; ``save(account)`` appends the
uncommitted events with the version the aggregate was loaded at as the
expected version, so two writers that loaded the same version cannot both
win: the second gets ``CONCURRENCY_CONFLICT`` and should load again and retry.

Snapshots are a cache. Every ``snapshot_every`` events (the aggregate class's
``snapshot_every``, else the repository's) ``save`` stores one after a
successful append; a snapshot that cannot be used (no upcaster, a state that no
longer validates) is ignored and the aggregate is rebuilt from its events.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from uuid import UUID

from pydantic import JsonValue, ValidationError

from flext_eventsourcing.aggregate import FlextAggregateRoot, aggregate_type_name
from flext_eventsourcing.errors import STREAM_DELETED
from flext_eventsourcing.eventstore import (
    AppendResult,
    FlextEventStore,
    RecordedEvent,
    Snapshot,
    StreamDeleted,
    UnknownEvent,
)
from flext_kernel.errors import DESERIALIZATION_ERROR, NOT_FOUND, VALIDATION_ERROR
from flext_kernel.messages import FlextDomainEvent
from flext_kernel.result import Failure, FlextResult, Success

__all__ = ["AggregateRepository"]

A = TypeVar("A", bound=FlextAggregateRoot)
_ReadTogether = Callable[[str], FlextResult[tuple[FlextResult[Snapshot | None], list[RecordedEvent]]]]
"""A store's ``load_snapshot_and_events``: the snapshot and the events after it, in one read."""


class AggregateRepository:
    """Loads and saves event-sourced aggregates through a ``FlextEventStore``.

    Args:
        store: the event store.
        snapshot_every: take a snapshot every this many events; None or 0
            turns automatic snapshots off (an aggregate class's own
            ``snapshot_every`` wins).

    """

    __slots__ = ("_known", "snapshot_every", "store")

    def __init__(self, store: FlextEventStore, *, snapshot_every: int | None = 100) -> None:
        self.store = store
        """The event store."""
        self.snapshot_every = snapshot_every
        """Default snapshot interval in events; None or 0: no automatic snapshots."""
        self._known: set[type[FlextAggregateRoot]] = set()

    def _know(self, aggregate_type: type[FlextAggregateRoot]) -> None:
        """Register the aggregate class and its event classes with the store's codec, once."""
        if aggregate_type not in self._known:
            self.store.codec.register_aggregate(aggregate_type)
            self._known.add(aggregate_type)

    # Loading.

    def load(self, aggregate_type: type[A], aggregate_id: str | UUID) -> FlextResult[A]:
        """Rebuild the aggregate from its snapshot and events.

        Failures: ``NOT_FOUND`` (no events), ``STREAM_DELETED``,
        ``UNKNOWN_MESSAGE_TYPE`` or ``DESERIALIZATION_ERROR`` (an event of the
        stream cannot be decoded), ``VALIDATION_ERROR`` (the stream belongs to
        another aggregate type), and the store's own failures.
        """
        self._know(aggregate_type)
        stream_id = str(aggregate_id)
        store = self.store
        # Any store may offer the one-read shortcut (EventStoreBase does); the contract does not require it.
        read_together: _ReadTogether | None = getattr(store, "load_snapshot_and_events", None)
        if read_together is not None:
            return self._load_together(store, read_together, aggregate_type, stream_id)
        start = _from_snapshot(aggregate_type, store.load_snapshot(stream_id))
        if isinstance(start, Failure):
            return start
        aggregate = start.value
        after = 0 if aggregate is None else aggregate.version
        events = store.read_stream(stream_id, after)
        if isinstance(events, Failure):
            return events
        return _replay(aggregate_type, stream_id, aggregate, events.value)

    @staticmethod
    def _load_together(
        store: FlextEventStore, read_together: _ReadTogether, aggregate_type: type[A], stream_id: str
    ) -> FlextResult[A]:
        """``load`` with the snapshot and the events after it read at once (one round trip)."""
        read = read_together(stream_id)
        if isinstance(read, Failure):
            return read
        snapshot, events = read.value
        start = _from_snapshot(aggregate_type, snapshot)
        if isinstance(start, Failure):
            return start
        aggregate = start.value
        if aggregate is None and not (snapshot.is_success and snapshot.value is None):
            # A snapshot was stored but cannot be used: the events after it are not enough.
            everything = store.read_stream(stream_id)
            if isinstance(everything, Failure):
                return everything
            events = everything.value
        return _replay(aggregate_type, stream_id, aggregate, events)

    async def load_async(self, aggregate_type: type[A], aggregate_id: str | UUID) -> FlextResult[A]:
        """``load`` without blocking the event loop."""
        self._know(aggregate_type)
        stream_id = str(aggregate_id)
        start = _from_snapshot(aggregate_type, await self.store.load_snapshot_async(stream_id))
        if isinstance(start, Failure):
            return start
        aggregate = start.value
        after = 0 if aggregate is None else aggregate.version
        events = await self.store.read_stream_async(stream_id, after)
        if isinstance(events, Failure):
            return events
        return _replay(aggregate_type, stream_id, aggregate, events.value)

    # Saving.

    def save(
        self,
        aggregate: FlextAggregateRoot,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        metadata: Mapping[str, JsonValue] | None = None,
    ) -> FlextResult[AppendResult]:
        """Append the aggregate's uncommitted events, expecting the version it was loaded at.

        ``correlation_id``, ``causation_id`` and ``metadata`` fill in what the
        events do not set themselves. On success the events are marked
        committed and, when due, a snapshot is stored (a snapshot failure does
        not fail the save: the events are safe, and the next save retries).
        """
        self._know(type(aggregate))
        before = aggregate.committed_version
        events = _stamped(aggregate.uncommitted_events, correlation_id, causation_id, metadata)
        if not events:
            return Success(AppendResult(aggregate.id, before, (), False))
        result = self.store.append(aggregate.id, events, before)
        if result.is_success:
            aggregate.mark_committed()
            if self._snapshot_due(aggregate, before):
                self.store.save_snapshot(_snapshot_of(aggregate))
        return result

    async def save_async(
        self,
        aggregate: FlextAggregateRoot,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        metadata: Mapping[str, JsonValue] | None = None,
    ) -> FlextResult[AppendResult]:
        """``save`` without blocking the event loop."""
        self._know(type(aggregate))
        before = aggregate.committed_version
        events = _stamped(aggregate.uncommitted_events, correlation_id, causation_id, metadata)
        if not events:
            return Success(AppendResult(aggregate.id, before, (), False))
        result = await self.store.append_async(aggregate.id, events, before)
        if result.is_success:
            aggregate.mark_committed()
            if self._snapshot_due(aggregate, before):
                await self.store.save_snapshot_async(_snapshot_of(aggregate))
        return result

    def save_snapshot(self, aggregate: FlextAggregateRoot) -> FlextResult[None]:
        """Store a snapshot of the aggregate now (its events must be saved first)."""
        return self.store.save_snapshot(_snapshot_of(aggregate))

    def _snapshot_due(self, aggregate: FlextAggregateRoot, before: int) -> bool:
        own = type(aggregate).snapshot_every
        every = own if own is not None else self.snapshot_every
        return bool(every) and before // every != aggregate.version // every  # type: ignore[operator]  # every is an int here


def _from_snapshot(aggregate_type: type[A], loaded: FlextResult[Snapshot | None]) -> FlextResult[A | None]:
    """Return the aggregate restored from a usable snapshot, None when there is none to use."""
    if isinstance(loaded, Failure):
        # A snapshot that cannot be read is only a missed shortcut: replay everything.
        return Success(None) if loaded.error_code == DESERIALIZATION_ERROR else loaded
    snapshot = loaded.value
    if (
        snapshot is None
        or snapshot.aggregate_type != aggregate_type_name(aggregate_type)
        or snapshot.schema_version != aggregate_type.schema_version
    ):
        return Success(None)
    try:
        return Success(
            aggregate_type.from_snapshot_state(json.dumps(snapshot.state, allow_nan=True), snapshot.version)
        )
    except ValidationError:
        return Success(None)


def _replay(
    aggregate_type: type[A], stream_id: str, aggregate: A | None, events: list[RecordedEvent]
) -> FlextResult[A]:
    name = aggregate_type_name(aggregate_type)
    if events:
        last = events[-1].event
        if isinstance(last, StreamDeleted):
            return Failure(
                f"{aggregate_type.__name__} {stream_id!r} was deleted: {last.reason or 'no reason given'}",
                STREAM_DELETED,
                {"stream_id": stream_id, "tombstone_version": last.version},
            )
        for recorded in events:
            failure = _unusable(recorded, stream_id, name)
            if failure is not None:
                return failure
    if aggregate is None:
        if not events:
            return Failure(
                f"{aggregate_type.__name__} {stream_id!r} does not exist",
                NOT_FOUND,
                {"stream_id": stream_id, "aggregate_type": name},
            )
        aggregate = aggregate_type(id=stream_id)
    aggregate.apply_all(recorded.event for recorded in events)
    return Success(aggregate)


def _unusable(recorded: RecordedEvent, stream_id: str, name: str) -> FlextResult[Any] | None:
    event = recorded.event
    if isinstance(event, UnknownEvent):
        return Failure(
            f"cannot load {stream_id!r}: event at version {recorded.version} "
            f"({recorded.event_type}) cannot be read: {event.reason}",
            event.error_code,
            {"stream_id": stream_id, "version": recorded.version, "type": recorded.event_type},
        )
    if event.aggregate_type is not None and event.aggregate_type != name:
        return Failure(
            f"stream {stream_id!r} belongs to a {event.aggregate_type}, not a {name}",
            VALIDATION_ERROR,
            {"stream_id": stream_id, "aggregate_type": event.aggregate_type, "expected": name},
        )
    return None


def _stamped(
    events: tuple[FlextDomainEvent, ...],
    correlation_id: str | None,
    causation_id: str | None,
    metadata: Mapping[str, JsonValue] | None,
) -> list[FlextDomainEvent]:
    if correlation_id is None and causation_id is None and not metadata:
        return list(events)
    stamped: list[FlextDomainEvent] = []
    for event in events:
        update: dict[str, Any] = {}
        if event.correlation_id is None and correlation_id is not None:
            update["correlation_id"] = correlation_id
        if event.causation_id is None and causation_id is not None:
            update["causation_id"] = causation_id
        if metadata:
            update["metadata"] = {**metadata, **event.metadata}
        stamped.append(event.model_copy(update=update) if update else event)
    return stamped


def _snapshot_of(aggregate: FlextAggregateRoot) -> Snapshot:
    cls = type(aggregate)
    return Snapshot(
        aggregate.id,
        aggregate.version,
        aggregate_type_name(cls),
        cls.schema_version,
        aggregate.snapshot_state(),
    )
