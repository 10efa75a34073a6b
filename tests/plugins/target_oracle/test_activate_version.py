"""ACTIVATE_VERSION: rows of older versions soft-deleted (or, with ``hard_delete``, deleted) in Oracle SQL.

singer-sdk builds these two statements as text with ``_sdc_deleted_at`` and
``_sdc_table_version`` unquoted, which Oracle refuses (ORA-00911: an
identifier may not start with ``_`` unless quoted), while ``table_for``
creates the columns quoted. The target builds them with SQLAlchemy instead,
so the Oracle dialect quotes them as it quoted them in ``CREATE TABLE``.

No Oracle server runs here (see test_sql.py): the statements are compiled by
the target's own dialect, and ``activate_version`` is run with the
connection replaced by one that records what it is asked to execute (the
table and its columns are taken to exist, as after a first load).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from target_oracle.sink import OracleSink
from target_oracle.target import TargetOracle

from .test_sql import CONFIG, ITEM_SCHEMA

OLD_STYLE = re.compile(r"(?<![\"\w])_sdc_(deleted_at|table_version)(?!\")")
"""An unquoted ``_sdc_`` name: what Oracle refuses."""


class _Recorder:
    """A connection that records each statement it is asked to execute, compiled for Oracle."""

    def __init__(self, dialect: sa.Dialect) -> None:
        self.dialect = dialect
        self.executed: list[tuple[str, dict[str, Any]]] = []

    def execute(self, statement: Any, parameters: Any = None) -> None:
        compiled = statement.compile(dialect=self.dialect)
        self.executed.append((re.sub(r"\s+", " ", str(compiled)).strip(), dict(compiled.params)))

    @contextlib.contextmanager
    def begin(self) -> Iterator[None]:
        yield


def _sink(**config: Any) -> OracleSink:
    target = TargetOracle(config={**CONFIG, **config}, validate_config=True)
    return OracleSink(target, "item", ITEM_SCHEMA, ["id"])


def _activate(
    sink: OracleSink, monkeypatch: pytest.MonkeyPatch, version: int
) -> list[tuple[str, dict[str, Any]]]:
    connector = sink.connector
    recorder = _Recorder(connector._engine.dialect)

    @contextlib.contextmanager
    def connect() -> Iterator[_Recorder]:
        yield recorder

    monkeypatch.setattr(connector, "table_exists", lambda full_table_name: True)
    monkeypatch.setattr(connector, "column_exists", lambda full_table_name, column_name: True)
    monkeypatch.setattr(connector, "_connect", connect)
    sink.activate_version(version)
    return recorder.executed


def test_activate_version_soft_deletes_older_versions_with_the_columns_quoted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    [(sql, params)] = _activate(_sink(), monkeypatch, 1765000000000)
    assert sql.startswith("UPDATE wms.item SET ")
    assert '"_sdc_deleted_at"=' in sql.replace(" = ", "=")
    assert 'WHERE wms.item."_sdc_table_version" < :' in sql
    assert 'wms.item."_sdc_deleted_at" IS NULL' in sql
    assert OLD_STYLE.search(sql) is None, sql
    assert 1765000000000 in params.values()
    [stamp] = [value for value in params.values() if isinstance(value, dt.datetime)]
    assert stamp.tzinfo is None  # naive UTC, the zone added back by FROM_TZ (as the loads bind them)
    assert "from_tz(CAST(" in sql


def test_activate_version_with_hard_delete_deletes_older_versions_with_the_column_quoted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    [(sql, params)] = _activate(_sink(hard_delete=True), monkeypatch, 42)
    assert sql.startswith('DELETE FROM wms.item WHERE wms.item."_sdc_table_version" < :')
    assert OLD_STYLE.search(sql) is None, sql
    assert list(params.values()) == [42]


def test_a_table_not_created_yet_has_nothing_to_activate(monkeypatch: pytest.MonkeyPatch) -> None:
    sink = _sink()
    monkeypatch.setattr(sink.connector, "table_exists", lambda full_table_name: False)
    sink.activate_version(7)  # the first load creates it; nothing to delete before then
