"""``target-sqlite``: the Singer target that loads streams into one SQLite file, safely and fast.

What it promises (docs/plugins/sqlite.md has the details):

- one table per stream; keyed streams are upserted on their key properties,
  so replaying records after a crash never loads a row twice;
- each batch is one transaction (WAL), and a STATE message is printed only
  once every record received before it is committed and on disk (an fsync
  of the WAL before each STATE, see ``_database``), so killing the target at
  any instant, or a power loss, leaves the file consistent and the last
  printed STATE covered;
- any bad input ends the run with one ``error: ... (CODE)`` line on stderr and
  a non-zero exit, and nothing of the batch in progress is committed.
- Singer ``ACTIVATE_VERSION``: records carrying a ``version`` fill the
  ``_sdc_table_version`` column; an activation deletes the rows of a NULL or
  lower version (``hard_delete``, the default) or stamps them with
  ``_sdc_deleted_at``, never before the rows of its version are committed:
  one that follows records of its version (tap-ldif) is applied at once,
  after committing them; one that comes before any record of its version (the
  Singer SDK sends it before a stream's records) is held and applied only when
  the input ends without error. A crash, a kill, SIGTERM or a failed input
  leave the old rows next to the new ones; nothing is lost.

Speed comes from skipping the SDK's per-record steps where they do nothing
for this target (no stream maps, no metadata columns, no JSON-schema
validation: the STRICT column types refuse what cannot be stored): a record
then goes from the parsed line straight into its sink's batch.
"""

from __future__ import annotations

import copy
import gc
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import IO, Any, ClassVar

import click
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities, TargetCapabilities
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.target_base import Target

from flext_kernel.errors import INTERNAL_ERROR
from flext_plugin_sqlite._database import Database
from flext_plugin_sqlite._reader import SingerLineReader, one_line
from flext_plugin_sqlite._sink import TABLE_VERSION, SQLiteSink
from flext_plugin_sqlite.errors import ConfigError, InputError, Stopped, TargetError

__all__ = ["TargetSQLite"]

_LONGEST = 2000  # characters of an error line


