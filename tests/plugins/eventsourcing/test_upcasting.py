"""UpcasterRegistry, and upcasting through the EventCodec for events and snapshots."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flext_eventsourcing.aggregate import FlextAggregateRoot
from flext_eventsourcing.eventcodec import EventCodec
from flext_eventsourcing.eventstore import StoredEvent, StoredSnapshot, UnknownEvent
from flext_eventsourcing.upcasting import UpcasterRegistry
from flext_kernel.errors import ALREADY_REGISTERED, DESERIALIZATION_ERROR, FlextError
from flext_kernel.messages import FlextDomainEvent


class Renamed(FlextDomainEvent):
    message_type: ClassVar[str | None] = "people.Renamed"
    schema_version: ClassVar[int] = 3
    first: str
    last: str
    title: str


class RenamedV1(FlextDomainEvent):
    message_type: ClassVar[str | None] = "people.Renamed"
    schema_version: ClassVar[int] = 1
    name: str


class Person(FlextAggregateRoot):
    aggregate_type: ClassVar[str | None] = "people.Person"
    schema_version: ClassVar[int] = 2
    full_name: str = ""


def v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    first, _, last = payload.pop("name").partition(" ")
    return {**payload, "first": first, "last": last}


def v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "title": "Dr" if payload["last"] == "Hopper" else ""}


def registry() -> UpcasterRegistry:
    upcasters = UpcasterRegistry()
    upcasters.add(Renamed, 1, v1_to_v2)
    upcasters.register("people.Renamed", 2)(v2_to_v3)
    return upcasters


def test_the_chain_runs_one_version_at_a_time() -> None:
    result = registry().upcast("people.Renamed", 1, {"name": "Grace Hopper"}, 3)
    assert result.unwrap() == {"first": "Grace", "last": "Hopper", "title": "Dr"}
    assert registry().upcast("people.Renamed", 2, {"first": "A", "last": "B"}, 3).unwrap()["title"] == ""
    assert registry().upcast("people.Renamed", 3, {"x": 1}, 3).unwrap() == {"x": 1}
    assert registry().versions(Renamed) == [1, 2]


def test_a_missing_step_and_a_newer_payload_fail_clearly() -> None:
    upcasters = UpcasterRegistry()
    upcasters.add(Renamed, 2, v2_to_v3)
    missing = upcasters.upcast("people.Renamed", 1, {"name": "x"}, 3)
    assert missing.error_code == DESERIALIZATION_ERROR
    assert missing.error == "no upcaster for people.Renamed from schema_version 1 to 2"
    assert missing.error_data["target_version"] == 3
    newer = upcasters.upcast("people.Renamed", 4, {}, 3)
    assert newer.error_code == DESERIALIZATION_ERROR
    assert "newer than this code's 3" in (newer.error or "")


def test_registration_rules() -> None:
    upcasters = registry()
    upcasters.add(Renamed, 1, v1_to_v2)  # the same function again: a no-op
    with pytest.raises(FlextError, match="already registered") as raised:
        upcasters.add("people.Renamed", 1, v2_to_v3)
    assert raised.value.error_code == ALREADY_REGISTERED
    with pytest.raises(FlextError, match="1 or more"):
        upcasters.add(Renamed, 0, v1_to_v2)
    with pytest.raises(FlextError, match="neither a message class nor an aggregate class"):
        upcasters.add(int, 1, v1_to_v2)
    upcasters.add(Person, 1, lambda state: state, owner="people-plugin")
    assert upcasters.versions("people.Person") == [1]
    assert upcasters.remove_owner("people-plugin") == 1
    assert upcasters.versions(Person) == []


def test_stored_old_events_decode_as_the_current_class() -> None:
    codec = EventCodec([Renamed], upcasters=registry())
    row = codec.encode(RenamedV1(aggregate_id="p1", name="Grace Hopper"))
    assert (row.event_type, row.schema_version) == ("people.Renamed", 1)
    recorded = codec.decode(row)
    assert isinstance(recorded.event, Renamed)
    assert (recorded.event.first, recorded.event.last, recorded.event.title) == ("Grace", "Hopper", "Dr")
    assert recorded.schema_version == 1
    assert recorded.data == row.data


def test_an_upcast_payload_that_does_not_fit_is_reported() -> None:
    upcasters = UpcasterRegistry()
    upcasters.add(Renamed, 1, lambda payload: payload)  # forgets to split the name
    upcasters.add(Renamed, 2, lambda payload: {**payload, "title": ""})
    codec = EventCodec([Renamed], upcasters=upcasters)
    event = codec.decode(codec.encode(RenamedV1(aggregate_id="p1", name="Ada"))).event
    assert isinstance(event, UnknownEvent)
    assert event.error_code == DESERIALIZATION_ERROR
    assert "does not fit its class" in event.reason
    assert event.payload["name"] == "Ada"


def test_snapshots_of_registered_aggregates_are_upcast() -> None:
    upcasters = UpcasterRegistry()
    upcasters.add(
        Person, 1, lambda state: {"id": state["id"], "full_name": f"{state['first']} {state['last']}"}
    )
    codec = EventCodec(upcasters=upcasters)
    row = StoredSnapshot(
        "p1",
        4,
        "people.Person",
        1,
        json.dumps({"id": "p1", "first": "A", "last": "L"}),
        "2024-01-02T03:04:05+00:00",
    )
    assert codec.decode_snapshot(row).unwrap().schema_version == 1  # unknown aggregate: as stored
    codec.register_aggregate(Person)
    snapshot = codec.decode_snapshot(row).unwrap()
    assert (snapshot.schema_version, snapshot.state) == (2, {"id": "p1", "full_name": "A L"})
    assert snapshot.taken_at.year == 2024
    missing = EventCodec()
    missing.register_aggregate(Person)
    assert missing.decode_snapshot(row).error_code == DESERIALIZATION_ERROR
    broken = StoredSnapshot("p1", 4, "people.Person", 2, "{not json", "2024-01-02T03:04:05+00:00")
    assert codec.decode_snapshot(broken).error_code == DESERIALIZATION_ERROR


@given(st.integers(1, 3), st.text(min_size=1).filter(lambda s: " " not in s), st.text())
def test_upcasting_from_any_version_equals_applying_the_remaining_steps(
    start: int, first: str, last: str
) -> None:
    steps = {1: v1_to_v2, 2: v2_to_v3}
    payload: dict[str, Any] = {"name": f"{first} {last}"} if start == 1 else {"first": first, "last": last}
    if start == 3:
        payload["title"] = "x"
    expected = dict(payload)
    for version in range(start, 3):
        expected = steps[version](dict(expected))
    assert registry().upcast("people.Renamed", start, dict(payload), 3).unwrap() == expected


def test_rows_are_plain_data() -> None:
    row = StoredEvent("s", 1, "id", "t", 1, "{}")
    assert row.position == 0
