"""Serialization: envelopes, the type registry, upcasting, round trips and fuzzed garbage."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import msgpack  # type: ignore[import-untyped]  # msgpack ships no type hints
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict

from flext_kernel.errors import DESERIALIZATION_ERROR, UNKNOWN_MESSAGE_TYPE, FlextError
from flext_kernel.messages import FlextCommand, FlextDomainEvent, FlextMessage, FlextQuery, message_type_name
from flext_kernel.result import FlextResult
from flext_kernel.serialization import MessageRegistry, to_envelope, to_json, to_msgpack


class Colour(Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    model_config = ConfigDict(frozen=True)

    street: str
    number: int | None = None


class Everything(FlextCommand):
    """A command with one field of each kind a plugin is likely to use."""

    text: str
    integer: int
    ratio: float
    flag: bool
    blob: bytes
    when: datetime
    ident: UUID
    amount: Decimal
    colour: Colour
    tags: list[str]
    counts: dict[str, int]
    pair: tuple[int, str]
    address: Address
    maybe: str | None = None


class GetUser(FlextQuery):
    message_type = "users.GetUser"
    name: str


class UserRenamed(FlextDomainEvent):
    message_type = "users.UserRenamed"
    schema_version = 3
    first_name: str
    last_name: str


REGISTRY = MessageRegistry([Everything, GetUser, UserRenamed])

texts = st.text(max_size=20)
aware_datetimes = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)
everything = st.builds(
    Everything,
    text=texts,
    integer=st.integers(),
    ratio=st.floats(allow_nan=False),
    flag=st.booleans(),
    blob=st.binary(max_size=32),
    when=aware_datetimes,
    ident=st.uuids(),
    amount=st.decimals(
        allow_nan=False, allow_infinity=False, places=4, max_value=10**12, min_value=-(10**12)
    ),
    colour=st.sampled_from(Colour),
    tags=st.lists(texts, max_size=4),
    counts=st.dictionaries(texts, st.integers(), max_size=4),
    pair=st.tuples(st.integers(), texts),
    address=st.builds(Address, street=texts, number=st.none() | st.integers()),
    maybe=st.none() | texts,
)
events = st.builds(
    UserRenamed,
    aggregate_id=texts.filter(bool),
    version=st.integers(min_value=1, max_value=2**40),
    occurred_at=aware_datetimes,
    correlation_id=st.none() | texts,
    metadata=st.dictionaries(texts, st.none() | st.booleans() | st.integers() | texts, max_size=3),
    first_name=texts,
    last_name=texts,
)
messages = everything | events | st.builds(GetUser, name=texts)


# Envelopes.


def test_envelope_holds_type_version_and_json_mode_payload() -> None:
    event = UserRenamed(aggregate_id="u-1", first_name="Ada", last_name="Lovelace")
    envelope = to_envelope(event)
    assert envelope["type"] == "users.UserRenamed"
    assert envelope["schema_version"] == 3
    assert envelope["payload"]["event_id"] == str(event.event_id)
    assert envelope["payload"]["occurred_at"].endswith("Z")
    assert json.loads(to_json(event)) == envelope
    assert msgpack.unpackb(to_msgpack(event)) == envelope


def test_default_type_name_is_module_qualified() -> None:
    assert to_envelope(Everything.model_construct())["type"] == f"{__name__}.Everything"
    assert message_type_name(Everything) == f"{Everything.__module__}.Everything"


# Round trips.


@given(messages)
def test_json_round_trip(message: FlextMessage) -> None:
    decoded = REGISTRY.from_json(to_json(message))
    assert decoded == FlextResult.ok(message)
    assert type(decoded.value) is type(message)


@given(messages)
def test_msgpack_round_trip(message: FlextMessage) -> None:
    decoded = REGISTRY.from_msgpack(to_msgpack(message))
    assert decoded == FlextResult.ok(message)
    assert type(decoded.value) is type(message)


@given(messages)
def test_envelope_round_trip_and_bytes_input(message: FlextMessage) -> None:
    assert REGISTRY.from_envelope(to_envelope(message)).value == message
    assert REGISTRY.from_json(to_json(message).encode()).value == message


def test_integers_wider_than_64_bits_survive_msgpack() -> None:
    message = Everything.model_validate(
        {**_everything_fields(), "integer": -(2**200), "counts": {"a": 2**70}}
    )
    assert REGISTRY.from_msgpack(to_msgpack(message)).value == message


def test_infinite_floats_survive_both_formats() -> None:
    for value in (float("inf"), float("-inf")):
        message = Everything.model_validate({**_everything_fields(), "ratio": value})
        assert REGISTRY.from_json(to_json(message)).value.ratio == value  # type: ignore[attr-defined]
        assert REGISTRY.from_msgpack(to_msgpack(message)).value.ratio == value  # type: ignore[attr-defined]


def _everything_fields() -> dict[str, Any]:
    return {
        "text": "t",
        "integer": 1,
        "ratio": 0.5,
        "flag": True,
        "blob": b"\xff\x00",
        "when": datetime(2024, 1, 1, tzinfo=UTC),
        "ident": UUID(int=1),
        "amount": Decimal("1.5"),
        "colour": Colour.RED,
        "tags": [],
        "counts": {},
        "pair": (1, "a"),
        "address": {"street": "x"},
    }


# Failures on decode.


def test_unknown_type_is_an_unknown_message_type_failure() -> None:
    result = MessageRegistry().from_json(to_json(GetUser(name="a")))
    assert result.error_code == UNKNOWN_MESSAGE_TYPE
    assert "users.GetUser" in (result.error or "")
    assert result.error_data == {"type": "users.GetUser"}


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        ("[1, 2]", "expected an object, got list"),
        ('"text"', "expected an object"),
        ('{"type": "users.GetUser", "payload": {}}', "missing keys ['schema_version']"),
        ('{"type": "users.GetUser", "schema_version": 1, "payload": {}, "x": 1}', "unexpected keys ['x']"),
        ('{"type": 1, "schema_version": 1, "payload": {}}', "'type' must be"),
        ('{"type": "", "schema_version": 1, "payload": {}}', "'type' must be"),
        ('{"type": "users.GetUser", "schema_version": "1", "payload": {}}', "'schema_version' must be"),
        ('{"type": "users.GetUser", "schema_version": true, "payload": {}}', "'schema_version' must be"),
        ('{"type": "users.GetUser", "schema_version": 0, "payload": {}}', "'schema_version' must be"),
        ('{"type": "users.GetUser", "schema_version": 1, "payload": []}', "'payload' must be"),
        ('{"type": "users.GetUser", "schema_version": 1, "payload": {}}', "name: Field required"),
        ('{"type": "users.GetUser", "schema_version": 1, "payload": {"name": 1}}', "valid string"),
        ('{"type": "users.GetUser", "schema_version": 1, "payload": {"name": "a", "x": 1}}', "x: Extra"),
        ('{"type": "users.GetUser", "schema_version": 2, "payload": {"name": "a"}}', "newer"),
        ("[" * 100_000, "not valid JSON"),
    ],
)
def test_malformed_json_is_a_deserialization_error(data: str | bytes, fragment: str) -> None:
    result = REGISTRY.from_json(data)
    assert result.error_code == DESERIALIZATION_ERROR
    assert fragment in (result.error or "")


def test_field_errors_are_listed_without_input_values() -> None:
    payload = {"type": "users.GetUser", "schema_version": 1, "payload": {"name": ["secret-value"]}}
    result = REGISTRY.from_envelope(payload)
    assert result.error_data["errors"] == [
        {"loc": ["name"], "msg": "Input should be a valid string", "type": "string_type"}
    ]
    assert "secret-value" not in repr(result.error_data)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xc1",
        msgpack.packb([1, 2]),
        msgpack.packb({"type": "users.GetUser"}),
        msgpack.packb({b"type": "users.GetUser", "schema_version": 1, "payload": {}}),
        msgpack.packb({"type": "users.GetUser", "schema_version": 1, "payload": {"name": b"\xff"}}),
        msgpack.packb(
            {"type": "users.GetUser", "schema_version": 1, "payload": {"name": msgpack.ExtType(7, b"")}}
        ),
        msgpack.packb({"type": "users.GetUser", "schema_version": 1, "payload": {"name": "a"}}) + b"\x00",
        msgpack.packb({"type": "users.GetUser", "schema_version": 1, "payload": {1: "a"}}),
        msgpack.packb(
            {"type": "users.GetUser", "schema_version": 1, "payload": {"n": msgpack.ExtType(1, b"x")}}
        ),
        b"\x91" * 5000,
        "not bytes",
    ],
)
def test_malformed_msgpack_is_a_deserialization_error(data: bytes) -> None:
    result = REGISTRY.from_msgpack(data)
    assert result.is_failure
    assert result.error_code == DESERIALIZATION_ERROR


# Fuzzing: garbage never raises.


@given(st.binary(max_size=200))
def test_garbage_bytes_never_raise(data: bytes) -> None:
    for decode in (REGISTRY.from_json, REGISTRY.from_msgpack):
        result = decode(data)
        assert result.is_success or result.error_code in {DESERIALIZATION_ERROR, UNKNOWN_MESSAGE_TYPE}


@given(st.text(max_size=200))
def test_garbage_text_never_raises(data: str) -> None:
    result = REGISTRY.from_json(data)
    assert result.is_success or result.error_code in {DESERIALIZATION_ERROR, UNKNOWN_MESSAGE_TYPE}


# Integers within msgpack's 64 bits, so that the tests can pack envelopes with plain msgpack.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.sampled_from(["users.GetUser", "users.UserRenamed", f"{__name__}.Everything", "nope"]),
    st.integers(min_value=-1, max_value=4) | st.text(max_size=2),
    st.dictionaries(st.text(max_size=12), json_values, max_size=5) | json_values,
)
def test_fuzzed_envelopes_never_raise(name: str, version: object, payload: object) -> None:
    envelope = {"type": name, "schema_version": version, "payload": payload}
    for result in (
        REGISTRY.from_envelope(envelope),
        REGISTRY.from_json(json.dumps(envelope)),
        REGISTRY.from_msgpack(msgpack.packb(envelope)),
    ):
        assert result.is_success or result.error_code in {DESERIALIZATION_ERROR, UNKNOWN_MESSAGE_TYPE}


@given(messages, st.data())
def test_mangled_payloads_never_raise(message: FlextMessage, data: st.DataObject) -> None:
    envelope = to_envelope(message)
    payload = envelope["payload"]
    key = data.draw(st.sampled_from(sorted(payload)))
    payload[key] = data.draw(json_values)
    for result in (REGISTRY.from_envelope(envelope), REGISTRY.from_msgpack(_pack(envelope))):
        assert result.is_success or result.error_code == DESERIALIZATION_ERROR


def _pack(envelope: dict[str, Any]) -> bytes:
    # Like to_msgpack: integers wider than 64 bits as extension type 1.
    packed: bytes = msgpack.packb(envelope, default=lambda value: msgpack.ExtType(1, str(value).encode()))
    return packed


# Schema versions and upcasters.


def renamed_v1_envelope() -> dict[str, Any]:
    payload = to_envelope(UserRenamed(aggregate_id="u", first_name="Ada", last_name="Lovelace"))["payload"]
    del payload["first_name"], payload["last_name"]
    return {"type": "users.UserRenamed", "schema_version": 1, "payload": {**payload, "name": "Ada Lovelace"}}


def test_upcasters_bring_old_payloads_to_the_current_version() -> None:
    registry = MessageRegistry([UserRenamed])

    def split_name(payload: dict[str, Any]) -> dict[str, Any]:
        first, _, last = payload.pop("name").partition(" ")
        return {**payload, "first": first, "last": last}

    def rename_keys(payload: dict[str, Any]) -> dict[str, Any]:
        first, last = payload.pop("first"), payload.pop("last")
        return {**payload, "first_name": first, "last_name": last}

    registry.add_upcaster(UserRenamed, 1, split_name)
    registry.add_upcaster(UserRenamed, 2, rename_keys)
    event = registry.from_envelope(renamed_v1_envelope()).value
    assert isinstance(event, UserRenamed)
    assert (event.first_name, event.last_name) == ("Ada", "Lovelace")


def test_a_missing_upcaster_is_a_deserialization_error() -> None:
    registry = MessageRegistry([UserRenamed])
    registry.add_upcaster(UserRenamed, 1, lambda payload: payload)
    result = registry.from_envelope(renamed_v1_envelope())
    assert result.error_code == DESERIALIZATION_ERROR
    assert "no upcaster for users.UserRenamed from schema_version 2" in (result.error or "")


def test_upcaster_exceptions_propagate() -> None:
    registry = MessageRegistry([UserRenamed])

    def broken(payload: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("bug")

    registry.add_upcaster(UserRenamed, 1, broken)
    with pytest.raises(KeyError):
        registry.from_envelope(renamed_v1_envelope())


# The registry.


def test_register_is_idempotent_and_refuses_a_second_class_for_a_name() -> None:
    registry = MessageRegistry()
    assert registry.register(GetUser) is GetUser
    registry.register(GetUser)

    class Impostor(FlextQuery):
        message_type = "users.GetUser"

    with pytest.raises(FlextError, match="already registered"):
        registry.register(Impostor)
    with pytest.raises(FlextError, match="not a FlextMessage"):
        registry.register(dict)  # type: ignore[type-var]
    assert registry.names() == ["users.GetUser"]


def test_register_works_as_a_decorator_and_contains_checks_identity() -> None:
    registry = MessageRegistry()

    @registry.register
    class Ping(FlextCommand):
        message_type = "test.Ping"

    assert "test.Ping" in registry
    assert Ping in registry
    assert GetUser not in registry
    assert object() not in registry


def test_unregister_and_remove_owner_support_hot_reload() -> None:
    registry = MessageRegistry()
    registry.register(GetUser, owner="users")
    registry.register(UserRenamed, owner="users")
    registry.register(Everything, owner="other")
    registry.add_upcaster(UserRenamed, 1, lambda payload: payload)
    assert registry.remove_owner("users") == 2
    assert registry.names() == [f"{__name__}.Everything"]
    assert registry.from_envelope(renamed_v1_envelope()).error_code == UNKNOWN_MESSAGE_TYPE

    class ReloadedGetUser(FlextQuery):
        message_type = "users.GetUser"
        name: str

    registry.register(ReloadedGetUser, owner="users")
    assert isinstance(registry.from_json(to_json(GetUser(name="a"))).value, ReloadedGetUser)
    assert registry.unregister("users.GetUser") is True
    assert registry.unregister(ReloadedGetUser) is False
