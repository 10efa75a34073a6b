"""target-oracle's SQL, compiled by SQLAlchemy's Oracle dialect (oracle+oracledb) and checked: no server runs.

No Oracle server is available here, so these tests stop where the driver
would send the statement: the ``CREATE TABLE`` the connector runs for a
tap-oracle-wms stream (with singer-sdk's ``_sdc_`` columns), the ``ALTER
TABLE ... ADD`` of a new property, the ``MERGE`` and ``INSERT`` a batch runs,
and the values bound with them. The engine is the target's own (built from
its config; creating it connects to nothing).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects.oracle.oracledb import OracleDialect_oracledb
from target_oracle.connector import add_column_ddl, connection_url, table_for
from target_oracle.merge import Merge
from target_oracle.sink import OracleSink, bind_value, insert_statement, latest_by_key
from target_oracle.target import TargetOracle
from target_oracle.types import Kind, sql_type

SECRET = "Db-Secret-7731"
CONFIG = {
    "host": "db.example.com",
    "port": 1522,
    "user": "gruponos",
    "password": SECRET,
    "service_name": "WAREHOUSE",
    "default_target_schema": "wms",
    "add_record_metadata": True,
}
NULLABLE_TS = {"type": ["string", "null"], "format": "date-time"}
ITEM_SCHEMA: dict[
    str, Any
] = {  # what tap-oracle-wms discovers for an entity (docs/plugins/tap-oracle-wms.md)
    "type": "object",
    "properties": {
        "id": {"type": ["integer"]},
        "code": {"type": ["string", "null"], "maxLength": 40},
        "description": {"type": ["string", "null"], "maxLength": 255},
        "notes": {"type": ["string", "null"]},
        "qty": {"type": ["number", "null"]},
        "active": {"type": ["boolean", "null"]},
        "facility_id": {
            "type": ["object", "null"],
            "properties": {"id": {"type": ["integer", "null"]}, "key": {"type": ["string", "null"]}},
        },
        "ship_date": {"type": ["string", "null"], "format": "date"},
        "create_ts": NULLABLE_TS,
        "mod_ts": NULLABLE_TS,
    },
}


def _sql(statement: Any, dialect: sa.Dialect) -> str:
    return re.sub(r"\s+", " ", str(statement.compile(dialect=dialect))).strip()


@pytest.fixture
def sink() -> OracleSink:
    """The sink of stream ``item`` in a target built from CONFIG (nothing connects)."""
    target = TargetOracle(config=CONFIG, validate_config=True)
    return OracleSink(target, "item", ITEM_SCHEMA, ["id"])


@pytest.fixture
def dialect(sink: OracleSink) -> sa.Dialect:
    """The target's own dialect, from its engine."""
    found = sink.connector._engine.dialect
    assert isinstance(found, OracleDialect_oracledb)
    return found


def test_the_create_table_of_a_wms_stream_has_oracle_types(sink: OracleSink, dialect: sa.Dialect) -> None:
    schema = sink.conform_schema(sink.schema)  # with singer-sdk's _sdc_ columns (add_record_metadata)
    table = table_for("item", "wms", schema, sink.key_properties)
    ddl = _sql(sa.schema.CreateTable(table), dialect)

    assert ddl.startswith("CREATE TABLE wms.item (")
    assert "id NUMBER(38, 0) NOT NULL" in ddl
    assert "code VARCHAR2(40 CHAR)" in ddl
    assert "description VARCHAR2(255 CHAR)" in ddl
    assert "notes CLOB" in ddl  # a string without maxLength
    assert "qty NUMBER," in ddl  # no precision or scale: a decimal keeps every digit
    assert "active NUMBER(1, 0)" in ddl
    assert "facility_id CLOB" in ddl  # an object, as JSON text
    assert "ship_date DATE" in ddl
    assert "mod_ts TIMESTAMP WITH TIME ZONE" in ddl
    assert "create_ts TIMESTAMP WITH TIME ZONE" in ddl
    assert '"_sdc_extracted_at" TIMESTAMP WITH TIME ZONE' in ddl  # quoted: a leading _ is not an identifier
    assert '"_sdc_table_version" NUMBER(38, 0)' in ddl
    assert ddl.endswith("PRIMARY KEY (id) )")
    for generic in ("VARCHAR(", "DECIMAL", "BOOLEAN", "TEXT", "DATETIME", " FLOAT"):
        assert generic not in ddl


