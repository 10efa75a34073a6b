"""Pipeline run logs read into the store: once, whole lines only, with the level and correlation id."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from flext_plugin_logs.ingest import catch_up, level_of, parse
from flext_plugin_logs.redaction import Redactor
from flext_plugin_logs.store import SCHEMA_VERSION, Filters, LogStore

RUN = "20261207T101500.123-ab12"


def write(root: Path, pipeline: str, run_id: str, text: str) -> Path:
    path = root / pipeline / "runs" / f"{run_id}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)
    return path


def open_store(tmp_path: Path) -> LogStore:
    return LogStore.open(tmp_path / "logs.db").unwrap()


def test_parse_keeps_continuation_lines_with_the_line_before() -> None:
    lines = parse(
        "2026-12-07T10:15:00.000001Z [tap-x] Traceback (most recent call last):\n"
        '  File "tap.py", line 3\n'
        "2026-12-07T10:15:01.5Z [flext] run x failed: boom\n"
    )
    assert [(line.source, line.text) for line in lines] == [
        ("tap-x", 'Traceback (most recent call last):\n  File "tap.py", line 3'),
        ("flext", "run x failed: boom"),
    ]
    assert lines[1].ts - lines[0].ts == pytest.approx(1.499999, abs=1e-5)


@pytest.mark.parametrize(
    ("source", "text", "level"),
    [
        ("tap-x", "2026-12-07 10:15:00 | ERROR | tap | failed", 40),
        ("tap-x", "WARNING slow", 30),
        ("tap-x", "time=1 level=INFO message=ok", 20),
        ("tap-x", "plain text", 20),
        ("flext", f"run {RUN} failed: exit 2", 40),
        ("flext", f"run {RUN} completed", 20),
    ],
)
def test_level_of_a_line(source: str, text: str, level: int) -> None:
    assert level_of(source, text) == level


def test_catch_up_stores_whole_new_lines_once(tmp_path: Path) -> None:
    root = tmp_path / "pipelines"
    store = open_store(tmp_path)
    redact = Redactor()
    write(root, "numbers", RUN, f"2026-12-07T10:15:00Z [flext] run {RUN} attempt 1, correlation id act-9\n")
    path = write(root, "numbers", RUN, "2026-12-07T10:15:01Z [tap-x] password=hunter22 half a li")
    assert catch_up(store, redact, root=root).unwrap() == 1
    assert catch_up(store, redact, root=root).unwrap() == 0
    with path.open("a") as handle:
        handle.write("ne\n2026-12-07T10:15:02Z [target-y] ERROR done\n")
    assert catch_up(store, redact, root=root).unwrap() == 2
    lines = store.search(Filters(), 10).unwrap()
    assert [(line.logger, line.level, line.message) for line in lines] == [
        ("flext", 20, f"run {RUN} attempt 1, correlation id act-9"),
        ("tap-x", 20, "password=*** half a line"),
        ("target-y", 40, "ERROR done"),
    ]
    assert {(line.plugin, line.pipeline, line.run_id, line.correlation_id) for line in lines} == {
        ("pipeline", "numbers", RUN, "act-9")
    }


def test_a_log_without_a_correlation_line_uses_the_run_id(tmp_path: Path) -> None:
    root = tmp_path / "pipelines"
    write(root, "other", RUN, "2026-12-07T10:15:00Z [flext] run started\n")
    store = open_store(tmp_path)
    catch_up(store, Redactor(), root=root).unwrap()
    assert [line.correlation_id for line in store.search(Filters(), 10).unwrap()] == [RUN]


def test_lines_older_than_retention_are_skipped(tmp_path: Path) -> None:
    root = tmp_path / "pipelines"
    write(root, "old", RUN, "2020-01-01T00:00:00Z [flext] ancient\n2026-12-07T10:15:00Z [flext] recent\n")
    store = open_store(tmp_path)
    catch_up(store, Redactor(), root=root, oldest=1_700_000_000.0).unwrap()
    assert [line.message for line in store.search(Filters(), 10).unwrap()] == ["recent"]


def test_two_readers_at_once_store_each_line_once(tmp_path: Path) -> None:
    root = tmp_path / "pipelines"
    for number in range(20):
        write(
            root,
            "busy",
            f"20261207T1015{number:02d}.000-aaaa",
            "".join(f"2026-12-07T10:15:00Z [tap-x] line {n}\n" for n in range(50)),
        )
    stores = [open_store(tmp_path) for _ in range(3)]
    results: list[int] = []

    def read(store: LogStore) -> None:
        results.append(catch_up(store, Redactor(), root=root).unwrap())

    threads = [threading.Thread(target=read, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 1000
    assert stores[0].count().unwrap() == 1000


def test_a_follower_skips_files_that_did_not_grow(tmp_path: Path) -> None:
    root = tmp_path / "pipelines"
    path = write(root, "numbers", RUN, "2026-12-07T10:15:00Z [flext] one\n")
    store = open_store(tmp_path)
    sizes: dict[str, int] = {}
    assert catch_up(store, Redactor(), root=root, sizes=sizes).unwrap() == 1
    assert sizes == {str(path): path.stat().st_size}
    assert catch_up(store, Redactor(), root=root, sizes=sizes).unwrap() == 0
    write(root, "numbers", RUN, "2026-12-07T10:15:01Z [flext] two\n")
    assert catch_up(store, Redactor(), root=root, sizes=sizes).unwrap() == 1


def test_each_line_keeps_the_correlation_id_it_carries_and_old_logs_still_read(tmp_path: Path) -> None:
    root = tmp_path / "pipelines"
    first = f"2026-12-07T10:15:00Z act-1 [flext] run {RUN} attempt 1, correlation id act-1\n"
    write(root, "per-line", RUN, first)
    write(root, "per-line", RUN, "2026-12-07T10:15:01Z act-1 [tap-x] reading [a] b\n  continued\n")
    write(root, "per-line", RUN, "2026-12-07T10:15:02Z act-2:x [flext] a note of another action\n")
    store = open_store(tmp_path)
    assert catch_up(store, Redactor(), root=root).unwrap() == 3
    lines = store.search(Filters(), 10).unwrap()
    assert [(line.logger, line.correlation_id, line.message) for line in lines] == [
        ("flext", "act-1", f"run {RUN} attempt 1, correlation id act-1"),
        ("tap-x", "act-1", "reading [a] b\n  continued"),
        ("flext", "act-2:x", "a note of another action"),
    ]
    assert parse("2026-12-07T10:15:00Z [tap-x] old line\n")[0].correlation_id is None


def test_a_traceback_read_after_its_first_line_keeps_its_time_source_and_correlation(tmp_path: Path) -> None:
    """Continuation lines come in a later read: stored as the line they continue, not dropped."""
    root = tmp_path / "pipelines"
    store = open_store(tmp_path)
    redact = Redactor()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    oldest = time.time() - 3600  # as the commands read: lines older than the age limit are skipped
    write(root, "numbers", RUN, f"{stamp}.000000Z act-7 [tap-x] Traceback (most recent call last):\n")
    assert catch_up(store, redact, root=root, oldest=oldest).unwrap() == 1
    write(root, "numbers", RUN, '  File "tap.py", line 3\nValueError: boom\n')
    assert catch_up(store, redact, root=root, oldest=oldest).unwrap() == 1
    lines = store.search(Filters(pipeline="numbers"), 10).unwrap()
    assert [(line.logger, line.correlation_id, line.message) for line in lines] == [
        ("tap-x", "act-7", "Traceback (most recent call last):"),
        ("tap-x", "act-7", '  File "tap.py", line 3\nValueError: boom'),
    ]
    assert lines[1].time == lines[0].time


def test_a_store_of_version_1_is_upgraded_in_place(tmp_path: Path) -> None:
    """A store of before the last line's time and source were kept opens, keeps its rows, reads on."""
    path = tmp_path / "logs.db"
    raw = sqlite3.connect(path)
    raw.executescript(
        "CREATE TABLE ingested (path TEXT PRIMARY KEY, offset INTEGER NOT NULL, correlation_id TEXT);"
        "INSERT INTO ingested VALUES ('/x.log', 42, 'act-1'); PRAGMA user_version = 1;"
    )
    raw.close()
    store = LogStore.open(path).unwrap()
    known = store.offset_of("/x.log").unwrap()
    assert (known.offset, known.correlation_id, known.last_ts) == (42, "act-1", None)
    store.close()
    again = sqlite3.connect(path)
    assert again.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    again.close()
    assert LogStore.open(path).unwrap().count().unwrap() == 0  # a second open finds it current
