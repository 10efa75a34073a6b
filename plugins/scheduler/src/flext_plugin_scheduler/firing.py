"""What a firing runs: ``flext pipeline run P`` or ``flext meltano run J``, as a child process.

A child process, not a bus command: the pipeline plugin offers none for a
run, and a long job in its own process (its own session, so a Ctrl-C at the
scheduler's terminal reaches only the scheduler) cannot take the scheduler
down with it. The scheduler stops a job with SIGTERM, which ``flext pipeline
run`` answers by stopping cleanly and recording the state its target
confirmed. The child prints its result as JSON (``--output json``), which
gives the failure's message and code; its stderr is the firing's log.

Before it starts, the plugin that owns the command must be running in this
kernel: a missing ``meltano`` or ``pipeline`` plugin fails the firing with
the kernel's own "plugin is not installed / disabled" failure, recorded.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flext_kernel.correlation import CORRELATION_ENV
from flext_kernel.errors import INTERRUPTED, NOT_FOUND
from flext_kernel.plugins.base import PluginState
from flext_plugin_scheduler.errors import FIRING_FAILED
from flext_plugin_scheduler.files import open_private
from flext_plugin_scheduler.runtime import firing_log
from flext_sdk import FlextResult
from flext_sdk.contracts import Provider, plugin_unavailable

if TYPE_CHECKING:
    from flext_plugin_scheduler.events import Outcome, ScheduleAdded
    from flext_sdk import FlextKernel

__all__ = ["Ended", "Launcher", "RunningJob", "command_of", "required_plugin"]

_PROVIDERS = {
    "pipeline": Provider("pipeline", distribution="flext-plugin-pipeline"),
    "meltano-job": Provider("meltano", distribution="flext-plugin-meltano"),
}
"""The plugin each kind of job needs, and the distribution that installs it."""
_EXIT_INTERRUPTED = 130
_SIGNAL_EXIT = 128


def command_of(definition: ScheduleAdded) -> list[str]:
    """The ``flext`` command line a firing runs (after ``flext``)."""
    if definition.job_kind == "command":
        return shlex.split(definition.job)
    if definition.job_kind == "pipeline":
        return ["pipeline", "run", definition.job, *(["--full-refresh"] if definition.full_refresh else [])]
    return ["meltano", "run", definition.job]


def required_plugin(kernel: FlextKernel, definition: ScheduleAdded) -> FlextResult[None]:
    """Succeed if the plugin owning the firing's command runs in ``kernel``; else say which and what to do.

    A ``command`` job names no plugin here: a command whose plugin is missing fails in the child, and
    its error line is what the firing records.
    """
    if definition.job_kind not in _PROVIDERS:
        return FlextResult.ok(None)
    provider = _PROVIDERS[definition.job_kind]
    record = kernel.plugins.records.get(provider.plugin)
    if record is not None and record.state in (PluginState.ACTIVE, PluginState.LOADED):
        return FlextResult.ok(None)
    command = " ".join(command_of(definition))
    return plugin_unavailable(
        kernel, provider, why=f"schedule {definition.schedule!r} runs 'flext {command}'", contract=command
    )


@dataclass(frozen=True, slots=True)
class Ended:
    """How a job ended."""

    outcome: Outcome
    """completed, failed or stopped."""
    exit_code: int | None
    """The process's exit code (None: it never started)."""
    error: str | None = None
    """Why it failed."""
    code: str | None = None
    """The failure's error code."""
    hint: str | None = None
    """What to do about the failure, when it says."""


class RunningJob:
    """A firing's child process."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path, result: Path) -> None:
        self.process = process
        """The child (``flext ...``), leader of its own session."""
        self.log = log
        """Its stderr."""
        self.result = result
        """Its stdout: the JSON document of its result."""
        self.stop_sent = False
        """Whether the scheduler asked it to stop."""

    @property
    def pid(self) -> int:
        """The child's pid."""
        return self.process.pid

    def poll(self) -> int | None:
        """Its exit code, or None while it runs."""
        return self.process.poll()

    def stop(self) -> None:
        """Ask it to stop cleanly (SIGTERM; ``flext pipeline run`` records where it stopped)."""
        self.stop_sent = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGTERM)

    def kill(self) -> None:
        """End it and its processes at once (SIGKILL to its session's process group)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def ended(self) -> Ended:
        """How it ended (call once ``poll`` returned a code)."""
        code = self.process.wait()
        document = _document(self.result)
        data = document.get("data") if isinstance(document.get("data"), dict) else {}
        if code == 0:
            stopped = isinstance(data, dict) and data.get("status") == "stopped"
            return Ended("stopped" if stopped else "completed", code)
        # A job stopped by the scheduler's SIGTERM: 130 (flext's interrupted), killed by a signal (< 0),
        # or a child that reports the signal as 128 + N, as 'flext meltano run' passes Meltano's on.
        if code == _EXIT_INTERRUPTED or (self.stop_sent and (code < 0 or code > _SIGNAL_EXIT)):
            return Ended("stopped", code, "stopped by the scheduler", INTERRUPTED)
        error = document.get("error") if isinstance(document.get("error"), str) else None
        failure = document.get("code") if isinstance(document.get("code"), str) else None
        if error is None:
            error = f"exited with code {code}: {_last_line(self.log) or 'no output'}"
        return Ended("failed", code, error, failure or FIRING_FAILED)


class Launcher:
    """Starts firings' child processes: ``flext --output json <command>`` in the schedule's directory."""

    def __init__(self, *, store: str | None = None, executable: tuple[str, ...] | None = None) -> None:
        self.store = store
        """The event store the jobs record to (passed as ``FLEXT_EVENTSTORE_URL``; None: theirs)."""
        self.executable = executable or (sys.executable, "-m", "flext_kernel.cli")
        """How ``flext`` is started."""

    def start(self, definition: ScheduleAdded, run_id: str, correlation_id: str) -> FlextResult[RunningJob]:
        """Start the firing ``run_id`` of ``definition``; a failure if its directory or command is gone.

        The child gets the firing's ``correlation_id`` as ``FLEXT_CORRELATION_ID`` (whatever the
        scheduler's own environment held), so the run it starts records under the firing's id.
        """
        directory = Path(definition.directory)
        if not directory.is_dir():
            return FlextResult.fail(
                f"schedule {definition.schedule!r} runs in {directory}, which no longer exists",
                error_code=NOT_FOUND,
                error_data={"directory": str(directory)},
            )
        log = firing_log(definition.schedule, run_id)
        result = log.with_suffix(".json")
        environment = {**os.environ, CORRELATION_ENV: correlation_id}
        if self.store:
            environment["FLEXT_EVENTSTORE_URL"] = self.store
        argv = [*self.executable, "--output", "json", *command_of(definition)]
        try:
            with open_private(log, "ab") as err, open_private(result, "wb") as out:
                process = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    cwd=directory,
                    env=environment,
                    start_new_session=True,
                )
        except OSError as exc:
            return FlextResult.fail(
                f"could not start 'flext {' '.join(command_of(definition))}': {exc.strerror}",
                error_code=FIRING_FAILED,
            )
        return FlextResult.ok(RunningJob(process, log, result))


def _document(path: Path) -> dict[str, Any]:
    """The JSON document the child printed ({} if none)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""
