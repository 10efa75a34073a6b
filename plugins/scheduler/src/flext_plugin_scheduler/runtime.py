"""The scheduler's files under ``<data dir>/scheduler/``: its lock and pid file, its log, the firings' logs.

One scheduler runs per FLEXT home: it holds an ``flock`` on ``scheduler.lock``
for its whole life (the kernel drops it when the process dies, however it
dies) and writes its pid to ``scheduler.pid`` for ``flext scheduler stop``.
Schedulers of other homes (other hosts) may share the event store: the slot
claims keep them from running a slot twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from flext_kernel.paths import data_dir
from flext_plugin_scheduler.errors import SCHEDULER_RUNNING
from flext_plugin_scheduler.files import open_private, write_private
from flext_sdk import FlextResult

__all__ = ["SchedulerLock", "firing_log", "is_running", "read_pid", "scheduler_dir", "scheduler_log"]


def scheduler_dir() -> Path:
    """``<data dir>/scheduler``."""
    return data_dir() / "scheduler"


def scheduler_log() -> Path:
    """Where a background scheduler's own output goes."""
    return scheduler_dir() / "scheduler.log"


def firing_log(schedule: str, run_id: str) -> Path:
    """The log of one firing (the job's stderr; its stdout goes next to it as ``.json``)."""
    return scheduler_dir() / "runs" / schedule / f"{run_id}.log"


def _lock_path() -> Path:
    return scheduler_dir() / "scheduler.lock"


def _pid_path() -> Path:
    return scheduler_dir() / "scheduler.pid"


class SchedulerLock:
    """The right to be this home's scheduler, held until ``release`` or the process ends."""

    def __init__(self) -> None:
        self._handle: IO[Any] | None = None

    def acquire(self, **details: Any) -> FlextResult[None]:
        """Take the lock without waiting and write the pid file; fail naming the holder if it is taken."""
        handle = open_private(_lock_path(), "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            pid = read_pid().get("pid", "?")
            return FlextResult.fail(
                f"a scheduler is already running here (pid {pid})",
                error_code=SCHEDULER_RUNNING,
                error_data={"pid": pid, "hint": "stop it with 'flext scheduler stop'"},
            )
        self._handle = handle
        document = {"pid": os.getpid(), "started_at": datetime.now(UTC).isoformat(), **details}
        write_private(_pid_path(), json.dumps(document))
        return FlextResult.ok(None)

    def release(self) -> None:
        """Remove the pid file and give the lock back."""
        if self._handle is None:
            return
        with contextlib.suppress(FileNotFoundError):
            _pid_path().unlink()
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None


def read_pid() -> dict[str, Any]:
    """What the running scheduler wrote to its pid file ({} if none)."""
    try:
        data = json.loads(_pid_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def is_running() -> bool:
    """Whether a scheduler of this home holds the lock now."""
    path = _lock_path()
    if not path.exists():
        return False
    with open_private(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False
