"""Run a tap, optional mappers and a target as subprocesses joined by pipes.

The data path is ``tap -> flext -> [mapper -> ...] -> target``. flext reads
the tap's output in large chunks (counting records per stream and checking
non-record lines on the way, see ``protocol``) into a bounded buffer that a
second thread writes on (see ``buffer``), so the tap and the target keep
working while the other is busy; mappers and the target are joined by plain
OS pipes. The target's stdout carries the STATE messages
it emits once the records before them are safely written: only those are
handed to ``on_state``, so whoever persists them resumes from what was
really loaded, never from what the tap merely read.

The target's stdin is closed (a clean end of input) only when the run ended
cleanly: the tap exited 0, its output was well formed and nobody asked for a
stop. Otherwise the target (and the mappers) get SIGTERM once the feeder has
stopped writing: a clean end of input would tell the target that the stream
was complete, and a target that holds an ``ACTIVATE_VERSION`` until then
(target-sqlite does, for the Singer SDK's order) would delete the rows the
failed run never sent. A target ended so keeps what its last STATE covers.

Stopping is graceful first: the tap gets SIGTERM and what waits in the
buffer is dropped (the feeder writes in line-aligned slices, so the target
gets at most the slice being written, never half a message), then the target
gets SIGTERM and keeps what its last confirmed state covers; only after
``stop_timeout`` is anything killed. Dropping loses nothing: only states the
target confirms are kept, so the next run extracts the records after them
again. The children run in a process
group of their own, so a Ctrl-C in the terminal reaches flext alone and the
target is never interrupted half-way through a write.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from flext_kernel.errors import NOT_FOUND
from flext_plugin_singer.buffer import ByteBuffer
from flext_plugin_singer.errors import RUN_FAILED
from flext_plugin_singer.failures import Diagnosis
from flext_plugin_singer.protocol import ProtocolError, StreamScanner, parse_state_line
from flext_sdk.redaction import child_environment

__all__ = ["EngineResult", "Outcome", "ProcessSpec", "SingerEngine", "exit_description"]

_CHUNK = 1 << 20
_BUFFER = 64 << 20
"""Bytes that may wait between the tap and the target (see ``buffer``)."""
_SHORT_READ = 64 << 10
_SLICE = 256 << 10
"""Bytes the feeder writes at a time: what a target still gets after a stop."""
_GATHER_PAUSE = 0.002
_TAIL_LINES = 20


class Outcome(StrEnum):
    """How a run ended."""

    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True)
class ProcessSpec:
    """One process of the pipeline: its role in messages (``tap-ldif``), its command line, environment."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    cwd: Path | None = None


@dataclass
class EngineResult:
    """What a run did: outcome, records per stream, the last confirmed state, and why it failed."""

    outcome: Outcome
    records: dict[str, int]
    elapsed: float
    last_state: dict[str, Any] | None = None
    error: str | None = None
    error_code: str | None = None
    stderr_tail: dict[str, list[str]] = field(default_factory=dict)
    first_record_after: float | None = None
    """Seconds from start to the first record read from the tap."""
    failed_process: str | None = None
    """The tap, mapper or target whose exit failed the run (None for other outcomes)."""


@dataclass
class _Child:
    spec: ProcessSpec
    process: subprocess.Popen[bytes]
    tail: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=_TAIL_LINES))
    diagnosis: Diagnosis = field(default_factory=Diagnosis)
    """Every stderr line goes through it, so the line that says why it failed is found in all of them."""


