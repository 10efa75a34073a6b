"""The ``SingerEngine`` service other plugins resolve from the container.

``SingerService`` is what the singer plugin registers under the contract's
``SingerEngine`` key: it lists and resolves connectors (isolated
environments, and the plugins answering ``flext_singer_connectors``), and
starts runs. A run (``_Run``) goes in a thread of its own, so the caller
keeps its thread for what must stay on it (the pipeline writes the event
store there) and polls the live counts meanwhile. The run's config, catalog
and state files live in a private temporary directory removed when it ends.

The service keeps the runs still going: the container closes it when the
singer plugin's contributions are removed (it is unloaded, reloaded or
disabled) and when the kernel closes, and ``close`` stops them and waits, so
no connector process outlives the plugin that started it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flext_kernel.errors import NO_HANDLER, VALIDATION_ERROR
from flext_plugin_singer.engine import EngineResult
from flext_plugin_singer.engine import SingerEngine as Engine
from flext_plugin_singer.installed import installed, resolve
from flext_plugin_singer.invocation import prepare
from flext_sdk import FlextResult
from flext_sdk.contracts.singer import (
    ConnectorKind,
    ConnectorSpec,
    ConnectorStep,
    SingerJob,
    SingerRun,
    SingerRunResult,
)

if TYPE_CHECKING:
    from flext_sdk import FlextKernel

__all__ = ["SingerService"]

_KILL_AFTER = 1.0
"""Seconds past a run's stop timeout that ``close`` leaves the engine to kill its processes itself."""
_AFTER_KILL = 5.0
"""Seconds ``close`` waits for a run to end once its process group is killed."""


class SingerService:
    """The singer plugin's ``SingerEngine``: connectors of this kernel's plugins, and runs."""

    def __init__(self, kernel: FlextKernel) -> None:
        self._kernel = kernel
        self._runs: set[_Run] = set()  # the runs still going; each leaves when it ends
        self._lock = threading.Lock()
        self._closed = False

    def connectors(self, kind: ConnectorKind | None = None) -> list[ConnectorSpec]:
        """Every installed connector (of ``kind``), by name."""
        return installed(self._kernel, kind)

    def resolve(self, name: str, kind: ConnectorKind) -> FlextResult[ConnectorSpec]:
        """The installed ``kind`` called ``name``; a failure says how to install or enable it."""
        return resolve(self._kernel, name, kind)

    def start(
        self,
        job: SingerJob,
        *,
        stop: threading.Event | None = None,
        on_state: Callable[[dict[str, Any]], None] | None = None,
        log: Callable[[str, str], None] | None = None,
        redact: Callable[[str], str] | None = None,
    ) -> FlextResult[SingerRun]:
        """Find the job's connectors, write its files, and start its processes in a thread.

        A step that carries its ``spec`` (resolved by the caller, as the
        pipeline does up front) runs exactly that connector; the others are
        resolved here.
        """
        if self._closed:
            return _closed()
        connectors = self._connectors(job)
        if connectors.is_failure:
            return FlextResult.fail(connectors.error or "", connectors.error_code, connectors.error_data)
        specs = connectors.value
        workdir = tempfile.TemporaryDirectory(prefix="flext-singer-")
        run: _Run | None = None
        try:  # until the run's thread owns the directory, any way out (an exception too) removes it
            prepared = prepare(
                Path(workdir.name),
                tap=specs[0],
                target=specs[-1],
                mappers=specs[1:-1],
                select_patterns=job.select,
                state=job.state,
                cwd=job.cwd,
                env=job.env,
                log=log or _ignore_line,
                redact=redact or _as_is,
            )
            if prepared.is_failure:
                workdir.cleanup()
                return FlextResult.fail(prepared.error or "", prepared.error_code, prepared.error_data)
            invocation = prepared.value
            engine = Engine(
                invocation.tap,
                invocation.target,
                invocation.mappers,
                on_state=on_state or _ignore_state,
                log=log or _ignore_line,
                redact=redact or _as_is,
            )
            run = _Run(engine, workdir, stop or threading.Event(), job.stop_timeout, self._forget)
            with self._lock:
                if self._closed:  # closed while this one was being prepared
                    workdir.cleanup()
                    return _closed()
                self._runs.add(run)
            run.begin()
        except BaseException:
            if run is not None:
                self._forget(run)
            workdir.cleanup()
            raise
        return FlextResult.ok(run)

    def close(self) -> None:
        """Stop every run still going and wait for it: no connector outlives the plugin or the kernel.

        The container calls this when it drops the service: the singer
        plugin's contributions removed (unloaded, reloaded, disabled) or the
        kernel closed. Every run is asked to stop gracefully at once, then
        each gets up to its stop timeout, after which the engine kills its
        processes; a run still going a moment later has its whole process
        group killed, which also ends what the connectors started
        themselves. The service starts nothing afterwards.
        """
        with self._lock:
            self._closed = True
            runs = list(self._runs)
        for run in runs:
            run.stop()
        for run in runs:
            run.end()

    def _forget(self, run: _Run) -> None:
        with self._lock:
            self._runs.discard(run)

    def _connectors(self, job: SingerJob) -> FlextResult[list[tuple[ConnectorSpec, dict[str, Any]]]]:
        """Each step's connector (tap, mappers, target) and config: the step's own spec, else resolved."""
        steps: list[tuple[ConnectorStep, ConnectorKind]] = [
            (job.tap, "tap"),
            *((mapper, "mapper") for mapper in job.mappers),
            (job.target, "target"),
        ]
        specs: list[tuple[ConnectorSpec, dict[str, Any]]] = []
        for step, kind in steps:
            if step.spec is None:
                found = self.resolve(step.name, kind)
                if found.is_failure:
                    return FlextResult.fail(found.error or "", found.error_code, found.error_data)
                specs.append((found.value, step.config))
            elif (step.spec.name, step.spec.kind) != (step.name, kind) or step.spec.location is None:
                return FlextResult.fail(
                    f"{kind} step {step.name!r} carries a spec that is not an installed {kind} of that name "
                    f"({step.spec.kind} {step.spec.name!r}, location {step.spec.location}): "
                    "pass what SingerEngine.resolve returned",
                    error_code=VALIDATION_ERROR,
                )
            else:
                specs.append((step.spec, step.config))
        return FlextResult.ok(specs)


