"""The event store contract: what every backend (memory, SQLite, PostgreSQL, ...) provides.

An event store keeps *streams*: one ordered list of domain events per
aggregate, numbered by ``version`` from 1. Every event also gets a *global
position*, strictly increasing across all streams, in the order the appends
committed; ``read_all`` and subscriptions walk that order, which is what
projections and the CLI's ``flext events tail`` follow.

Guarantees every backend gives (``flext_sdk.testing.EventStoreContract`` checks them):

* **Atomic, optimistic appends.** ``append(stream_id, events, expected_version)``
  writes all the events or none. ``expected_version`` is the stream version the
  caller last saw (an int, 0 for an empty stream), ``NO_STREAM``,
  ``STREAM_EXISTS`` or ``ANY``; a mismatch fails with ``CONCURRENCY_CONFLICT``
  naming the expected and actual versions, and writes nothing.
* **Idempotent appends.** Events are identified by ``event_id``. Re-sending a
  batch that was already appended to the same stream succeeds and writes
  nothing (even with a now-stale expected version: the first attempt may have
  committed before its answer was lost). Reusing an ``event_id`` for a
  different event, or a batch of which only some events exist, is a
  ``CONCURRENCY_CONFLICT``.
* **No gaps a reader could skip.** Positions may have holes (deleted streams),
  but once a reader has seen position ``p``, no event with a position below
  ``p`` can appear later. Reading "everything after the last position I saw"
  therefore never misses an event, which makes subscriptions exactly-once
  when the consumer stores its position with its own writes.
* **Positions are "after".** ``from_version`` and ``from_position`` name the
  last version or position the caller already has; reads return what comes
  *after* it, so 0 means "from the beginning" and a stored checkpoint is
  passed as it is.
* **Deleting is an event.** ``delete_stream`` erases a stream's events and
  snapshot (data-protection requests) and appends a ``StreamDeleted``
  tombstone in their place; the stream is closed for good (``STREAM_DELETED``).
* **Nothing is dropped.** An event whose type is not registered with the
  store's ``EventCodec``, or whose payload no longer decodes, is returned as
  an ``UnknownEvent`` carrying the stored type name and raw payload.

Every operation returns a ``FlextResult``; the ``*_async`` twins do the same
without blocking the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, Final, NamedTuple, Protocol, TypeAlias, runtime_checkable
from uuid import UUID

from pydantic import JsonValue

from flext_kernel.messages import FlextDomainEvent
from flext_kernel.result import FlextResult

if TYPE_CHECKING:
    from flext_eventsourcing.eventcodec import EventCodec
    from flext_eventsourcing.subscription import AsyncEventSubscription, EventSubscription

__all__ = [
    "ANY",
    "NO_STREAM",
    "STREAM_EXISTS",
    "AppendResult",
    "EventStoreFactory",
    "ExpectedVersion",
    "FlextEventStore",
    "RecordedEvent",
    "Snapshot",
    "StoredEvent",
    "StoredSnapshot",
    "StreamDeleted",
    "StreamState",
    "UnknownEvent",
    "describe_expected",
]


class StreamState(Enum):
    """The expected-version values that are not a number."""

    NO_STREAM = "no_stream"
    """The stream must have no events yet (same as expecting version 0)."""
    STREAM_EXISTS = "stream_exists"
    """The stream must have at least one event."""
    ANY = "any"
    """No check: append wherever the stream is."""


NO_STREAM: Final = StreamState.NO_STREAM
"""Expect a new stream: the append fails if the stream already has events."""
STREAM_EXISTS: Final = StreamState.STREAM_EXISTS
"""Expect an existing stream: the append fails if the stream has no events."""
ANY: Final = StreamState.ANY
"""Append without a concurrency check."""

ExpectedVersion: TypeAlias = int | StreamState
"""What ``append`` checks: a stream version (0: empty), ``NO_STREAM``, ``STREAM_EXISTS`` or ``ANY``."""


def describe_expected(expected: ExpectedVersion) -> int | str:
    """Return ``expected`` as it appears in error data: the int, or ``"no_stream"``/... for a state."""
    return expected.value if isinstance(expected, StreamState) else expected


class StreamDeleted(FlextDomainEvent):
    """The tombstone ``delete_stream`` appends in place of a stream's erased events."""

    message_type: ClassVar[str | None] = "flext.StreamDeleted"

    reason: str = ""
    """Why the stream was deleted (a data-protection request's reference, ...)."""
    deleted_events: int = 0
    """How many events were erased."""
    last_version: int = 0
    """Version of the last erased event; the tombstone's own version follows it."""


