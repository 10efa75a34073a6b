"""A run that does not end cleanly ends the target with SIGTERM, never with a clean end of input.

target-sqlite holds an ``ACTIVATE_VERSION`` that a Meltano Singer SDK tap
sends before its records and applies it only when its input ends cleanly. The
engine used to close the target's stdin whatever happened, so a full refresh
whose tap failed after 3 records kept those 3 rows and deleted the rest. Real
programs: the SDK tap of the target-sqlite tests (``sdk_tap.py``, run by
path) and the real ``target-sqlite``.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flext_plugin_singer.engine import EngineResult, Outcome, ProcessSpec, SingerEngine

SDK_TAP = Path(__file__).parents[1] / "sqlite" / "sdk_tap.py"
TARGET_SQLITE = Path(sys.executable).with_name("target-sqlite")


def _run(
    tmp_path: Path,
    stop: threading.Event | None = None,
    on_record: Callable[[], None] | None = None,
    **tap: Any,
) -> EngineResult:
    tap_config, target_config = tmp_path / "tap.json", tmp_path / "target.json"
    tap_config.write_text(json.dumps({"emit_activate_version_messages": True, **tap}))
    target_config.write_text(json.dumps({"database": str(tmp_path / "load.db")}))
    engine = SingerEngine(
        ProcessSpec("tap-people", [sys.executable, str(SDK_TAP), "--config", str(tap_config)]),
        ProcessSpec("target-sqlite", [str(TARGET_SQLITE), "--config", str(target_config)]),
    )
    if on_record is not None:  # called from a thread once the first record has passed flext
        threading.Thread(target=_when_a_record_passed, args=(engine, on_record), daemon=True).start()
    return engine.run(stop, stop_timeout=60)


def _when_a_record_passed(engine: SingerEngine, then: Callable[[], None]) -> None:
    while not sum(engine.scanner.records.values()):
        time.sleep(0.001)
    then()


def _names(tmp_path: Path) -> dict[str, int]:
    connection = sqlite3.connect(tmp_path / "load.db")
    try:
        rows = connection.execute("select name, count(*) from people group by name").fetchall()
    finally:
        connection.close()
    return dict(rows)


def test_a_full_refresh_whose_tap_fails_keeps_the_old_rows(tmp_path: Path) -> None:
    loaded = _run(tmp_path, count=1000, name="old")
    assert loaded.outcome is Outcome.COMPLETED, loaded.error
    assert _names(tmp_path) == {"old": 1000}

    failed = _run(tmp_path, count=1000, name="new", fail_after=3)

    assert failed.outcome is Outcome.FAILED
    assert failed.failed_process == "tap-people"  # not the target that flext ended
    assert failed.error is not None
    assert failed.error.startswith("tap-people exited with code 1"), failed.error
    names = _names(tmp_path)
    assert names.get("old", 0) + names.get("new", 0) == 1000, names  # the held activation was not applied
    assert names["old"] >= 997


def test_a_full_refresh_that_completes_still_removes_the_old_rows(tmp_path: Path) -> None:
    assert _run(tmp_path, count=1000, name="old").outcome is Outcome.COMPLETED
    # The SDK's table version is the sync's start in whole seconds: a second sync in the same second
    # activates the version the old rows already carry, and so removes none of them. Start it later.
    time.sleep(1.05 - time.time() % 1)
    done = _run(tmp_path, count=5, name="new")
    assert done.outcome is Outcome.COMPLETED, done.error
    assert _names(tmp_path) == {"new": 5}


def test_a_full_refresh_stopped_part_way_keeps_the_old_rows(tmp_path: Path) -> None:
    assert _run(tmp_path, count=1000, name="old").outcome is Outcome.COMPLETED
    stop = threading.Event()
    stopped = _run(tmp_path, stop, on_record=stop.set, count=1_000_000, name="new")
    assert stopped.outcome is Outcome.STOPPED, stopped.error
    assert stopped.error is None  # the target ended on SIGTERM, unforced
    connection = sqlite3.connect(tmp_path / "load.db")
    try:
        (kept,) = connection.execute("select count(*) from people where id < 1000").fetchone()
    finally:
        connection.close()
    assert kept == 1000  # each old row is still there, or replaced by its new one: nothing was deleted
