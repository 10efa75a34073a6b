"""Messages: frozen strict models, event fields and defaults, stable type names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel, SecretStr, ValidationError

from flext_kernel.messages import (
    FlextCommand,
    FlextDomainEvent,
    FlextMessage,
    FlextQuery,
    field_errors,
    message_type_name,
    summarize_errors,
)


class RenameUser(FlextCommand):
    uid: str
    new_name: str


class GetUser(FlextQuery):
    uid: str


class UserRenamed(FlextDomainEvent):
    new_name: str


class NamedEvent(FlextDomainEvent):
    message_type = "users.NamedEvent"
    schema_version = 3


class ChildOfNamed(NamedEvent):
    pass


class Login(FlextCommand):
    user: str
    password: SecretStr


def test_commands_and_queries_are_messages() -> None:
    assert issubclass(FlextCommand, FlextMessage)
    assert issubclass(FlextQuery, FlextMessage)
    assert issubclass(FlextDomainEvent, FlextMessage)
    assert issubclass(FlextMessage, BaseModel)


def test_messages_are_frozen() -> None:
    command = RenameUser(uid="ada", new_name="Ada")
    with pytest.raises(ValidationError):
        command.uid = "bob"


def test_messages_reject_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="extra"):
        RenameUser(uid="ada", new_name="Ada", typo=1)  # type: ignore[call-arg]


def test_equal_messages_are_equal_and_hash_alike() -> None:
    assert RenameUser(uid="a", new_name="b") == RenameUser(uid="a", new_name="b")
    assert hash(GetUser(uid="a")) == hash(GetUser(uid="a"))


def test_event_defaults() -> None:
    before = datetime.now(UTC)
    event = UserRenamed(aggregate_id="user-1", new_name="Ada")
    assert isinstance(event.event_id, UUID)
    assert before <= event.occurred_at <= datetime.now(UTC)
    assert event.occurred_at.tzinfo is UTC
    assert event.version == 1
    assert event.aggregate_type is None
    assert event.correlation_id is None
    assert event.causation_id is None
    assert event.metadata == {}
    assert event.schema_version == 1
    assert UserRenamed(aggregate_id="user-1", new_name="Ada").event_id != event.event_id


def test_event_occurred_at_must_be_aware_and_is_normalised_to_utc() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        UserRenamed(aggregate_id="u", new_name="x", occurred_at=datetime(2024, 1, 1))
    paris = timezone(timedelta(hours=2))
    event = UserRenamed(aggregate_id="u", new_name="x", occurred_at=datetime(2024, 1, 1, 12, tzinfo=paris))
    assert event.occurred_at == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert event.occurred_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "zone",
    [timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30)), ZoneInfo("Europe/London")],
)
def test_an_aware_occurred_at_is_converted_to_utc_unless_it_is_a_fixed_zero_offset(zone: tzinfo) -> None:
    """Another offset, or a zone with rules even at a zero offset (London in winter), becomes UTC itself."""
    moment = datetime(2024, 1, 15, 12, tzinfo=zone)
    event = UserRenamed(aggregate_id="u", new_name="x", occurred_at=moment)
    assert event.occurred_at == moment
    assert event.occurred_at.tzinfo is UTC
    decoded = UserRenamed.model_validate_json(
        f'{{"aggregate_id": "u", "new_name": "x", "occurred_at": "{moment.isoformat()}"}}'
    )
    assert decoded.occurred_at == moment
    assert decoded.occurred_at.utcoffset() == timedelta(0), "JSON with another offset is converted too"


@pytest.mark.parametrize("stamp", ["2024-01-15T12:00:00Z", "2024-01-15T12:00:00+00:00", "1705320000"])
def test_a_decoded_utc_occurred_at_is_kept_as_a_fixed_zero_offset(stamp: str) -> None:
    """What stores hold (``Z``) decodes without conversion: equal to UTC, and behaving as UTC."""
    value = stamp if stamp.isdigit() else f'"{stamp}"'
    event = UserRenamed.model_validate_json(
        f'{{"aggregate_id": "u", "new_name": "x", "occurred_at": {value}}}'
    )
    assert event.occurred_at == datetime(2024, 1, 15, 12, tzinfo=UTC)
    assert event.occurred_at.utcoffset() == timedelta(0)
    assert event.occurred_at.tzinfo == UTC
    assert (event.occurred_at + timedelta(days=180)).utcoffset() == timedelta(0), "a fixed offset, no rules"
    assert event == event.model_copy(update={"occurred_at": datetime(2024, 1, 15, 12, tzinfo=UTC)})
    assert '"occurred_at":"2024-01-15T12:00:00Z"' in event.model_dump_json()


def test_a_naive_occurred_at_is_refused_from_json_and_python_alike() -> None:
    """A naive time is refused with pydantic's one ``timezone_aware`` error, whichever way it comes."""
    with pytest.raises(ValidationError) as from_json:
        UserRenamed.model_validate_json(
            '{"aggregate_id": "u", "new_name": "x", "occurred_at": "2024-01-01T12:00:00"}'
        )
    with pytest.raises(ValidationError) as from_python:
        UserRenamed(aggregate_id="u", new_name="x", occurred_at=datetime(2024, 1, 1, 12))
    for raised in (from_json, from_python):
        assert field_errors(raised.value) == [
            {"loc": ["occurred_at"], "msg": "Input should have timezone info", "type": "timezone_aware"}
        ]


