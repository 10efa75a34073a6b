"""Run the real ``flext`` executable in a subprocess, isolated from the user's configuration.

An in-process call of the CLI's ``main`` would share ``sys.modules``,
``sys.path`` and the command cache with the test session, and would not see
start-up costs or import errors the way a user does; a subprocess sees exactly
what a user sees. ``FLEXT_HOME`` points at the test's directory, so the
command cache, plugin state and local plugins of the person running the tests
are never read or written.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CliResult", "FlextCliRunner", "flext_command"]

_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def flext_command() -> tuple[str, ...]:
    """The command that starts ``flext`` for the running interpreter.

    The console script installed next to ``sys.executable`` is preferred,
    since that is what users run; without one, ``python -m flext_kernel.cli``.
    """
    name = "flext.exe" if sys.platform == "win32" else "flext"
    script = Path(sys.executable).with_name(name)
    if script.is_file():
        return (str(script),)
    return (sys.executable, "-m", "flext_kernel.cli")


@dataclass(frozen=True, slots=True)
class CliResult:
    """What one ``flext`` run did."""

    args: tuple[str, ...]
    """The arguments after ``flext`` (including the added ``--plugins-dir`` options)."""
    exit_code: int
    """0 for success, 1 for a failed operation, 2 for bad usage or input."""
    stdout: str
    """Everything printed on standard output."""
    stderr: str
    """Everything printed on standard error (``error: ... (CODE)`` lines, hints, tracebacks)."""

    def json(self) -> Any:
        """Parse ``stdout`` as the JSON document ``--output json`` prints.

        Raises:
            ValueError: stdout is not JSON; the message shows both streams.

        """
        try:
            return json.loads(self.stdout)
        except ValueError:
            raise ValueError(f"flext {' '.join(self.args)} did not print JSON:\n{self}") from None

    def __str__(self) -> str:
        return (
            f"exit code {self.exit_code}\n--- stdout ---\n{self.stdout.rstrip()}\n"
            f"--- stderr ---\n{self.stderr.rstrip()}"
        )


class FlextCliRunner:
    """The ``flext_cli`` fixture: ``flext_cli(*args, plugin_dirs=(), env=None) -> CliResult``."""

    def __init__(self, home: Path, *, command: Iterable[str] | None = None, timeout: float = 120.0) -> None:
        self.home = home
        """The ``FLEXT_HOME`` every run uses (config, state, cache and ``plugins/``)."""
        self.command = tuple(command) if command is not None else flext_command()
        """How ``flext`` is started."""
        self.timeout = timeout
        """Seconds a run may take before the test fails."""

    def __call__(
        self,
        *args: str,
        plugin_dirs: Iterable[Path | str] = (),
        env: Mapping[str, str] | None = None,
        input: str | None = None,
    ) -> CliResult:
        """Run ``flext *args`` and return what it did; a non-zero exit code is not an error here.

        Args:
            *args: the command line after ``flext``, e.g. ``("--output", "json", "plugin", "list")``.
            plugin_dirs: directories of local plugins, passed as ``--plugins-dir`` options.
            env: extra environment variables (``FLEXT_STRICT_PLUGINS``, a plugin's settings, ...).
            input: text fed to standard input.

        """
        arguments = tuple(part for directory in plugin_dirs for part in ("--plugins-dir", str(directory)))
        arguments += tuple(args)
        done = subprocess.run(
            [*self.command, *arguments],
            input=input,
            capture_output=True,
            text=True,
            env=self.environment(env),
            timeout=self.timeout,
            check=False,
        )
        return CliResult(arguments, done.returncode, done.stdout, done.stderr)

    def on_terminal(
        self,
        *args: str,
        columns: int = 80,
        plugin_dirs: Iterable[Path | str] = (),
        env: Mapping[str, str] | None = None,
    ) -> CliResult:
        """Run ``flext *args`` on a pseudo-terminal ``columns`` wide: what a person at a terminal sees.

        Rich draws tables for a terminal and plain text for a pipe, so whether
        a table stays readable at 80 columns can only be seen this way.
        ``stdout`` holds the screen's text with escape codes removed;
        ``stderr`` is captured apart (a tool's log is not part of the table).
        """
        import fcntl
        import pty
        import struct
        import tempfile
        import termios

        arguments = tuple(part for directory in plugin_dirs for part in ("--plugins-dir", str(directory)))
        arguments += tuple(args)
        leader, follower = pty.openpty()
        try:
            fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
            size = {"COLUMNS": str(columns), "LINES": "50", "TERM": "xterm"}
            environment = self.environment({**(env or {}), **size})
            # stderr goes to a file: a pipe read only after the terminal closes could fill and block.
            with tempfile.TemporaryFile() as log:
                with subprocess.Popen(
                    [*self.command, *arguments],
                    stdin=subprocess.DEVNULL,
                    stdout=follower,
                    stderr=log,
                    env=environment,
                ) as process:
                    os.close(follower)
                    follower = -1
                    chunks = _read_until_closed(leader, process, self.timeout)
                    code = process.wait(timeout=self.timeout)
                log.seek(0)
                err = log.read().decode("utf-8", errors="replace")
        finally:
            for descriptor in (leader, follower):
                if descriptor >= 0:
                    os.close(descriptor)
        text = b"".join(chunks).decode("utf-8", errors="replace").replace("\r\n", "\n")
        return CliResult(arguments, code, _ESCAPES.sub("", text), err)

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The subprocess environment: this process's, minus ``FLEXT_*``, plus the isolation."""
        environment = {key: value for key, value in os.environ.items() if not key.startswith("FLEXT_")}
        if "FLEXT_TOOLS_DIR" in os.environ:  # shared tool environments (see isolate_home)
            environment["FLEXT_TOOLS_DIR"] = os.environ["FLEXT_TOOLS_DIR"]
        # NO_COLOR keeps escape codes out of the output; a wide COLUMNS keeps rich from wrapping tables.
        environment.update({"FLEXT_HOME": str(self.home), "NO_COLOR": "1", "COLUMNS": "200"})
        environment.update(extra or {})
        return environment


def _read_until_closed(leader: int, process: subprocess.Popen[bytes], timeout: float) -> list[bytes]:
    """What the process writes to its terminal until it closes it; killed if that takes over ``timeout``."""
    import select
    import time

    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            process.kill()
            raise subprocess.TimeoutExpired(process.args, timeout)
        ready, _, _ = select.select([leader], [], [], min(left, 1.0))
        if not ready:
            continue
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the process closed the terminal
            return chunks
        if not chunk:
            return chunks
        chunks.append(chunk)