class SingerEngine:
    """One run of a Singer pipeline; ``run`` blocks until it is over.

    ``on_state`` receives each state the target confirms (in order, from a
    reader thread); ``log`` receives every stderr line of every process,
    already passed through ``redact``.
    """

    def __init__(
        self,
        tap: ProcessSpec,
        target: ProcessSpec,
        mappers: Sequence[ProcessSpec] = (),
        *,
        on_state: Callable[[dict[str, Any]], None] = lambda state: None,
        log: Callable[[str, str], None] = lambda name, line: None,
        redact: Callable[[str], str] = lambda line: line,
        buffer_size: int = _BUFFER,
    ) -> None:
        self._specs = (tap, *mappers, target)
        self._on_state = on_state
        self._log = log
        self._redact = redact
        self.scanner = StreamScanner()
        """Live counts (read by progress displays; updated by the relay thread)."""
        self._started = 0.0
        self._first_record: float | None = None
        self._relay_error: str | None = None
        self._buffer = ByteBuffer(buffer_size)
        self._last_state: dict[str, Any] | None = None
        self._state_lock = threading.Lock()
        self._terminated: set[int] = set()
        """Pids of the mappers and target flext ended with SIGTERM because the run did not end cleanly."""
        self.process_group: int | None = None
        """The children's process group, so that ``flext pipeline stop`` can kill them all if it must."""

    @property
    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self._started if self._started else 0.0

    def run(self, stop: threading.Event | None = None, *, stop_timeout: float = 30.0) -> EngineResult:
        """Start every process, relay until the tap is done, let the target finish; never hangs.

        Setting ``stop`` asks for a graceful stop (``Outcome.STOPPED``); a
        process still running ``stop_timeout`` seconds later is killed.
        """
        stop = stop or threading.Event()
        self._started = time.monotonic()
        children: list[_Child] = []
        failure = self._spawn(children)
        if failure is not None:
            for child in children:
                _signal(child.process, signal.SIGKILL)
                child.process.communicate()
            return self._result(Outcome.FAILED, children, *failure)
        children.sort(key=lambda child: self._specs.index(child.spec))
        threads = [self._thread(self._read_stderr, child) for child in children]
        threads.append(self._thread(self._read_target_stdout, children[-1]))
        relay = self._thread(self._relay, children)
        stopping_since = self._supervise(relay, children, stop, stop_timeout)
        stopped = self._finish(children, stop, stop_timeout, stopping_since)
        for thread in threads:
            thread.join(timeout=5)
        for child in children:
            for pipe in (child.process.stdin, child.process.stdout, child.process.stderr):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
        return self._outcome(children, stopped)

    # -- processes -----------------------------------------------------------------------------

    def _spawn(self, children: list[_Child]) -> tuple[str, str] | None:
        """Start the target first (it only waits for input), then mappers, then the tap, all in one group.

        Returns (message, code) if a process could not be started.
        """
        downstream: IO[bytes] | None = None
        for spec in reversed(self._specs):
            is_tap = spec is self._specs[0]
            try:
                process = self._popen(
                    spec,
                    stdin=subprocess.DEVNULL if is_tap else subprocess.PIPE,
                    stdout=downstream if downstream is not None else subprocess.PIPE,
                    group=self.process_group or 0,
                )
            except OSError as exc:
                if isinstance(exc, FileNotFoundError):
                    return f"{spec.name} is not installed ({spec.argv[0]} not found)", NOT_FOUND
                return f"{spec.name} could not start: {exc}", RUN_FAILED
            finally:
                if downstream is not None and not is_tap:
                    downstream.close()  # the new process holds it; flext must not keep it open
            if self.process_group is None:
                self.process_group = process.pid
            children.append(_Child(spec, process))
            downstream = None if is_tap or spec is self._specs[1] else process.stdin
        return None

    @staticmethod
    def _popen(spec: ProcessSpec, *, stdin: Any, stdout: Any, group: int) -> subprocess.Popen[bytes]:
        env = child_environment(spec.env)  # never the secret store's key
        return subprocess.Popen(
            list(spec.argv),
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=env,
            cwd=spec.cwd,
            process_group=group,
        )

    @staticmethod
    def _thread(function: Callable[..., None], *args: Any) -> threading.Thread:
        thread = threading.Thread(target=function, args=args, daemon=True)
        thread.start()
        return thread

    # -- data path -----------------------------------------------------------------------------

    def _relay(self, children: list[_Child]) -> None:
        """Read the tap's stdout, scan whole lines, and queue them for ``_feed``; ends when both are done.

        Taps flush message by message, so a read often returns one record;
        after a short read the relay pauses a moment to let a batch gather
        (the tap's pipe is enlarged so the tap does not stall meanwhile).
        """
        tap, downstream = children[0].process, children[1].process
        assert tap.stdout is not None
        source = tap.stdout.fileno()
        _enlarge_pipe(source)
        buffer = self._buffer
        feeder = self._thread(self._feed, buffer, downstream)
        pending = b""
        try:
            while True:
                chunk = os.read(source, _CHUNK)
                if not chunk:
                    break
                data = pending + chunk if pending else chunk
                cut = data.rfind(b"\n") + 1
                pending = data[cut:]
                if cut and not self._forward(data[:cut], buffer):
                    return  # the next process is gone; its exit code tells why
                if len(chunk) < _SHORT_READ:
                    time.sleep(_GATHER_PAUSE)
            if pending.strip():
                self._forward(pending + b"\n", buffer)
        except ProtocolError as error:
            self._relay_error = f"{children[0].spec.name} sent a malformed Singer message on {error}"
        finally:
            buffer.close()
            with contextlib.suppress(OSError):
                tap.stdout.close()  # a tap still writing gets a broken pipe instead of blocking
            feeder.join()

    def _forward(self, lines: bytes, buffer: ByteBuffer) -> bool:
        """Scan complete lines and queue them; a malformed line stops after queueing the lines before it."""
        try:
            self.scanner.scan(lines)
        except ProtocolError as error:
            buffer.put(lines[: error.good_bytes])
            raise
        if self._first_record is None and self.scanner.records:
            self._first_record = time.monotonic()
        return buffer.put(lines)

    @staticmethod
    def _feed(buffer: ByteBuffer, downstream: subprocess.Popen[bytes]) -> None:
        """Write what the relay queued to the next process (``_finish`` ends its input).

        What ``take`` returns is written in slices that end at a line's end,
        so that once the buffer is dropped (a stop) the next process gets
        nothing more than the slice being written, and never half a message.
        """
        assert downstream.stdin is not None
        sink = downstream.stdin.fileno()
        try:
            while data := buffer.take(_CHUNK * 4):
                for piece in _line_slices(data, _SLICE):
                    _write_all(sink, piece)
                    if buffer.dropped:
                        break
        except OSError:
            buffer.abandon()  # the next process exited (broken pipe); the relay stops reading

    def _read_target_stdout(self, target: _Child) -> None:
        assert target.process.stdout is not None
        for line in target.process.stdout:
            state = parse_state_line(line)
            if state is not None:
                with self._state_lock:
                    self._last_state = state
                self._on_state(state)

    def _read_stderr(self, child: _Child) -> None:
        assert child.process.stderr is not None
        for raw in child.process.stderr:
            line = self._redact(raw.decode("utf-8", "replace").rstrip())
            if line:
                child.tail.append(line)
                child.diagnosis.feed(line)
                self._log(child.spec.name, line)

    # -- ending --------------------------------------------------------------------------------

    def _supervise(
        self, relay: threading.Thread, children: list[_Child], stop: threading.Event, timeout: float
    ) -> float | None:
        """Wait for the relay to end; on a stop request the tap gets SIGTERM, then SIGKILL after ``timeout``.

        Returns when the stop began (None if nobody asked for one).
        """
        stopping_since: float | None = None
        tap = children[0].process
        while relay.is_alive():
            relay.join(0.1)
            tap_running = tap.poll() is None
            if tap_running and any(child.process.poll() is not None for child in children[1:]):
                _signal(tap, signal.SIGKILL)  # nobody downstream reads any more
            elif stop.is_set() and stopping_since is None:
                stopping_since = time.monotonic()
                if tap_running:
                    _signal(tap, signal.SIGTERM)
                self._buffer.drop()  # the target gets SIGTERM after this; the next run re-extracts
            elif stopping_since is not None and time.monotonic() - stopping_since > timeout:
                for child in children:  # a target that stopped reading would keep the relay waiting
                    _signal(child.process, signal.SIGKILL)
        return stopping_since if stopping_since is not None or not stop.is_set() else time.monotonic()

    def _finish(
        self, children: list[_Child], stop: threading.Event, timeout: float, stopping_since: float | None
    ) -> bool:
        """The tap's output is over: end the target's input, wait for every process; True if stopped.

        The input ends cleanly (stdin closed) only when the tap exited 0, its
        output was well formed and no stop was asked for; otherwise the
        mappers and the target get SIGTERM first, so that none of them takes
        a failed or cut-short stream for a complete one. Whatever outlives
        ``timeout`` from then (or from the stop) is killed.
        """
        tap, downstream = children[0], children[1:]
        if self._relay_error or any(child.process.poll() not in (None, 0) for child in downstream):
            _signal(tap.process, signal.SIGKILL)
        stopping_since = self._wait(tap.process, stop, timeout, stopping_since)
        stopped = stopping_since is not None
        if stopped or self._relay_error or tap.process.returncode != 0:
            for child in reversed(downstream):  # the target first: it must not see a clean end of input
                if child.process.poll() is None:
                    self._terminated.add(child.process.pid)
                    _signal(child.process, signal.SIGTERM)
            stopping_since = stopping_since if stopping_since is not None else time.monotonic()
        stdin = downstream[0].process.stdin
        if stdin is not None:
            with contextlib.suppress(OSError):
                stdin.close()
        for child in downstream:
            stopping_since = self._wait(child.process, stop, timeout, stopping_since)
        return stopped

    @staticmethod
    def _wait(
        process: subprocess.Popen[bytes], stop: threading.Event, timeout: float, stopping_since: float | None
    ) -> float | None:
        """Wait for ``process`` to exit, killing it ``timeout`` seconds after the stop (or SIGTERM) began."""
        while process.poll() is None:
            if stop.is_set() and stopping_since is None:
                stopping_since = time.monotonic()
            if stopping_since is not None and time.monotonic() - stopping_since > timeout:
                _signal(process, signal.SIGKILL)
            _wait_for_exit(process, 0.1)
        return stopping_since

    def _outcome(self, children: list[_Child], stopped: bool) -> EngineResult:
        if self._relay_error:
            return self._result(Outcome.FAILED, children, self._relay_error, "SINGER_PROTOCOL_ERROR")
        for child in reversed(children):  # the target's failure explains the tap's broken pipe
            code = child.process.returncode
            if code == 0 or (stopped and child is children[0]):
                continue
            if child.process.pid in self._terminated and code != -signal.SIGKILL:
                continue  # flext ended it (failed tap, stop); one killed after the timeout is told
            how = exit_description(code)
            why = child.diagnosis.summary(killed=code < 0)
            error = f"{child.spec.name} {how}" + (f": {why}" if why else "")
            return self._result(Outcome.FAILED, children, error, RUN_FAILED, failed=child.spec.name)
        return self._result(Outcome.STOPPED if stopped else Outcome.COMPLETED, children)

    def _result(
        self,
        outcome: Outcome,
        children: list[_Child],
        error: str | None = None,
        code: str | None = None,
        *,
        failed: str | None = None,
    ) -> EngineResult:
        with self._state_lock:
            state = self._last_state
        first = None if self._first_record is None else self._first_record - self._started
        return EngineResult(
            outcome=outcome,
            records=dict(self.scanner.records),
            elapsed=self.elapsed,
            last_state=state,
            error=error,
            error_code=code,
            stderr_tail={child.spec.name: list(child.tail) for child in children},
            first_record_after=first,
            failed_process=failed,
        )


