"""``flext logs search|tail|export``: read the log store, after catching up with the pipelines' run logs.

Each command opens the store (``FLEXT_LOGS_PATH``, else ``<data dir>/logs/logs.db``),
stores the run-log lines written since the last look (``ingest.catch_up``),
and reads. A bad option (an unknown level, a ``--since`` that is no time, a
query FTS5 refuses) is one line and exit code 2; a store that cannot be
opened or read is ``LOG_STORE_FAILED``, exit code 1. ``--output json``
prints the lines as ``{"ok": true, "data": [...]}`` (``tail --follow``: one
JSON object per line), each with ``id``, ``time`` (ISO 8601, UTC), ``level``,
``logger``, ``plugin``, ``pipeline``, ``run_id``, ``correlation_id``,
``message`` and ``fields``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Annotated, Any, Literal

from cyclopts import Parameter

from flext_kernel.errors import NOT_FOUND, VALIDATION_ERROR
from flext_plugin_logs.errors import LOG_QUERY_INVALID, LOG_STORE_FAILED
from flext_plugin_logs.filters import filters_of
from flext_plugin_logs.store import Filters, LogStore, StoredLine
from flext_sdk import FlextResult
from flext_sdk.cli import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, current, emit, fail, note

__all__ = ["export", "search", "tail"]

_FOLLOW_EVERY = 0.5
"""Seconds between two looks for new lines under ``tail --follow``."""
_MOST_LINES = 1_000_000
"""The largest ``--limit``/``--lines`` taken (more lines than anyone reads on a terminal)."""
_FOLLOW_PAGE = 1000
"""Lines one query of ``tail --follow`` reads; a look reads pages until one is not full."""
_COLUMNS = (
    "id",
    "time",
    "level",
    "logger",
    "plugin",
    "pipeline",
    "run_id",
    "correlation_id",
    "message",
    "fields",
)
"""The keys of a line in JSON and the columns of a CSV export, in order."""
_LEVEL_NAMES = {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"}


def _failed(result: FlextResult[Any]) -> int:
    """Print a failure; a query FTS5 refused is bad input (exit 2), with a hint about quoting."""
    if result.error_code == LOG_QUERY_INVALID:
        hint = 'close every " of a phrase; AND, OR and NOT go between words (quote one to find the word)'
        return fail(result, hint=hint, exit_code=EXIT_USAGE)
    return fail(result)


@contextlib.contextmanager
def _opened() -> Iterator[LogStore | int]:
    """The store, caught up with the run logs and trimmed by retention; an exit code if it failed."""
    from pydantic import ValidationError

    from flext_plugin_logs.ingest import catch_up
    from flext_plugin_logs.redaction import Redactor
    from flext_plugin_logs.settings import LogsSettings

    try:
        settings = LogsSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "FLEXT_LOGS_" + "_".join(str(part) for part in first["loc"]).upper()
        yield fail(FlextResult.fail(f"{where}: {first['msg']}", error_code=VALIDATION_ERROR))
        return
    opened = LogStore.open(Path(settings.path))
    if opened.is_failure:
        yield fail(opened)
        return
    store = opened.value
    try:
        oldest = time.time() - settings.max_age_seconds
        caught = catch_up(store, Redactor.from_environment(), oldest=oldest)
        if caught.is_failure:
            yield fail(caught)
            return
        store.enforce_retention(max_bytes=settings.max_bytes, max_age_seconds=settings.max_age_seconds)
        yield store
    finally:
        store.close()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _level(level: int) -> str:
    return _LEVEL_NAMES.get(level, f"LEVEL{level}")


def as_json(line: StoredLine) -> dict[str, Any]:
    """A line as the machine output and the JSON-lines export show it."""
    return {
        "id": line.id,
        "time": _iso(line.time),
        "level": _level(line.level),
        "logger": line.logger,
        "plugin": line.plugin,
        "pipeline": line.pipeline,
        "run_id": line.run_id,
        "correlation_id": line.correlation_id,
        "message": line.message,
        "fields": line.fields,
    }


def as_text(line: StoredLine) -> str:
    """One line for people: time, level, where it came from, the message (and its fields)."""
    if line.pipeline:
        who = f"pipeline {line.pipeline} [{line.logger}]"
    else:
        who = f"{line.plugin or '-'} {line.logger}"
    fields = f" {json.dumps(line.fields, ensure_ascii=False, sort_keys=True)}" if line.fields else ""
    stamp = _iso(line.time).replace("T", " ")
    return f"{stamp} {_level(line.level):<8} {who}: {line.message}{fields}"


def _print_lines(lines: list[StoredLine]) -> int:
    if current().output != "table":
        return emit([as_json(line) for line in lines], raw_keys=True)
    for line in lines:
        print(as_text(line))
    return EXIT_OK


def _checked_limit(limit: int, option: str = "--limit", *, least: int = 1) -> FlextResult[int]:
    """``limit`` if it is a count of lines SQLite can take (a huge one overflowed its integer)."""
    if limit < least:
        return FlextResult.fail(
            f"{option} must be at least {least}, not {limit}", error_code=VALIDATION_ERROR
        )
    if limit > _MOST_LINES:
        return FlextResult.fail(
            f"{option} must be at most {_MOST_LINES}, not {limit}", error_code=VALIDATION_ERROR
        )
    return FlextResult.ok(limit)


def search(
    query: str,
    *,
    since: str | None = None,
    until: str | None = None,
    level: str | None = None,
    plugin: Annotated[list[str] | None, Parameter(consume_multiple=False)] = None,
    pipeline: str | None = None,
    correlation_id: str | None = None,
    limit: int = 100,
) -> int:
    """Search the stored log lines: the newest --limit matches, oldest first.

    The query is SQLite FTS5's: words (all must occur), "a phrase", prefix*, AND, OR, NOT,
    parentheses, message:word or fields:word; a word with punctuation (run-42, db.example) is
    searched as a phrase. It searches the message and the structured fields.

    Args:
        query: What to look for, e.g. 'timeout', '"connection refused"', 'tap* AND NOT debug'.
        since: Only lines from then on: a duration before now (30s, 15m, 1h, 2d, 1w) or an ISO 8601 time.
        until: Only lines before then (same forms as --since).
        level: The lowest level shown: debug, info, warning, error or critical.
        plugin: Only lines of this plugin (repeatable): kernel, pipeline, scheduler ...
        pipeline: Only lines of this pipeline's runs.
        correlation_id: Only lines of one user action (or one pipeline run).
        limit: At most this many lines (the newest).

    """
    checked = _checked_limit(limit)
    filters = filters_of(
        query=query,
        since=since,
        until=until,
        level=level,
        plugin=tuple(plugin or ()),
        pipeline=pipeline,
        correlation_id=correlation_id,
    )
    for result in (checked, filters):
        if result.is_failure:
            return fail(result)
    with _opened() as store:
        if isinstance(store, int):
            return store
        found = store.search(filters.value, limit)
    if found.is_failure:
        return _failed(found)
    if not found.value and current().output == "table":
        note("no stored line matches")
    return _print_lines(found.value)


def tail(
    *,
    lines: Annotated[int, Parameter(name=["--lines", "-n"])] = 20,
    follow: Annotated[bool, Parameter(name=["--follow", "-f"], negative=())] = False,
    count: int | None = None,
    level: str | None = None,
    plugin: Annotated[list[str] | None, Parameter(consume_multiple=False)] = None,
    pipeline: str | None = None,
) -> int:
    """Print the last stored log lines; with --follow, go on printing new ones until Ctrl-C (exit code 130).

    Args:
        lines: How many of the last lines to print first.
        follow: Keep printing lines as they are stored (pipeline runs' lines included).
        count: With --follow, stop after printing this many new lines.
        level: The lowest level shown: debug, info, warning, error or critical.
        plugin: Only lines of this plugin (repeatable).
        pipeline: Only lines of this pipeline's runs.

    """
    if lines < 0:
        negative = FlextResult.fail(f"--lines must not be negative, not {lines}", error_code=VALIDATION_ERROR)
        return fail(negative)
    checked = _checked_limit(lines, "--lines", least=0)
    if checked.is_failure:
        return fail(checked)
    filters = filters_of(level=level, plugin=tuple(plugin or ()), pipeline=pipeline)
    if filters.is_failure:
        return fail(filters)
    with _opened() as store:
        if isinstance(store, int):
            return store
        newest = store.last_id()  # first: a line stored while the last ones are read comes after it
        if newest.is_failure:
            return fail(newest)
        upto = replace(filters.value, up_to_id=newest.value)
        last = store.search(upto, lines) if lines else FlextResult[list[StoredLine]].ok([])
        if last.is_failure:
            return _failed(last)
        if not follow:
            return _print_lines(last.value)
        return _follow(store, filters.value, last.value, newest.value, count)


def _follow(store: LogStore, filters: Filters, first: list[StoredLine], after: int, count: int | None) -> int:
    """Print ``first``, then every new line as it is stored, one per output line."""
    from flext_plugin_logs.ingest import catch_up
    from flext_plugin_logs.redaction import Redactor

    machine = current().output != "table"
    redact = Redactor.from_environment()

    def show(line: StoredLine) -> None:
        print(json.dumps(as_json(line), ensure_ascii=False) if machine else as_text(line), flush=True)

    for line in first:
        show(line)
    note("following new log lines (Ctrl-C stops)")
    printed = 0
    sizes: dict[str, int] = {}
    try:
        while count is None or printed < count:
            caught = catch_up(store, redact, sizes=sizes)
            if caught.is_failure:
                return fail(caught)
            seen = False
            for page in store.iterate(replace(filters, after_id=after), page=_FOLLOW_PAGE):
                if page.is_failure:
                    return fail(page)
                for line in page.value:  # oldest first: every line after the last one printed
                    show(line)
                    seen, after, printed = True, line.id, printed + 1
                    if count is not None and printed >= count:
                        return EXIT_OK
            if not seen:
                time.sleep(_FOLLOW_EVERY)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return EXIT_OK


def export(
    *,
    fmt: Annotated[Literal["jsonl", "csv"], Parameter(name="--format")] = "jsonl",
    to: Annotated[Path | None, Parameter(name=["--to", "-o"])] = None,
    query: str | None = None,
    since: str | None = None,
    until: str | None = None,
    level: str | None = None,
    plugin: Annotated[list[str] | None, Parameter(consume_multiple=False)] = None,
    pipeline: str | None = None,
    correlation_id: str | None = None,
) -> int:
    """Write the stored log lines that pass the filters, oldest first, as JSON lines or CSV.

    Args:
        fmt: jsonl (one JSON object a line) or csv (a header row, fields as JSON text).
        to: The file to write (whole or not at all, mode 0600); default standard output.
        query: Only lines matching this search query (as flext logs search takes it).
        since: Only lines from then on: a duration before now (30s, 15m, 1h, 2d, 1w) or an ISO 8601 time.
        until: Only lines before then.
        level: The lowest level written: debug, info, warning, error or critical.
        plugin: Only lines of this plugin (repeatable).
        pipeline: Only lines of this pipeline's runs.
        correlation_id: Only lines of one user action (or one pipeline run).

    """
    filters = filters_of(
        query=query,
        since=since,
        until=until,
        level=level,
        plugin=tuple(plugin or ()),
        pipeline=pipeline,
        correlation_id=correlation_id,
    )
    if filters.is_failure:
        return fail(filters)
    if to is not None and not to.parent.is_dir():
        return fail(FlextResult.fail(f"the directory of {to} does not exist", error_code=NOT_FOUND))
    with _opened() as store:
        if isinstance(store, int):
            return store
        if to is None:
            written = _write(store, filters.value, fmt, sys.stdout)
        else:
            written = _write_file(store, filters.value, fmt, to)
    if written.is_failure:
        return _failed(written)
    if to is None:
        note(f"exported {written.value} log lines")
        return EXIT_OK
    human = f"exported {written.value} log lines to {to}"
    return emit({"exported": written.value, "file": str(to)}, human=human)


def _write_file(store: LogStore, filters: Filters, fmt: str, to: Path) -> FlextResult[int]:
    """Write to a private temporary file beside ``to`` and rename it into place once complete."""
    temporary = to.with_name(f".{to.name}.{os.getpid()}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            written = _write(store, filters, fmt, handle)
        if written.is_success:
            os.replace(temporary, to)
        return written
    except OSError as exc:
        return FlextResult.fail(f"cannot write {to}: {exc.strerror}", error_code=LOG_STORE_FAILED)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _write(store: LogStore, filters: Filters, fmt: str, handle: IO[str]) -> FlextResult[int]:
    written = 0
    writer = csv.writer(handle) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(_COLUMNS)
    for page in store.iterate(filters):
        if page.is_failure:
            return FlextResult.fail(page.error or "", error_code=page.error_code)
        buffer = io.StringIO()
        for line in page.value:
            record = as_json(line)
            if writer is not None:
                fields = record["fields"]
                record["fields"] = json.dumps(fields, ensure_ascii=False) if fields else ""
                csv.writer(buffer).writerow([record[column] for column in _COLUMNS])
            else:
                buffer.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.write(buffer.getvalue())
        written += len(page.value)
    return FlextResult.ok(written)
