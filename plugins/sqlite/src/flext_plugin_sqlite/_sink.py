"""The sink of one stream: buffers its records and writes each batch in one transaction.

A batch is converted row by row while ``executemany`` consumes it, so the
rows are never all in memory twice; if any row cannot be stored the whole
batch is rolled back, and the error names the record's input line, the
property and why.

Table versions (Singer ``ACTIVATE_VERSION``): once a stream's records carry a
``version`` (or its table already has the column), the table has the SDK's
``_sdc_table_version`` and ``_sdc_deleted_at`` columns; each row takes its
record's version (and a NULL ``_sdc_deleted_at``), and ``activate_version``
deletes the rows whose version is NULL or lower, or with ``hard_delete: false``
stamps them with ``_sdc_deleted_at``, in one transaction.
"""

from __future__ import annotations

import json
import json.encoder
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import cached_property
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Final

import orjson
from singer_sdk.exceptions import InvalidRecord
from singer_sdk.sinks import BatchSink

from flext_plugin_sqlite._database import RECORD_ERROR_CODES, storage_error
from flext_plugin_sqlite._tables import Column, TablePlan, identifier, plan_table, quote
from flext_plugin_sqlite.errors import RecordError, TargetError

if TYPE_CHECKING:
    from singer_sdk.target_base import Target

    from flext_plugin_sqlite.target import TargetSQLite

__all__ = ["DELETED_AT", "TABLE_VERSION", "SQLiteSink", "row_maker"]

TABLE_VERSION: Final = "_sdc_table_version"
"""The column (and record property) holding the table version a row was loaded with."""
DELETED_AT: Final = "_sdc_deleted_at"
"""The column stamped when an activation soft-deletes a row (``hard_delete: false``)."""
_VERSIONING: Final[dict[str, dict[str, Any]]] = {
    TABLE_VERSION: {"type": ["null", "integer"]},
    DELETED_AT: {"type": ["null", "string"], "format": "date-time"},
}

_INT64: Final = (-(2**63), 2**63 - 1)
_NOT_NULL: Final = 1299  # SQLITE_CONSTRAINT_NOTNULL


def _json_encoder() -> Callable[[Any], str]:
    """Compact JSON text of a value, refusing infinities; the C encoder made once, not once per call.

    ``JSONEncoder.encode`` builds a new C encoder on every call, which is half
    its cost for the small objects and arrays records hold.
    """
    python = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    make = getattr(json.encoder, "c_make_encoder", None)  # not in typeshed
    if make is None:  # pragma: no cover - CPython always has the accelerator
        return python.encode
    # markers=None: values parsed from JSON cannot hold reference cycles.
    encode = make(None, python.default, json.encoder.encode_basestring, None, ":", ",", False, False, False)

    def encode_json(value: Any) -> str:
        return "".join(encode(value, 0))

    return encode_json


_encode_json_stdlib = _json_encoder()


def _encode_json(value: Any) -> str:
    """Compact JSON text of a value (orjson: two to three times faster), refusing infinities.

    ``row_maker`` has the same lines inline.

    orjson writes an infinity or NaN as ``null`` and refuses integers beyond 64
    bits and lone surrogates; text with a ``null`` in it, and whatever orjson
    refuses, is encoded by the standard library instead, which raises
    ``ValueError`` on an infinity and keeps the rest. Both write the same JSON
    value (floats may differ in form only: ``1e-07`` against ``1e-7``).
    """
    try:
        text = orjson.dumps(value)
    except TypeError:
        return _encode_json_stdlib(value)
    if b"null" in text:
        return _encode_json_stdlib(value)
    return text.decode()


Row = Sequence[Any]
"""One record's values, in the table's column order."""


def row_maker(columns: Sequence[Column]) -> Callable[[dict[str, Any]], Row]:
    """The function turning a record into its row: absent properties are NULL, JSON columns are encoded.

    This is the hot path of the target (it runs once per record), hence the
    variants, one ``itemgetter`` for a record that has every property (falling
    back to ``get`` per property), and ``_encode_json`` written out inline.
    """
    sources = tuple(column.source for column in columns)
    encoded = tuple(index for index, column in enumerate(columns) if column.kind == "json")
    if len(sources) < 2:  # itemgetter of one name returns the value, not a tuple

        def single(record: dict[str, Any]) -> Row:
            values = [record.get(source) for source in sources]
            for index in encoded:
                if values[index] is not None:
                    values[index] = _encode_json(values[index])
            return values

        return single
    get_all = itemgetter(*sources)
    if not encoded:

        def plain(record: dict[str, Any]) -> Row:
            try:
                values: Row = get_all(record)
            except KeyError:
                values = [record.get(source) for source in sources]
            return values

        return plain
    dumps, encode_stdlib = orjson.dumps, _encode_json_stdlib

    def with_json(record: dict[str, Any]) -> Row:
        try:
            values = list(get_all(record))
        except KeyError:
            values = [record.get(source) for source in sources]
        for index in encoded:
            value = values[index]
            if value is not None:
                try:
                    text = dumps(value)
                except TypeError:
                    values[index] = encode_stdlib(value)
                    continue
                values[index] = encode_stdlib(value) if b"null" in text else text.decode()
        return values

    return with_json