def test_event_fields_keep_their_json_schema() -> None:
    """The validation that skips Python for JSON input leaves the published schema as it was."""
    properties = UserRenamed.model_json_schema()["properties"]
    assert properties["occurred_at"] == {"format": "date-time", "title": "Occurred At", "type": "string"}
    assert properties["aggregate_id"] == {"minLength": 1, "title": "Aggregate Id", "type": "string"}


def test_a_json_aggregate_id_must_be_text() -> None:
    with pytest.raises(ValidationError, match="aggregate_id"):
        UserRenamed.model_validate_json('{"aggregate_id": 5, "new_name": "x"}')
    with pytest.raises(ValidationError, match="at least 1 character"):
        UserRenamed.model_validate_json('{"aggregate_id": "", "new_name": "x"}')


def test_event_accepts_uuid_aggregate_id_as_text() -> None:
    uid = uuid4()
    assert UserRenamed(aggregate_id=uid, new_name="x").aggregate_id == str(uid)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fields",
    [
        {"new_name": "x"},
        {"aggregate_id": "", "new_name": "x"},
        {"aggregate_id": "u", "new_name": "x", "version": 0},
        {"aggregate_id": "u", "new_name": "x", "metadata": {"k": object()}},
    ],
)
def test_event_field_rules(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        UserRenamed(**fields)  # type: ignore[arg-type]


def test_event_carries_tracing_fields_and_metadata() -> None:
    event = UserRenamed(
        aggregate_id="u",
        aggregate_type="User",
        version=7,
        correlation_id="req-1",
        causation_id="cmd-1",
        metadata={"actor": "ada", "tags": ["a", 1, None]},
        new_name="x",
    )
    assert (event.aggregate_type, event.version, event.correlation_id) == ("User", 7, "req-1")
    assert event.causation_id == "cmd-1"
    assert event.metadata == {"actor": "ada", "tags": ["a", 1, None]}


def test_events_hash_by_identity_despite_dict_metadata() -> None:
    event = UserRenamed(aggregate_id="u", new_name="x", metadata={"a": 1})
    same = event.model_copy()
    assert {event, same} == {event}


def test_schema_version_is_a_class_setting_overridable_per_class() -> None:
    assert FlextDomainEvent.schema_version == 1
    assert NamedEvent.schema_version == 3
    assert NamedEvent(aggregate_id="u").schema_version == 3
    assert "schema_version" not in NamedEvent.model_fields


def test_type_name_defaults_to_module_qualified_name() -> None:
    assert message_type_name(RenameUser) == f"{RenameUser.__module__}.RenameUser"


def test_type_name_override_is_not_inherited() -> None:
    assert message_type_name(NamedEvent) == "users.NamedEvent"
    assert message_type_name(ChildOfNamed) == f"{ChildOfNamed.__module__}.ChildOfNamed"
    assert ChildOfNamed.schema_version == 3


def test_field_errors_leave_input_values_out() -> None:
    with pytest.raises(ValidationError) as caught:
        Login(user=1, password=2)  # type: ignore[arg-type]
    errors = field_errors(caught.value)
    assert [error["loc"] for error in errors] == [["user"], ["password"]]
    assert all(set(error) == {"loc", "msg", "type"} for error in errors)
    assert "user: Input should be a valid string" in summarize_errors(errors)


def test_secret_fields_are_masked_in_repr() -> None:
    login = Login(user="ada", password=SecretStr("hunter2"))
    assert "hunter2" not in repr(login)
    assert login.password.get_secret_value() == "hunter2"