def _closed() -> FlextResult[SingerRun]:
    return FlextResult.fail(
        "the singer plugin's SingerEngine is closed (the plugin was unloaded, reloaded or disabled, "
        "or the kernel closed): resolve SingerEngine from the container again",
        error_code=NO_HANDLER,
    )


def _ignore_state(state: dict[str, Any]) -> None:
    """Nobody asked for confirmed states."""


def _ignore_line(name: str, line: str) -> None:
    """Nobody asked for the processes' stderr."""


def _as_is(line: str) -> str:
    return line


class _Run:
    """One run going in its own thread (``begin``): live counts now, the result when it is over."""

    def __init__(
        self,
        engine: Engine,
        workdir: tempfile.TemporaryDirectory[str],
        stop: threading.Event,
        timeout: float,
        on_end: Callable[[_Run], None],
    ) -> None:
        self._engine = engine
        self._stop = stop
        self._timeout = timeout
        self._stop_asked: float | None = None
        self._done = threading.Event()
        self._result: SingerRunResult | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._work, args=(workdir, on_end), name="flext-singer-run", daemon=True
        )

    def begin(self) -> None:
        """Start the run's thread; separate from ``__init__`` so the service lists the run before it goes."""
        self._thread.start()

    def stop(self) -> None:
        """Ask for a graceful stop: set the stop event the engine watches (the caller's, or the run's own)."""
        if self._stop_asked is None:
            self._stop_asked = time.monotonic()
        self._stop.set()

    def end(self) -> None:
        """After ``stop``: wait out the stop timeout, then kill the process group of a run still going.

        The engine kills its processes itself once the stop timeout passed;
        killing the whole group covers what it cannot see (a connector's own
        child holding a pipe open keeps the engine waiting).
        """
        self.stop()
        asked = self._stop_asked if self._stop_asked is not None else time.monotonic()
        if self._done.wait(max(0.0, asked + self._timeout + _KILL_AFTER - time.monotonic())):
            return
        group = self._engine.process_group
        if group is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        self._done.wait(_AFTER_KILL)

    @property
    def records(self) -> Mapping[str, int]:
        """Records read so far, per stream."""
        return dict(self._engine.scanner.records)

    @property
    def elapsed(self) -> float:
        """Seconds since the run started."""
        return self._engine.elapsed

    @property
    def process_group(self) -> int | None:
        """The connectors' process group, once they started."""
        return self._engine.process_group

    def wait(self, timeout: float | None = None) -> SingerRunResult | None:
        """The result once the run is over, None if ``timeout`` passed first; a bug in the run raises here."""
        if not self._done.wait(timeout):
            return None
        if self._error is not None:
            raise self._error
        return self._result

    def _work(self, workdir: tempfile.TemporaryDirectory[str], on_end: Callable[[_Run], None]) -> None:
        try:
            self._result = _contract(self._engine.run(self._stop, stop_timeout=self._timeout))
        except BaseException as exc:  # handed to the caller's thread by wait(): a bug must not vanish
            self._error = exc
        finally:
            workdir.cleanup()
            on_end(self)
            self._done.set()


def _contract(result: EngineResult) -> SingerRunResult:
    """The engine's result as the contract's ``SingerRunResult``."""
    return SingerRunResult(
        outcome=result.outcome.value,
        records=result.records,
        elapsed=result.elapsed,
        last_state=result.last_state,
        error=result.error,
        error_code=result.error_code,
        stderr_tail=result.stderr_tail,
        failed_process=result.failed_process,
        first_record_after=result.first_record_after,
    )
