"""``flext scheduler [run|stop]``: the long-running scheduler, in the foreground or in the background.

``flext scheduler`` runs until SIGTERM or Ctrl-C, which stop it cleanly: the
running jobs are asked to stop (``flext pipeline run`` records the state its
target confirmed), their outcome is recorded, then it exits (0; 130 after
Ctrl-C). ``--background`` starts the same process in its own session, its
output in ``<data dir>/scheduler/scheduler.log``; ``flext scheduler stop``
signals the one whose pid file this home holds and waits for it to end.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from flext_eventsourcing import opened_store
from flext_kernel.errors import TIMEOUT, USAGE_ERROR
from flext_plugin_scheduler.errors import FIRING_FAILED, SCHEDULER_RUNNING
from flext_plugin_scheduler.files import open_private
from flext_plugin_scheduler.runtime import SchedulerLock, is_running, read_pid, scheduler_log
from flext_sdk import FlextResult
from flext_sdk.cli import EXIT_INTERRUPTED, EXIT_OK, emit, fail
from flext_sdk.contracts import hint_of

__all__ = ["scheduler"]

_STARTUP = 30.0
"""Seconds ``--background`` waits for the scheduler to hold its lock."""
_ERROR_LINE = re.compile(r"^error: (?P<message>.*) \((?P<code>[A-Z0-9_]+)\)$")


def scheduler(
    action: Annotated[Literal["run", "stop"], Parameter(show_default=True)] = "run",
    /,
    *,
    background: bool = False,
    timeout: float = 150.0,
    store: str | None = None,
) -> int:
    """Run the scheduler until stopped (SIGTERM, Ctrl-C, 'flext scheduler stop'), or stop the running one.

    Args:
        action: 'run' (the default) or 'stop'.
        background: Run it in the background (its log: <data dir>/scheduler/scheduler.log).
        timeout: For 'stop': seconds to wait for it to end cleanly before killing it.
        store: The event store (a SQLite path or postgresql:// URL).

    """
    if action == "stop":
        if background or store:
            option = "--background" if background else "--store"
            return fail(
                FlextResult.fail(
                    f"{option} applies to 'flext scheduler run', not to 'stop'", error_code=USAGE_ERROR
                )
            )
        return _stop(timeout)
    if background:
        return _start_background(store)
    return _run(store)


def _run(store: str | None) -> int:
    from flext_plugin_scheduler.book import ScheduleBook
    from flext_plugin_scheduler.clock import StopFlag, SystemClock
    from flext_plugin_scheduler.firing import Launcher
    from flext_plugin_scheduler.loop import Scheduler

    stop = StopFlag()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop.handle)
    lock = SchedulerLock()
    held = lock.acquire(store=store)
    if held.is_failure:
        return fail(held, hint=hint_of(held))
    try:
        with opened_store(store) as opened:
            if isinstance(opened, int):
                return opened
            kernel, events = opened
            _log(f"scheduler started (pid {os.getpid()})")
            scheduler = Scheduler(
                ScheduleBook(events), kernel, SystemClock(), launcher=Launcher(store=store), report=_log
            )
            ran = scheduler.run(stop)
            if ran.is_failure:
                return fail(ran)
            _log("scheduler stopped")
    finally:
        lock.release()
    return EXIT_INTERRUPTED if stop.signal == signal.SIGINT else EXIT_OK


def _log(line: str) -> None:
    """One line of the scheduler's log, on stderr, timestamped."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    print(f"{stamp} {line}", file=sys.stderr, flush=True)


def _start_background(store: str | None) -> int:
    """Start ``flext scheduler`` in its own session and wait until it holds the lock."""
    if is_running():
        return _already_running()
    argv = [sys.executable, "-m", "flext_kernel.cli", "scheduler", "run"]
    argv += ["--store", store] if store else []
    log = scheduler_log()
    with open_private(log, "ab") as sink:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
            start_new_session=True,  # closing the terminal does not hang it up
            cwd=Path.cwd(),
        )
    deadline = time.monotonic() + _STARTUP
    while time.monotonic() < deadline and process.poll() is None:
        if read_pid().get("pid") == process.pid and is_running():
            return emit(
                {"pid": process.pid, "log": str(log)},
                human=f"scheduler started in the background (pid {process.pid}); its log: {log}; "
                "stop it with 'flext scheduler stop'",
            )
        time.sleep(0.05)
    if process.poll() is None:
        process.kill()
    return _failed_start(log)


def _already_running() -> int:
    pid = read_pid().get("pid", "?")
    return fail(
        FlextResult.fail(f"a scheduler is already running here (pid {pid})", error_code=SCHEDULER_RUNNING),
        hint="stop it with 'flext scheduler stop'",
    )


def _failed_start(log: Path) -> int:
    """Say why the background scheduler ended at once: its last error line."""
    lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    for line in reversed(lines):
        match = _ERROR_LINE.match(line)
        if match:
            return fail(FlextResult.fail(match["message"], error_code=match["code"]), hint=f"its log: {log}")
    tail = lines[-1] if lines else "no output"
    return fail(
        FlextResult.fail(f"the background scheduler ended at once: {tail}", error_code=FIRING_FAILED),
        hint=f"its log: {log}",
    )


def _stop(timeout: float) -> int:
    """SIGTERM the running scheduler; kill it after ``timeout`` seconds."""
    pid = read_pid().get("pid")
    if not is_running() or not isinstance(pid, int):
        return emit({"stopped": False, "pid": None}, human="no scheduler is running")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _ended(timeout):
        stopped = {"stopped": True, "pid": pid, "forced": False}
        return emit(stopped, human=f"stopped the scheduler (pid {pid})")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if not _ended(10.0):
        return fail(FlextResult.fail(f"the scheduler (pid {pid}) outlived SIGKILL", error_code=TIMEOUT))
    return emit(
        {"stopped": True, "pid": pid, "forced": True},
        human=f"killed the scheduler (pid {pid}) after {timeout:g}s; "
        "its running jobs were not recorded as ended",
    )


def _ended(seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while is_running():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True
