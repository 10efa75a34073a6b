"""Reading large LDIF files in several processes, with the same output as one.

Each file of at least ``PARALLEL_MIN_BYTES`` is cut into parts at empty
lines (``record_boundaries``), one part per worker; this process reads the
first part while forked workers read the others. A worker spools its records
exactly as this process does (the same bookmark filter, digests and RECORD
lines), into files of a temporary directory, and returns their names and
statistics; the parts are then merged in file order, so the messages, the
bookmarks and the digests are the same as with one process. An error in a
part is raised in file order, after the parts before it; nothing is written
before every part is read.

Workers are forked (not spawned): they start in milliseconds with the
tap's configuration already in memory, which ``fork`` shares.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import tempfile
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flext_plugin_ldif.ldif_parser import read_ldif_part, record_boundaries
from flext_plugin_ldif.records import RecordMaker, classify, object_classes_of

if TYPE_CHECKING:
    from flext_plugin_ldif.tap import _SharedScan, _Sink, _SinkSpec

__all__ = ["fill_in_parallel"]

_Part = tuple[int, str, int, int, int]  # (number, file, start, end, first line)
_Spooled = dict[str, tuple[str, int, str | None, list[str] | None]]  # stream -> (file, count, max, digests)

# What forked workers read: set by fill_in_parallel before the pool starts, inherited by fork.
_JOB: dict[str, Any] = {}


def fill_in_parallel(
    scan: _SharedScan,
    sinks: Mapping[str, _Sink],
    config: Mapping[str, Any],
    times: Mapping[Path, str],
    workers: int,
) -> None:
    """Fill ``sinks`` from the files with ``workers`` processes (this one included).

    Raises:
        LdifError: A file cannot be read or is not LDIF (the first such part, in file order).

    """
    parts: list[_Part] = []
    for path in times:
        if path.stat().st_size >= 2 * (1 << 20):
            ranges = record_boundaries(path, workers)
        else:
            ranges = [(0, path.stat().st_size, 1)]
        parts.extend((len(parts), str(path), start, end, line) for start, end, line in ranges)
    with tempfile.TemporaryDirectory(prefix="tap-ldif-parts-") as folder:
        _JOB.update(
            specs=[sink.spec for sink in sinks.values()],
            config=dict(config),
            times={str(path): time for path, time in times.items()},
            tap=scan.tap,
            folder=folder,
        )
        try:
            context = multiprocessing.get_context("fork")
            processes = max(1, min(workers, len(parts)) - 1)
            # A process pool that notices a worker killed (out of memory...): the run fails, never hangs.
            pool = ProcessPoolExecutor(processes, mp_context=context, initializer=_quiet_worker)
            try:
                results = pool.map(_read_part, parts[1:])
                _fill_part(parts[0], dict(sinks))
                for spooled in results:
                    for name, (file, count, latest, digests) in spooled.items():
                        # Opened now and deleted with the folder: the open file outlives its name.
                        sinks[name].merge(open(file, "rb"), count, latest, digests)  # noqa: SIM115
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        finally:
            _JOB.clear()


def _quiet_worker() -> None:
    """In a new worker: no stdout (only this process writes Singer messages) and default signals.

    The fork inherits the tap's signal handlers, which write the state on
    SIGTERM; a worker ended early must just end.
    """
    with open(os.devnull, "wb") as devnull:
        os.dup2(devnull.fileno(), sys.stdout.fileno())
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, signal.SIG_DFL)


def _read_part(part: _Part) -> _Spooled:
    """In a worker: spool one part's records into files of the job's folder."""
    from flext_plugin_ldif.tap import _Sink

    specs: list[_SinkSpec] = _JOB["specs"]
    sinks = {
        spec.name: _Sink(spec, tempfile.NamedTemporaryFile(dir=_JOB["folder"], delete=False))  # noqa: SIM115
        for spec in specs
    }
    try:
        _fill_part(part, sinks)
        for sink in sinks.values():
            sink.spool.flush()
        return {
            name: (sink.spool.name, sink.count, sink.max_timestamp, sink.at_max)
            for name, sink in sinks.items()
        }
    finally:
        for sink in sinks.values():
            sink.spool.close()


def _fill_part(part: _Part, sinks: dict[str, _Sink]) -> None:
    """Read one part into ``sinks`` (the first part in this process, the others in workers)."""
    from flext_plugin_ldif.records import DnFilter
    from flext_plugin_ldif.tap import _Emitter, setting

    _, file, start, end, line = part
    config, tap = _JOB["config"], _JOB["tap"]
    maker = RecordMaker(
        schema=tap.schema,
        normalize_dn=setting(config, "normalize_dn"),
        group_members_stream=setting(config, "group_members_stream"),
    )
    emit = _Emitter(sinks, maker)
    base_dn = config.get("base_dn")
    under = DnFilter(base_dn, tap.schema) if base_dn else None
    when = _JOB["times"][file]
    streams: dict[tuple[str, ...], str] = {}
    for entry in read_ldif_part(
        file,
        start,
        end,
        line,
        encoding=config.get("encoding") or "utf-8",
        url_values=tap.url_values,
        schema=tap.schema,
        on_search_result=tap.log_search_result,
    ):
        if under is not None and not under(entry.dn):
            continue
        object_classes = object_classes_of(entry)
        key = tuple(object_classes)
        stream = streams.get(key)
        if stream is None:
            stream = streams[key] = classify(object_classes)
        emit(entry, stream, object_classes, when, file)
