"""The export file: one JSON object per line per event, in global order, exactly as stored.

A line::

    {"position": 12, "stream_id": "acc-1", "version": 3, "event_id": "0192...",
     "event_type": "bank.Deposited", "schema_version": 1, "data": {...the stored event...}}

Why this shape: ``data`` is the event as the store keeps it (envelope and
payload), so an import writes back the same bytes whatever classes are
installed, and re-importing is a no-op, because appends are idempotent by
``event_id``. ``position`` is informative: the target store hands out its own.

An import keeps ids and versions, so it trusts nothing in the file and
writes nothing until every line has passed, in three steps:

1. ``read_export``: each line on its own (JSON, the fields and their types,
   an event id that is a UUID and is ``data.event_id``, ``data`` holding the
   envelope of a stored event, its ``aggregate_id`` the line's stream, its
   ``occurred_at`` an ISO 8601 time with a zone), then the file (no event id
   twice; each stream's versions contiguous, in order, no gap, no repeat);
2. ``check_payloads``: the payload of an event whose class is known here (a
   projection of an active plugin handles it) decodes into that class;
3. ``plan_import``: against the target store, each stream's versions follow
   on from what it holds, and what it holds already is the same events.

Then ``write_import`` appends everything in one transaction
(``EventStoreBase.append_streams``), so an import is all or nothing; a store
whose transactions are smaller than the import (PostgreSQL: 65,536 events)
takes it in transactions of whole streams, and a rerun finishes one that was
interrupted. A bad line fails with ``VALIDATION_ERROR``, ``error_data["line"]``
its number.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flext_eventsourcing import (
    TOMBSTONE_TYPE,
    EventCodec,
    FlextEventStore,
    RecordedEvent,
    StoredEvent,
    UnknownEvent,
)
from flext_kernel.errors import UNKNOWN_MESSAGE_TYPE, VALIDATION_ERROR
from flext_kernel.messages import FlextDomainEvent
from flext_kernel.result import Failure, FlextResult, Success

__all__ = [
    "ExportedEvent",
    "ExportedLine",
    "ImportPlan",
    "check_payloads",
    "plan_import",
    "read_export",
    "write_export",
    "write_import",
]

_PAGE: Final = 5_000
_ENVELOPE: Final = ("event_id", "occurred_at", "aggregate_id", "version")
"""What every stored event's ``data`` holds (``FlextDomainEvent``'s fields without defaults worth keeping)."""
_OPTIONAL_ENVELOPE: Final = ("aggregate_type", "correlation_id", "causation_id", "metadata")


class ExportedEvent(BaseModel):
    """One line of an export file."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    position: int = Field(ge=0)
    stream_id: str = Field(min_length=1)
    version: int = Field(ge=1)
    event_id: UUID
    event_type: str = Field(min_length=1)
    schema_version: int = Field(ge=1)
    data: dict[str, Any]

    def row(self) -> StoredEvent:
        """The row this line stores (position 0: not stored yet)."""
        text = json.dumps(self.data, ensure_ascii=False, separators=(",", ":"), allow_nan=True)
        return StoredEvent(
            self.stream_id, self.version, str(self.event_id), self.event_type, self.schema_version, text
        )


@dataclass(frozen=True, slots=True)
class ExportedLine:
    """A checked line and its number in the file."""

    number: int
    """1-based line number."""
    event: ExportedEvent
    """What it holds."""


@dataclass(slots=True)
class ImportPlan:
    """What an import appends, stream by stream, and what the store holds already."""

    batches: list[tuple[str, list[ExportedLine], int]] = field(default_factory=list)
    """Per stream with something new: its id, the new lines, and the version the store is at."""
    already_there: int = 0
    """Lines whose event the store holds already."""
    streams: int = 0
    """Streams in the file."""


