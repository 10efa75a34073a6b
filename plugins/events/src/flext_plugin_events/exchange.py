"""The export file: one JSON object per line per event, in global order, exactly as stored.

A line::

    {"position": 12, "stream_id": "acc-1", "version": 3, "event_id": "0192...",
     "event_type": "bank.Deposited", "schema_version": 1, "data": {...the stored event...}}

Why this shape: ``data`` is the event as the store keeps it (envelope and
payload), so an import writes back the same bytes whatever classes are
installed, and re-importing is a no-op, because appends are idempotent by
``event_id``. ``position`` is informative: the target store hands out its own.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flext_eventsourcing import EventCodec, FlextEventStore, StoredEvent
from flext_kernel.errors import VALIDATION_ERROR
from flext_kernel.result import Failure, FlextResult, Success

__all__ = ["ExportedEvent", "append_exported", "read_export", "write_export"]

_APPEND_BATCH: Final = 1_000
_PAGE: Final = 5_000


class ExportedEvent(BaseModel):
    """One line of an export file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    position: int = Field(ge=0)
    stream_id: str = Field(min_length=1)
    version: int = Field(ge=1)
    event_id: str = Field(min_length=1)
    event_type: str = Field(min_length=1)
    schema_version: int = Field(ge=1)
    data: dict[str, Any]


def write_export(events: FlextEventStore, target: Path | IO[str]) -> FlextResult[int]:
    """Write every event of ``events`` to ``target``; a file is replaced only once complete."""
    if isinstance(target, Path):
        directory = target.resolve().parent
        if not directory.is_dir():
            return Failure(f"cannot write {target}: {directory} is not a directory", VALIDATION_ERROR)
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                written = _write_lines(events, stream)
            if written.is_success:
                os.replace(temporary, target)
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


def read_export(source: Path | IO[str]) -> FlextResult[list[ExportedEvent]]:
    """Parse and check a whole export file before anything is written; the first bad line fails it."""
    try:
        lines = (
            source.read_text(encoding="utf-8").splitlines()
            if isinstance(source, Path)
            else source.readlines()
        )
    except OSError as exc:
        return Failure(f"cannot read {source}: {exc.strerror or exc}", VALIDATION_ERROR)
    except UnicodeDecodeError as exc:
        return Failure(f"{source} is not UTF-8 text: {exc.reason}", VALIDATION_ERROR)
    parsed: list[ExportedEvent] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            parsed.append(ExportedEvent.model_validate_json(line))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "line"
            return Failure(
                f"line {number}: {where}: {first['msg']}",
                VALIDATION_ERROR,
                {"line": number, "field": where},
            )
    return Success(parsed)


def append_exported(
    events: FlextEventStore, exported: Iterable[ExportedEvent]
) -> FlextResult[dict[str, int]]:
    """Append exported events stream by stream, keeping their ids, versions and stored form.

    A stream whose first exported version is past the target's end (a
    deleted or partly exported stream) cannot keep its versions and fails
    the import with ``CONCURRENCY_CONFLICT`` before anything of it is written.
    """
    raw = EventCodec()  # knows no classes: every event travels as stored (UnknownEvent)
    by_stream: dict[str, list[ExportedEvent]] = {}
    for event in exported:
        by_stream.setdefault(event.stream_id, []).append(event)
    written = already = 0
    for stream_id, stream_events in by_stream.items():
        stream_events.sort(key=lambda event: event.version)
        for start in range(0, len(stream_events), _APPEND_BATCH):
            batch = stream_events[start : start + _APPEND_BATCH]
            decoded = [
                raw.decode(
                    StoredEvent(
                        stream_id,
                        event.version,
                        event.event_id,
                        event.event_type,
                        event.schema_version,
                        json.dumps(event.data, ensure_ascii=False, separators=(",", ":")),
                    )
                ).event
                for event in batch
            ]
            result = events.append(stream_id, decoded, batch[0].version - 1)
            if result.is_failure:
                data = {**result.error_data, "stream_id": stream_id, "first_version": batch[0].version}
                return Failure(
                    f"stream {stream_id!r} (from version {batch[0].version}): {result.error}",
                    result.error_code,
                    data,
                )
            if result.value.written:
                written += len(batch)
            else:
                already += len(batch)
    return Success({"written": written, "already_there": already, "streams": len(by_stream)})
