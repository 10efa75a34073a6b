"""JSON schema types to Oracle column types: what each Singer property becomes in ``CREATE TABLE``.

Oracle has no unbounded string, no boolean before 23ai and no separate JSON
column before 21c, so the generic SQL target's mapping (VARCHAR, BOOLEAN,
DECIMAL with a default scale) does not fit:

- ``number``: ``NUMBER`` with neither precision nor scale, Oracle's exact
  decimal of up to 38 digits (a source decimal keeps every digit; a
  DECIMAL(p, s) would round it to ``s`` places);
- ``integer``: ``NUMBER(38, 0)``;
- ``string`` with ``format: date-time``: ``TIMESTAMP WITH TIME ZONE`` (the
  offset is kept); ``date``: ``DATE``;
- ``string`` with ``maxLength`` up to 1,000: ``VARCHAR2(n CHAR)`` (1,000
  four-byte characters fit the 4,000-byte limit of a standard
  ``MAX_STRING_SIZE``); longer or unbounded strings: ``CLOB``, except in a key,
  which cannot be a LOB: ``VARCHAR2(1000 CHAR)``;
- ``boolean``: ``NUMBER(1, 0)`` (0 or 1), which every supported release has;
- ``object``, ``array``, anything else: ``CLOB`` holding the JSON text.

A nullable union (``["number", "null"]``) is its non-null type; a union of
several types is a ``CLOB`` (the value's JSON).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import oracle

__all__ = ["KEY_STRING_LENGTH", "MAX_VARCHAR_CHARS", "Kind", "kind_of", "sql_type"]

MAX_VARCHAR_CHARS: Final = 1000
"""The longest ``maxLength`` that is a ``VARCHAR2(n CHAR)``; longer strings are ``CLOB``."""
KEY_STRING_LENGTH: Final = 1000
"""The ``VARCHAR2`` length of a string key without a (short enough) ``maxLength``."""


class Kind:
    """What a property's values are bound as (``sink.bind_value``)."""

    INTEGER: Final = "integer"
    NUMBER: Final = "number"
    BOOLEAN: Final = "boolean"
    DATETIME: Final = "date-time"
    DATE: Final = "date"
    STRING: Final = "string"
    JSON: Final = "json"


def kind_of(schema: Mapping[str, Any]) -> str:
    """The ``Kind`` of a property's JSON schema."""
    types = schema.get("type", [])
    named = [types] if isinstance(types, str) else [t for t in types if t != "null"]
    if not named and "anyOf" in schema:
        kinds = {kind_of(option) for option in schema["anyOf"] if option.get("type") != "null"}
        return kinds.pop() if len(kinds) == 1 else Kind.JSON
    if len(named) != 1:
        return Kind.JSON
    json_type = named[0]
    if json_type == "string":
        fmt = schema.get("format")
        if fmt == "date-time":
            return Kind.DATETIME
        if fmt == "date":
            return Kind.DATE
        return Kind.STRING
    return {
        "integer": Kind.INTEGER,
        "number": Kind.NUMBER,
        "boolean": Kind.BOOLEAN,
    }.get(json_type, Kind.JSON)


def sql_type(schema: Mapping[str, Any], *, key: bool = False) -> sa.types.TypeEngine[Any]:
    """The Oracle column type of a property (``key``: it is part of the primary key)."""
    kind = kind_of(schema)
    if kind == Kind.INTEGER:
        return oracle.NUMBER(38, 0)  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it untyped
    if kind == Kind.NUMBER:
        return oracle.NUMBER(asdecimal=True)  # type: ignore[no-untyped-call]
    if kind == Kind.BOOLEAN:
        return oracle.NUMBER(1, 0)  # type: ignore[no-untyped-call]
    if kind == Kind.DATETIME:
        return sa.TIMESTAMP(timezone=True)
    if kind == Kind.DATE:
        return sa.Date()
    if kind == Kind.STRING:
        length = schema.get("maxLength")
        if isinstance(length, int) and 0 < length <= MAX_VARCHAR_CHARS:
            return oracle.VARCHAR2(length)
        return oracle.VARCHAR2(KEY_STRING_LENGTH) if key else oracle.CLOB()
    return oracle.VARCHAR2(KEY_STRING_LENGTH) if key else oracle.CLOB()