def write_export(events: FlextEventStore, target: Path | IO[str]) -> FlextResult[int]:
    """Write every event of ``events`` to ``target``; a file is replaced only once complete."""
    if isinstance(target, Path):
        # A symlink is followed: the file it names is replaced, from its own directory
        # (one rename, on one filesystem), and the link stays a link.
        resolved = target.resolve()
        directory = resolved.parent
        if not directory.is_dir():
            return Failure(f"cannot write {target}: {directory} is not a directory", VALIDATION_ERROR)
        handle, temporary = tempfile.mkstemp(prefix=f".{resolved.name}.", dir=directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                written = _write_lines(events, stream)
            if written.is_success:
                os.replace(temporary, resolved)
            return written
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    return _write_lines(events, target)


def _write_lines(events: FlextEventStore, stream: IO[str]) -> FlextResult[int]:
    after, count = 0, 0
    while True:
        page = events.read_all(after, limit=_PAGE)
        if isinstance(page, Failure):
            return page
        if not page.value:
            return Success(count)
        for recorded in page.value:
            line = {
                "position": recorded.position,
                "stream_id": recorded.stream_id,
                "version": recorded.version,
                "event_id": str(recorded.event_id),
                "event_type": recorded.event_type,
                "schema_version": recorded.schema_version,
                "data": json.loads(recorded.data),
            }
            stream.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
        after = page.value[-1].position


# 1. The file on its own.


def read_export(source: Path | IO[str]) -> FlextResult[list[ExportedLine]]:
    """Parse and check a whole export file; the first bad line fails it, named by its number."""
    try:
        text = source.read_text(encoding="utf-8") if isinstance(source, Path) else source.read()
    except OSError as exc:
        return Failure(f"cannot read {source}: {exc.strerror or exc}", VALIDATION_ERROR)
    except UnicodeDecodeError as exc:
        return Failure(f"{source} is not UTF-8 text: {exc.reason}", VALIDATION_ERROR)
    lines: list[ExportedLine] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        checked = _check_line(number, line)
        if isinstance(checked, Failure):
            return checked
        lines.append(checked.value)
    across = _check_across(lines)
    return across if across is not None else Success(lines)


def _bad(number: int, where: str, problem: str) -> FlextResult[Any]:
    """A refused line: ``line N: FIELD: PROBLEM`` (no field when the line as a whole is wrong)."""
    place = f"line {number}: {where}: " if where else f"line {number}: "
    return Failure(place + problem, VALIDATION_ERROR, {"line": number, "field": where})


def _check_line(number: int, line: str) -> FlextResult[ExportedLine]:
    """One line: its fields, then ``data`` as the stored event it claims to be."""
    try:
        event = ExportedEvent.model_validate_json(line)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        return _bad(number, ".".join(str(part) for part in first["loc"]), first["msg"])
    data = event.data
    missing = [name for name in _ENVELOPE if name not in data]
    if missing:
        return _bad(
            number, f"data.{missing[0]}", "missing: data must be the event as stored, with its envelope"
        )
    envelope = {name: data[name] for name in (*_ENVELOPE, *_OPTIONAL_ENVELOPE) if name in data}
    try:
        stored = FlextDomainEvent.model_validate_json(json.dumps(envelope, allow_nan=True))
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        return _bad(number, "data." + ".".join(str(part) for part in first["loc"]), first["msg"])
    for name, found, expected in (
        ("event_id", stored.event_id, event.event_id),
        ("aggregate_id", stored.aggregate_id, event.stream_id),
        ("version", stored.version, event.version),
    ):
        if found != expected:
            key = "stream_id" if name == "aggregate_id" else name
            return _bad(number, f"data.{name}", f"{found} is not the line's {key} {expected}")
    return Success(ExportedLine(number, event))


def _check_across(lines: Sequence[ExportedLine]) -> FlextResult[Any] | None:
    """What no line shows alone: an event id twice, a stream whose versions skip, repeat or go back."""
    ids: dict[UUID, int] = {}
    last: dict[str, ExportedLine] = {}
    for line in lines:
        event = line.event
        earlier = ids.setdefault(event.event_id, line.number)
        if earlier != line.number:
            return _bad(line.number, "event_id", f"{event.event_id} is also the event of line {earlier}")
        previous = last.get(event.stream_id)
        if previous is not None and event.version != previous.event.version + 1:
            before = (
                f"version {previous.event.version} of stream {event.stream_id!r} (line {previous.number})"
            )
            jump = "repeats" if event.version <= previous.event.version else f"skips from {before} to"
            told = f"{jump} {before}" if jump == "repeats" else f"{jump} {event.version}"
            return _bad(
                line.number,
                "version",
                f"{told}: an import keeps versions, so in each stream they must follow one another",
            )
        last[event.stream_id] = line
    return None


# 2. The payloads of the event classes known here.


def known_types(projections: Iterable[object]) -> EventCodec:
    """A codec knowing the event classes the active plugins' projections handle (and the tombstone)."""
    codec = EventCodec()
    for projection in projections:
        handled = getattr(projection, "handled_event_types", None)
        if callable(handled):
            for event_class in handled():
                codec.register(event_class)
    return codec


def check_payloads(lines: Sequence[ExportedLine], codec: EventCodec) -> FlextResult[None]:
    """Each event whose class ``codec`` knows, at that class's schema version, decodes into it.

    Other schema versions are left to the upcasters of the plugin that owns
    them, which an import cannot know.
    """
    for line in lines:
        event = line.event
        cls = codec.event_class(event.event_type)
        if cls is None or cls.schema_version != event.schema_version:
            continue
        decoded = codec.decode(event.row()).event
        if isinstance(decoded, UnknownEvent) and decoded.error_code != UNKNOWN_MESSAGE_TYPE:
            return _bad(line.number, "data", decoded.reason)
    return Success(None)


# 3. The target store.


def plan_import(events: FlextEventStore, lines: Sequence[ExportedLine]) -> FlextResult[ImportPlan]:
    """Check the file against what ``events`` holds and say what to append.

    A stream's first version in the file must be at most one past the
    store's; the events the store holds at the file's versions must be the
    file's (same id and data), and then they are skipped; a deleted stream
    takes nothing more.
    """
    by_stream: dict[str, list[ExportedLine]] = {}
    for line in lines:
        by_stream.setdefault(line.event.stream_id, []).append(line)
    plan = ImportPlan(streams=len(by_stream))
    for stream_id, stream_lines in by_stream.items():
        held = _held(events, stream_id, stream_lines[0].event.version)
        if isinstance(held, Failure):
            return held
        head, stored = held.value
        fresh = _compare(stream_id, stream_lines, head, stored)
        if isinstance(fresh, Failure):
            return fresh
        plan.already_there += len(stream_lines) - len(fresh.value)
        if fresh.value:
            plan.batches.append((stream_id, fresh.value, head))
    return Success(plan)


def _held(
    events: FlextEventStore, stream_id: str, first: int
) -> FlextResult[tuple[int, dict[int, RecordedEvent]]]:
    """The stream's head version in the store and its events from version ``first`` on."""
    stored = events.read_stream(stream_id, first - 1)
    if isinstance(stored, Failure):
        return stored
    if stored.value:
        return Success((stored.value[-1].version, {r.version: r for r in stored.value}))
    if first == 1:
        return Success((0, {}))
    before = events.read_stream(stream_id, first - 2, limit=1)
    if isinstance(before, Failure):
        return before
    if before.value:
        return Success((first - 1, {}))
    whole = events.read_stream(stream_id)
    if isinstance(whole, Failure):
        return whole
    return Success((whole.value[-1].version if whole.value else 0, {}))


def _compare(
    stream_id: str, lines: list[ExportedLine], head: int, stored: Mapping[int, RecordedEvent]
) -> FlextResult[list[ExportedLine]]:
    """The lines the store lacks, once the ones it holds were found to be the same events."""
    first = lines[0]
    if first.event.version > head + 1:
        return _bad(
            first.number,
            "version",
            f"stream {stream_id!r} starts at version {first.event.version} here, but the store's "
            f"{stream_id!r} is at version {head}: an import keeps versions, so they must follow on",
        )
    fresh: list[ExportedLine] = []
    for line in lines:
        event = line.event
        if event.version > head:
            fresh.append(line)
            continue
        there = stored.get(event.version)
        if there is None:  # erased: the stream was deleted, only its tombstone is left
            return _bad(
                line.number, "version", f"stream {stream_id!r} was deleted in the store; it takes no events"
            )
        if str(there.event_id) != str(event.event_id):
            return _bad(
                line.number,
                "event_id",
                f"version {event.version} of stream {stream_id!r} is another event in the store "
                f"({there.event_id})",
            )
        if json.loads(there.data) != event.data:
            return _bad(
                line.number,
                "data",
                f"event {event.event_id} is in the store with other data (stream {stream_id!r}, "
                f"version {event.version})",
            )
    last = stored.get(head)
    if fresh and last is not None and last.event_type == TOMBSTONE_TYPE:
        return _bad(
            fresh[0].number,
            "version",
            f"stream {stream_id!r} was deleted in the store (tombstone at version {head}); "
            "it takes no events",
        )
    return Success(fresh)


def write_import(events: FlextEventStore, plan: ImportPlan) -> FlextResult[int]:
    """Append what ``plan`` says: in one transaction where the store allows, else whole streams at a time.

    Returns how many events were written. A failure's ``error_data["written"]``
    says how many were written before it (0 when the import was one transaction).
    """
    raw = EventCodec()  # knows no classes: every event travels as stored (UnknownEvent)
    batches = [
        (stream_id, [raw.decode(line.event.row()).event for line in lines], head)
        for stream_id, lines, head in plan.batches
    ]
    append_streams = getattr(events, "append_streams", None)
    if append_streams is None:  # a store of another kind: one append per stream
        chunks = [[batch] for batch in batches]
    else:
        chunks = list(_chunks(batches, getattr(events, "max_events_per_transaction", None)))
    written = 0
    for chunk in chunks:
        if append_streams is not None:
            result: FlextResult[Any] = append_streams(chunk)
        else:
            ((stream_id, chunk_events, head),) = chunk
            result = events.append(stream_id, chunk_events, head)
        if isinstance(result, Failure):
            data = {**result.error_data, "written": written}
            return Failure(result.error or "the import failed", result.error_code, data)
        written += sum(len(chunk_events) for _, chunk_events, _ in chunk)
    return Success(written)


Batch = tuple[str, list[FlextDomainEvent], int]


def _chunks(batches: list[Batch], limit: int | None) -> Iterable[list[Batch]]:
    """Transactions of whole streams holding at most ``limit`` events (a longer stream is split)."""
    if limit is None:
        yield batches
        return
    chunk: list[Batch] = []
    size = 0
    for stream_id, stream_events, head in batches:
        for start in range(0, len(stream_events), limit):
            part = stream_events[start : start + limit]
            if chunk and size + len(part) > limit:
                yield chunk
                chunk, size = [], 0
            chunk.append((stream_id, part, head + start))
            size += len(part)
    if chunk:
        yield chunk
