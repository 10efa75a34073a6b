"""``tap-ldif``: a Singer tap reading RFC 2849 LDIF files into streams by object class.

Config: ``files`` (paths or glob patterns, required), ``encoding`` (default
``utf-8``), ``base_dn`` (only entries at or under it), ``allow_url_values``
and ``url_values_dir`` (``attr:< file:///...`` values are refused unless
allowed, and then read only from that directory), ``binary_attributes``,
``normalize_dn`` and ``changes_stream`` (both on by default),
``group_members_stream`` and ``emit_activate_version_messages``
(docs/plugins/ldif.md). Streams: ``users``, ``groups``,
``organizational_units`` and ``other`` (see ``flext_plugin_ldif.records``),
``changes`` (unless ``changes_stream`` is off) and ``group_members`` when
asked for; incremental on ``modify_timestamp``.

Whole input first, then output: the first stream synced parses every file
and spools the records of every selected stream to anonymous temporary files;
only then are records written, stream by stream. A file that is not LDIF (or
an ``ldapsearch`` trailer that reports a failed search) thus stops the run
before any RECORD is written: a failed run never leaves a partial load that
looks complete. Memory stays flat, and the files are parsed once.

Bookmarks: a stream with a bookmark gets the records whose
``modify_timestamp`` is *at or after* it (``>=``: ``modifyTimestamp`` has
one-second resolution, and an entry may change again in the bookmark's
second); the state keeps a short digest of each record at the bookmark's
second, and a record already sent with the same content is not sent again.

The fast path: when a stream has no stream maps, no flattening, no
deselected property and no batch config (the usual case), each RECORD
message is encoded once, during the scan, and its spool is copied to stdout
as it is; the stream's bookmark is set once at the end. Otherwise records go
through Singer SDK one by one, as in any tap.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import pickle
import sys
import tempfile
from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from logging import Logger
from pathlib import Path
from typing import IO, Any, ClassVar, Final, NoReturn

import orjson
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context, Record
from singer_sdk.io_base import SingerMessageType, SingerWriter
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib import Message, RecordMessage, SelectionMask

from flext_plugin_ldif.errors import LdifError
from flext_plugin_ldif.ldif_parser import LdifEntry, SearchResult, UrlValues
from flext_plugin_ldif.records import (
    CHANGES,
    GROUP_MEMBERS,
    STREAMS,
    RecordMaker,
    classify,
    entries_with_streams,
    expand_files,
    file_time,
    object_classes_of,
    url_values,
)
from flext_plugin_ldif.schema import DEFAULT_SCHEMA, Schema
from flext_plugin_ldif.schemas import KEYS, SCHEMAS
from flext_plugin_ldif.timestamps import canonical

__all__ = ["DEFAULTS", "LdifStream", "TapLDIF", "setting"]

DEFAULTS: Final[Mapping[str, bool]] = {
    "normalize_dn": True,
    "changes_stream": True,
    "group_members_stream": False,
    "apply_changes": False,
}
"""The defaults of the boolean settings that choose streams and keys (docs/plugins/ldif.md says why)."""

_MASK_CACHE_LIMIT = 10_000
SEEN_KEY: Final = "seen_at_bookmark"
"""The state key (per stream) of the digests of the records sent at the bookmark's second."""
_encode: Final = orjson.dumps  # a record as compact UTF-8 JSON, ten times faster than the json module
SEEN_LIMIT: Final = 10_000
PARALLEL_MIN_BYTES: Final = 16 << 20
"""Below this many bytes of input, one process reads everything (starting workers costs more)."""
MAX_WORKERS: Final = 4
"""At most this many processes read the files when ``workers`` is automatic."""
_NO_SENDFILE: Final = frozenset({errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ESPIPE, errno.EXDEV})
"""At most this many digests are kept; past it, the bookmark's second is sent again in full."""


