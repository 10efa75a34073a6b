"""EventCodec: the type registry and the one place events become rows and back."""

from __future__ import annotations

import json
import uuid
from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flext_eventsourcing.aggregate import FlextAggregateRoot, when
from flext_eventsourcing.eventcodec import EventCodec
from flext_eventsourcing.eventstore import StoredEvent, StreamDeleted, UnknownEvent
from flext_kernel.errors import (
    ALREADY_REGISTERED,
    DESERIALIZATION_ERROR,
    UNKNOWN_MESSAGE_TYPE,
    VALIDATION_ERROR,
    FlextError,
)
from flext_kernel.messages import FlextCommand, FlextDomainEvent


class Shipped(FlextDomainEvent):
    message_type: ClassVar[str | None] = "orders.Shipped"
    parcels: int
    blob: bytes = b""


class ShippedElsewhere(FlextDomainEvent):
    message_type: ClassVar[str | None] = "orders.Shipped"
    parcels: int


class Order(FlextAggregateRoot):
    parcels: int = 0

    @when(Shipped)
    def _shipped(self, event: Shipped) -> None:
        self.parcels += event.parcels


def test_encode_and_decode_round_trip_every_field() -> None:
    codec = EventCodec([Shipped])
    event = Shipped(aggregate_id="o1", version=3, parcels=2, blob=b"\x00\xff", metadata={"k": [1.5, None]})
    row = codec.encode(event)
    assert (row.stream_id, row.version, row.event_id, row.event_type, row.schema_version, row.position) == (
        "o1", 3, str(event.event_id), "orders.Shipped", 1, 0,
    )  # fmt: skip
    recorded = codec.decode(row._replace(position=17))
    assert recorded.event == event
    assert (recorded.position, recorded.is_known) == (17, True)


def vars_of(row: StoredEvent) -> list[object]:
    return [
        row.stream_id,
        row.version,
        row.event_id,
        row.event_type,
        row.schema_version,
        row.data,
        row.position,
    ]


def test_registration_conflicts_and_owners() -> None:
    codec = EventCodec()
    assert codec.names() == ["flext.StreamDeleted"]  # the tombstone is always known
    codec.register(Shipped, owner="orders")
    codec.register(Shipped)  # again: a no-op
    with pytest.raises(FlextError, match="already registered") as raised:
        codec.register(ShippedElsewhere)
    assert raised.value.error_code == ALREADY_REGISTERED
    with pytest.raises(FlextError, match="not a FlextDomainEvent"):
        codec.register(FlextCommand)  # type: ignore[type-var]
    assert Shipped in codec
    assert ShippedElsewhere not in codec
    assert "orders.Shipped" in codec
    assert codec.event_class("orders.Shipped") is Shipped
    assert codec.remove_owner("orders") == 1
    assert "orders.Shipped" not in codec
    assert StreamDeleted in codec


def test_registering_an_aggregate_registers_its_events() -> None:
    codec = EventCodec()
    codec.register_aggregate(Order, owner="orders")
    assert Order in codec
    assert Shipped in codec
    assert codec.unregister(Order)
    assert codec.unregister("orders.Shipped")
    assert not codec.unregister(Shipped)
    with pytest.raises(FlextError, match="not a FlextAggregateRoot"):
        codec.register_aggregate(Shipped)  # type: ignore[type-var]


def test_prepare_checks_the_batch() -> None:
    codec = EventCodec()
    assert codec.prepare("", []).error_code == VALIDATION_ERROR
    assert codec.prepare("o1", ["not an event"]).error_code == VALIDATION_ERROR
    wrong = codec.prepare("o1", [Shipped(aggregate_id="o2", parcels=1)])
    assert wrong.error == "event #0 (Shipped) belongs to aggregate 'o2', not to stream 'o1'"
    pending = codec.prepare(
        "o1", [Shipped(aggregate_id="o1", parcels=1), Shipped(aggregate_id="o1", parcels=2)]
    )
    rows = pending.unwrap().rows(4)
    assert [row.version for row in rows] == [5, 6]
    assert all(f'"version":{row.version}' in row.data for row in rows)


