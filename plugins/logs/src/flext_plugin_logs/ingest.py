"""Pipeline run logs into the store: what the pipeline plugin writes, read back through the file it names.

The pipeline plugin writes each run's log to
``<data dir>/pipelines/<pipeline>/runs/<run id>.log`` (``flext pipeline
logs`` prints it): one line per line a process printed on stderr, or per
line of flext's own, as ``<ISO time> <correlation id> [<source>] <text>``
(logs of before the id was on each line lack it), its secrets
already masked with the definition's. This module is a catch-up reader,
like a projection: ``catch_up`` reads every run log from where it stopped
last time (the byte offset is kept in the store, in the same transaction as
the lines, so a line is never stored twice, even by two readers at once)
and stores its complete lines. The ``flext logs`` commands call it before
they read, so what they show includes every run up to that moment, whichever
process ran it and whether or not this plugin was loaded there.

Each line is stored with plugin ``pipeline``, the pipeline's name, the run
id, its source as the logger, a level read from the text (a line that names
ERROR, WARNING ... or a run that failed; INFO otherwise), and as correlation
id the one the line carries; in an older log without it, the one a
``correlation id <id>`` line of the log names, else the run id. A line
without the time prefix continues the one before (a traceback), even when
it is read later than that one: the time and source of each log's last line
read are kept with its offset. Every line
passes through the store's redactor too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from flext_kernel.paths import data_dir
from flext_plugin_logs.store import LogStore, Row
from flext_sdk import FlextResult

__all__ = ["LOG_LEVELS", "catch_up", "level_of", "parse", "run_logs"]

PLUGIN: Final = "pipeline"
"""The plugin a run's lines are attributed to."""
_LINE: Final = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?) "
    r"(?:(?P<correlation>[A-Za-z0-9._:-]{1,200}) )?\[(?P<source>[^\]]+)\] (?P<text>.*)$"
)
_LEVEL_WORD: Final = re.compile(r"\b(CRITICAL|FATAL|ERROR|WARNING|WARN|INFO|DEBUG)\b")
_RUN_FAILED: Final = re.compile(r"^run \S+ failed\b")
_CORRELATION: Final = re.compile(r"correlation[_ -]id[=: ]\s*(?P<id>[A-Za-z0-9._:-]{1,200})")
LOG_LEVELS: Final = {
    "CRITICAL": 50,
    "FATAL": 50,
    "ERROR": 40,
    "WARNING": 30,
    "WARN": 30,
    "INFO": 20,
    "DEBUG": 10,
}
"""Level words a process's line may name, and their ``logging`` numbers."""
_FIELDS: Final = 200
"""Characters of a line searched for a level word (a word deep in a long message is not its level)."""


def run_logs(root: Path | None = None) -> Iterator[tuple[str, str, Path]]:
    """(pipeline, run id, path) of every run log under ``root`` (``<data dir>/pipelines``)."""
    base = root if root is not None else data_dir() / "pipelines"
    if not base.is_dir():
        return
    for pipeline_dir in sorted(base.iterdir()):
        runs = pipeline_dir / "runs"
        if runs.is_dir():
            for path in sorted(runs.glob("*.log")):
                yield pipeline_dir.name, path.stem, path


def level_of(source: str, text: str) -> int:
    """The level of a run log's line: what the text names near its start, a failed run, else INFO."""
    if source == "flext":
        return 40 if _RUN_FAILED.match(text) else 20
    found = _LEVEL_WORD.search(text[:_FIELDS])
    return LOG_LEVELS[found.group(1)] if found else 20


@dataclass(frozen=True, slots=True)
class Parsed:
    """One line of a run log."""

    ts: float
    source: str
    text: str
    correlation_id: str | None = None
    """The id the line carries (``<time> <id> [<source>]``); None on lines of older logs."""


def _timestamp(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def parse(chunk: str, before: tuple[float, str] | None = None) -> list[Parsed]:
    """The lines of ``chunk`` (complete lines of a run log); unprefixed lines continue the one before.

    ``before`` is the time and source of the line before the chunk (read earlier): unprefixed
    lines at the chunk's start continue it, so they keep its time and source.
    """
    lines: list[Parsed] = []
    for raw in chunk.splitlines():
        match = _LINE.match(raw)
        ts = _timestamp(match.group("ts")) if match else None
        if match and ts is not None:
            lines.append(Parsed(ts, match.group("source"), match.group("text"), match.group("correlation")))
        elif lines:
            last = lines[-1]
            lines[-1] = Parsed(last.ts, last.source, f"{last.text}\n{raw}", last.correlation_id)
        elif before is not None:
            lines.append(Parsed(before[0], before[1], raw))
        elif raw.strip():
            lines.append(Parsed(0.0, "unknown", raw))
    return lines


def catch_up(
    store: LogStore,
    redact: Callable[[str], str],
    *,
    root: Path | None = None,
    oldest: float = 0.0,
    sizes: dict[str, int] | None = None,
) -> FlextResult[int]:
    """Store the run logs' lines not stored yet; how many were. Lines older than ``oldest`` are skipped.

    ``sizes`` (a follower keeps it between calls) remembers each file's size when it was last
    read, so a file that has not grown costs a ``stat`` and no query.
    """
    stored = 0
    for pipeline, run_id, path in run_logs(root):
        if sizes is not None:
            try:
                size = path.stat().st_size
            except OSError:
                continue
            if sizes.get(str(path)) == size:
                continue
            sizes[str(path)] = size
        done = _catch_up_file(store, redact, pipeline, run_id, path, oldest)
        if done.is_failure:
            return done
        stored += done.value
    return FlextResult.ok(stored)


def _catch_up_file(
    store: LogStore, redact: Callable[[str], str], pipeline: str, run_id: str, path: Path, oldest: float
) -> FlextResult[int]:
    key = str(path)
    known = store.offset_of(key)
    if known.is_failure:
        return FlextResult.fail(known.error or "", error_code=known.error_code)
    offset, correlation = known.value.offset, known.value.correlation_id
    before = None
    if known.value.last_ts is not None and known.value.last_source is not None:
        before = (known.value.last_ts, known.value.last_source)
    try:
        if os.stat(path).st_size <= offset:
            return FlextResult.ok(0)
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except OSError:  # removed or unreadable meanwhile: another time
        return FlextResult.ok(0)
    complete = data.rfind(b"\n") + 1
    if complete == 0:
        return FlextResult.ok(0)
    rows: list[Row] = []
    parsed = parse(data[:complete].decode("utf-8", errors="replace"), before)
    for line in parsed:
        if line.correlation_id is not None:
            correlation = line.correlation_id
        elif line.source == "flext" and (named := _CORRELATION.search(line.text)):  # a log of before
            correlation = named.group("id")
        if line.ts < oldest:
            continue
        rows.append(
            (
                line.ts,
                level_of(line.source, line.text),
                line.source,
                PLUGIN,
                pipeline,
                run_id,
                correlation or run_id,
                redact(line.text),
                None,
            )
        )
    last = (parsed[-1].ts, parsed[-1].source) if parsed and parsed[-1].source != "unknown" else None
    return store.insert_ingested(rows, key, (offset, offset + complete), correlation, last)
