"""An entity's JSON schema from the LGF API's describe answer, so no entity's fields are hard-coded.

``GET .../entity/{entity}/describe/`` answers ``{"parameters": [...],
"fields": {...}}`` where each field has a ``type`` (docs/plugins/tap-oracle-wms.md
says which spellings are read, and what is assumed). Types become JSON
schema the way a SQL target keeps them: decimals stay ``number`` (the tap
reads them as ``Decimal`` and writes them digit for digit), date-times are
``date-time`` strings with an offset (UTC, ``timestamps``), ids are
integers, and a related object (a foreign key, answered as ``{id, key,
url}``) is an object with those three properties.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from tap_oracle_wms.errors import WmsError

__all__ = ["KEY", "REPLICATION_KEY", "EntitySchema", "entity_schema", "json_type"]

KEY: Final = "id"
"""Every LGF API entity's primary key."""
REPLICATION_KEY: Final = "mod_ts"
"""The last-modified timestamp the incremental streams filter on (``mod_ts__gte``)."""

_INTEGER: Final = frozenset(
    {"integer", "int", "long", "auto", "bigauto", "smallauto", "biginteger", "smallinteger",
     "positiveinteger", "positivesmallinteger", "positivebiginteger"}
)  # fmt: skip
_NUMBER: Final = frozenset({"decimal", "number", "numeric", "float", "double"})
_DATETIME: Final = frozenset({"datetime", "date-time", "timestamp", "timestamptz"})
_DATE: Final = frozenset({"date"})
_BOOLEAN: Final = frozenset({"boolean", "bool", "nullboolean"})
_RELATION: Final = frozenset({"foreignkey", "onetoone", "relation", "related"})
_STRING: Final = frozenset(
    {"string", "str", "char", "text", "email", "url", "slug", "uuid", "json", "time", "genericipaddress"}
)
_SUFFIX: Final = re.compile(r"(field|type)$")


@dataclass(frozen=True, slots=True)
class EntitySchema:
    """What discovery knows about one entity."""

    schema: dict[str, Any]
    """The stream's JSON schema."""
    key_properties: tuple[str, ...]
    """``("id",)`` when the entity has an ``id`` field, else empty."""
    replication_key: str | None
    """``mod_ts`` when the entity has it as a date-time, else None (the stream is full-table)."""
    unknown_types: dict[str, str] = field(default_factory=dict)
    """Fields whose type the tap does not know, by name: typed as strings (logged at discovery)."""


def json_type(type_name: str) -> dict[str, Any] | None:
    """The nullable JSON schema for a describe type, or None when the type is not one the tap knows."""
    name = _SUFFIX.sub("", type_name.strip().lower().replace("_", "")) or type_name.lower()
    if name in _INTEGER:
        return {"type": ["integer", "null"]}
    if name in _NUMBER:
        return {"type": ["number", "null"]}
    if name in _DATETIME:
        return {"type": ["string", "null"], "format": "date-time"}
    if name in _DATE:
        return {"type": ["string", "null"], "format": "date"}
    if name in _BOOLEAN:
        return {"type": ["boolean", "null"]}
    if name in _RELATION:
        return {
            "type": ["object", "null"],
            "properties": {
                "id": {"type": ["integer", "null"]},
                "key": {"type": ["string", "null"]},
                "url": {"type": ["string", "null"]},
            },
        }
    if name in _STRING:
        return {"type": ["string", "null"]}
    return None


def entity_schema(entity: str, describe: object) -> EntitySchema:
    """The schema of ``entity`` from its describe answer.

    Raises:
        WmsError: the answer has no field definitions, or a field without a type.

    """
    fields = _fields(entity, describe)
    properties: dict[str, Any] = {}
    unknown: dict[str, str] = {}
    for name, definition in fields.items():
        type_name = definition.get("type")
        if not isinstance(type_name, str) or not type_name:
            raise WmsError(entity, f"the describe answer gives field {name!r} no type")
        prop = json_type(type_name)
        if prop is None:
            unknown[name] = type_name
            prop = {"type": ["string", "null"]}
        max_length = definition.get("max_length")
        if prop["type"][0] == "string" and "format" not in prop and _positive_int(max_length):
            prop = {**prop, "maxLength": max_length}
        properties[name] = prop
    if KEY in properties:
        properties[KEY] = {"type": ["integer"]}
    replication_key = (
        REPLICATION_KEY if properties.get(REPLICATION_KEY, {}).get("format") == "date-time" else None
    )
    schema = {"type": "object", "properties": properties}
    keys = (KEY,) if KEY in properties else ()
    return EntitySchema(schema, keys, replication_key, unknown)


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _fields(entity: str, describe: object) -> dict[str, Mapping[str, Any]]:
    """``{name: definition}`` from ``fields`` given as a mapping or as a list of ``{name, type, ...}``."""
    raw = describe.get("fields") if isinstance(describe, Mapping) else None
    found: dict[str, Mapping[str, Any]] = {}
    if isinstance(raw, Mapping):
        for name, definition in raw.items():
            if isinstance(name, str) and isinstance(definition, Mapping):
                found[name] = definition
            elif isinstance(name, str) and isinstance(definition, str):
                found[name] = {"type": definition}  # the short form, {name: type}
    elif isinstance(raw, list):
        for definition in raw:
            if isinstance(definition, Mapping) and isinstance(definition.get("name"), str):
                found[definition["name"]] = definition
    if not found:
        raise WmsError(
            entity,
            "the describe answer has no field definitions ('fields'): check that the entity name is "
            "an LGF API v10 entity and that the user may read it",
        )
    return found
