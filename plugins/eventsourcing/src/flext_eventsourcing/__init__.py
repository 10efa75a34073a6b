"""FLEXT event sourcing: aggregates, the event store contract and base class, projections.

A distribution of its own (``flext-eventsourcing``) that is also a plugin:
installed, it puts a ``FlextEventStore`` (and the ``EventStores`` opener)
in the kernel's container, and it defines the hooks through which backend
plugins (``eventstore-sqlite``, ``eventstore-postgres``, a third party's)
offer stores. Everything a backend or an application needs is re-exported
here; the modules behind these names are private to this package, and
backend authors import nothing else (``flext_eventsourcing.testing`` holds
the contract suites). Importing this package does no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flext_kernel.lazy import lazy_exports

if TYPE_CHECKING:
    from flext_eventsourcing.aggregate import FlextAggregateRoot, when
    from flext_eventsourcing.cli import opened_store, stores_of
    from flext_eventsourcing.errors import (
        NOT_A_FLEXT_STORE,
        PROJECTION_FAILED,
        STREAM_DELETED,
        FlextEventStoreError,
        NotAFlextStoreError,
        ProjectionStoreError,
    )
    from flext_eventsourcing.eventcodec import EventCodec, PendingAppend
    from flext_eventsourcing.eventstore import (
        ANY,
        NO_STREAM,
        STREAM_EXISTS,
        AppendResult,
        EventStoreFactory,
        ExpectedVersion,
        FlextEventStore,
        RecordedEvent,
        Snapshot,
        StoredEvent,
        StoredSnapshot,
        StreamDeleted,
        UnknownEvent,
    )
    from flext_eventsourcing.eventstore_base import (
        TOMBSTONE_TYPE,
        EventStoreBase,
        StreamHead,
        WriteTransaction,
    )
    from flext_eventsourcing.memory_projection_store import InMemoryProjectionStore
    from flext_eventsourcing.memory_store import InMemoryEventStore
    from flext_eventsourcing.projection import (
        Document,
        FlextProjection,
        Projection,
        ProjectionCheckpoint,
        ProjectionState,
        ProjectionStore,
        ProjectionStoreFactory,
        ReadModel,
        check_projection_name,
        encode_changes,
        encode_document,
    )
    from flext_eventsourcing.projection_runner import ProjectionRunner, ProjectionStatus
    from flext_eventsourcing.repository import AggregateRepository
    from flext_eventsourcing.stores import STORE_HINT, EventStores, LocationSyntax
    from flext_eventsourcing.subscription import (
        CONNECTION_FAILED,
        AppendSignal,
        AsyncEventSubscription,
        EventSubscription,
        OutageHook,
    )
    from flext_eventsourcing.upcasting import UpcasterRegistry

_LOCATIONS: dict[str, str] = {
    "ANY": "flext_eventsourcing.eventstore",
    "AggregateRepository": "flext_eventsourcing.repository",
    "AppendResult": "flext_eventsourcing.eventstore",
    "AppendSignal": "flext_eventsourcing.subscription",
    "AsyncEventSubscription": "flext_eventsourcing.subscription",
    "CONNECTION_FAILED": "flext_eventsourcing.subscription",
    "Document": "flext_eventsourcing.projection",
    "EventCodec": "flext_eventsourcing.eventcodec",
    "EventStoreBase": "flext_eventsourcing.eventstore_base",
    "EventStoreFactory": "flext_eventsourcing.eventstore",
    "EventStores": "flext_eventsourcing.stores",
    "EventSubscription": "flext_eventsourcing.subscription",
    "ExpectedVersion": "flext_eventsourcing.eventstore",
    "FlextAggregateRoot": "flext_eventsourcing.aggregate",
    "FlextEventStore": "flext_eventsourcing.eventstore",
    "FlextEventStoreError": "flext_eventsourcing.errors",
    "FlextProjection": "flext_eventsourcing.projection",
    "InMemoryEventStore": "flext_eventsourcing.memory_store",
    "InMemoryProjectionStore": "flext_eventsourcing.memory_projection_store",
    "LocationSyntax": "flext_eventsourcing.stores",
    "NOT_A_FLEXT_STORE": "flext_eventsourcing.errors",
    "NO_STREAM": "flext_eventsourcing.eventstore",
    "NotAFlextStoreError": "flext_eventsourcing.errors",
    "OutageHook": "flext_eventsourcing.subscription",
    "PROJECTION_FAILED": "flext_eventsourcing.errors",
    "PendingAppend": "flext_eventsourcing.eventcodec",
    "Projection": "flext_eventsourcing.projection",
    "ProjectionCheckpoint": "flext_eventsourcing.projection",
    "ProjectionRunner": "flext_eventsourcing.projection_runner",
    "ProjectionState": "flext_eventsourcing.projection",
    "ProjectionStatus": "flext_eventsourcing.projection_runner",
    "ProjectionStore": "flext_eventsourcing.projection",
    "ProjectionStoreError": "flext_eventsourcing.errors",
    "ProjectionStoreFactory": "flext_eventsourcing.projection",
    "ReadModel": "flext_eventsourcing.projection",
    "RecordedEvent": "flext_eventsourcing.eventstore",
    "STORE_HINT": "flext_eventsourcing.stores",
    "STREAM_DELETED": "flext_eventsourcing.errors",
    "STREAM_EXISTS": "flext_eventsourcing.eventstore",
    "Snapshot": "flext_eventsourcing.eventstore",
    "StoredEvent": "flext_eventsourcing.eventstore",
    "StoredSnapshot": "flext_eventsourcing.eventstore",
    "StreamDeleted": "flext_eventsourcing.eventstore",
    "StreamHead": "flext_eventsourcing.eventstore_base",
    "TOMBSTONE_TYPE": "flext_eventsourcing.eventstore_base",
    "UnknownEvent": "flext_eventsourcing.eventstore",
    "UpcasterRegistry": "flext_eventsourcing.upcasting",
    "WriteTransaction": "flext_eventsourcing.eventstore_base",
    "check_projection_name": "flext_eventsourcing.projection",
    "encode_changes": "flext_eventsourcing.projection",
    "encode_document": "flext_eventsourcing.projection",
    "opened_store": "flext_eventsourcing.cli",
    "stores_of": "flext_eventsourcing.cli",
    "when": "flext_eventsourcing.aggregate",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LOCATIONS)

__all__ = [
    "ANY",
    "CONNECTION_FAILED",
    "NOT_A_FLEXT_STORE",
    "NO_STREAM",
    "PROJECTION_FAILED",
    "STORE_HINT",
    "STREAM_DELETED",
    "STREAM_EXISTS",
    "TOMBSTONE_TYPE",
    "AggregateRepository",
    "AppendResult",
    "AppendSignal",
    "AsyncEventSubscription",
    "Document",
    "EventCodec",
    "EventStoreBase",
    "EventStoreFactory",
    "EventStores",
    "EventSubscription",
    "ExpectedVersion",
    "FlextAggregateRoot",
    "FlextEventStore",
    "FlextEventStoreError",
    "FlextProjection",
    "InMemoryEventStore",
    "InMemoryProjectionStore",
    "LocationSyntax",
    "NotAFlextStoreError",
    "OutageHook",
    "PendingAppend",
    "Projection",
    "ProjectionCheckpoint",
    "ProjectionRunner",
    "ProjectionState",
    "ProjectionStatus",
    "ProjectionStore",
    "ProjectionStoreError",
    "ProjectionStoreFactory",
    "ReadModel",
    "RecordedEvent",
    "Snapshot",
    "StoredEvent",
    "StoredSnapshot",
    "StreamDeleted",
    "StreamHead",
    "UnknownEvent",
    "UpcasterRegistry",
    "WriteTransaction",
    "check_projection_name",
    "encode_changes",
    "encode_document",
    "opened_store",
    "stores_of",
    "when",
]