class _FastWriter(SingerWriter):
    """Singer messages on stdout: RECORDs through the C JSON encoder, one flush per STATE, not per record."""

    def __init__(self) -> None:
        super().__init__()
        self._encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode

    def serialize_message(self, message: Message) -> str:
        """One message as a line of JSON (records the fast way, the rest as Singer SDK writes them)."""
        if type(message) is not RecordMessage:
            return super().serialize_message(message)
        data: dict[str, Any] = {"type": "RECORD", "stream": message.stream, "record": message.record}
        if message.version is not None:
            data["version"] = message.version
        if message.time_extracted is not None:
            data["time_extracted"] = message.time_extracted.isoformat()
        return self._encode(data)

    def write_message(self, message: Message) -> None:
        """Write one message; stdout is flushed after every message that is not a RECORD."""
        sys.stdout.write(self.serialize_message(message) + "\n")
        if message.type is not SingerMessageType.RECORD:
            sys.stdout.flush()


class _CachingMask(SelectionMask):
    """A selection mask that remembers the answers it inherits from parent breadcrumbs.

    Singer SDK looks up the breadcrumb of every property of every record,
    including each attribute inside ``attributes``; without the cache each
    such lookup walks up to the parent breadcrumb again.
    """

    def __missing__(self, breadcrumb: tuple[str, ...]) -> bool:
        selected = super().__missing__(breadcrumb)
        if len(self) < _MASK_CACHE_LIMIT:  # attribute names are many only in a pathological file
            self[breadcrumb] = selected
        return selected


@dataclass(frozen=True, slots=True)
class _SinkSpec:
    """What a stream's sink needs, taken from the stream before the scan (workers get a copy)."""

    name: str
    fast: bool
    bookmark: str | None
    seen: frozenset[str]
    version: int | None
    extracted: str


class _Sink:
    """One selected stream's share of the scan: its records, filtered by its bookmark, in spools.

    ``fast``: each record is stored as its RECORD message line, ready to be
    copied to stdout; otherwise pickled, for Singer SDK to process. A
    parallel scan appends the spools of the other parts, in order.
    """

    __slots__ = ("at_max", "count", "max_timestamp", "prefix", "spec", "spool", "spools", "suffix")

    def __init__(self, spec: _SinkSpec, spool: IO[bytes] | None = None) -> None:
        self.spec = spec
        self.max_timestamp: str | None = None
        self.at_max: list[str] | None = []  # digests of the records at max_timestamp (None: too many)
        self.count = 0
        # Closed by the stream when replayed, or by the scan if it fails (not a with: it spans the sync).
        self.spool = spool or tempfile.TemporaryFile(prefix=f"tap-ldif-{spec.name}-", buffering=1 << 20)  # noqa: SIM115
        self.spools = [self.spool]
        self.prefix = f'{{"type":"RECORD","stream":{json.dumps(spec.name)},"record":'.encode()
        version_field = "" if spec.version is None else f',"version":{spec.version}'
        self.suffix = f'{version_field},"time_extracted":"{spec.extracted}"}}\n'.encode()

    @property
    def fast(self) -> bool:
        """Whether the spools hold finished RECORD lines (else pickled records)."""
        return self.spec.fast

    @property
    def version(self) -> int | None:
        """The table version of a full sync with ACTIVATE_VERSION, or None."""
        return self.spec.version

    def add(self, record: dict[str, Any]) -> None:
        """Spool ``record`` unless it is older than the bookmark or was sent at the bookmark already."""
        timestamp = record["modify_timestamp"]
        bookmark = self.spec.bookmark
        if bookmark is not None and timestamp < bookmark:
            return
        encoded = _encode(record)
        latest = self.max_timestamp
        if timestamp == bookmark or latest is None or timestamp >= latest:
            digest = hashlib.blake2b(encoded, digest_size=8).hexdigest()
            if latest is None or timestamp > latest:
                self.max_timestamp = timestamp
                self.at_max = [digest]
            elif self.at_max is not None:
                self.at_max.append(digest)
                if len(self.at_max) > SEEN_LIMIT:
                    self.at_max = None
            if timestamp == bookmark and digest in self.spec.seen:
                return
        self.count += 1
        if self.spec.fast:
            self.spool.write(self.prefix + encoded + self.suffix)
        else:
            pickle.dump(record, self.spool, -1)

    def merge(
        self, spool: IO[bytes], count: int, max_timestamp: str | None, at_max: list[str] | None
    ) -> None:
        """Append another part's spool and statistics (parts are merged in file order)."""
        self.spools.append(spool)
        self.count += count
        if max_timestamp is None:
            return
        if self.max_timestamp is None or max_timestamp > self.max_timestamp:
            self.max_timestamp, self.at_max = max_timestamp, at_max
        elif max_timestamp == self.max_timestamp:
            if self.at_max is None or at_max is None or len(self.at_max) + len(at_max) > SEEN_LIMIT:
                self.at_max = None
            else:
                self.at_max.extend(at_max)

    def rewind(self) -> None:
        """Flush the spools and go back to their start, for the replay."""
        for spool in self.spools:
            spool.flush()
            spool.seek(0)

    def close(self) -> None:
        """Delete the spools."""
        for spool in self.spools:
            spool.close()


