"""The typed messages that travel over the buses: commands, queries and domain events.

Messages are the contracts between plugins, so they are pydantic v2 models:
validated when built, immutable afterwards (``frozen=True``) and strict about
their shape (``extra="forbid"``, so a misspelt field is an error, not a silently
ignored keyword). Three kinds exist because they are handled differently:

* a ``FlextCommand`` asks for a change and has exactly one handler;
* a ``FlextQuery`` asks for data, changes nothing, and has exactly one handler;
* a ``FlextDomainEvent`` records a fact that happened and has any number of
  subscribers; it carries the identity and ordering fields the event store needs.

Every message class has a stable *type name* used by serialization
(``message_type_name``) and a ``schema_version`` that says which shape of the
payload the class expects.
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime, timezone
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
    """Base of every message: a frozen pydantic model with a stable type name.

    Set the class variable ``message_type`` to give a class a type name that
    survives moving or renaming it (serialized messages and stored events keep
    the name); without it the name is ``module.QualifiedName``. Raise
    ``schema_version`` when the payload's shape changes incompatibly, and
    register an upcaster for the old version (see ``flext_kernel.serialization``).

    The config below is inherited by every message:

    * ``frozen`` and ``extra="forbid"``: messages are values, and typos fail loudly.
    * ``revalidate_instances="always"``: validating a message instance (as
      ``ValidationBehavior`` does) really checks its fields, which catches
      instances built with ``model_construct`` or mutated behind pydantic's back.
    * base64 bytes and ``Infinity``/``NaN`` floats in JSON, so that every
      message survives a JSON or msgpack round trip unchanged.
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
    """Stable type name for serialization; None means ``module.QualifiedName``."""
    schema_version: ClassVar[int] = 1
    """Version of this class's payload shape; written into every envelope."""


class FlextCommand(FlextMessage):
    """A request to change state; the command bus routes it to exactly one handler."""


class FlextQuery(FlextMessage):
    """A request for data that changes nothing; the query bus routes it to exactly one handler."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


_FIXED_OFFSETS: Final = (timezone, TzInfo)
"""tzinfo classes of one fixed offset (pydantic decodes ``Z`` and ``+00:00`` to a ``TzInfo``)."""


def _in_utc(value: datetime) -> datetime:
    """``value`` if its time zone is a fixed zero offset (UTC by another name), else converted to UTC.

    A zone with rules (``ZoneInfo("Europe/London")`` in winter) is converted
    even at a zero offset: datetime arithmetic follows its rules, not UTC's.
    """
    zone = value.tzinfo
    if zone is UTC or (type(zone) in _FIXED_OFFSETS and not value.utcoffset()):
        return value
    return value.astimezone(UTC)


def _uuid_as_text(value: Any) -> Any:
    return str(value) if isinstance(value, UUID) else value


# Decoding an event from JSON (every event read from a store) is the hot path of reads and
# projections, and a Python validator costs about a third of decoding one. So the two fields with
# one keep it for Python input only; for JSON input pydantic-core does the same work by itself.


class _InUtc:
    """``occurred_at``: an aware datetime in UTC; Python input goes through ``_in_utc``.

    JSON input is parsed as an aware datetime (a naive one fails exactly as
    before), then kept if its offset is zero, which pydantic-core checks
    without calling Python; only another offset is converted by ``_in_utc``.
    """

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

    Event ids are sortable by creation time, so a store's unique index on them
    grows at its end instead of at random places; that makes appends several
    times cheaper than with random (version 4) ids, in SQLite and PostgreSQL alike.
    The random bits come from a generator seeded from ``os.urandom`` (and
    reseeded in forked children): ids are unique, not secret.
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

    The fields beyond the payload are what an event store needs to append,
    order and trace events. Events hash by ``event_id`` (their identity), so
    they can live in sets even though ``metadata`` is a dict.
    """

    event_id: UUID = Field(default_factory=new_event_id)
    """Unique identity of this event; new ones are time-ordered (UUID version 7, see ``new_event_id``)."""
    occurred_at: Annotated[AwareDatetime, _InUtc] = Field(default_factory=_utc_now)
    """When it happened; always timezone-aware and in UTC (a fixed zero offset: ``UTC`` itself, or the
    equal ``TzInfo(0)`` pydantic decodes stored events' ``Z`` to, which is kept as it is)."""
    aggregate_id: Annotated[str, Field(min_length=1), _TextOrUuid]
    """Identity of the aggregate (stream) the event belongs to; UUIDs are accepted and stored as text."""
    aggregate_type: str | None = None
    """Kind of aggregate, e.g. ``"Pipeline"``; None when the producer does not say."""
    version: int = Field(default=1, ge=1)
    """Position of the event in its aggregate's stream, starting at 1."""
    correlation_id: str | None = None
    """Identity shared by everything caused by one user request."""
    causation_id: str | None = None
    """Identity of the message (command or event) that directly caused this one."""
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    """Free-form JSON-compatible details (actor, host, plugin, ...)."""

    def __hash__(self) -> int:
        return hash((type(self), self.event_id))


def message_type_name(message_class: type[FlextMessage]) -> str:
    """Return the stable type name of a message class.

    The name is the class's own ``message_type`` if it sets one (an inherited
    one does not count, so two classes never share a name by accident), else
    ``module.QualifiedName``.
    """
    own = message_class.__dict__.get("message_type")
    if isinstance(own, str) and own:
        return own
    return f"{message_class.__module__}.{message_class.__qualname__}"


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Return pydantic's errors as ``{"loc": [...], "msg": ..., "type": ...}`` dicts.

    Input values are left out on purpose: they may be secrets, and these
    errors end up in results, logs and CLI output.
    """
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    return [{"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]} for error in errors]


def summarize_errors(errors: list[dict[str, Any]]) -> str:
    """Join field errors into one line: ``"quantity: Input should be greater than 0; ..."``."""
    return "; ".join(f"{'.'.join(map(str, error['loc'])) or '<root>'}: {error['msg']}" for error in errors)