def test_decoding_never_fails_and_keeps_the_raw_row() -> None:
    codec = EventCodec()
    good = codec.encode(Shipped(aggregate_id="o1", parcels=1, correlation_id="c1"))
    unknown = codec.decode(good).event
    assert isinstance(unknown, UnknownEvent)
    assert (unknown.error_code, unknown.event_type, unknown.correlation_id) == (
        UNKNOWN_MESSAGE_TYPE,
        "orders.Shipped",
        "c1",
    )
    codec.register(Shipped)
    misfit = StoredEvent(
        "o1", 1, good.event_id, "orders.Shipped", 1, good.data.replace('"parcels":1', '"parcels":"many"')
    )
    event = codec.decode(misfit).event
    assert isinstance(event, UnknownEvent)
    assert event.error_code == DESERIALIZATION_ERROR
    assert event.payload["parcels"] == "many"
    garbage = codec.decode(StoredEvent("o1", 1, good.event_id, "orders.Gone", 1, "not json at all"))
    assert isinstance(garbage.event, UnknownEvent)
    assert garbage.event.payload == {"raw": "not json at all"}
    assert garbage.data == "not json at all"
    old = codec.decode(StoredEvent("o1", 1, good.event_id, "orders.Shipped", 0 + 2, good.data))
    assert isinstance(old.event, UnknownEvent)
    assert "newer than this code" in old.event.reason


def test_new_event_ids_are_unique_time_ordered_uuid7() -> None:
    import time
    import uuid

    from flext_kernel.messages import new_event_id

    before = time.time_ns() // 1_000_000
    ids = [new_event_id() for _ in range(20_000)]
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == len(ids)
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert all(before <= i.int >> 80 <= after for i in ids)  # the first 48 bits are the millisecond
    assert [i.int >> 80 for i in ids] == sorted(i.int >> 80 for i in ids)
    assert uuid.UUID(str(ids[0])) == ids[0]
    assert hash(uuid.UUID(str(ids[0]))) == hash(ids[0])
    assert Shipped(aggregate_id="o1", parcels=1).event_id.version == 7


def test_every_error_code_is_documented() -> None:
    from pathlib import Path

    from flext_eventsourcing import errors as es_errors
    from flext_kernel import errors

    page = (Path(__file__).resolve().parents[3] / "docs" / "errors.md").read_text(encoding="utf-8")
    codes = [name for module in (errors, es_errors) for name in module.__all__ if name.isupper()]
    assert {"STREAM_DELETED", "STORAGE_ERROR", "CONCURRENCY_CONFLICT"} <= set(codes)
    assert [code for code in codes if f"| `{code}` |" not in page] == []


@settings(max_examples=200, deadline=None)
@given(ids=st.lists(st.uuids(allow_nil=True), min_size=1, max_size=5, unique=True), after=st.integers(0, 50))
def test_rows_hold_each_events_id_as_its_standard_text(ids: list[uuid.UUID], after: int) -> None:
    """The ids the rows hold (cut from the JSON, for speed) are exactly ``str(event_id)``, any UUID."""
    codec = EventCodec([Shipped])
    events = [
        Shipped(aggregate_id="o1", event_id=i, version=after + n + 1, parcels=n) for n, i in enumerate(ids)
    ]
    pending = codec.prepare("o1", events).unwrap()
    assert [row.event_id for row in pending.rows(after)] == [str(i) for i in ids] == pending.event_ids
    assert [row.event_id for row in pending.rows(after + 7)] == [
        str(i) for i in ids
    ]  # re-encoded at other versions
    assert [codec.encode(event).event_id for event in events] == [str(i) for i in ids]


def test_an_unknown_events_id_is_its_uuid_text_whatever_its_payload_says() -> None:
    codec = EventCodec()
    event_id = uuid.uuid4()
    stored = StoredEvent(
        "o1",
        1,
        str(event_id),
        "gone.Type",
        1,
        json.dumps({"event_id": str(event_id).upper(), "version": 1}),
        5,
    )
    unknown = codec.decode(stored).event
    assert isinstance(unknown, UnknownEvent)
    (row,) = codec.prepare("o1", [unknown]).unwrap().rows(0)
    assert row.event_id == str(event_id)
