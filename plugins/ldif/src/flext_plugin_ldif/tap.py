"""``tap-ldif``: a Singer tap reading RFC 2849 LDIF files into streams by object class.

Config: ``files`` (paths or glob patterns, required), ``encoding`` (default
``utf-8``), ``base_dn`` (only entries at or under it), ``allow_url_values``
and ``url_values_dir`` (``attr:< file:///...`` values are refused unless
allowed, and then read only from that directory). Streams: ``users``,
``groups``, ``organizational_units`` and ``other`` (see
``flext_plugin_ldif.records``), keyed by ``dn``, incremental on
``modify_timestamp``: with a bookmark, only entries strictly newer are emitted.

Reading the files once: Singer SDK syncs streams one after the other, and
every stream needs every file read. The first stream synced parses the files,
emits its own records and spools the records of the other selected streams
to anonymous temporary files, which those streams then replay. Memory stays
flat, and the files are parsed once however many streams are selected.

Per-record cost: records are built already conforming to their schemas, so
type conformance is off; child contexts are never built (there are no child
streams); RECORD messages are serialised by the standard library's C JSON
encoder and stdout is flushed at STATE messages, not after every record.
"""

from __future__ import annotations

import json
import pickle
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import IO, Any, ClassVar, NoReturn

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context, Record
from singer_sdk.io_base import SingerMessageType, SingerWriter
from singer_sdk.singerlib import Message, RecordMessage, SelectionMask

from flext_plugin_ldif.errors import LdifError
from flext_plugin_ldif.ldif_parser import UrlValues
from flext_plugin_ldif.records import (
    STREAMS,
    entries_with_streams,
    expand_files,
    file_time,
    to_record,
    url_values,
)
from flext_plugin_ldif.schemas import SCHEMAS
from flext_plugin_ldif.timestamps import canonical

__all__ = ["LdifStream", "TapLDIF"]

_MASK_CACHE_LIMIT = 10_000


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


class _SharedScan:
    """One pass over the files for all the streams of a run (see the module docstring)."""

    def __init__(self, tap: TapLDIF) -> None:
        self._tap = tap
        self._files: list[tuple[Path, str]] | None = None
        self._spools: dict[str, IO[bytes]] = {}
        self._started: set[str] = set()

    def files(self) -> list[tuple[Path, str]]:
        """The configured files with their modification times, resolved once per run."""
        if self._files is None:
            config = self._tap.config
            self._files = [(path, file_time(path)) for path in expand_files(config["files"])]
        return self._files

    def records(self, stream: str) -> Iterator[dict[str, Any]]:
        """All the records of ``stream``: replayed from its spool, or read from the files."""
        self._started.add(stream)
        spool = self._spools.pop(stream, None)
        if spool is not None:
            yield from _replay(spool)
            return
        others = [
            name for name in STREAMS if name not in self._started and self._tap.streams[name].selected
        ]  # fmt: skip
        # Closed by _replay, or below if the scan stops early (a context manager cannot span the yields).
        spools = {name: tempfile.TemporaryFile(prefix=f"tap-ldif-{name}-") for name in others}  # noqa: SIM115
        try:
            yield from self._scan(stream, spools)
        except BaseException:
            for handle in spools.values():
                handle.close()
            raise
        for name, handle in spools.items():
            handle.seek(0)
            self._spools[name] = handle

    def _scan(self, stream: str, spools: Mapping[str, IO[bytes]]) -> Iterator[dict[str, Any]]:
        """Parse every file: yield the records of ``stream``, spool those of the other selected streams."""
        config = self._tap.config
        times = dict(self.files())
        dump = pickle.dump
        for path, entry, entry_stream, object_classes in entries_with_streams(
            times,
            encoding=config.get("encoding") or "utf-8",
            base_dn=config.get("base_dn"),
            url_values=self._tap.url_values,
        ):
            if entry_stream == stream:
                yield to_record(entry, entry_stream, object_classes, times[path])
            else:
                spool = spools.get(entry_stream)
                if spool is not None:
                    dump(to_record(entry, entry_stream, object_classes, times[path]), spool, -1)


def _replay(spool: IO[bytes]) -> Iterator[dict[str, Any]]:
    """The records pickled into a spool, in order; the spool is closed (and so deleted) at the end."""
    with spool:
        while True:
            try:
                # One pickle.load per record: each record was dumped on its own, with its own memo.
                record: dict[str, Any] = pickle.load(spool)
            except EOFError:
                return
            yield record


class LdifStream(Stream):
    """One stream of LDIF entries (``users``, ``groups``, ``organizational_units`` or ``other``)."""

    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: TapLDIF, name: str, scan: _SharedScan) -> None:
        super().__init__(tap, schema=SCHEMAS[name], name=name)
        self.primary_keys = ["dn"]
        self.replication_key = "modify_timestamp"
        self._scan = scan

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
        """None: the streams have no child streams (this skips copying every record for them)."""
        return ()

    def get_records(self, context: Context | None) -> Iterator[Record]:
        """The stream's records, skipping those not newer than the bookmark.

        Raises:
            LdifError: A file cannot be read or is not LDIF, or the bookmark is not a date-time.

        """
        bookmark = self._bookmark(context)
        for record in self._scan.records(self.name):
            if bookmark is None or record["modify_timestamp"] > bookmark:
                yield record

    def _bookmark(self, context: Context | None) -> str | None:
        """The state's bookmark in the canonical timestamp form, or None."""
        value = self.get_starting_replication_key_value(context)
        if value is None:
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


def _stream_order(name: str) -> int:
    return STREAMS.index(name) if name in STREAMS else len(STREAMS)


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
        """The four streams, ``users`` first (usually the largest: it is read straight from the files)."""
        scan = _SharedScan(self)
        return [LdifStream(self, name, scan) for name in STREAMS]

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