def test_a_string_key_is_never_a_lob() -> None:
    schema = {"properties": {"code": {"type": ["string"]}, "body": {"type": ["string"]}}}
    ddl = _sql(sa.schema.CreateTable(table_for("t", None, schema, ["code"])), OracleDialect_oracledb())
    assert ddl == "CREATE TABLE t ( code VARCHAR2(1000 CHAR) NOT NULL, body CLOB, PRIMARY KEY (code) )"


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string", "maxLength": 1000}, "VARCHAR2(1000 CHAR)"),
        ({"type": "string", "maxLength": 1001}, "CLOB"),
        ({"type": ["array", "null"], "items": {"type": "integer"}}, "CLOB"),
        ({"type": ["string", "integer"]}, "CLOB"),
        ({"anyOf": [{"type": "number"}, {"type": "null"}]}, "NUMBER"),
        ({"type": "string", "format": "date-time"}, "TIMESTAMP WITH TIME ZONE"),
    ],
)
def test_column_types(schema: dict[str, Any], expected: str) -> None:
    assert sql_type(schema).compile(dialect=OracleDialect_oracledb()) == expected


def test_a_new_property_is_added_with_oracle_syntax(sink: OracleSink, dialect: sa.Dialect) -> None:
    statement = add_column_ddl("wms.item", "weight", sql_type({"type": "number"}), dialect)
    assert statement == "ALTER TABLE wms.item ADD (weight NUMBER)"
    ddl = sink.connector.get_column_add_ddl("wms.item", "_sdc_deleted_at", sql_type(NULLABLE_TS))
    assert str(ddl.statement) == 'ALTER TABLE wms.item ADD ("_sdc_deleted_at" TIMESTAMP WITH TIME ZONE)'


def test_a_batch_is_one_merge_on_the_key(sink: OracleSink, dialect: sa.Dialect) -> None:
    records = [
        {"id": 1, "code": "A", "qty": decimal.Decimal("1234567890.123456789"), "active": True,
         "mod_ts": "2026-12-01T04:00:00.000000-03:00", "facility_id": {"id": 1, "key": "DC01"}},
        {"id": 2, "code": "B", "mod_ts": "2026-12-01T07:01:00+00:00"},
        {"id": 1, "code": "A2", "mod_ts": "2026-12-01T07:02:00+00:00"},  # a later version of id 1
    ]  # fmt: skip
    table, statement, binds = sink.statement_and_binds(ITEM_SCHEMA, records)
    sql = str(statement.compile(dialect=dialect))
    columns = [column.name for column in table.columns]
    position = {name: n for n, name in enumerate(columns)}

    assert sql.startswith("MERGE INTO wms.item tgt\nUSING (SELECT :p0 AS id, :p1 AS code, ")
    assert f"FROM_TZ(CAST(:p{position['mod_ts']} AS TIMESTAMP(6)), 'UTC') AS mod_ts" in sql
    assert " FROM DUAL) src\nON (tgt.id = src.id)\n" in sql
    assert "WHEN MATCHED THEN UPDATE SET tgt.code = src.code, " in sql
    assert "tgt.id = src.id," not in sql  # the key is not updated
    quoted = [dialect.identifier_preparer.quote(name) for name in columns]  # "_sdc_extracted_at"...
    insert = sql.rsplit("WHEN NOT MATCHED THEN ", 1)[1]
    assert insert == f"INSERT ({', '.join(quoted)}) VALUES ({', '.join(f'src.{c}' for c in quoted)})"
    assert 'tgt."_sdc_extracted_at" = src."_sdc_extracted_at"' in sql
    assert set(statement.compile(dialect=dialect).params) == {f"p{n}" for n in range(len(columns))}

    assert [b[f"p{position['id']}"] for b in binds] == [1, 2]  # id 1 once: its last version
    first = binds[0]
    assert first[f"p{position['code']}"] == "A2"
    assert first[f"p{position['mod_ts']}"] == dt.datetime(2026, 12, 1, 7, 2)  # UTC, FROM_TZ adds the zone
    second = binds[1]
    assert second[f"p{position['qty']}"] is None  # a property the record does not have is NULL


