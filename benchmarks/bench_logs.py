"""The log store's search over 1,000,000 stored lines, against a LIKE scan and ``grep -c`` in the same run.

Usage::

    python benchmarks/bench_logs.py                 # 1,000,000 lines, table on stdout
    python benchmarks/bench_logs.py --lines 100000  # a quicker look
    python benchmarks/bench_logs.py --json FILE     # the rows as JSON too

The issue's target: a search over 1,000,000 stored lines answers in under
200 ms. The store is filled through ``LogStore.insert`` (what the logging
handler's writer and the run-log reader call) with generated lines whose
words are chosen so that queries of different selectivity exist: a word in
10 lines (rare), in 1% (medium), in about half (common), a phrase in 0.5%,
and filters on level, time and correlation id. Each query is what
``flext logs search`` asks (the newest 100 matches, ``--limit`` 100), timed
``--repeat`` times; the row is the median, with the quartiles in the notes.

Baselines, timed in the same run on the same lines:

* a LIKE scan: the same filters on the same table with ``message LIKE
  '%word%'`` instead of the FTS5 index (what the store would do without it);
* ``grep -c WORD`` (``grep -c -F`` for the phrase) of the same lines written
  to a text file, as a person would search a log file.

Also reported, informational: lines stored per second through ``insert``
(batches of 10,000), the store's size, one retention pass that has to take
the store from 10% over its size limit to 80% of it (deleting and compacting
the index), one ``flext logs search`` command
end to end (process start, catch-up of run logs, search, printing) next to
``flext version``, and the cost of one ``logger.info`` call with the store's
handler installed against a handler that does nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from flext_plugin_logs.handler import BatchWriter, StoreHandler
from flext_plugin_logs.settings import LogsSettings
from flext_plugin_logs.store import Filters, LogStore, Row

LIMIT = 100
"""What flext logs search returns by default."""
SPAN = 24 * 3600.0
"""The lines are spread over the last day."""
WORDS = tuple(
    "dispatch handler query command event store append read stream batch step tap target mapper "  # noqa: SIM905  # reads as text
    "schema state bookmark partition offset cursor buffer flush commit rollback retry backoff worker "
    "thread process signal plugin kernel container service health ready alive latency throughput".split()
)


@dataclass
class Measured:
    """One timed operation: its median, quartiles, and the baseline's."""

    name: str
    ms: float
    baseline: str
    baseline_ms: float
    matches: int
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.ms / self.baseline_ms


def _message(rng: random.Random, n: int) -> tuple[str, int, str | None]:
    """A line's text, level and correlation id; the marker words make the selectivities."""
    words = rng.sample(WORDS, 6)
    if n % 2 == 0:
        words.append("records")  # common: half the lines
    if n % 100 == 7:
        words.append("timeout")  # medium: 1%
    if n % 200 == 13:
        words += ["connection", "refused"]  # phrase: 0.5%
    elif n % 200 == 14:
        words += ["refused", "connection"]  # the same words, not the phrase
    if n % 100_000 == 42:
        words.append("quokka")  # rare: 10 lines in a million
    level = 40 if n % 30 == 7 else 30 if n % 30 == 8 else 20  # errors: 1 in 30, a third of the timeouts
    correlation = "action-42" if n % 5000 == 3 else f"action-{n // 50}"
    return f"{' '.join(words)} n={n} duration_ms={rng.randint(1, 999)}", level, correlation


def fill(store: LogStore, text_file: Path, lines: int, seed: int = 7) -> float:
    """Store ``lines`` generated lines (and write them to ``text_file``); seconds spent in ``insert``."""
    rng = random.Random(seed)
    start_ts = time.time() - SPAN
    spent = 0.0
    with text_file.open("w", encoding="utf-8") as handle:
        for first in range(0, lines, 10_000):
            batch: list[Row] = []
            for n in range(first, min(first + 10_000, lines)):
                message, level, correlation = _message(rng, n)
                ts = start_ts + SPAN * n / lines
                plugin = ("kernel", "pipeline", "scheduler", "singer")[n % 4]
                pipeline = "numbers" if plugin == "pipeline" else None
                batch.append(
                    (ts, level, f"flext_{plugin}", plugin, pipeline, None, correlation, message, None)
                )
                handle.write(f"{ts:.3f} {level} {plugin} {correlation} {message}\n")
            began = time.perf_counter()
            store.insert(batch).unwrap()
            spent += time.perf_counter() - began
    return spent


