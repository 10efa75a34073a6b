"""Run the real ``meltano`` in a project, unmodified, and watch what it reports.

``delegate`` starts ``meltano [--environment E] <command> <args...>`` from
Meltano's tool environment in the project directory, with this process's
environment (less Python's own settings), stdin and stdout inherited and
stderr (Meltano's log) copied byte for byte to ours as it comes, each line
also handed to a ``Watch`` that counts completed blocks and the loaders'
``record_count`` metrics. Meltano's exit code is the result, 128 + N when
signal N ended it.

Signals: SIGTERM and SIGHUP sent to flext are sent on to Meltano (which
stops its plugins). Ctrl-C on a terminal reaches Meltano directly (it is in
flext's process group, as it would be in a shell), so flext only waits for
it; a SIGINT sent to flext alone (``kill -INT``, no terminal) is sent on.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Final

from flext_kernel.result import FlextResult
from flext_sdk.redaction import child_environment

__all__ = ["DelegatedRun", "Watch", "capture", "delegate", "meltano_environ"]

_NOT_INHERITED: Final = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTEST_CURRENT_TEST")
_FORWARDED: Final = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
_METRIC = re.compile(rb"\]\s+(\S+)\s+METRIC: (\{.*\})\s*$")
_BLOCK_DONE = re.compile(rb"\]\s+meltano\s+Block run completed")


@dataclass
class Watch:
    """What Meltano's log said while it ran: completed blocks, and records per stream its loaders counted."""

    loaders: frozenset[str] = frozenset()
    """The loader plugin names whose ``record_count`` metrics are counted."""
    blocks_completed: int = 0
    records: dict[str, int] = field(default_factory=dict)

    def see(self, line: bytes) -> None:
        """Take one line of Meltano's log into account."""
        if _BLOCK_DONE.search(line):
            self.blocks_completed += 1
            return
        metric = _METRIC.search(line)
        if metric is None or metric.group(1).decode(errors="replace") not in self.loaders:
            return
        with contextlib.suppress(ValueError):
            data = json.loads(metric.group(2))
            if data.get("metric") == "record_count":
                stream = str((data.get("tags") or {}).get("stream", "?"))
                self.records[stream] = self.records.get(stream, 0) + int(data.get("value") or 0)


@dataclass(frozen=True)
class DelegatedRun:
    """How a delegated command ended."""

    exit_code: int
    """Meltano's exit code, or 128 + N when signal N ended it."""
    interrupted: bool
    """A signal (Ctrl-C, SIGTERM) asked it to stop."""
    elapsed: float
    """Seconds from start to end."""


def meltano_environ() -> dict[str, str]:
    """The environment of this process without Python's own settings (they would leak flext's packages).

    The action's correlation id is added as ``FLEXT_CORRELATION_ID``, so what Meltano
    and its plugins log can be traced to the ``flext`` command that ran them.
    """
    from flext_kernel.correlation import CORRELATION_ENV, current_correlation_id

    environ = {key: value for key, value in child_environment().items() if key not in _NOT_INHERITED}
    correlation_id = current_correlation_id()
    if correlation_id is not None:
        environ[CORRELATION_ENV] = correlation_id
    return environ


def delegate(
    meltano: Path,
    project: Path,
    args: Sequence[str],
    *,
    watch: Watch | None = None,
    on_started: Callable[[], None] | None = None,
) -> DelegatedRun:
    """Run ``meltano args...`` in ``project`` until it ends; see the module's docstring."""
    from flext_kernel.cli.session import callers_umask

    started = time.monotonic()
    with callers_umask() as umask:  # Meltano's .meltano/ and output files are the project's, not flext's
        process = subprocess.Popen(
            [str(meltano), *args],
            cwd=project,
            env=meltano_environ(),
            stderr=subprocess.PIPE,
            umask=umask,
        )
    interrupted: list[int] = []
    with _forwarding(process, interrupted):
        if on_started is not None:
            on_started()
        _copy(process.stderr, watch)
        code = process.wait()
    return DelegatedRun(
        exit_code=128 - code if code < 0 else code,
        interrupted=bool(interrupted) or code < 0,
        elapsed=time.monotonic() - started,
    )


def _copy(stream: IO[bytes] | None, watch: Watch | None) -> None:
    """Meltano's log to our stderr unchanged, line by line as it comes."""
    if stream is None:
        return
    out = sys.stderr.buffer
    with stream:
        for line in iter(stream.readline, b""):
            with contextlib.suppress(BrokenPipeError, ValueError):
                out.write(line)
                out.flush()
            if watch is not None:
                watch.see(line)


@contextlib.contextmanager
def _forwarding(process: subprocess.Popen[bytes], interrupted: list[int]) -> Iterator[None]:
    """Send SIGTERM/SIGHUP (and a SIGINT that did not come from the terminal) on to Meltano."""
    terminal_group = _terminal_foreground()

    def forward(signum: int, _frame: FrameType | None) -> None:
        interrupted.append(signum)
        if signum == signal.SIGINT and terminal_group:
            return  # Ctrl-C on the terminal reached Meltano too
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signum)

    previous = {signum: signal.signal(signum, forward) for signum in _FORWARDED}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _terminal_foreground() -> bool:
    """True when our process group owns the terminal: Ctrl-C then reaches every process in it."""
    for stream in (sys.stdin, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            if stream.isatty():
                return os.tcgetpgrp(stream.fileno()) == os.getpgrp()
    return False


def capture(meltano: Path, project: Path, args: Sequence[str]) -> FlextResult[str]:
    """Run ``meltano args...`` in ``project`` for its stdout: a command flext runs for the user.

    A non-zero exit is ``MELTANO_COMMAND_FAILED`` with Meltano's last log line.
    """
    from flext_plugin_meltano.errors import MELTANO_COMMAND_FAILED

    done = subprocess.run(
        [str(meltano), *args], cwd=project, env=meltano_environ(), capture_output=True, text=True, check=False
    )
    if done.returncode == 0:
        return FlextResult.ok(done.stdout)
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    said = next((line for line in reversed(lines) if "[error" in line), lines[-1] if lines else "no output")
    return FlextResult.fail(
        f"meltano {' '.join(args[:4])} failed (exit {done.returncode}): {said}",
        MELTANO_COMMAND_FAILED,
        {"exit_code": done.returncode},
    )