class UnknownEvent(FlextDomainEvent):
    """A stored event that could not be decoded, kept with its raw payload instead of being dropped.

    ``error_code`` says why: ``UNKNOWN_MESSAGE_TYPE`` (no class is registered
    for ``event_type``: load the plugin that owns it) or
    ``DESERIALIZATION_ERROR`` (the payload does not fit the class, or an
    upcaster is missing). Appending an ``UnknownEvent`` writes its original
    type and payload back, so exports and imports round-trip.
    """

    message_type: ClassVar[str | None] = "flext.UnknownEvent"

    event_type: str
    """The stored type name."""
    stored_schema_version: int
    """The stored schema version."""
    payload: dict[str, JsonValue]
    """The stored payload as JSON data (the whole event, as it was written)."""
    reason: str
    """Why it could not be decoded, for people."""
    error_code: str
    """Why it could not be decoded, for programs."""


class StoredEvent(NamedTuple):
    """An event as backends store it: a row. Built and read only by ``EventCodec``.

    A named tuple, because rows are built and unpacked by the thousand on
    every replay: ``StoredEvent(*db_row)`` reads a row selected in field order,
    and ``row[:6]`` is the insert's parameters (everything but ``position``).
    """

    stream_id: str
    """The stream (aggregate id)."""
    version: int
    """Position in the stream, from 1."""
    event_id: str
    """The event's UUID as canonical text; unique across the store."""
    event_type: str
    """The event class's stable type name."""
    schema_version: int
    """The class's ``schema_version`` when it was written."""
    data: str
    """The whole event as JSON text (pydantic's ``model_dump_json``)."""
    position: int = 0
    """Global position, assigned by the backend on insert (0 before)."""


class RecordedEvent(NamedTuple):
    """An event read back from the store, with where it sits (a named tuple: replay builds many)."""

    position: int
    """Global position: strictly increasing across the whole store."""
    stream_id: str
    """The stream it belongs to."""
    version: int
    """Its version in that stream."""
    event_type: str
    """The stored type name."""
    schema_version: int
    """The stored schema version (before upcasting)."""
    data: str
    """The stored JSON text, exactly as written (the raw event)."""
    event: FlextDomainEvent
    """The decoded and upcast event; an ``UnknownEvent`` when that was impossible."""

    @property
    def event_id(self) -> UUID:
        """The event's identity."""
        return self.event.event_id

    @property
    def is_known(self) -> bool:
        """False when ``event`` is an ``UnknownEvent``."""
        return not isinstance(self.event, UnknownEvent)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An aggregate's state at a version, so loading can skip replaying what came before."""

    stream_id: str
    """The aggregate's stream."""
    version: int
    """The stream version the state includes."""
    aggregate_type: str
    """The aggregate class's stable type name."""
    schema_version: int
    """Version of the state's shape (the aggregate class's ``schema_version``)."""
    state: dict[str, Any]
    """The state as JSON-compatible data."""
    taken_at: datetime = field(default_factory=_utc_now)
    """When it was taken."""


@dataclass(frozen=True, slots=True)
class StoredSnapshot:
    """A snapshot as backends store it: a row. Built and read only by ``EventCodec``."""

    stream_id: str
    """The aggregate's stream."""
    version: int
    """The stream version the state includes."""
    aggregate_type: str
    """The aggregate class's stable type name."""
    schema_version: int
    """Version of the state's shape."""
    state: str
    """The state as JSON text."""
    taken_at: str
    """When it was taken, ISO 8601 in UTC."""


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What a successful append did."""

    stream_id: str
    """The stream appended to."""
    version: int
    """The stream's version after the append: the next ``expected_version`` to pass."""
    positions: tuple[int, ...]
    """Global positions of the appended events (of the stored ones, for an idempotent retry)."""
    written: bool
    """False when nothing was written (an idempotent retry or an empty batch)."""


