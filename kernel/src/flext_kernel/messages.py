"""The typed messages that travel over the buses: commands, queries and domain events.

Messages are the contracts between plugins: pydantic v2 models, validated when
built, then immutable. See docs/kernel/messages.md.
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime, timezone
from functools import partial
from typing import Annotated, Any, ClassVar, Final
from uuid import UUID, SafeUUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    JsonValue,
    ValidationError,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, TzInfo, core_schema

from flext_kernel.correlation import current_causation_id, current_correlation_id

__all__ = [
    "FlextCommand",
    "FlextDomainEvent",
    "FlextMessage",
    "FlextQuery",
    "field_errors",
    "message_type_name",
    "new_event_id",
    "summarize_errors",
]


class FlextMessage(BaseModel):
    """Base of every message: a frozen, strict pydantic model with a stable type name.

    Its config (why each setting: docs/kernel/messages.md) is inherited by every message.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        revalidate_instances="always",
        ser_json_bytes="base64",
        val_json_bytes="base64",
        ser_json_inf_nan="constants",
    )

    message_type: ClassVar[str | None] = None
    """Type name that survives moving or renaming the class; None means ``module.QualifiedName``."""
    schema_version: ClassVar[int] = 1
    """Version of this class's payload shape; raise it (and add an upcaster) when the shape changes."""


class FlextCommand(FlextMessage):
    """A request to change state; the command bus routes it to exactly one handler."""


class FlextQuery(FlextMessage):
    """A request for data that changes nothing; the query bus routes it to exactly one handler."""


_FIXED_OFFSETS: Final = (timezone, TzInfo)
"""tzinfo classes of one fixed offset (pydantic decodes ``Z`` and ``+00:00`` to a ``TzInfo``)."""


def _in_utc(value: datetime) -> datetime:
    """``value`` if its zone is a fixed zero offset, else converted to UTC (a zone with rules always is)."""
    zone = value.tzinfo
    if zone is UTC or (type(zone) in _FIXED_OFFSETS and not value.utcoffset()):
        return value
    return value.astimezone(UTC)


def _uuid_as_text(value: Any) -> Any:
    return str(value) if isinstance(value, UUID) else value


# Decoding an event from JSON is the hot path of reads and projections, and a Python validator
# costs a third of it: these two fields use theirs for Python input only (docs/kernel/messages.md).


class _InUtc:
    """``occurred_at``: an aware datetime in UTC; JSON input with a zero offset never calls Python."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        aware = handler(source)
        zero_or_converted = core_schema.union_schema(
            [
                core_schema.datetime_schema(tz_constraint=0),
                core_schema.no_info_after_validator_function(_in_utc, core_schema.any_schema()),
            ],
            mode="left_to_right",
        )
        return core_schema.json_or_python_schema(
            json_schema=core_schema.chain_schema([aware, zero_or_converted]),
            python_schema=core_schema.no_info_after_validator_function(_in_utc, aware),
            # Always a datetime once validated: serialize it as one, not through the union above.
            serialization=core_schema.simple_ser_schema("datetime"),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(core_schema.datetime_schema(tz_constraint="aware"))  # a date-time string, as before


class _TextOrUuid:
    """``aggregate_id``: text; Python input may be a UUID (stored as its text), JSON input is text."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        text = handler(source)
        return core_schema.json_or_python_schema(
            json_schema=text,
            python_schema=core_schema.no_info_before_validator_function(_uuid_as_text, text),
        )


_random = random.Random(os.urandom(32))
if hasattr(os, "register_at_fork"):  # POSIX: a forked child must not repeat its parent's ids
    os.register_at_fork(after_in_child=lambda: _random.seed(os.urandom(32)))
_UUID7_VERSION_AND_VARIANT = (0x7 << 76) | (0b10 << 62)
_RANDOM_LOW_MASK = (1 << 62) - 1
_SAFE_UNKNOWN = SafeUUID.unknown  # read once: enum member access goes through a descriptor


def new_event_id() -> UUID:
    """Return a new time-ordered UUID (version 7: a millisecond timestamp, then 74 random bits).

    Unique, not secret; why time-ordered: docs/kernel/messages.md.
    """
    randomness = _random.getrandbits(74)
    value = (
        (time.time_ns() // 1_000_000) << 80
        | _UUID7_VERSION_AND_VARIANT
        | (randomness >> 62) << 64  # 12 bits between the version nibble and the variant
        | randomness & _RANDOM_LOW_MASK  # 62 bits after the variant
    )
    # UUID(int=...) re-checks what is built correctly here; this is the hot path of every new event.
    uuid = object.__new__(UUID)
    object.__setattr__(uuid, "int", value)
    object.__setattr__(uuid, "is_safe", _SAFE_UNKNOWN)
    return uuid


class FlextDomainEvent(FlextMessage):
    """A fact that happened to an aggregate; the event bus delivers it to every subscriber.

    Carries what an event store needs to append, order and trace it; hashes by ``event_id``.
    """

    event_id: UUID = Field(default_factory=new_event_id)
    """Unique identity of this event; new ones are time-ordered (UUID version 7, see ``new_event_id``)."""
    occurred_at: Annotated[AwareDatetime, _InUtc] = Field(default_factory=partial(datetime.now, UTC))
    """When it happened; always aware, at a zero offset (``UTC``, or the ``TzInfo(0)`` decoded from ``Z``)."""
    aggregate_id: Annotated[str, Field(min_length=1), _TextOrUuid]
    """Identity of the aggregate (stream) the event belongs to; UUIDs are accepted and stored as text."""
    aggregate_type: str | None = None
    """Kind of aggregate, e.g. ``"Pipeline"``; None when the producer does not say."""
    version: int = Field(default=1, ge=1)
    """Position of the event in its aggregate's stream, starting at 1."""
    correlation_id: str | None = Field(default_factory=current_correlation_id)
    """Identity shared by everything caused by one user action; default: the one in force when built."""
    causation_id: str | None = Field(default_factory=current_causation_id)
    """Identity of the message that directly caused this one; default: a ``causation_scope``'s, if any."""
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    """Free-form JSON-compatible details (actor, host, plugin, ...)."""

    def __hash__(self) -> int:
        return hash((type(self), self.event_id))


def message_type_name(message_class: type[FlextMessage]) -> str:
    """Return the class's own ``message_type`` (not an inherited one), else ``module.QualifiedName``."""
    own = message_class.__dict__.get("message_type")
    if isinstance(own, str) and own:
        return own
    return f"{message_class.__module__}.{message_class.__qualname__}"


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Return pydantic's errors as ``{"loc": [...], "msg": ..., "type": ...}`` dicts, without the inputs.

    Inputs may be secrets, and these errors end up in results, logs and CLI output.
    """
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    return [{"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]} for error in errors]


def summarize_errors(errors: list[dict[str, Any]]) -> str:
    """Join field errors into one line: ``"quantity: Input should be greater than 0; ..."``."""
    return "; ".join(f"{'.'.join(map(str, error['loc'])) or '<root>'}: {error['msg']}" for error in errors)
