"""``flext monitor dashboard``: the loop: read new events, check health in the background, draw, read keys.

Cheap by design: each turn reads only the events written since the last one
(``RunFold.catch_up``), the screen is drawn only when something changed (or
every few seconds for the clock and elapsed times), and service checks run
on their own thread every ``--health-interval`` seconds so a slow check
never stalls the screen. rich's ``Live`` on the alternate screen redraws in
place, without clearing, so the screen does not flicker.
"""

from __future__ import annotations

import os
import select
import sys
import termios
import threading
import time
import tty
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from flext_kernel.errors import NOT_FOUND, VALIDATION_ERROR
from flext_sdk import FlextResult
from flext_sdk.cli import EXIT_INTERRUPTED, EXIT_OK, boot_kernel, fail

if TYPE_CHECKING:
    from flext_eventsourcing import FlextEventStore
    from flext_kernel.kernel import FlextKernel
    from flext_plugin_monitor.dashboard import Snapshot

__all__ = ["dashboard", "split_keys"]

_REDRAW_AT_LEAST: Final = 5.0
"""Seconds between draws when nothing changed (the clock and elapsed times move)."""
_LOG_LINES: Final = 500


def dashboard(*, interval: float = 1.0, health_interval: float = 10.0, store: str | None = None) -> int:
    """A live terminal dashboard: running pipelines, last runs and failures, service health, alerts, errors.

    Keys: / filter by pipeline (Enter applies, Esc clears), j/k select a run,
    l open the selected run's log, q quit.

    Args:
        interval: Seconds between looks at the event store.
        health_interval: Seconds between service health checks.
        store: The event store (a SQLite path or postgresql:// URL; default $FLEXT_EVENTSTORE_URL).

    """
    if interval <= 0 or health_interval <= 0:
        return fail(
            FlextResult.fail("--interval and --health-interval must be positive", error_code=VALIDATION_ERROR)
        )
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return fail(
            FlextResult.fail("the dashboard needs a terminal", error_code=VALIDATION_ERROR),
            hint="for scripts: flext monitor performance, flext service health, flext monitor alerts list",
        )
    booted = boot_kernel()
    if booted.is_failure:
        return fail(booted)
    with booted.value as kernel:
        try:
            return _Dashboard(kernel, store, interval, health_interval).run()
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED


class _Dashboard:
    def __init__(
        self, kernel: FlextKernel, location: str | None, interval: float, health_interval: float
    ) -> None:
        from flext_plugin_monitor.dashboard import Snapshot
        from flext_plugin_monitor.runs import RunFold

        self.kernel = kernel
        self.location = location
        self.interval = interval
        self.health_interval = health_interval
        self.snapshot: Snapshot = Snapshot(RunFold())
        self.store: FlextEventStore | None = None
        self.lock = threading.Lock()
        self.health_changed = threading.Event()
        self.stop = threading.Event()

    def run(self) -> int:
        from rich.console import Console
        from rich.live import Live

        from flext_plugin_monitor.dashboard import render

        console = Console()
        checker = threading.Thread(target=self._check_health, name="flext-monitor-health", daemon=True)
        checker.start()
        drawn_at = 0.0
        dirty = True
        try:
            with _keys() as read_key, Live(console=console, screen=True, auto_refresh=False) as live:
                while True:
                    dirty = self._read_events() or dirty
                    dirty = self.health_changed.is_set() or dirty
                    self.health_changed.clear()
                    if dirty or time.monotonic() - drawn_at >= _REDRAW_AT_LEAST:
                        self.snapshot.height = console.size.height
                        with self.lock:
                            live.update(render(self.snapshot), refresh=True)
                        drawn_at, dirty = time.monotonic(), False
                    keys = read_key(self.interval)
                    if any(self._on_key(key) for key in keys):
                        return EXIT_OK
                    dirty = dirty or bool(keys)
        finally:
            self.stop.set()
            if self.store is not None:
                self.store.close()

    def _read_events(self) -> bool:
        """Fold what was written since the last look; True when something was."""
        from flext_plugin_monitor.alert_events import read_alerts

        if self.store is None:
            from flext_eventsourcing import stores_of

            stores = stores_of(self.kernel)
            if stores.is_failure:
                return False
            opened = stores.value.open_event_store(self.location, create=False, read_only=True)
            if opened.is_failure:
                return False  # no store yet: the screen says nothing ran; looked for again next turn
            self.store = opened.value
        caught = self.snapshot.fold.catch_up(self.store)
        if caught.is_failure or not caught.value:
            return False
        alerts = read_alerts(self.store)
        if alerts.is_success:
            self.snapshot.alerts = alerts.value[1]
        return True

    def _check_health(self) -> None:
        from flext_sdk.contracts import require_handler
        from flext_sdk.contracts.services import GetServiceHealth

        while not self.stop.is_set():
            there = require_handler(self.kernel, GetServiceHealth, why="service health")
            if there.is_failure:
                rows, note = [], f"(unavailable: {there.error})"
            else:
                answer = self.kernel.query_bus.execute(
                    GetServiceHealth(timeout=min(5.0, self.health_interval))
                )
                rows, note = (
                    (answer.value, f"at {time.strftime('%H:%M:%S', time.gmtime())}")
                    if answer.is_success
                    else ([], f"({answer.error})")
                )
            with self.lock:
                self.snapshot.health, self.snapshot.health_note = rows, note
            self.health_changed.set()
            self.stop.wait(self.health_interval)

    def _on_key(self, key: str) -> bool:
        """Apply a key; True to quit."""
        snapshot = self.snapshot
        if snapshot.typing_filter:
            if key in ("\r", "\n"):
                snapshot.typing_filter = False
            elif key == "\x1b":
                snapshot.typing_filter, snapshot.filter = False, ""
            elif key in ("\x7f", "\b"):
                snapshot.filter = snapshot.filter[:-1]
            elif key.isprintable():
                snapshot.filter += key
            snapshot.selected = 0
            return False
        if key == "q":
            return True
        if snapshot.log is not None:
            if key in ("l", "\x1b"):
                snapshot.log = None
            return False
        if key == "/":
            snapshot.typing_filter, snapshot.filter = True, ""
        elif key == "\x1b":
            snapshot.filter = ""
        elif key == "j":
            snapshot.selected += 1
        elif key == "k":
            snapshot.selected = max(0, snapshot.selected - 1)
        elif key == "l":
            self._open_log()
        return False

    def _open_log(self) -> None:
        from flext_plugin_monitor.dashboard import finished_shown

        shown = finished_shown(self.snapshot, 1000)
        if not shown:
            return
        run = shown[min(self.snapshot.selected, len(shown) - 1)]
        found = run_log(run.pipeline, run.run_id)
        lines = found.value if found.is_success else [found.error or ""]
        errors = [line.text for line in self.snapshot.fold.errors if line.run_id == run.run_id]
        if found.is_failure and errors:
            lines += ["", "its error lines (from the run's events):", *errors]
        self.snapshot.log = lines
        self.snapshot.log_title = f"log of run {run.run_id} of pipeline {run.pipeline} ({run.status})"


def run_log(pipeline: str, run_id: str) -> FlextResult[list[str]]:
    """The last lines of a run's log: the file the pipeline plugin writes (docs/plugins/logs.md)."""
    from flext_kernel.paths import data_dir

    path = data_dir() / "pipelines" / pipeline / "runs" / f"{run_id}.log"
    try:
        with path.open("rb") as source:
            source.seek(0, os.SEEK_END)
            source.seek(max(0, source.tell() - 256 * 1024))
            text = source.read().decode("utf-8", "replace")
    except OSError:
        return FlextResult.fail(f"no log file for run {run_id} ({path})", error_code=NOT_FOUND)
    return FlextResult.ok(text.splitlines()[-_LOG_LINES:])


@contextmanager
def _keys() -> Iterator[Any]:
    """A ``read_keys(timeout)`` over stdin in cbreak mode: the keys typed (unechoed), [] after ``timeout``.

    Keys typed quickly arrive in one read and are all returned, in order; an
    escape sequence (an arrow key) counts as one Esc.
    """
    descriptor = sys.stdin.fileno()
    saved = termios.tcgetattr(descriptor)
    tty.setcbreak(descriptor)

    def read_keys(timeout: float) -> list[str]:
        ready, _, _ = select.select([descriptor], [], [], timeout)
        if not ready:
            return []
        data = os.read(descriptor, 64)
        if not data:
            raise KeyboardInterrupt  # the terminal went away
        return split_keys(data.decode("utf-8", "replace"))

    try:
        yield read_keys
    finally:
        termios.tcsetattr(descriptor, termios.TCSADRAIN, saved)


def split_keys(text: str) -> list[str]:
    r"""The keys in what one read returned; an escape sequence (``\\x1b[A``, an arrow) is one ``\\x1b``."""
    parts = text.split("\x1b")
    keys = list(parts[0])
    for part in parts[1:]:
        keys.append("\x1b")
        if part[:1] in ("[", "O"):
            end = 1
            while end < len(part) and not (part[end].isalpha() or part[end] == "~"):
                end += 1
            part = part[end + 1 :]
        keys.extend(part)
    return keys