class _SharedScan:
    """One pass over the files for all the streams of a run (see the module docstring)."""

    def __init__(self, tap: TapLDIF) -> None:
        self.tap = tap
        """The tap whose files are read."""
        self._sinks: dict[str, _Sink] | None = None

    def sink(self, stream: str) -> _Sink:
        """The stream's spooled records; the first call reads every file.

        Raises:
            LdifError: A file cannot be read or is not LDIF.

        """
        if self._sinks is None:
            self._sinks = self._scan()
        return self._sinks.pop(stream)

    def _scan(self) -> dict[str, _Sink]:
        tap = self.tap
        config = tap.config
        extracted = datetime.now(UTC).isoformat()
        sinks: dict[str, _Sink] = {}
        for name, stream in tap.streams.items():
            if stream.selected and isinstance(stream, LdifStream):
                bookmark = stream.bookmark()
                seen = stream.seen_at_bookmark() if bookmark is not None else frozenset()
                spec = _SinkSpec(name, stream.fast_path(), bookmark, seen, stream.version(), extracted)
                sinks[name] = _Sink(spec)
        try:
            self._fill(sinks, config)
        except BaseException:
            for sink in sinks.values():
                sink.close()
            raise
        for sink in sinks.values():
            sink.rewind()
        return sinks

    def _fill(self, sinks: Mapping[str, _Sink], config: Mapping[str, Any]) -> None:
        tap = self.tap
        times = {path: file_time(path) for path in expand_files(config["files"])}
        workers = _workers(config, times, tap.logger)
        if workers > 1:
            from flext_plugin_ldif.tap_parallel import fill_in_parallel  # multiprocessing: only when used

            fill_in_parallel(self, sinks, config, times, workers)
            return
        emit = _Emitter(
            sinks,
            RecordMaker(
                schema=tap.schema,
                normalize_dn=setting(config, "normalize_dn"),
                group_members_stream=setting(config, "group_members_stream"),
            ),
        )
        send_changes = setting(config, "changes_stream")
        applier = None
        if config.get("apply_changes"):
            from flext_plugin_ldif.apply import ChangeApplier  # sqlite3: loaded only when asked for

            applier = ChangeApplier(tap.schema)
        try:
            for path, entry, stream, object_classes in entries_with_streams(
                times,
                encoding=config.get("encoding") or "utf-8",
                base_dn=config.get("base_dn"),
                url_values=tap.url_values,
                schema=tap.schema,
                on_search_result=tap.log_search_result,
            ):
                source = str(path)
                if send_changes and entry.is_change:
                    emit(entry, CHANGES, object_classes, times[path], source)
                if applier is not None and applier.add(entry, (source, times[path])):
                    continue
                if not (send_changes and entry.is_change):
                    emit(entry, stream, object_classes, times[path], source)
            if applier is not None:
                for gone, (source, when) in applier.deleted:
                    classes = object_classes_of(gone)
                    again = applier.entry_at(gone.dn)
                    if again is not None and classify(object_classes_of(again)) == classify(classes):
                        continue  # added again, or renamed back, in the same stream: its entry is sent below
                    record = LdifEntry(gone.dn, {}, "delete", gone.line, is_change=True)
                    emit(record, classify(classes), classes, when, source)
                for current, (source, when), changed_at in applier.entries():
                    classes = object_classes_of(current)
                    emit(current, classify(classes), classes, when, source, changed_at)
        finally:
            if applier is not None:
                applier.close()