def _median_ms(fn: Callable[[], int], repeat: int) -> tuple[float, float, float, int]:
    fn()  # warm the page cache and the statement cache
    times = []
    found = 0
    for _ in range(repeat):
        began = time.perf_counter()
        found = fn()
        times.append((time.perf_counter() - began) * 1000)
    quartiles = statistics.quantiles(times, n=4)
    return statistics.median(times), quartiles[0], quartiles[2], found


def _like(
    connection: object, word: str, extra: str = "", parameters: tuple[object, ...] = ()
) -> Callable[[], int]:
    import sqlite3

    assert isinstance(connection, sqlite3.Connection)
    sql = (
        f"SELECT id, ts, level, message FROM lines WHERE message LIKE ?{extra} ORDER BY id DESC LIMIT {LIMIT}"
    )
    return lambda: len(connection.execute(sql, (f"%{word}%", *parameters)).fetchall())


def _grep(text_file: Path, word: str) -> Callable[[], int]:
    def grep() -> int:
        done = subprocess.run(
            ["grep", "-c", "-F", word, str(text_file)], capture_output=True, text=True, check=False
        )
        return int(done.stdout.strip() or 0)

    return grep


def searches(store: LogStore, path: Path, text_file: Path, repeat: int) -> list[Measured]:
    """Every query against both baselines."""
    import sqlite3

    connection = sqlite3.connect(path)
    hour_ago = time.time() - 3600
    cases: list[tuple[str, Filters, str, Callable[[], int]]] = [
        ("rare word (10 lines)", Filters(query="quokka"), "quokka", _like(connection, "quokka")),
        ("medium word (1%)", Filters(query="timeout"), "timeout", _like(connection, "timeout")),
        ("common word (50%)", Filters(query="records"), "records", _like(connection, "records")),
        (
            'phrase "connection refused" (0.5%)',
            Filters(query='"connection refused"'),
            "connection refused",
            _like(connection, "connection refused"),
        ),
        (
            "timeout, --level error --since 1h",
            Filters(query="timeout", level=40, since=hour_ago),
            "timeout",
            _like(connection, "timeout", " AND level >= ? AND ts >= ?", (40, hour_ago)),
        ),
        (
            "records, --correlation-id (200 lines)",
            Filters(query="records", correlation_id="action-42"),
            "records",
            _like(connection, "records", " AND correlation_id = ?", ("action-42",)),
        ),
        (
            "rare word OR medium prefix (quokka OR timeo*)",
            Filters(query="quokka OR timeo*"),
            "timeo",
            _like(connection, "timeo"),
        ),
    ]
    rows = []
    for name, filters, word, like in cases:
        ms, low, high, found = _median_ms(lambda f=filters: len(store.search(f, LIMIT).unwrap()), repeat)
        like_ms, like_low, like_high, _like_found = _median_ms(like, repeat)
        grep_ms, grep_low, grep_high, grep_found = _median_ms(_grep(text_file, word), max(3, repeat // 3))
        rows.append(
            Measured(
                name,
                ms,
                "grep -c",
                grep_ms,
                found,
                [
                    f"search quartiles {low:.1f}-{high:.1f} ms",
                    f"LIKE scan {like_ms:.1f} ms ({like_low:.1f}-{like_high:.1f}), {ms / like_ms:.3f}x of it",
                    f"grep -c {grep_ms:.1f} ms ({grep_low:.1f}-{grep_high:.1f}), counted {grep_found}",
                ],
            )
        )
    connection.close()
    return rows


def retention_row(store: LogStore) -> Measured:
    """One retention pass that must take the store down to 80% of 90% of its size (runs last: it deletes)."""
    used = store.used_bytes().unwrap()
    before = store.count().unwrap()
    began = time.perf_counter()
    deleted = store.enforce_retention(max_bytes=int(used * 0.9), max_age_seconds=10 * SPAN).unwrap()
    ms = (time.perf_counter() - began) * 1000
    after = store.used_bytes().unwrap()
    began = time.perf_counter()
    nothing = store.enforce_retention(max_bytes=int(used * 0.9), max_age_seconds=10 * SPAN).unwrap()
    idle_ms = (time.perf_counter() - began) * 1000
    return Measured(
        "retention pass over the size limit (ms)",
        ms,
        "a pass with nothing to do",
        idle_ms,
        deleted,
        [
            f"{deleted:,} of {before:,} lines deleted, {used / 1e6:.0f} MB -> {after / 1e6:.0f} MB in use",
            f"the idle pass deleted {nothing}",
        ],
    )


def cli_row(home: Path, repeat: int) -> Measured:
    """``flext logs search quokka`` end to end, against ``flext version``."""
    flext = str(Path(sys.executable).with_name("flext"))
    env = {**os.environ, "FLEXT_HOME": str(home), "NO_COLOR": "1"}

    def run(*args: str) -> Callable[[], int]:
        return lambda: len(subprocess.run([flext, *args], env=env, capture_output=True, check=True).stdout)

    ms, low, high, _found = _median_ms(run("logs", "search", "quokka"), repeat)
    base, _b_low, _b_high, _ = _median_ms(run("version"), repeat)
    return Measured(
        "flext logs search quokka (whole command)",
        ms,
        "flext version",
        base,
        10,
        [f"quartiles {low:.0f}-{high:.0f} ms", "process start, plugin load, run-log catch-up, search, print"],
    )


class _Nothing(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        return None


def handler_row(path: Path) -> Measured:
    """One ``logger.info`` with the store's handler, against a handler that does nothing."""
    logger = logging.getLogger("bench_logs.handler")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    calls = 50_000

    def per_call(handler: logging.Handler) -> float:
        logger.handlers = [handler]
        best = float("inf")
        for _ in range(5):
            began = time.perf_counter()
            for number in range(calls):
                logger.info("dispatched %s in %d ms", "RunPipeline", number, extra={"outcome": "ok"})
            best = min(best, (time.perf_counter() - began) / calls)
        return best * 1e6

    os.environ["FLEXT_LOGS_PATH"] = str(path)
    writer = BatchWriter(LogsSettings)
    writer.start()
    writer.ready.wait(10)
    writer.queue_size = 10**9  # measure the call, not the drop path
    store_us = per_call(StoreHandler(writer, plugin_of=lambda name: "bench", correlation_id=None))
    writer.close(timeout=60)
    base_us = per_call(_Nothing())
    return Measured(
        "logger.info with the store's handler (us/call)",
        store_us,
        "a handler that does nothing",
        base_us,
        writer.written,
        [f"{writer.written:,} lines stored by the writer thread, {writer.dropped:,} dropped"],
    )


def main() -> int:
    """Fill a store, time the searches and the baselines, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--json", type=Path, default=None)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-logs-"))
    try:
        path = work / "data" / "logs" / "logs.db"
        store = LogStore.open(path).unwrap()
        spent = fill(store, work / "lines.txt", options.lines)
        size = sum(p.stat().st_size for p in path.parent.iterdir())
        print(
            f"stored {options.lines:,} lines in {spent:.1f} s ({options.lines / spent:,.0f} lines/s); "
            f"store {size / 1e6:.0f} MB, text {(work / 'lines.txt').stat().st_size / 1e6:.0f} MB"
        )
        rows = searches(store, path, work / "lines.txt", options.repeat)
        rows.append(retention_row(store))
        store.close()
        rows.append(cli_row(work, max(5, options.repeat // 3)))
        rows.append(handler_row(work / "handler" / "logs.db"))
        print("| query | search ms (median) | baseline | baseline ms | ratio | matches | notes |")
        print("|---|---:|---|---:|---:|---:|---|")
        for row in rows:
            print(
                f"| {row.name} | {row.ms:.2f} | {row.baseline} | {row.baseline_ms:.2f} | {row.ratio:.3f}x "
                f"| {row.matches} | {'; '.join(row.notes)} |"
            )
        searched = [row.ms for row in rows[:-3]]
        median, worst = statistics.median(searched), max(searched)
        print(f"median of the search medians: {median:.2f} ms; worst {worst:.2f} ms")
        if options.json:
            options.json.write_text(json.dumps([asdict(row) for row in rows], indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
