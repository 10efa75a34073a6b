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
from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID, SafeUUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, ValidationError, field_validator

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
    occurred_at: AwareDatetime = Field(default_factory=_utc_now)
    """When it happened; always timezone-aware and normalised to UTC."""
    aggregate_id: str = Field(min_length=1)
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

    @field_validator("aggregate_id", mode="before")
    @classmethod
    def _aggregate_id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, UUID) else value

    @field_validator("occurred_at")
    @classmethod
    def _occurred_at_in_utc(cls, value: datetime) -> datetime:
        return value if value.tzinfo is UTC else value.astimezone(UTC)

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
