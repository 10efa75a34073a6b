"""A pipeline's runtime files: its run lock, the record of its running process, its run logs.

They live under ``<data dir>/pipelines/<name>/``. The lock (an ``flock`` on
``run.lock``) is the truth about whether a run is going: the kernel releases
it when the process dies, however it dies, so a killed runner never leaves a
pipeline "running" forever. ``flext pipeline start`` takes the lock itself
before it answers and hands it to the background run it launches (the
descriptor is inherited; ``RunLock.handed_over`` and ``RunLock.adopt``), so
two starts at once cannot both say "started". ``runner.json`` tells
``flext pipeline stop`` which process to signal, which run it is on, and
which process group to kill if it must.

A run is stopped by SIGTERM (``flext pipeline stop``) or SIGINT (Ctrl-C),
which set the run's ``StopRequest``: the Singer engine watches it and ends
the tap gracefully, and the dbt step passes it as the ``RunDbt`` command's
``cancel`` event, which the dbt plugin watches to end dbt.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any

from flext_kernel.correlation import current_correlation_id
from flext_kernel.errors import VALIDATION_ERROR
from flext_plugin_pipeline.errors import ALREADY_RUNNING
from flext_plugin_pipeline.files import open_private, write_private
from flext_plugin_pipeline.masking import Masker
from flext_plugin_pipeline.project import checked_run_id, run_dir
from flext_sdk import FlextResult

__all__ = [
    "RunLock",
    "RunLog",
    "RunnerRecord",
    "StopRequest",
    "is_running",
    "log_path",
    "logs_dir",
]


_STOP_POLL = 0.05
"""Seconds between two looks for a signal's stop request while waiting."""