def exit_description(code: int) -> str:
    """``exited with code 3``, or ``was killed by signal 9 (SIGKILL)`` for a negative ``returncode``."""
    if code >= 0:
        return f"exited with code {code}"
    try:
        name = f" ({signal.Signals(-code).name})"
    except ValueError:
        name = ""
    return f"was killed by signal {-code}{name}"


def _signal(process: subprocess.Popen[bytes], signum: int) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signum)


def _wait_for_exit(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait up to ``timeout`` seconds for ``process`` to exit, returning the moment it does.

    ``Popen.wait(timeout)`` polls with sleeps of up to 50 ms, which every run
    paid after its target had already exited. A pidfd (Linux 5.3+) becomes
    readable when the process exits, so ``select`` wakes at once and the
    caller still looks at the stop request every ``timeout`` seconds; the
    process is not reaped here (``poll`` does that). Elsewhere, the polling
    wait.
    """
    try:
        pidfd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # no pidfd_open here, or the process is already gone
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
        return
    try:
        select.select([pidfd], [], [], timeout)
    finally:
        os.close(pidfd)


def _enlarge_pipe(descriptor: int) -> None:
    """Give the tap's stdout pipe 1 MiB (Linux), so the tap keeps writing while the relay pauses."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is not None:
        with contextlib.suppress(OSError):  # above /proc/sys/fs/pipe-max-size: keep the default
            fcntl.fcntl(descriptor, set_size, _CHUNK)


def _line_slices(data: bytes, size: int) -> Iterator[memoryview]:
    """``data`` (whole lines) in pieces of about ``size`` bytes, each ending at a line's end."""
    view, start = memoryview(data), 0
    while start < len(data):
        end = start + size
        if end < len(data):
            cut = data.rfind(b"\n", start, end)
            end = cut + 1 if cut >= start else data.find(b"\n", end) + 1 or len(data)
        else:
            end = len(data)
        yield view[start:end]
        start = end


def _write_all(sink: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(sink, view)
        view = view[written:]
