"""From a stream's SCHEMA to its table: safe names, column types, and the SQL that creates and writes it.

Pure functions of the schema, so they are tested without a database. The
mapping of JSON-schema types to SQLite (``STRICT`` tables):

=========================================  =========  ===========================
JSON schema ``type`` (``null`` aside)       column     value stored
=========================================  =========  ===========================
``string`` (any ``format``)                 TEXT       the string as sent
``integer``                                 INTEGER    64-bit integer
``number``                                  REAL       8-byte float
``integer`` and ``number``                  REAL       8-byte float
``boolean``                                 INTEGER    1 or 0
``object``, ``array``, or either in         TEXT       compact JSON text
``anyOf``/``oneOf``; no type at all
other mixes of scalars                      ANY        the value as sent
=========================================  =========  ===========================
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from flext_plugin_sqlite.errors import SchemaError

__all__ = ["Column", "Kind", "TablePlan", "column_kind", "identifier", "plan_table", "quote"]

Kind = Literal["integer", "number", "boolean", "string", "json", "any"]
"""How a property's values are stored."""

_DECLARED: Final[dict[Kind, str]] = {
    "integer": "INTEGER",
    "number": "REAL",
    "boolean": "INTEGER",
    "string": "TEXT",
    "json": "TEXT",
    "any": "ANY",
}
_SCALARS: Final[dict[str, Kind]] = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
}
_JSON_TYPES: Final = {str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null"}
_UNSAFE = re.compile(r"[^A-Za-z0-9_]+")


def identifier(text: str) -> str:
    """``text`` as a plain SQL identifier (``ou=people`` -> ``ou_people``).

    Runs of characters other than ASCII letters, digits and ``_`` become one
    ``_``, and a leading digit gets a ``_`` in front.
    """
    name = _UNSAFE.sub("_", text) or "_"
    return f"_{name}" if name[0].isdigit() else name


def quote(name: str) -> str:
    """``name`` as a quoted SQL identifier (``order`` -> ``"order"``)."""
    return '"' + name.replace('"', '""') + '"'


def _types(schema: object) -> set[str] | None:
    """The JSON types a property schema allows; None when it allows anything (no type, ``{}``, ``true``)."""
    if not isinstance(schema, Mapping):
        return None
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return {str(item) for item in declared}
    branches = [*schema.get("anyOf", ()), *schema.get("oneOf", ())]
    if branches:
        found: set[str] = set()
        for branch in branches:
            allowed = _types(branch)
            if allowed is None:
                return None
            found |= allowed
        return found
    if "properties" in schema:
        return {"object"}
    if "items" in schema:
        return {"array"}
    values = schema["enum"] if isinstance(schema.get("enum"), list) else None
    if "const" in schema:
        values = [schema["const"]]
    if values:
        return {_JSON_TYPES.get(type(value), "object") for value in values}
    return None


def column_kind(schema: object) -> Kind:
    """How values of a property with this schema are stored (see the module's table)."""
    types = _types(schema)
    if types is None or types & {"object", "array"}:
        return "json"
    types.discard("null")
    if not types:
        return "any"
    if len(types) == 1:
        return _SCALARS.get(types.pop(), "json")
    if types <= {"integer", "number"}:
        return "number"
    return "any"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a stream's table."""

    source: str
    """The property's name in the records."""
    name: str
    """The column's name (``identifier(source)``)."""
    kind: Kind
    """How values are stored."""
    key: bool = False
    """Part of the primary key (the stream's key properties): NOT NULL, upserted on."""

    def declaration(self, *, strict: bool = True) -> str:
        """The column's definition in CREATE TABLE or ALTER TABLE ADD COLUMN.

        Args:
            strict: The table is ``STRICT``; in other tables ``ANY`` would mean NUMERIC affinity,
                so a mixed column is declared without a type instead.

        """
        declared = _DECLARED[self.kind]
        if self.key and declared == "INTEGER":
            declared = "INT"  # INTEGER would make a one-column key the rowid, and a NULL key a new rowid
        elif declared == "ANY" and not strict:
            declared = ""
        return " ".join(part for part in (quote(self.name), declared, "NOT NULL" if self.key else "") if part)


@dataclass(frozen=True, slots=True)
class TablePlan:
    """What a stream's SCHEMA says its table is."""

    stream: str
    """The stream's name."""
    name: str
    """The table's name."""
    columns: tuple[Column, ...]
    """One per schema property, in the schema's order."""
    keys: tuple[str, ...]
    """The primary key's column names, in key-property order; empty for an append-only stream."""

    def create_statement(self) -> str:
        """``CREATE TABLE`` for a table that does not exist yet."""
        parts = [column.declaration() for column in self.columns]
        if self.keys:
            parts.append(f"PRIMARY KEY ({', '.join(quote(key) for key in self.keys)})")
        return f"CREATE TABLE {quote(self.name)} ({', '.join(parts)}) STRICT"

    def add_column_statement(self, column: Column, *, strict: bool) -> str:
        """``ALTER TABLE ... ADD COLUMN`` for a property a later SCHEMA added."""
        return f"ALTER TABLE {quote(self.name)} ADD COLUMN {column.declaration(strict=strict)}"

    def write_statement(self) -> str:
        """The INSERT of one row: an upsert on the primary key for keyed streams, a plain append otherwise.

        On a key already present every column of the schema takes the new record's
        value (a property absent from the record becomes NULL); columns a former
        schema had and this one has not keep their values.
        """
        names = ", ".join(quote(column.name) for column in self.columns)
        marks = ", ".join("?" for _ in self.columns)
        insert = f"INSERT INTO {quote(self.name)} ({names}) VALUES ({marks})"
        if not self.keys:
            return insert
        conflict = f"ON CONFLICT ({', '.join(quote(key) for key in self.keys)})"
        updates = [f"{quote(c.name)} = excluded.{quote(c.name)}" for c in self.columns if not c.key]
        if not updates:
            return f"{insert} {conflict} DO NOTHING"
        return f"{insert} {conflict} DO UPDATE SET {', '.join(updates)}"


def plan_table(
    stream: str, schema: Mapping[str, Any], key_properties: Sequence[str], *, prefix: str = ""
) -> TablePlan:
    """The table for ``stream``: named ``identifier(prefix + stream)``, one column per property.

    Raises:
        SchemaError: Two properties give the same column name (SQLite compares names
            case-insensitively), or a key property is not among the properties.

    """
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        raise SchemaError(f"the SCHEMA of stream {stream!r} has no 'properties' object")
    keys = list(dict.fromkeys(key_properties))
    columns: list[Column] = []
    taken: dict[str, str] = {}
    for source, property_schema in properties.items():
        name = identifier(source)
        other = taken.setdefault(name.casefold(), source)
        if other != source:
            raise SchemaError(
                f"properties {other!r} and {source!r} of stream {stream!r} both become column {name!r}; "
                "rename one in the tap (or with a stream map)"
            )
        columns.append(Column(source, name, column_kind(property_schema), key=source in keys))
    by_source = {column.source: column for column in columns}
    missing = [key for key in keys if key not in by_source]
    if missing:
        raise SchemaError(f"key properties {missing} of stream {stream!r} are not among its properties")
    table = identifier(prefix + stream)
    if table.casefold().startswith("sqlite_"):
        table = f"_{table}"  # SQLite keeps these names for itself
    return TablePlan(stream, table, tuple(columns), tuple(by_source[key].name for key in keys))