class StopRequest(threading.Event):
    """A request to stop a run: set by SIGTERM or SIGINT (``handle`` is the signal handler)."""

    def __init__(self) -> None:
        super().__init__()
        self.signal: int | None = None
        """The first signal that asked for the stop (None: none yet, or set by code)."""

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The signal handler: record the request, taking no lock.

        A handler runs on the main thread between two bytecodes, where that
        thread may hold any lock (the event's own inside ``wait``, the thread
        module's while it starts a thread): taking one could wait for itself
        for ever. A plain store is all it does; ``is_set`` and ``wait`` read it.
        """
        if self.signal is None:
            self.signal = signum

    def is_set(self) -> bool:
        """True once a signal asked for the stop or code set the event."""
        return self.signal is not None or super().is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Like ``Event.wait``; looks for a signal's request at least every 50 ms."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            remaining = _STOP_POLL if deadline is None else min(_STOP_POLL, deadline - time.monotonic())
            if remaining <= 0:
                return False
            super().wait(remaining)
        return True


class RunLock:
    """The exclusive right to run one pipeline, held by one process at a time."""

    def __init__(self, pipeline: str) -> None:
        self.pipeline = pipeline
        self.path = run_dir(pipeline) / "run.lock"
        self._handle: IO[str] | None = None

    def acquire(self) -> FlextResult[None]:
        """Take the lock without waiting; fail if another process holds it."""
        handle = open_private(self.path, "a+")  # held until release()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            holder = RunnerRecord(self.pipeline).read()
            pid = f" (pid {holder['pid']})" if holder.get("pid") else ""
            return FlextResult.fail(
                f"pipeline {self.pipeline!r} is already running{pid}: "
                f"wait for it, or stop it with 'flext pipeline stop {self.pipeline}'",
                error_code=ALREADY_RUNNING,
            )
        self._handle = handle
        record = RunnerRecord(self.pipeline)
        record.clear()  # what a killed runner left (its run id, its process group) is not ours
        record.update(pid=os.getpid(), started_at=datetime.now(UTC).isoformat())
        return FlextResult.ok(None)

    def release(self) -> None:
        """Give the lock back and forget the runner record."""
        RunnerRecord(self.pipeline).clear()
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    @property
    def descriptor(self) -> int:
        """The held lock's file descriptor, to hand to the process that takes over (``Popen(pass_fds=)``)."""
        assert self._handle is not None, "the lock is not held"
        return self._handle.fileno()

    def handed_over(self, pid: int) -> None:
        """The process ``pid`` holds the lock now (it inherited ``descriptor``): close ours, keep it locked.

        An ``flock`` belongs to the open file, shared by every descriptor of it,
        so the lock stays taken as long as the new holder keeps its copy
        open, and ends when it exits, however it exits. Unlocking here would
        unlock it for the new holder too, so this only closes.
        """
        RunnerRecord(self.pipeline).update(pid=pid)
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    @classmethod
    def adopt(cls, pipeline: str, descriptor: int) -> FlextResult[RunLock]:
        """The lock ``flext pipeline start`` took and handed to this process as ``descriptor``.

        The descriptor must be the pipeline's ``run.lock``, and locked by this
        process's open file (taking an ``flock`` the open file already holds
        succeeds at once; one held through another open file fails).
        """
        lock = cls(pipeline)
        try:
            os.set_inheritable(descriptor, False)  # pass_fds made it inheritable; no child may keep it
            same = os.path.samestat(os.fstat(descriptor), os.stat(lock.path))
            handle = os.fdopen(descriptor, "a+", encoding="utf-8")
        except OSError as exc:
            return FlextResult.fail(f"no run lock to take over: {exc.strerror}", error_code=VALIDATION_ERROR)
        if not same:
            handle.close()
            return FlextResult.fail(
                f"descriptor {descriptor} is not {lock.path}", error_code=VALIDATION_ERROR
            )
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return lock.acquire().map(lambda _none: lock)  # says who holds it
        lock._handle = handle
        RunnerRecord(pipeline).update(pid=os.getpid())
        return FlextResult.ok(lock)


def is_running(pipeline: str) -> bool:
    """Whether some process holds the pipeline's run lock right now."""
    path = run_dir(pipeline) / "run.lock"
    if not path.exists():
        return False
    with open_private(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


class RunnerRecord:
    """``runner.json``: pid, run id and process group of the process running the pipeline."""

    def __init__(self, pipeline: str) -> None:
        self.path = run_dir(pipeline) / "runner.json"
        self.process_group: int | None = None

    def read(self) -> dict[str, Any]:
        """What the runner wrote, or {} when nothing is running."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def update(self, **fields: Any) -> None:
        """Merge ``fields`` into the record (atomically replaced)."""
        data = {**self.read(), **fields}
        self.process_group = data.get("process_group")
        write_private(self.path, json.dumps(data))

    def clear(self) -> None:
        """Forget the record (the run is over)."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def logs_dir(pipeline: str) -> Path:
    """Where a pipeline's run logs are."""
    return run_dir(pipeline) / "runs"


def log_path(pipeline: str, run_id: str) -> Path:
    """The log file of one run.

    Raises:
        ValueError: ``run_id`` is not a run id (a command must check one it is given, with
            ``project.checked_run_id``; one read from the event store is checked too, since a store
            can be imported).

    """
    if checked_run_id(run_id).is_failure:
        raise ValueError(f"not a run id: {run_id!r}")
    return logs_dir(pipeline) / f"{run_id}.log"


class RunLog:
    """One run's log: every process's stderr and flext's own lines, timestamped, secrets masked.

    Each line is ``<UTC time> <correlation id> [<source>] <text>``: the id of
    the action the run belongs to is on every line (not only the first), so a
    line grepped out of the file, or stored by the logs plugin, still says
    which action it was. Logs written before the id was there have
    ``<time> [<source>] <text>``; readers accept both.
    """

    def __init__(self, path: Path, masker: Masker | None = None, correlation_id: str | None = None) -> None:
        self.path = path
        self.masker = masker or Masker()
        """Hides the run's secrets in every line (see ``masking``)."""
        self.correlation_id = correlation_id or current_correlation_id()
        """The action's id, written on each line (the stderr readers' threads do not carry the context)."""
        self._lock = threading.Lock()  # every process's stderr reader writes here
        self._handle: IO[str] | None = open_private(path, "a", buffering=1)

    @classmethod
    def create(
        cls, pipeline: str, run_id: str, masker: Masker | None = None, correlation_id: str | None = None
    ) -> RunLog:
        """The log of a new run."""
        return cls(log_path(pipeline, run_id), masker, correlation_id)

    def redact(self, line: str) -> str:
        """``line`` with every known secret masked."""
        return self.masker(line)

    def write(self, source: str, line: str) -> None:
        """Append one line from ``source`` (a process name, or ``flext``)."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        correlation = f" {self.correlation_id}" if self.correlation_id else ""
        text = f"{stamp}{correlation} [{source}] {self.redact(line)}\n"
        with self._lock:
            if self._handle is not None:
                self._handle.write(text)

    def close(self) -> None:
        """Flush and close the file."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