class SQLiteSink(BatchSink):
    """Loads one stream into its table: upserts on the key properties, appends without them."""

    def __init__(
        self, target: Target, stream_name: str, schema: dict[str, Any], key_properties: Sequence[str] | None
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        owner: TargetSQLite = target  # type: ignore[assignment]  # only TargetSQLite makes these sinks
        self._owner = owner
        self.pending: list[dict[str, Any]] = []
        """Records received and not yet written, oldest first."""
        self.lines: list[int] = []
        """The input line of each pending record."""
        self.limit = self.max_size
        """Write a batch when this many records are pending (``batch_size_rows``)."""
        self._counted = 0  # pending records the SDK already counted (those that took its per-record path)
        self.plan: TablePlan | None = None
        """The stream's table, once ``setup`` has prepared it."""
        self._statement = ""
        self._row: Callable[[dict[str, Any]], Row] = row_maker(())
        self.versioned = False
        """The table has the version columns; rows take their record's ``_sdc_table_version``."""
        self.received_versions = owner.received_versions(stream_name)
        """The table versions of the stream's records received so far in this input (shared by the
        sinks that replace this one after a SCHEMA change)."""

    @cached_property
    def validate_schema(self) -> bool:
        """Validate each record with the JSON schema (``validate_records``, default off).

        The table's column types already refuse what SQLite cannot store as
        declared, so full validation is for taps whose schemas carry more rules
        (enums, ranges, patterns) worth stopping a load for.
        """
        return bool(self.config.get("validate_records", False))

    @property
    def direct(self) -> bool:
        """True if records may go straight to ``pending``, skipping the SDK's per-record steps."""
        return self._validator is None and not self.include_sdc_metadata_properties

    @property
    def current_size(self) -> int:
        """The number of pending records."""
        return len(self.pending)

    def setup(self) -> None:
        """Create the stream's table, or add the columns a new SCHEMA brought, before any record comes.

        A table that has the version column already (an earlier run activated a
        version) stays versioned, so that every upsert sets its row's version and
        clears its ``_sdc_deleted_at``.
        """
        super().setup()
        plan = self._plan(versioned=False)
        if plan.columns and identifier(TABLE_VERSION).casefold() in self._owner.database.columns(plan.name):
            plan = self._plan(versioned=True)
            self.versioned = True
        self._use(plan)

    def _plan(self, *, versioned: bool) -> TablePlan:
        schema = self.schema
        if versioned:
            properties = dict(schema["properties"])
            for name, property_schema in _VERSIONING.items():
                properties.setdefault(name, property_schema)
            schema = {**schema, "properties": properties}
        return plan_table(
            self.stream_name,
            schema,
            self.key_properties,
            prefix=str(self.config.get("table_prefix") or ""),
        )

    def _use(self, plan: TablePlan) -> None:
        self._owner.database.prepare(plan)
        self.plan = plan
        self._statement = plan.write_statement()
        self._row = row_maker(plan.columns)

    def use_versions(self) -> None:
        """Add the version columns to the table (records pending so far get a NULL version)."""
        if not self.versioned:
            self._use(self._plan(versioned=True))
            self.versioned = True

    def activate_version(self, new_version: int) -> None:
        """Make ``new_version`` the table: delete (or mark deleted) the rows of a NULL or lower version.

        The target calls it once every record of ``new_version`` it will get
        before the deletion is committed (see ``TargetSQLite`` on when); this is
        one more transaction. ``hard_delete`` (default true)
        deletes; ``hard_delete: false`` sets ``_sdc_deleted_at`` (ISO 8601, UTC)
        on those rows not marked yet.

        Raises:
            StorageError: The database failed; nothing was deleted.

        """
        if self.plan is None or not self.plan.columns:
            return  # no table
        self.use_versions()
        table = quote(self.plan.name)
        version, deleted = quote(identifier(TABLE_VERSION)), quote(identifier(DELETED_AT))
        older = f"({version} IS NULL OR {version} < ?)"
        hard = bool(self.config.get("hard_delete", True))
        database = self._owner.database
        try:
            with database.transaction("delete older table versions in") as connection:
                if hard:
                    changed = connection.execute(f"DELETE FROM {table} WHERE {older}", (new_version,))
                else:
                    now = datetime.now(UTC).isoformat()
                    changed = connection.execute(
                        f"UPDATE {table} SET {deleted} = ? WHERE {older} AND {deleted} IS NULL",
                        (now, new_version),
                    )
                count = changed.rowcount
            database.sync()  # a deletion is never taken back once a later STATE may say it happened
        except sqlite3.Error as error:
            raise storage_error(error, "delete older table versions in", database.path) from error
        self.logger.info(
            "Stream %r: table version %d activated; %d rows of older versions %s",
            self.stream_name,
            new_version,
            count,
            "deleted" if hard else "marked with _sdc_deleted_at",
        )

    def _validate_and_parse(self, record: dict[str, Any]) -> dict[str, Any]:
        """Validate the record if ``validate_records`` is on; date-time strings stay the text they are.

        Raises:
            RecordError: The record does not match the stream's JSON schema.

        """
        if self._validator is not None:
            try:
                self._validator.validate(record)
            except InvalidRecord as error:
                raise RecordError(
                    f"stream {self.stream_name!r}: the record does not match its schema: "
                    f"{error.error_message}"
                ) from None
        return record

    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        """Keep the record for the next batch, with its message's table version if it has one."""
        version = self._owner.record_version
        if version is not None:
            self.use_versions()
            record[TABLE_VERSION] = version
            self.received_versions.add(version)
        self.pending.append(record)
        self.lines.append(self._owner.line)
        self._counted += 1

    def start_drain(self) -> dict[str, Any]:
        """Hand the pending records to the batch about to be written (and count those the SDK did not)."""
        uncounted = len(self.pending) - self._counted
        if uncounted:
            self.tally_record_read(uncounted)
            self.record_counter_metric.increment(uncounted)
        self._counted = 0
        context = super().start_drain()
        context["records"], context["lines"] = self.pending, self.lines
        self.pending, self.lines = [], []
        return context

    def process_batch(self, context: dict[str, Any]) -> None:
        """Write the batch's records in one transaction: all of them, or (on any error) none."""
        records: list[dict[str, Any]] = context.get("records") or []
        if records:
            self.write(records, context.get("lines") or [])
            self._owner.note_batch_written()

    def write(self, records: Sequence[dict[str, Any]], lines: Sequence[int]) -> None:
        """Upsert or append ``records`` in one transaction.

        Raises:
            RecordError: A record holds a value SQLite cannot store as declared; nothing was written.
            StorageError: The database failed; nothing was written.

        """
        plan = self.plan
        if plan is None or not plan.columns:
            raise RecordError(
                f"stream {self.stream_name!r} has records but no properties in its SCHEMA to store them in",
                line=lines[0] if lines else None,
            )
        row = self._row
        at = -1

        def rows() -> Iterator[Row]:
            nonlocal at
            for at, record in enumerate(records):  # noqa: B007 - nonlocal: names the record that failed
                yield row(record)

        database = self._owner.database
        try:
            with database.transaction() as connection:
                connection.executemany(self._statement, rows())
        except (sqlite3.Error, OverflowError, UnicodeEncodeError, ValueError) as error:
            raise self._explain(error, plan, records, lines, at) from error

    def _explain(
        self,
        error: Exception,
        plan: TablePlan,
        records: Sequence[dict[str, Any]],
        lines: Sequence[int],
        at: int,
    ) -> TargetError:
        """The error to report for ``error``, raised while writing record ``at`` of the batch."""
        code = getattr(error, "sqlite_errorcode", None)
        blames_row = code is None or (code & 0xFF) in RECORD_ERROR_CODES
        if not blames_row or not 0 <= at < len(records):
            if isinstance(error, sqlite3.Error):
                return storage_error(error, "write to", self._owner.database.path)
            return TargetError(f"stream {self.stream_name!r}: {error}")
        record = records[at]
        line = lines[at] if at < len(lines) else None
        return RecordError(f"stream {self.stream_name!r}: {_reason(error, code, plan, record)}", line=line)


def _reason(error: Exception, code: int | None, plan: TablePlan, record: dict[str, Any]) -> str:
    """Why ``record`` could not be stored, naming the property."""
    if code == _NOT_NULL:
        missing = [c.source for c in plan.columns if c.key and record.get(c.source) is None]
        if missing:
            return f"key property {missing[0]!r} is missing or null"
    message = " ".join(str(error).split())
    if code is not None:
        # "cannot store TEXT value in INTEGER column people.age": add which value it was.
        column_name = message.rsplit(".", 1)[-1] if " column " in message else None
        for column in plan.columns:
            if column.name == column_name:
                return f"property {column.source!r} = {_preview(record.get(column.source))}: {message}"
        return message
    for column in plan.columns:
        problem = _unstorable(column, record.get(column.source))
        if problem is not None:
            return f"property {column.source!r} {problem}"
    return message


def _unstorable(column: Column, value: Any) -> str | None:
    """Why ``value`` cannot be bound to ``column``, or None if it can."""
    if column.kind == "json":
        if value is None:
            return None
        try:
            value = _encode_json(value)
        except ValueError:
            return "holds a number JSON cannot represent (an infinity)"
    if isinstance(value, dict | list):
        what = "an object" if isinstance(value, dict) else "an array"
        return f"holds {what}, which its {column.kind} column cannot store (the SCHEMA does not declare it)"
    if isinstance(value, int) and not isinstance(value, bool) and not _INT64[0] <= value <= _INT64[1]:
        return f"= {_preview(value)} is beyond SQLite's 64-bit integers"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            return f"holds text SQLite cannot store ({error.reason}: {value[error.start]!r})"
    return None


def _preview(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else f"{text[: width - 3]}..."
