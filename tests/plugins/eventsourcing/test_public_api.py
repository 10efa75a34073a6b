"""Pin event sourcing's public surface: backend authors and plugins import only these names."""

from __future__ import annotations

import subprocess
import sys

import pytest

import flext_eventsourcing

EXPECTED = {
    "ANY", "CONNECTION_FAILED", "AggregateRepository", "AppendResult", "AppendSignal",
    "AsyncEventSubscription",
    "Document", "EventCodec", "EventStoreBase", "EventStoreFactory", "EventStores",
    "EventSubscription", "ExpectedVersion", "FlextAggregateRoot", "FlextEventStore",
    "FlextEventStoreError", "FlextProjection", "InMemoryEventStore", "InMemoryProjectionStore",
    "LocationSyntax", "NOT_A_FLEXT_STORE", "NO_STREAM", "NotAFlextStoreError", "OutageHook",
    "PROJECTION_FAILED",
    "PendingAppend", "Projection",
    "ProjectionCheckpoint", "ProjectionRunner", "ProjectionState", "ProjectionStatus",
    "ProjectionStore", "ProjectionStoreError", "ProjectionStoreFactory", "ReadModel",
    "RecordedEvent", "STORE_HINT", "STREAM_DELETED", "STREAM_EXISTS", "Snapshot", "StoredEvent",
    "StoredSnapshot", "StreamDeleted", "StreamHead", "TOMBSTONE_TYPE", "UnknownEvent",
    "UpcasterRegistry", "WriteTransaction", "check_projection_name", "encode_changes",
    "encode_document", "opened_store", "stores_of", "when",
}  # fmt: skip


def test_public_names_are_pinned() -> None:
    assert set(flext_eventsourcing.__all__) == EXPECTED


def test_every_public_name_exists_and_is_lazy() -> None:
    assert set(flext_eventsourcing._LOCATIONS) == set(flext_eventsourcing.__all__)
    missing = [name for name in flext_eventsourcing.__all__ if not hasattr(flext_eventsourcing, name)]
    assert missing == []


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = flext_eventsourcing.Nope  # type: ignore[attr-defined]


def test_importing_the_package_loads_nothing_heavy() -> None:
    code = (
        "import sys, flext_eventsourcing; "
        "print(sorted(m for m in ('pluggy', 'pydantic', 'msgpack', 'flext_eventsourcing.eventstore')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
