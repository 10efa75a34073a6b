"""The connection to Oracle and the DDL the target runs: tables, added columns, no schemas of its own.

``OracleConnector`` is singer-sdk's ``SQLConnector`` on SQLAlchemy's
``oracle+oracledb`` dialect (python-oracledb in thin mode: no Oracle Client
libraries). What it changes, and why:

- column types come from ``types.sql_type`` (NUMBER, TIMESTAMP WITH TIME
  ZONE, CLOB...), a key column never a LOB;
- a new column is ``ALTER TABLE t ADD (c type)``: Oracle has no ``ADD
  COLUMN``;
- a schema is an Oracle user, which a loader should not create: a missing
  ``default_target_schema`` is an error saying so, not a ``CREATE SCHEMA``
  (which in Oracle does something else);
- the engine is built from a ``URL`` object, so the password is never part
  of a string that could be logged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from singer_sdk.sql import SQLConnector
from singer_sdk.sql.connector import FullyQualifiedName
from sqlalchemy.engine import Dialect

from target_oracle.types import sql_type

__all__ = ["OracleConnector", "SchemaMissingError", "add_column_ddl", "connection_url", "table_for"]


class SchemaMissingError(Exception):
    """The target schema (an Oracle user) does not exist."""


def connection_url(config: Mapping[str, Any]) -> sa.URL:
    """``oracle+oracledb://user:password@host:port/?service_name=...`` from the target's settings."""
    return sa.URL.create(
        "oracle+oracledb",
        username=config["user"],
        password=config.get("password") or None,
        host=config["host"],
        port=int(config.get("port", 1521)),
        query={"service_name": config["service_name"]},
    )


def table_for(
    name: str, schema_name: str | None, schema: Mapping[str, Any], primary_keys: Sequence[str]
) -> sa.Table:
    """The table a stream with JSON ``schema`` loads into (its ``CREATE TABLE``)."""
    properties: Mapping[str, Any] = schema.get("properties", {})
    keys = [key for key in primary_keys if key in properties]
    columns = [
        sa.Column(prop, sql_type(prop_schema, key=prop in keys), nullable=prop not in keys)
        for prop, prop_schema in properties.items()
    ]
    extra: list[Any] = [sa.PrimaryKeyConstraint(*keys)] if keys else []
    return sa.Table(name, sa.MetaData(schema=schema_name), *columns, *extra)


def add_column_ddl(table: str, column: str, column_type: sa.types.TypeEngine[Any], dialect: Dialect) -> str:
    """``ALTER TABLE table ADD (column type)``, the column quoted as the dialect does."""
    clause = sa.schema.CreateColumn(sa.Column(column, column_type)).compile(dialect=dialect).string
    return f"ALTER TABLE {table} ADD ({clause})"


class OracleConnector(SQLConnector):
    """singer-sdk's SQL connector for Oracle Database."""

    allow_column_add = True
    allow_column_rename = True  # ALTER TABLE ... RENAME COLUMN a TO b is Oracle syntax too
    allow_column_alter = False  # a type change is refused rather than guessed (MODIFY rules differ per type)
    allow_merge_upsert = True
    allow_temp_tables = False

    def get_sqlalchemy_url(self, config: dict[str, Any]) -> str:
        """The URL with the password hidden (the engine is built from the ``URL`` object instead)."""
        return connection_url(config).render_as_string(hide_password=True)

    def create_engine(self) -> sa.Engine:
        """An engine on ``connection_url`` (nothing connects until a statement runs)."""
        return sa.create_engine(connection_url(self.config), echo=False, pool_pre_ping=True)

    def to_sql_type(self, jsonschema_type: dict[str, Any]) -> sa.types.TypeEngine[Any]:
        """``types.sql_type``."""
        return sql_type(jsonschema_type)

    def prepare_schema(self, schema_name: str) -> None:
        """Check that the schema exists (an Oracle user is the DBA's to create).

        Raises:
            SchemaMissingError: it does not.

        """
        if not self.schema_exists(schema_name):
            msg = (
                f"schema {schema_name} does not exist: in Oracle a schema is a user; ask the DBA to "
                "create it (or set default_target_schema to an existing one)"
            )
            raise SchemaMissingError(msg)

    def create_empty_table(
        self,
        full_table_name: str | FullyQualifiedName,
        schema: dict[str, Any],
        primary_keys: Sequence[str] | None = None,
        partition_keys: list[str] | None = None,
        as_temp_table: bool = False,
    ) -> None:
        """``CREATE TABLE`` of ``table_for``."""
        if as_temp_table:
            msg = "target-oracle does not use temporary tables"
            raise NotImplementedError(msg)
        _, schema_name, table_name = self.parse_full_table_name(full_table_name)
        table_for(table_name, schema_name, schema, primary_keys or []).create(self._engine)

    def get_column_add_ddl(
        self,
        table_name: str | FullyQualifiedName,
        column_name: str,
        column_type: sa.types.TypeEngine[Any],
    ) -> sa.DDL:
        """``add_column_ddl`` (Oracle's ``ADD (...)``)."""
        statement = add_column_ddl(str(table_name), column_name, column_type, self._engine.dialect)
        return sa.DDL(statement)  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it untyped