class TargetSQLite(Target):
    """Loads Singer streams into the SQLite file named by ``database``: one table per stream."""

    name = "target-sqlite"
    package_name = "flext-plugin-sqlite"
    default_sink_class = SQLiteSink
    message_reader_class = SingerLineReader
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
        PluginCapabilities.ACTIVATE_VERSION,
        TargetCapabilities.HARD_DELETE,
        TargetCapabilities.SOFT_DELETE,
        TargetCapabilities.VALIDATE_RECORDS,
    ]
    config_jsonschema: ClassVar[dict[str, Any]] = th.PropertiesList(
        th.Property(
            "database",
            th.StringType,
            required=True,
            description="The SQLite file to load into; it and its parent directories are created if missing.",
        ),
        th.Property(
            "table_prefix",
            th.StringType,
            default="",
            description="Put in front of every stream's name to make its table's name.",
        ),
        th.Property(
            "batch_size_rows",
            th.IntegerType(minimum=1),
            default=10_000,
            description="Records per transaction; a STATE is printed after each batch commits.",
        ),
        th.Property(
            "add_record_metadata",
            th.BooleanType,
            default=False,
            description="Add the SDK's _sdc_* columns (extracted, received, batched at, sequence...).",
        ),
        th.Property(
            "process_activate_version_messages",
            th.BooleanType,
            default=True,
            description=(
                "On ACTIVATE_VERSION, remove the stream's rows of older table versions (see hard_delete); "
                "false ignores the message."
            ),
        ),
        th.Property(
            "hard_delete",
            th.BooleanType,
            default=True,
            description=(
                "On ACTIVATE_VERSION, delete the rows of older table versions; false keeps them and sets "
                "their _sdc_deleted_at."
            ),
        ),
        th.Property(
            "validate_records",
            th.BooleanType,
            default=False,
            description="Validate each record against its stream's JSON schema before loading it.",
        ),
    ).to_dict()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_parallelism = 1  # one connection writes; sinks drain one after the other
        self.database = Database(Path(str(self.config["database"])).expanduser())
        """The database every sink writes to."""
        reader = self.message_reader
        self._reader = reader if isinstance(reader, SingerLineReader) else SingerLineReader()
        self._direct: dict[str, SQLiteSink] = {}
        self._wrote_batch = False
        self._printed_state: dict[str, Any] | None = None
        self.record_version: int | None = None
        """The table version of the RECORD message being processed on the SDK's path, if it has one."""
        self._deadline = time.monotonic() + self._MAX_RECORD_AGE_IN_MINUTES * 60
        self._received_versions: dict[str, set[int]] = {}
        self._held: dict[str, int] = {}
        """Activations held until the end of the input: the version, by stream (alias)."""

    def received_versions(self, stream: str) -> set[int]:
        """The table versions of ``stream``'s records received so far (the set itself, for its sinks)."""
        return self._received_versions.setdefault(stream, set())

    @classmethod
    def append_builtin_config(cls, config_jsonschema: dict[str, Any]) -> None:
        """Add the stream-map and flattening settings, not the SDK's target settings this target lacks.

        ``load_method`` and the BATCH settings are left out: tables are always
        upserted on keys (appended without), and BATCH messages are refused.
        """
        super(Target, cls).append_builtin_config(config_jsonschema)  # PluginBase's: maps and flattening

    @classmethod
    def cb_config(cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]) -> Any:
        """Read the ``--config`` files; one that is missing or not JSON is a usage error, not a traceback."""
        try:
            return super().cb_config(ctx, param, value)
        except (OSError, ValueError) as error:
            raise click.BadParameter(one_line(error), ctx=ctx, param=param) from None

    @property
    def line(self) -> int:
        """The input line being processed."""
        return self._reader.line

    # Messages.

    def _process_record_message(self, message_dict: dict[str, Any]) -> None:
        stream = message_dict.get("stream")
        sink = self._direct.get(stream) if type(stream) is str else None
        record = message_dict.get("record")
        version = message_dict.get("version")
        if version is not None and type(version) is not int:
            raise InputError(f"the 'version' of a RECORD must be an integer, not {version!r}")
        if sink is not None and type(record) is dict:
            # The hot path: straight into the batch (what the SDK would do, minus steps that are no-ops
            # here); the sink counts these records for the SDK's tallies and metrics when it drains.
            if version is not None:
                if not sink.versioned:
                    sink.use_versions()
                record[TABLE_VERSION] = version
                sink.received_versions.add(version)
            sink.pending.append(record)
            sink.lines.append(self._reader.line)
            if len(sink.pending) >= sink.limit or time.monotonic() > self._deadline:
                self.drain_all()
            return
        if not isinstance(stream, str) or not isinstance(record, dict):
            raise InputError("a RECORD message needs a 'stream' string and a 'record' object")
        if stream not in self.mapper.stream_maps:
            raise InputError(f"a RECORD for stream {stream!r} came before any SCHEMA for it")
        self._wrote_batch = False
        self.record_version = version
        try:
            super()._process_record_message(message_dict)
        finally:
            self.record_version = None
        if self._wrote_batch:
            # A sink filled up and the SDK committed it alone; commit the others so that the STATE can follow.
            self.drain_all()

    def _process_schema_message(self, message_dict: dict[str, Any]) -> None:
        stream = message_dict.get("stream")
        schema = message_dict.get("schema")
        keys = message_dict.get("key_properties")
        if not isinstance(stream, str) or not stream:
            raise InputError("a SCHEMA message needs a 'stream' string")
        if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
            raise InputError(f"the SCHEMA of stream {stream!r} needs a 'schema' object with 'properties'")
        if keys is not None and (not isinstance(keys, list) or not all(isinstance(k, str) for k in keys)):
            raise InputError(f"the 'key_properties' of stream {stream!r} must be a list of property names")
        current = self.mapper.stream_maps.get(stream)
        changed = current is not None and (
            current[0].raw_schema != schema or current[0].raw_key_properties != keys
        )
        if changed and self._has_pending():
            self.drain_all()  # records sent under the old schema are written before any under the new one
        super()._process_schema_message(message_dict)
        self._route(stream)

    def _route(self, stream: str) -> None:
        """Let ``stream``'s records skip the SDK's per-record steps if its mapping is the identity."""
        maps = self.mapper.stream_maps.get(stream, [])
        sink = self._sinks_active.get(stream)
        identity = (
            len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and maps[0].stream_alias == stream
            and not maps[0].flattening_enabled
        )
        if identity and isinstance(sink, SQLiteSink) and sink.direct:
            self._direct[stream] = sink
        else:
            self._direct.pop(stream, None)

    def _process_state_message(self, message_dict: dict[str, Any]) -> None:
        if "value" not in message_dict:
            raise InputError("a STATE message needs a 'value'")
        super()._process_state_message(message_dict)
        if self._latest_state and not self._has_pending():
            self._write_state_message(self._latest_state)  # everything before it is committed already

    def _process_activate_version_message(self, message_dict: dict[str, Any]) -> None:
        """Apply the activation once the rows of its version are committed: now, or at the end of the input.

        The deletion must never run ahead of the rows that replace the deleted
        ones. Taps send the message at either end of a stream's records:

        - after them (tap-ldif): the stream has received records of the version
          already; what is pending is committed, then the activation is applied
          at once;
        - before them (the Singer SDK, for each stream it syncs in full, and
          again for each parent record of a child stream): no record of the
          version has come yet, so the activation is held, as are later ones of
          the same (or a lower) version, and applied when the input ends
          without error (``process_endofpipe``). Should the input fail, or the
          target be stopped or killed, first, it is never applied: the old rows
          stay next to the new ones, and the next full refresh removes them.

        A STATE is printed as ever once the records before it are committed:
        it does not wait for a held activation, nor apply it (the SDK sends
        STATEs in the middle of a stream, before the rest of its records).
        Unlike the SDK's handler, no warning that the version columns are added
        although ``add_record_metadata`` is off (they are, by design).
        """
        stream = message_dict.get("stream")
        version = message_dict.get("version")
        if stream not in self.mapper.stream_maps:
            raise InputError("an ACTIVATE_VERSION message for a stream that has no SCHEMA")
        if type(version) is not int:
            raise InputError(
                f"the 'version' of an ACTIVATE_VERSION message must be an integer, not {version!r}"
            )
        for stream_map in self.mapper.stream_maps[stream]:
            alias = stream_map.stream_alias
            sink = self.get_sink(alias)
            if not sink.process_activate_version_messages:
                self.logger.info(
                    "ACTIVATE_VERSION for %r ignored (process_activate_version_messages is false)", alias
                )
                continue
            held = self._held.get(alias)
            if held is not None and version <= held:
                continue  # the SDK's repeat for the next parent record: its records are yet to come
            if version not in self.received_versions(alias):
                self._held[alias] = version
                self.logger.info(
                    "Stream %r: ACTIVATE_VERSION %d came before the records of its version: the rows of "
                    "older versions are removed once the input has ended without error",
                    alias,
                    version,
                )
                continue
            if self._has_pending():
                self.drain_all()  # prints the STATE held, which the rows before it cover
            self._held.pop(alias, None)  # a lower version held: this activation removes its rows too
            sink.activate_version(version)

    def _process_batch_message(self, message_dict: dict[str, Any]) -> None:
        raise InputError("BATCH messages are not supported by target-sqlite; send RECORD messages")

    # Draining and STATE.

    def _has_pending(self) -> bool:
        return any(sink.current_size for sink in (*self._sinks_active.values(), *self._sinks_to_clear))

    def note_batch_written(self) -> None:
        """Called by a sink after it committed a batch."""
        self._wrote_batch = True

    def _reset_max_record_age(self) -> None:
        super()._reset_max_record_age()
        self._deadline = time.monotonic() + self._MAX_RECORD_AGE_IN_MINUTES * 60

    def _write_state_message(self, state: dict[str, Any]) -> None:
        """Print ``state`` (the SDK calls this only after draining every sink); never the same one twice."""
        if state == self._printed_state:
            return
        self.database.sync()  # the rows it covers are on disk before it is printed (see _database)
        super()._write_state_message(state)
        self._printed_state = copy.deepcopy(state)

    def process_endofpipe(self) -> None:
        """Write what is pending, print the last STATE, apply the activations held, close the database.

        Called only when the input ended without error: every record of a held
        activation's version has come and is committed before its deletion.
        """
        super().process_endofpipe()
        for alias, version in list(self._held.items()):
            sink = self._sinks_active.get(alias)
            if isinstance(sink, SQLiteSink):
                sink.activate_version(version)
            del self._held[alias]
        self.database.close()

    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        # Unwind instead of draining inside the handler: the batch in flight rolls back, and the
        # last STATE printed stays the one to resume from.
        raise Stopped(signum)

    # The command line.

    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: Any = None,
        file_input: IO[str] | None = None,
    ) -> None:
        """Run the target; any failure is one ``error: <message> (<CODE>)`` line on stderr and an exit code.

        The traceback is logged too when ``TARGET_SQLITE_LOGLEVEL=DEBUG``.
        """
        if about:
            cls.print_about(about_format)
            sys.exit(0)
        cls.print_version(print_fn=cls.logger.info)
        # The batches are the only large allocations and hold no cycles: collect less often.
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)
        target: TargetSQLite | None = None
        # The SDK installs its termination handler; put back what was there, so that running the
        # target in a process that goes on (a test, an embedding program) leaves its Ctrl-C alone.
        previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
        try:
            target = cls(
                config=dict(config.config) if config is not None else {},
                validate_config=True,
                parse_env_config=bool(config is not None and config.parse_env),
            )
            target.listen(file_input)
        except SystemExit:
            raise
        except BaseException as error:  # every failure ends as one line and an exit code
            for number in (signal.SIGINT, signal.SIGTERM):
                signal.signal(number, signal.SIG_IGN)  # a second signal must not cut the report short
            failure = _as_target_error(error)
            cls.logger.debug("target-sqlite failed", exc_info=error)
            message = str(failure)
            if len(message) > _LONGEST:
                message = f"{message[: _LONGEST - 3]}..."
            print(f"error: {message} ({failure.code})", file=sys.stderr, flush=True)
            sys.exit(failure.exit_code)
        finally:
            if target is not None:
                target.database.close()
            for number, handler in previous.items():
                signal.signal(number, handler)


def _as_target_error(error: BaseException) -> TargetError:
    """``error`` as the target reports it."""
    if isinstance(error, TargetError):
        return error
    if isinstance(error, ConfigValidationError):
        return ConfigError("invalid config: " + "; ".join(" ".join(e.split()) for e in error.errors))
    if isinstance(error, KeyboardInterrupt):
        return Stopped(signal.SIGINT)
    if isinstance(error, OSError):  # reading the input, writing STATE to a closed stdout
        where = f": {error.filename}" if error.filename else ""
        return TargetError(f"{error.strerror or one_line(error)}{where}")
    failure = TargetError(
        f"internal error {type(error).__name__}: {one_line(error)} "
        "(TARGET_SQLITE_LOGLEVEL=DEBUG logs the traceback; please report it)"
    )
    failure.code = INTERNAL_ERROR
    return failure
