"""One stream's batches into its Oracle table: ``MERGE`` on the key, ``INSERT`` without one.

singer-sdk's ``SQLSink`` inserts every batch; a Singer target for a
warehouse kept in step incrementally must upsert (the same row is sent again
each time it changes, and a reload sends every row again). Each batch is
one ``merge.Merge`` run with ``executemany``, after the batch is reduced to
the last version of each key (two versions of a row in one batch would
otherwise both be merged, the first for nothing). A stream without key
properties is appended with a plain ``INSERT``.

Values are bound as Oracle wants them (``bind_value``): instants as naive
UTC ``datetime`` (the statement adds the zone back), dates as ``date``,
booleans as 0/1, numbers as ``Decimal`` (a float's digits as written, not its
binary approximation), objects and arrays as JSON text.

``ACTIVATE_VERSION`` (a full-table reload's end) soft-deletes the rows of
older versions, or deletes them with ``hard_delete``. singer-sdk writes those
two statements as text with ``_sdc_deleted_at`` and ``_sdc_table_version``
unquoted, which Oracle refuses (a name starting with ``_`` must be quoted);
``activate_version`` builds them with SQLAlchemy, so the Oracle dialect quotes
them as it did in ``CREATE TABLE``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from singer_sdk.sql import SQLSink
from singer_sdk.sql.connector import FullyQualifiedName

from target_oracle.connector import OracleConnector, table_for
from target_oracle.merge import Merge, bind_name
from target_oracle.types import Kind, kind_of

__all__ = [
    "OracleSink",
    "bind_value",
    "hard_delete_statement",
    "insert_statement",
    "latest_by_key",
    "soft_delete_statement",
]


def bind_value(kind: str, value: Any) -> Any:
    """``value`` of a property of ``kind`` as the driver should bind it (see the module's docstring)."""
    if value is None:
        return None
    if kind == Kind.DATETIME:
        instant = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
        if instant.tzinfo is None:
            return instant  # a date-time without an offset is taken as UTC, as singer-sdk does
        return instant.astimezone(dt.UTC).replace(tzinfo=None)
    if kind == Kind.DATE:
        if isinstance(value, dt.datetime):
            return value.date()
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    if kind == Kind.BOOLEAN:
        return 1 if value else 0
    if kind == Kind.NUMBER:
        return decimal.Decimal(repr(value)) if isinstance(value, float) else decimal.Decimal(value)
    if kind == Kind.INTEGER:
        return int(value)
    if kind == Kind.STRING:
        return value if isinstance(value, str) else json.dumps(value, default=str)
    return json.dumps(value, default=str, ensure_ascii=False)


def latest_by_key(records: Iterable[Mapping[str, Any]], keys: Sequence[str]) -> list[Mapping[str, Any]]:
    """The last version of each key, in the order the keys were first seen."""
    latest: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    for record in records:
        latest[tuple(record.get(key) for key in keys)] = record
    return list(latest.values())


def insert_statement(table: sa.Table) -> sa.Insert:
    """``INSERT`` of one record with the same binds (and UTC instants) as ``Merge``."""
    values: dict[str, Any] = {}
    for position, column in enumerate(table.columns):
        bind: Any = sa.bindparam(bind_name(position), type_=column.type)
        if isinstance(column.type, sa.DateTime) and column.type.timezone:
            bind = sa.func.from_tz(sa.cast(bind, sa.TIMESTAMP()), "UTC")
        values[column.name] = bind
    return sa.insert(table).values(values)


def _utc_bind(name: str, value: dt.datetime) -> Any:
    """``value`` bound as naive UTC with the zone added back (as ``insert_statement`` binds instants)."""
    naive = value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    return sa.func.from_tz(sa.cast(sa.bindparam(name, naive, type_=sa.TIMESTAMP()), sa.TIMESTAMP()), "UTC")


def soft_delete_statement(
    table_name: str,
    schema_name: str | None,
    version: int,
    deleted_at: dt.datetime,
    *,
    version_column: str = "_sdc_table_version",
    deleted_column: str = "_sdc_deleted_at",
) -> sa.Update:
    """``UPDATE`` marking the rows of versions before ``version`` deleted at ``deleted_at`` (once)."""
    table = sa.table(table_name, sa.column(version_column), sa.column(deleted_column), schema=schema_name)
    return (
        sa.update(table)
        .values({deleted_column: _utc_bind("deleted_at", deleted_at)})
        .where(table.c[version_column] < sa.bindparam("version", version, type_=sa.Integer()))
        .where(table.c[deleted_column].is_(None))
    )


def hard_delete_statement(
    table_name: str, schema_name: str | None, version: int, *, version_column: str = "_sdc_table_version"
) -> sa.Delete:
    """``DELETE`` of the rows of versions before ``version``."""
    table = sa.table(table_name, sa.column(version_column), schema=schema_name)
    return sa.delete(table).where(
        table.c[version_column] < sa.bindparam("version", version, type_=sa.Integer())
    )


class OracleSink(SQLSink[OracleConnector]):
    """Upserts a stream's batches into its table."""

    connector_class = OracleConnector

    def statement_and_binds(
        self, schema: Mapping[str, Any], records: Iterable[Mapping[str, Any]]
    ) -> tuple[sa.Table, sa.Executable, list[dict[str, Any]]]:
        """The table, the statement (``Merge`` or ``INSERT``) and one set of binds per record."""
        conformed = self.conform_schema(dict(schema))
        properties: Mapping[str, Any] = conformed["properties"]
        _, schema_name, table_name = self.connector.parse_full_table_name(self.full_table_name)
        keys = [key for key in self.key_properties if key in properties]
        table = table_for(table_name, schema_name, conformed, keys)
        rows = [self.conform_record(dict(record)) for record in records]
        if keys:
            rows = [dict(row) for row in latest_by_key(rows, keys)]
        kinds = {name: kind_of(prop) for name, prop in properties.items()}
        binds = [
            {bind_name(n): bind_value(kinds[name], row.get(name)) for n, name in enumerate(properties)}
            for row in rows
        ]
        statement: sa.Executable = Merge(table, keys) if keys else insert_statement(table)
        return table, statement, binds

    def bulk_insert_records(
        self,
        full_table_name: str | FullyQualifiedName,
        schema: dict[str, Any],
        records: Iterable[dict[str, Any]],
    ) -> int | None:
        """Merge (or insert) the batch in one transaction; the rows merged."""
        _ = full_table_name  # the sink's own table (statement_and_binds)
        _, statement, binds = self.statement_and_binds(schema, records)
        if not binds:
            return 0
        with self.connector._connect() as connection, connection.begin():
            connection.execute(statement, binds)
        return len(binds)

    def activate_version(self, new_version: int) -> None:
        """Retire the rows of older versions: soft-deleted, or deleted with ``hard_delete``.

        singer-sdk's flow (nothing before the table exists; the version column, and the soft-delete
        column, added when missing), with the statements of ``soft_delete_statement`` and
        ``hard_delete_statement`` instead of its unquoted text.
        """
        if not self.connector.table_exists(self.full_table_name):
            return
        deleted_at = dt.datetime.now(dt.UTC)
        _, schema_name, table_name = self.connector.parse_full_table_name(self.full_table_name)
        if not self.connector.column_exists(
            full_table_name=self.full_table_name, column_name=self.version_column_name
        ):
            self.connector.prepare_column(
                self.full_table_name, self.version_column_name, sql_type=sa.Integer()
            )
        statement: sa.Executable
        if self.config.get("hard_delete", False):
            statement = hard_delete_statement(
                table_name, schema_name, new_version, version_column=self.version_column_name
            )
        else:
            if not self.connector.column_exists(
                full_table_name=self.full_table_name, column_name=self.soft_delete_column_name
            ):
                self.connector.prepare_column(
                    self.full_table_name, self.soft_delete_column_name, sql_type=sa.TIMESTAMP(timezone=True)
                )
            statement = soft_delete_statement(
                table_name,
                schema_name,
                new_version,
                deleted_at,
                version_column=self.version_column_name,
                deleted_column=self.soft_delete_column_name,
            )
        with self.connector._connect() as connection, connection.begin():
            connection.execute(statement)