class _Emitter:
    """Builds an entry's record(s) and hands them to the sinks of the selected streams."""

    __slots__ = ("_maker", "_members", "_sinks")

    def __init__(self, sinks: Mapping[str, _Sink], maker: RecordMaker) -> None:
        self._sinks = sinks
        self._maker = maker
        self._members = sinks.get(GROUP_MEMBERS)

    def __call__(
        self,
        entry: LdifEntry,
        stream: str,
        object_classes: list[str],
        when: str,
        source: str,
        at_least: str | None = None,
    ) -> None:
        sink = self._sinks.get(stream)
        members = self._members if stream == "groups" else None
        if sink is None and members is None:
            return
        record = self._maker.record(entry, stream, object_classes, when, source)
        if at_least is not None and record["modify_timestamp"] < at_least:
            record["modify_timestamp"] = at_least  # changed by a change record: sent when it changes
        if sink is not None:
            sink.add(record)
        if members is not None:
            for member in self._maker.member_records(entry, record, source):
                members.add(member)


def _copy(spool: IO[bytes], out: IO[bytes]) -> None:
    """Copy a spool (from its position) to ``out``: in the kernel with sendfile where it can.

    Raises:
        OSError: Writing failed (``BrokenPipeError`` when the reader went away).

    """
    out.flush()
    offset = spool.tell()
    try:
        source, target = spool.fileno(), out.fileno()
        while sent := os.sendfile(target, source, offset, 1 << 24):
            offset += sent
    except (AttributeError, io.UnsupportedOperation):
        pass  # no sendfile on this system, or no descriptor behind the output: copy below
    except OSError as exc:
        if exc.errno not in _NO_SENDFILE:
            raise
    spool.seek(offset)
    while block := spool.read(1 << 20):
        out.write(block)
    out.flush()


def _replay(spool: IO[bytes]) -> Iterator[dict[str, Any]]:
    """The records pickled into a spool, in order."""
    while True:
        try:
            # One pickle.load per record: each record was dumped on its own, with its own memo.
            record: dict[str, Any] = pickle.load(spool)
        except EOFError:
            return
        yield record


def setting(config: Mapping[str, Any], name: str) -> bool:
    """A boolean setting of the config, with its default when the config leaves it out.

    Singer SDK fills in the defaults when it validates the config; discovery
    (``--discover``) skips that, and must still see the same streams.
    """
    value = config.get(name)
    return bool(DEFAULTS[name] if value is None else value)


def _workers(config: Mapping[str, Any], times: Mapping[Path, str], log: Logger | None = None) -> int:
    """How many processes read the files: the ``workers`` setting (1 by default; 0: by size and CPUs)."""
    asked = int(config.get("workers", 1))
    ordered = [name for name in ("changes_stream", "apply_changes") if setting(config, name)]
    if ordered:
        if asked != 1 and log is not None:
            log.warning(
                "workers: %d is ignored: %s follows the order of the whole input, so one process reads "
                "it; set changes_stream: false (and apply_changes: false) to read in several processes",
                asked,
                " and ".join(ordered),
            )
        return 1  # both follow the order of the whole input
    if asked:
        return max(asked, 1)
    if not hasattr(os, "fork") or sum(path.stat().st_size for path in times) < PARALLEL_MIN_BYTES:
        return 1
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(available, MAX_WORKERS))


