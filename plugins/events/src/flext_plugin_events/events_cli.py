"""``flext events``: what is in the event store, whichever plugin wrote it.

Every command takes ``--store`` (a SQLite path, ``postgresql://...``;
default ``$FLEXT_EVENTSTORE_URL``, else the embedded SQLite file). Only
``import`` writes, so only ``import`` creates a store that is not there yet;
the others refuse it (``NOT_FOUND``) and open the store read-only. A file
FLEXT did not create is refused by all (``NOT_A_FLEXT_STORE``), untouched. Events are shown as stored: their
classes need not be importable here, so an event a disabled or uninstalled
plugin wrote still shows, type and payload. The JSON each command prints is
documented in docs/event-sourcing.md (tests check it).

``streams``, ``show`` and ``tail`` take ``--correlation-id ID``: only the events
one action wrote (the ``correlation_id`` in each stored event's envelope; see
``flext_kernel.correlation``), so a firing, a run and what they touched are
found together. The store has no index on it: the filter reads what the
command reads anyway and keeps the matching events.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from cyclopts import Parameter

from flext_eventsourcing import EventStoreBase, FlextEventStoreError, opened_store, stores_of
from flext_kernel.correlation import is_valid_correlation_id
from flext_kernel.errors import NOT_FOUND, VALIDATION_ERROR
from flext_plugin_events._times import iso, short
from flext_plugin_events.exchange import write_export
from flext_sdk import FlextResult
from flext_sdk.cli import EXIT_INTERRUPTED, EXIT_OK, current, emit, emit_error, emit_table, fail, note

if TYPE_CHECKING:
    from flext_eventsourcing import EventSubscription, FlextEventStore, RecordedEvent
    from flext_kernel.kernel import FlextKernel

__all__ = ["export", "import_events", "show", "streams", "tail"]

_PAGE = 5_000
_ENVELOPE = frozenset(
    {
        "event_id",
        "occurred_at",
        "aggregate_id",
        "aggregate_type",
        "version",
        "correlation_id",
        "causation_id",
        "metadata",
    }
)


@contextmanager
def _opened(store: str | None, *, create: bool = False) -> Iterator[FlextEventStore | int]:
    """The event store at ``store`` (or the exit code of the failure to open it).

    Only a command that writes passes ``create=True``: reading a store that
    is not there is an error, not a new empty store, and the others open it
    for reading only.
    """
    with opened_store(store, create=create, read_only=not create) as opened:
        yield opened if isinstance(opened, int) else opened[1]


def _pages(events: FlextEventStore, after: int = 0) -> Iterator[list[RecordedEvent] | int]:
    """``read_all`` page by page; yields an exit code instead if a read fails."""
    while True:
        page = events.read_all(after, limit=_PAGE)
        if page.is_failure:
            yield fail(page)
            return
        if not page.value:
            return
        yield page.value
        after = page.value[-1].position


def _row(recorded: RecordedEvent) -> dict[str, Any]:
    """An event as the commands show it: where it sits, its type, its action and cause, its payload.

    ``correlation_id`` is the action that wrote it, ``causation_id`` the message that caused it
    (null when the event was stored without one).
    """
    data = json.loads(recorded.data)
    stored = data if isinstance(data, dict) else {}
    return {
        "position": recorded.position,
        "stream": recorded.stream_id,
        "version": recorded.version,
        "type": recorded.event_type,
        "schema": recorded.schema_version,
        "occurred_at": iso(stored.get("occurred_at")),
        "event_id": str(stored.get("event_id")) if stored else None,
        "correlation_id": _text(stored.get("correlation_id")),
        "causation_id": _text(stored.get("causation_id")),
        "payload": {key: value for key, value in stored.items() if key not in _ENVELOPE},
    }


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _bad_correlation_id(correlation_id: str | None) -> int | None:
    """The exit code of refusing ``--correlation-id`` when it is not an id (None: it is, or none given).

    An id is what ``flext_kernel.correlation`` accepts; anything else could match no event, so
    it is a mistake worth one line rather than an empty answer.
    """
    if correlation_id is None or is_valid_correlation_id(correlation_id):
        return None
    return fail(
        FlextResult.fail(
            f"--correlation-id {correlation_id!r} is not a correlation id "
            "(1 to 128 letters, digits and - _ . :)",
            VALIDATION_ERROR,
        )
    )


def _matches(row: dict[str, Any], correlation_id: str | None) -> bool:
    return correlation_id is None or row["correlation_id"] == correlation_id


def streams(*, store: str | None = None, prefix: str = "", correlation_id: str | None = None) -> int:
    """List the event streams: events, last version, last event type and when it was written.

    Args:
        store: The event store (a SQLite path or postgresql:// URL); default $FLEXT_EVENTSTORE_URL.
        prefix: Only streams whose id starts with this.
        correlation_id: Only the events of this action (streams without one are left out).

    """
    refused = _bad_correlation_id(correlation_id)
    if refused is not None:
        return refused
    with _opened(store) as events:
        if isinstance(events, int):
            return events
        found: dict[str, dict[str, Any]] = {}
        for page in _pages(events):
            if isinstance(page, int):
                return page
            for recorded in page:
                if not recorded.stream_id.startswith(prefix):
                    continue
                row = _row(recorded)
                if not _matches(row, correlation_id):
                    continue
                entry = found.setdefault(recorded.stream_id, {"stream": recorded.stream_id, "events": 0})
                entry.update(
                    events=entry["events"] + 1,
                    version=recorded.version,
                    last_type=recorded.event_type,
                    last_at=row["occurred_at"],
                    position=recorded.position,
                )
    rows = sorted(found.values(), key=lambda entry: entry["stream"])
    if not rows:
        starting = f" starting with {prefix!r}" if prefix else ""
        note(f"no streams{starting}" + (f" with correlation id {correlation_id}" if correlation_id else ""))
    if current().output != "table":
        return emit(rows)
    # Four columns fit 80: the last version and position are in the JSON and in `events show`.
    table = [{**row, "last_at": short(row["last_at"], seconds=False)} for row in rows]
    return emit_table(table, ["stream", "events", "last_type", "last_at"], title="Event streams")


def show(
    stream: str, *, store: str | None = None, from_version: int = 0, correlation_id: str | None = None
) -> int:
    """Show the events of one stream, oldest first, with their correlation and causation ids and payloads.

    Args:
        stream: The stream (aggregate) id.
        store: The event store (a SQLite path or postgresql:// URL); default $FLEXT_EVENTSTORE_URL.
        from_version: Show only the events after this version.
        correlation_id: Show only the events of this action.

    """
    refused = _bad_correlation_id(correlation_id)
    if refused is not None:
        return refused
    with _opened(store) as events:
        if isinstance(events, int):
            return events
        read = events.read_stream(stream, from_version)
        if read.is_failure:
            return fail(read)
        rows = [row for recorded in read.value if _matches(row := _row(recorded), correlation_id)]
    if not rows:
        which = f" with correlation id {correlation_id}" if correlation_id else ""
        return fail(
            FlextResult.fail(
                f"stream {stream!r} has no events{which} after version {from_version}", NOT_FOUND
            ),
            hint=f"flext events streams{' --correlation-id ' + correlation_id if correlation_id else ''} "
            "lists the streams",
        )
    if current().output != "table":
        return emit(rows)
    table_rows = [
        {
            **row,
            "occurred_at": short(row["occurred_at"]),
            "payload": json.dumps(row["payload"], ensure_ascii=False),
        }
        for row in rows
    ]
    title = f"Stream {stream}" + (f", correlation id {correlation_id}" if correlation_id else "")
    return emit_table(table_rows, ["version", "type", "occurred_at", "payload"], title=title)


def tail(
    *,
    store: str | None = None,
    from_start: bool = False,
    from_position: int | None = None,
    count: int | None = None,
    stream_prefix: str = "",
    correlation_id: str | None = None,
) -> int:
    """Follow the event store: print each new event as it is written, until Ctrl-C (exit code 130).

    Args:
        store: The event store (a SQLite path or postgresql:// URL); default $FLEXT_EVENTSTORE_URL.
        from_start: Print every stored event first, then follow.
        from_position: Start after this global position (as printed in the first column).
        count: Stop after printing this many events.
        stream_prefix: Only events of streams whose id starts with this.
        correlation_id: Only the events of this action.

    """
    refused = _bad_correlation_id(correlation_id)
    if refused is not None:
        return refused
    machine = current().output != "table"
    with _opened(store) as events:
        if isinstance(events, int):
            return events
        after = 0 if from_start else from_position
        if after is None:
            after = 0
            for page in _pages(events):
                if isinstance(page, int):
                    return page
                after = page[-1].position
        note(f"following events after position {after} (Ctrl-C stops)")
        printed = 0
        subscription = _subscribe(events, after)
        try:
            for recorded in subscription:
                if not recorded.stream_id.startswith(stream_prefix):
                    continue
                row = _row(recorded)
                if not _matches(row, correlation_id):
                    continue
                if machine:
                    line = json.dumps(row, default=str, ensure_ascii=False)
                else:
                    payload = json.dumps(row["payload"], ensure_ascii=False)
                    line = f"{row['position']}  {row['stream']}@{row['version']}  {row['type']}  {payload}"
                print(line, flush=True)
                printed += 1
                if count is not None and printed >= count:
                    break
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED  # Ctrl-C is how tail ends: quietly, but with the exit code that says so
        except FlextEventStoreError as exc:  # a read failed for good: its own code, once
            return emit_error(exc.message, exc.error_code)
        finally:
            subscription.stop()
    return EXIT_OK


def _subscribe(events: FlextEventStore, after: int) -> EventSubscription:
    """A subscription that says on stderr when the store goes away and comes back (it retries meanwhile)."""

    def outage(failure: FlextResult[Any] | None) -> None:
        if failure is not None:
            note(f"lost the event store: {failure.error}; reconnecting with back-off (Ctrl-C stops)")
        else:
            note("reconnected to the event store; following on")

    if isinstance(events, EventStoreBase):  # every FLEXT backend: the protocol's subscribe has no hook
        return events.subscribe(after, on_outage=outage)
    return events.subscribe(after)


def export(
    *,
    store: str | None = None,
    to: Annotated[Path | None, Parameter(name=["--to", "-o"])] = None,
    fmt: Literal["jsonl"] = "jsonl",
) -> int:
    """Write every event, in global order, as JSON lines (one event per line, exactly as stored).

    Args:
        store: The event store (a SQLite path or postgresql:// URL); default $FLEXT_EVENTSTORE_URL.
        to: The file to write (written whole or not at all); default standard output.
        fmt: The format; jsonl is the only one.

    """
    with _opened(store) as events:
        if isinstance(events, int):
            return events
        written = write_export(events, to if to is not None else sys.stdout)
    if written.is_failure:
        return fail(written)
    if to is None:  # the events were the output: the count goes to stderr
        note(f"exported {written.value} events")
        return EXIT_OK
    return emit(
        {"exported": written.value, "file": str(to)}, human=f"exported {written.value} events to {to}"
    )


def import_events(file: Path, *, store: str | None = None) -> int:
    """Append the events of an export file, all or nothing; events already in the store are skipped.

    Every line is checked before anything is written (a bad line is named, exit code 2):
    ids and versions are kept, so each stream's versions must follow on from the store's.

    Args:
        file: A JSON-lines file written by flext events export (- for standard input).
        store: The event store (a SQLite path or postgresql:// URL), created if missing (a new file
            only in an existing directory); default $FLEXT_EVENTSTORE_URL.

    """
    from flext_plugin_events import exchange

    parsed = exchange.read_export(sys.stdin if str(file) == "-" else file)
    if parsed.is_failure:
        return fail(parsed, hint=_IMPORT_HINT)
    lines = parsed.value

    def payloads_decode(kernel: FlextKernel) -> int | None:
        codec = exchange.known_types(stores_of(kernel).unwrap().projections())
        checked = exchange.check_payloads(lines, codec)
        return fail(checked, hint=_IMPORT_HINT) if checked.is_failure else None

    with opened_store(store, create=True, before_open=payloads_decode) as opened:
        if isinstance(opened, int):
            return opened
        events = opened[1]
        plan = exchange.plan_import(events, lines)
        if plan.is_failure:
            return fail(plan, hint="the file does not fit what the store holds; nothing was written")
        written = exchange.write_import(events, plan.value)
    if written.is_failure:
        before = written.error_data.get("written", 0)
        return fail(
            written,
            hint="nothing was written; fix the cause and run the import again"
            if not before
            else f"{before} events of whole streams were written before; run the import again to finish",
        )
    report = {
        "written": written.value,
        "already_there": plan.value.already_there,
        "streams": plan.value.streams,
    }
    return emit(
        report,
        human=f"imported {report['written']} events into {report['streams']} streams "
        f"({report['already_there']} were already there)",
    )


_IMPORT_HINT = "the file must be what flext events export wrote; nothing was written"