@runtime_checkable
class FlextEventStore(Protocol):
    """The event store: append, read, subscribe, snapshot and delete streams.

    Implementations hold connections: use them as context managers or call
    ``close``. Backends usually subclass ``flext_eventsourcing.eventstore_base.EventStoreBase``,
    which implements this protocol on top of a few storage primitives.
    """

    @property
    def codec(self) -> EventCodec:
        """The codec that turns events into stored rows and back (register event classes on it)."""
        ...

    def append(
        self, stream_id: str, events: Sequence[FlextDomainEvent], expected_version: ExpectedVersion
    ) -> FlextResult[AppendResult]:
        """Append ``events`` to ``stream_id`` atomically if the stream is at ``expected_version``.

        Each event's ``aggregate_id`` must be ``stream_id``; the store sets each
        event's ``version`` to its place in the stream. An empty batch only
        checks the expected version. Failures: ``CONCURRENCY_CONFLICT``,
        ``STREAM_DELETED``, ``VALIDATION_ERROR``, ``STORAGE_ERROR``, ``TIMEOUT``.
        """
        ...

    def read_stream(
        self, stream_id: str, from_version: int = 0, *, limit: int | None = None
    ) -> FlextResult[list[RecordedEvent]]:
        """Return the stream's events after version ``from_version``, oldest first ([] for no stream)."""
        ...

    def read_all(self, from_position: int = 0, limit: int | None = None) -> FlextResult[list[RecordedEvent]]:
        """Return events of every stream after global position ``from_position``, in global order."""
        ...

    def subscribe(self, from_position: int = 0) -> EventSubscription:
        """Iterate over every event after ``from_position``: stored ones, then live ones until stopped."""
        ...

    def save_snapshot(self, snapshot: Snapshot) -> FlextResult[None]:
        """Keep ``snapshot`` as the stream's latest, unless a newer one is stored.

        Failures: ``NOT_FOUND`` (no such stream), ``STREAM_DELETED``,
        ``VALIDATION_ERROR`` (a version the stream has not reached).
        """
        ...

    def load_snapshot(self, stream_id: str) -> FlextResult[Snapshot | None]:
        """Return the stream's latest snapshot (upcast when its aggregate class is registered), or None."""
        ...

    def delete_stream(
        self, stream_id: str, *, reason: str = "", expected_version: ExpectedVersion = ANY
    ) -> FlextResult[AppendResult]:
        """Erase the stream's events and snapshot and append a ``StreamDeleted`` tombstone.

        Failures: ``NOT_FOUND``, ``STREAM_DELETED`` (already deleted),
        ``CONCURRENCY_CONFLICT`` (``expected_version`` does not match).
        """
        ...

    def close(self) -> None:
        """Release connections and stop live subscriptions; the store is unusable afterwards."""
        ...

    async def append_async(
        self, stream_id: str, events: Sequence[FlextDomainEvent], expected_version: ExpectedVersion
    ) -> FlextResult[AppendResult]:
        """``append`` without blocking the event loop."""
        ...

    async def read_stream_async(
        self, stream_id: str, from_version: int = 0, *, limit: int | None = None
    ) -> FlextResult[list[RecordedEvent]]:
        """``read_stream`` without blocking the event loop."""
        ...

    async def read_all_async(
        self, from_position: int = 0, limit: int | None = None
    ) -> FlextResult[list[RecordedEvent]]:
        """``read_all`` without blocking the event loop."""
        ...

    def subscribe_async(self, from_position: int = 0) -> AsyncEventSubscription:
        """``subscribe`` as an async iterator."""
        ...

    async def save_snapshot_async(self, snapshot: Snapshot) -> FlextResult[None]:
        """``save_snapshot`` without blocking the event loop."""
        ...

    async def load_snapshot_async(self, stream_id: str) -> FlextResult[Snapshot | None]:
        """``load_snapshot`` without blocking the event loop."""
        ...

    async def delete_stream_async(
        self, stream_id: str, *, reason: str = "", expected_version: ExpectedVersion = ANY
    ) -> FlextResult[AppendResult]:
        """``delete_stream`` without blocking the event loop."""
        ...


class EventStoreFactory(Protocol):
    """Opens a store of one backend; what the ``flext_event_store_backends`` hook returns by name.

    ``location`` is the backend's own address (a file path for SQLite, a
    ``postgresql://`` URL for PostgreSQL); None means the backend's default
    (the user's data directory, ``FLEXT_EVENTSTORE_URL``, ...). A backend
    whose ``LocationSyntax`` sets ``read_only`` also takes ``read_only=True``
    (readers that never append). Something at ``location`` that FLEXT did
    not create is refused with ``NotAFlextStoreError`` before anything is
    written to it.
    """

    def __call__(self, codec: EventCodec | None = None, *, location: str | None = None) -> FlextEventStore:
        """Open the store."""
        ...