class LdifStream(Stream):
    """One stream of the tap: an entry stream, ``changes`` or ``group_members``."""

    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: TapLDIF, name: str, scan: _SharedScan) -> None:
        super().__init__(tap, schema=SCHEMAS[name], name=name)
        self.primary_keys = KEYS[name]
        self.replication_key = "modify_timestamp"
        self._scan = scan
        self._ldif_tap = tap

    @property
    def is_sorted(self) -> bool:
        """False: files are read in file order, which is not ``modify_timestamp`` order."""
        return False

    @property
    def mask(self) -> SelectionMask:
        """The catalog's property selection, with inherited answers remembered (see ``_CachingMask``)."""
        if not isinstance(self._mask, _CachingMask):
            self._mask = _CachingMask(super().mask)
        return self._mask

    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        """No signpost: a file does not change during a run, so no newer record is to be kept for later."""
        return

    def generate_child_contexts(self, record: Record, context: Context | None) -> Iterable[Context | None]:
        """None: no Singer SDK child streams (this skips copying every record for them)."""
        return ()

    def fast_path(self) -> bool:
        """True when records need nothing of Singer SDK: no maps, flattening, deselection or batches."""
        if self.get_batch_config(self.config):
            return False
        maps = self.stream_maps
        if len(maps) != 1 or type(maps[0]) is not SameRecordTransform:
            return False
        if maps[0].stream_alias != self.name or maps[0].flattening_enabled:
            return False
        mask = self.mask
        return all(mask[breadcrumb] for breadcrumb in self.metadata)

    def bookmark(self) -> str | None:
        """The state's bookmark in the canonical timestamp form, or None (a full sync).

        Raises:
            LdifError: The bookmark is not a date-time.

        """
        if self.replication_method != "INCREMENTAL":
            return None
        state = self.stream_state
        value = state.get("replication_key_value")
        if value is None or state.get("replication_key", "modify_timestamp") != "modify_timestamp":
            return None
        try:
            return canonical(str(value))
        except ValueError:
            raise LdifError(
                "--state",
                None,
                f"the bookmark of stream {self.name!r} ({value!r}) is not an ISO 8601 date-time; "
                "fix or remove it from the state",
            ) from None

    def seen_at_bookmark(self) -> frozenset[str]:
        """The digests of the records sent at the bookmark's second (from the state)."""
        seen = self.stream_state.get(SEEN_KEY)
        return frozenset(seen) if isinstance(seen, list) else frozenset()

    def version(self) -> int | None:
        """The table version of a full sync with ``emit_activate_version_messages``, else None."""
        if not self.config.get("emit_activate_version_messages") or self.bookmark() is not None:
            return None
        return self._ldif_tap.initialized_at

    def _sync_records(
        self, context: Context | None = None, *, write_messages: bool = True
    ) -> Generator[dict[Any, Any], Any, Any]:
        """Write the stream's records: the spool as it is (the fast path), or through Singer SDK.

        Overrides Singer SDK's (private) record loop, for the fast path only;
        Singer SDK is pinned to a minor version in pyproject.toml, and the
        tests run both paths.
        """
        sink = self._scan.sink(self.name)
        self._sink = sink
        if sink.version is not None:
            self._stream_version = sink.version
        if not (sink.fast and write_messages and context is None):
            yield from super()._sync_records(context, write_messages=write_messages)
            return
        self._write_starting_replication_value(None)
        with self.get_record_counter() as counter:
            sys.stdout.flush()
            try:
                for spool in sink.spools:
                    _copy(spool, sys.stdout.buffer)
            finally:
                sink.close()
            counter.increment(sink.count)
        self._finish(sink)
        self._finalize_state(self.stream_state)
        self._write_state_message()

    def get_records(self, context: Context | None) -> Iterator[Record]:
        """The stream's records, already filtered by the bookmark during the scan (the Singer SDK path).

        Raises:
            LdifError: A file cannot be read or is not LDIF, or the bookmark is not a date-time.

        """
        sink = getattr(self, "_sink", None) or self._scan.sink(self.name)
        self._sink = sink
        if sink.version is not None:
            self._stream_version = sink.version
        try:
            for spool in sink.spools:
                yield from _replay(spool)
        finally:
            sink.close()
        self._finish(sink, increment=False)

    def _finish(self, sink: _Sink, *, increment: bool = True) -> None:
        """After the records: ACTIVATE_VERSION of a full sync, the bookmark and its second's digests."""
        if sink.version is not None:
            self._write_activate_version_message(sink.version)
        if sink.max_timestamp is None:
            return  # nothing at or after the bookmark: the state stays as it was
        if increment:
            self._increment_stream_state({"modify_timestamp": sink.max_timestamp}, context=None)
        if sink.at_max is None:
            self.stream_state.pop(SEEN_KEY, None)
        else:
            self.stream_state[SEEN_KEY] = sorted(set(sink.at_max))