def test_values_are_bound_as_oracle_takes_them() -> None:
    assert bind_value(Kind.NUMBER, decimal.Decimal("1234567890.123456789")) == decimal.Decimal(
        "1234567890.123456789"
    )
    assert bind_value(Kind.NUMBER, 0.1) == decimal.Decimal("0.1")  # the float's written digits
    assert bind_value(Kind.BOOLEAN, True) == 1
    assert bind_value(Kind.BOOLEAN, False) == 0
    assert bind_value(Kind.DATETIME, "2026-12-01T04:00:00-03:00") == dt.datetime(2026, 12, 1, 7, 0)
    assert bind_value(Kind.DATE, "2026-12-24") == dt.date(2026, 12, 24)
    assert bind_value(Kind.JSON, {"id": 1, "key": "DC01"}) == '{"id": 1, "key": "DC01"}'
    assert bind_value(Kind.STRING, "São Paulo") == "São Paulo"
    assert bind_value(Kind.INTEGER, None) is None


@given(st.datetimes(timezones=st.timezones()))
def test_an_instant_is_bound_as_the_same_instant_in_utc(instant: dt.datetime) -> None:
    text = instant.isoformat()  # what a Singer record carries
    bound = bind_value(Kind.DATETIME, text)
    assert bound.tzinfo is None
    assert bound.replace(tzinfo=dt.UTC) == dt.datetime.fromisoformat(text)


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_a_decimal_is_bound_digit_for_digit(value: decimal.Decimal) -> None:
    assert str(bind_value(Kind.NUMBER, value)) == str(value)


def test_a_stream_without_a_key_is_inserted(sink: OracleSink, dialect: sa.Dialect) -> None:
    schema = {"properties": {"n": {"type": "integer"}, "at": NULLABLE_TS}}
    sql = _sql(insert_statement(table_for("log", "wms", schema, [])), dialect)
    assert sql == "INSERT INTO wms.log (n, at) VALUES (:p0, from_tz(CAST(:p1 AS TIMESTAMP), :from_tz_1))"


def test_merge_needs_a_key_of_the_table() -> None:
    table = table_for("t", None, {"properties": {"a": {"type": "integer"}}}, [])
    with pytest.raises(ValueError, match="needs key columns"):
        Merge(table, ["b"])


def test_a_table_that_is_all_key_has_no_update_branch(dialect: sa.Dialect) -> None:
    table = table_for(
        "link", None, {"properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}, ["a", "b"]
    )
    sql = str(Merge(table, ["a", "b"]).compile(dialect=dialect))
    assert "WHEN MATCHED" not in sql
    assert "ON (tgt.a = src.a AND tgt.b = src.b)" in sql


def test_latest_by_key_keeps_the_last_version_in_first_seen_order() -> None:
    rows = [{"k": 1, "v": "a"}, {"k": 2, "v": "b"}, {"k": 1, "v": "c"}]
    assert latest_by_key(rows, ["k"]) == [{"k": 1, "v": "c"}, {"k": 2, "v": "b"}]


def test_the_password_is_never_in_the_url_string(sink: OracleSink) -> None:
    url = connection_url(CONFIG)
    assert (url.host, url.port, url.query["service_name"], url.password) == (
        "db.example.com", 1522, "WAREHOUSE", SECRET,
    )  # fmt: skip
    assert SECRET not in sink.connector.sqlalchemy_url
    assert SECRET not in repr(sink.connector._engine)
    assert (
        sink.connector.sqlalchemy_url
        == "oracle+oracledb://gruponos:***@db.example.com:1522?service_name=WAREHOUSE"
    )


def test_instants_are_bound_as_timestamps_so_their_microseconds_stay(
    sink: OracleSink, dialect: sa.Dialect
) -> None:
    """The dialect declares instants as TIMESTAMP binds (setinputsizes), never DATE, which has no fraction."""
    import oracledb

    table, statement, _ = sink.statement_and_binds(ITEM_SCHEMA, [{"id": 1}])
    compiled = statement.compile(dialect=dialect)
    position = [column.name for column in table.columns].index("mod_ts")
    bound = compiled.binds[f"p{position}"].type.dialect_impl(dialect)
    assert bound.get_dbapi_type(oracledb) is oracledb.TIMESTAMP
    assert oracledb.TIMESTAMP in dialect.include_set_input_sizes  # type: ignore[attr-defined]
