"""From a SCHEMA to a table: names, column kinds and the SQL, without a database (plus one in memory)."""

from __future__ import annotations

import re
import sqlite3

import pytest
from flext_plugin_sqlite._tables import Column, column_kind, identifier, plan_table
from flext_plugin_sqlite.errors import SchemaError
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("schema", "kind"),
    [
        ({"type": "string"}, "string"),
        ({"type": ["null", "string"], "format": "date-time"}, "string"),
        ({"type": "integer"}, "integer"),
        ({"type": ["integer", "null"]}, "integer"),
        ({"type": "number"}, "number"),
        ({"type": ["integer", "number"]}, "number"),
        ({"type": "boolean"}, "boolean"),
        ({"type": "object"}, "json"),
        ({"type": ["array", "null"]}, "json"),
        ({"properties": {"a": {}}}, "json"),
        ({"items": {"type": "string"}}, "json"),
        ({"anyOf": [{"type": "string"}, {"type": "object"}]}, "json"),
        ({"oneOf": [{"type": "integer"}, {"type": "null"}]}, "integer"),
        ({"anyOf": [{"type": "string"}, {}]}, "json"),
        ({}, "json"),
        (True, "json"),
        ({"type": ["string", "integer"]}, "any"),
        ({"type": ["boolean", "number"]}, "any"),
        ({"type": "null"}, "any"),
        ({"enum": ["a", "b"]}, "string"),
        ({"enum": [1, 2, None]}, "integer"),
        ({"const": True}, "boolean"),
        ({"type": "whatever"}, "json"),
    ],
)
def test_column_kinds(schema, kind):
    assert column_kind(schema) == kind


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("users", "users"),
        ("ou=People,dc=example", "ou_People_dc_example"),
        ("mail-address", "mail_address"),
        ("cn;lang-en", "cn_lang_en"),
        ("2024 report", "_2024_report"),
        ("_sdc_sequence", "_sdc_sequence"),
        ("", "_"),
        ("ünï", "_n_"),
        ("a  --  b", "a_b"),
    ],
)
def test_identifiers(text, name):
    assert identifier(text) == name


@given(st.text())
def test_any_text_gives_a_plain_identifier(text):
    assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", identifier(text))


def test_a_keyed_plan_upserts_and_an_unkeyed_one_appends():
    properties = {"id": {"type": "integer"}, "order": {"type": "string"}, "data": {"type": "object"}}
    keyed = plan_table("people", {"properties": properties}, ["id", "id"], prefix="raw.")
    assert keyed.name == "raw_people"
    assert keyed.keys == ("id",)
    assert keyed.columns[0] == Column("id", "id", "integer", key=True)
    assert keyed.create_statement() == (
        'CREATE TABLE "raw_people" ("id" INT NOT NULL, "order" TEXT, "data" TEXT, PRIMARY KEY ("id")) STRICT'
    )
    assert keyed.write_statement() == (
        'INSERT INTO "raw_people" ("id", "order", "data") VALUES (?, ?, ?) ON CONFLICT ("id") '
        'DO UPDATE SET "order" = excluded."order", "data" = excluded."data"'
    )
    appended = plan_table("log", {"properties": properties}, [])
    assert appended.write_statement() == 'INSERT INTO "log" ("id", "order", "data") VALUES (?, ?, ?)'
    keys_only = plan_table("k", {"properties": {"a": {"type": "string"}}}, ["a"])
    assert keys_only.write_statement().endswith('ON CONFLICT ("a") DO NOTHING')


def test_sqlite_reserved_table_names_get_a_prefix():
    assert plan_table("sqlite_master", {"properties": {"a": {}}}, []).name == "_sqlite_master"


def test_mixed_columns_have_no_type_in_tables_that_are_not_strict():
    column = Column("v", "v", "any")
    assert column.declaration() == '"v" ANY'
    assert column.declaration(strict=False) == '"v"'


@pytest.mark.parametrize(
    ("properties", "keys", "message"),
    [
        ({"a-b": {}, "a_b": {}}, [], "properties 'a-b' and 'a_b' of stream 's' both become column 'a_b'"),
        (
            {"Mail": {}, "mail": {}},
            [],
            "properties 'Mail' and 'mail' of stream 's' both become column 'mail'",
        ),
        ({"a": {}}, ["id", "a"], "key properties ['id'] of stream 's' are not among its properties"),
    ],
)
def test_schemas_that_cannot_be_tables(properties, keys, message):
    with pytest.raises(SchemaError, match=re.escape(message)):
        plan_table("s", {"properties": properties}, keys)


def test_the_statements_run_on_sqlite():
    properties = {
        "id": {"type": "integer"},
        "group": {"type": "string"},
        "n": {"type": "number"},
        "ok": {"type": "boolean"},
        "v": {"type": ["string", "integer"]},
    }
    plan = plan_table("s", {"properties": properties}, ["id", "group"])
    connection = sqlite3.connect(":memory:")
    connection.execute(plan.create_statement())
    connection.executemany(plan.write_statement(), [(1, "a", 1.5, True, "x"), (1, "a", 2, False, 7)])
    assert connection.execute('SELECT * FROM "s"').fetchall() == [(1, "a", 2.0, 0, 7)]
    connection.execute(plan.add_column_statement(Column("new one", "new_one", "json"), strict=True))
    assert [row[1] for row in connection.execute('PRAGMA table_info("s")')][-1] == "new_one"
    connection.close()