_ORDER: Final = (*STREAMS, CHANGES, GROUP_MEMBERS)


def _stream_order(name: str) -> int:
    return _ORDER.index(name) if name in _ORDER else len(_ORDER)


class TapLDIF(Tap):
    """``tap-ldif``: LDIF files as Singer streams of directory entries, by object class."""

    name = "tap-ldif"
    package_name = "flext-plugin-ldif"
    message_writer_class = _FastWriter
    config_jsonschema: ClassVar[dict[str, Any]] = th.PropertiesList(
        th.Property(
            "files",
            th.ArrayType(th.StringType),
            required=True,
            description="LDIF files to read: paths or glob patterns (data/*.ldif, dumps/**/*.ldif).",
        ),
        th.Property(
            "encoding",
            th.StringType,
            default="utf-8",
            description="The files' text encoding (default utf-8).",
        ),
        th.Property(
            "base_dn",
            th.StringType,
            description="Only entries at or under this DN (compared ignoring case and spaces).",
        ),
        th.Property(
            "allow_url_values",
            th.BooleanType,
            default=False,
            description=(
                "Read 'attr:< file:///path' values (RFC 2849 URL values) from the files under "
                "url_values_dir. Off by default, because such a value makes the tap read another file "
                "named by the LDIF: an untrusted LDIF could pull /etc/shadow or a private key into the "
                "data. Other schemes (http, ftp...) are never read."
            ),
        ),
        th.Property(
            "url_values_dir",
            th.StringType,
            description=(
                "Required when allow_url_values is true: the directory whose files URL values may name. "
                "A URL whose path, with symlinks and '..' resolved, is outside it is refused."
            ),
        ),
        th.Property(
            "binary_attributes",
            th.ArrayType(th.StringType),
            default=[],
            description=(
                "Attributes whose values are octets, in addition to those whose schema syntax says so "
                "(jpegPhoto, audio, userCertificate, userPassword...): given as base64."
            ),
        ),
        th.Property(
            "normalize_dn",
            th.BooleanType,
            default=DEFAULTS["normalize_dn"],
            description=(
                "Key records by the RFC 4514 normal form of their DN (cn=Smith\\, John and "
                "CN=smith\\2C john are one entry); the DN as written stays in written_dn. On by default; "
                "false keys records by the DN as written (the default until 2026-12-07)."
            ),
        ),
        th.Property(
            "changes_stream",
            th.BooleanType,
            default=DEFAULTS["changes_stream"],
            description=(
                "Send change records (changetype: add/delete/modify/modrdn) to the 'changes' stream, one "
                "record per change keyed by dn and sequence, instead of the entry streams. On by default; "
                "false sends them to the entry streams, keyed by dn (a target keeps the last per DN)."
            ),
        ),
        th.Property(
            "apply_changes",
            th.BooleanType,
            default=False,
            description=(
                "Apply change records, in order, to the entries read before them (an export followed by "
                "the changes since), and send the entries as they are after them; a deleted or renamed "
                "entry is sent once more as a 'delete' record of its old DN."
            ),
        ),
        th.Property(
            "group_members_stream",
            th.BooleanType,
            default=DEFAULTS["group_members_stream"],
            description=(
                "Send the member and uniqueMember values of groups to the 'group_members' stream, one "
                "record per (group, member), and leave them out of the groups' records."
            ),
        ),
        th.Property(
            "workers",
            th.IntegerType,
            default=1,
            description=(
                "How many processes parse the files (large files are cut into parts at empty lines): 1 "
                "(default) reads in this process only, 0 picks by size and CPUs (one below 16 MB, up to "
                "4). Messages and state are the same whatever the number. Only with changes_stream: false "
                "and without apply_changes, which follow the order of the whole input (one process then)."
            ),
        ),
        th.Property(
            "emit_activate_version_messages",
            th.BooleanType,
            default=False,
            description=(
                "On a stream synced without a bookmark (a full sync), give every RECORD a table version "
                "and send ACTIVATE_VERSION after the last one, so that a target can delete what the "
                "source no longer has."
            ),
        ),
    ).to_dict()

    def __init__(self, **kwargs: Any) -> None:
        """Build the tap; when the config is validated (every sync), the URL value settings are too.

        Checked here, where Singer SDK validates the config, so that a bad
        setting ends the run before any message is written; discovery, which
        skips validation and reads no file, is not stopped by it.

        Raises:
            LdifError: ``allow_url_values`` without ``url_values_dir``, or that is not a directory.

        """
        super().__init__(**kwargs)
        if kwargs.get("validate_config", True):
            _ = self.url_values

    def discover_streams(self) -> list[Stream]:
        """The four entry streams, ``changes`` (unless turned off) and ``group_members`` (when turned on)."""
        scan = _SharedScan(self)
        config = self.config
        names = [*STREAMS]
        if setting(config, "changes_stream"):
            names.append(CHANGES)
        if setting(config, "group_members_stream"):
            names.append(GROUP_MEMBERS)
        return [LdifStream(self, name, scan) for name in names]

    @cached_property
    def schema(self) -> Schema:
        """OpenLDAP's attribute schema, with the configured ``binary_attributes``."""
        extra = self.config.get("binary_attributes") or []
        return DEFAULT_SCHEMA.with_binary(extra) if extra else DEFAULT_SCHEMA

    def log_search_result(self, result: SearchResult) -> None:
        """Log an ``ldapsearch`` trailer (only result 0 gets here; others fail the run)."""
        self.logger.info(
            "ldapsearch trailer at line %d: result %d (%s): the search returned every entry",
            result.line,
            result.code,
            result.text,
        )

    @cached_property
    def url_values(self) -> UrlValues:
        """The URL values ``allow_url_values`` and ``url_values_dir`` allow (checked once per run).

        Raises:
            LdifError: URL values are allowed without ``url_values_dir``, or it is not a directory.

        """
        config = self.config
        return url_values(
            bool(config.get("allow_url_values")),
            config.get("url_values_dir"),
            allow_setting="allow_url_values",
            directory_setting="url_values_dir",
            how_to_allow=(
                "set allow_url_values: true and url_values_dir: <directory of the file> in the tap's config"
            ),
        )

    @property
    def streams(self) -> dict[str, Stream]:
        """The streams in ``STREAMS`` order, not by name: ``users``, usually the largest, is synced first."""
        streams = super().streams
        return {name: streams[name] for name in sorted(streams, key=_stream_order)}

    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        """Run the tap; an unreadable or malformed file ends it with one ``error:`` line and exit code 1."""
        try:
            super().invoke(*args, **kwargs)
        except LdifError as exc:
            _fail(exc)

    @classmethod
    def cb_test(cls, *args: Any, **kwargs: Any) -> None:
        """``--test``: as in a run, an unreadable file or a bad setting is one ``error:`` line."""
        try:
            super().cb_test(*args, **kwargs)
        except LdifError as exc:
            _fail(exc)


def _fail(error: LdifError) -> NoReturn:
    """End the run the documented way: one ``error:`` line on stderr, exit code 1 (stdout flushed first)."""
    sys.stdout.flush()
    print(f"error: {error}", file=sys.stderr)
    raise SystemExit(1) from None


if __name__ == "__main__":
    TapLDIF.cli()
