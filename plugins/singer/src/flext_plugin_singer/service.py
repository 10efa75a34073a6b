"""The ``SingerEngine`` service other plugins resolve from the container.

``SingerService`` is what the singer plugin registers under the contract's
``SingerEngine`` key: it lists and resolves connectors (isolated
environments, and the plugins answering ``flext_singer_connectors``), and
starts runs. A run (``_Run``) goes in a thread of its own, so the caller
keeps its thread for what must stay on it (the pipeline writes the event
store there) and polls the live counts meanwhile. The run's config, catalog
and state files live in a private temporary directory removed when it ends.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


class SingerService:
    """The singer plugin's ``SingerEngine``: connectors of this kernel's plugins, and runs."""

    def __init__(self, kernel: FlextKernel) -> None:
        self._kernel = kernel

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
        """Resolve the job's connectors, write its files, and start its processes in a thread."""
        steps: list[tuple[ConnectorStep, ConnectorKind]] = [
            (job.tap, "tap"),
            *((mapper, "mapper") for mapper in job.mappers),
            (job.target, "target"),
        ]
        specs: list[tuple[ConnectorSpec, dict[str, Any]]] = []
        for step, kind in steps:
            found = self.resolve(step.name, kind)
            if found.is_failure:
                return FlextResult.fail(found.error or "", found.error_code, found.error_data)
            specs.append((found.value, step.config))
        workdir = tempfile.TemporaryDirectory(prefix="flext-singer-")
        prepared = prepare(
            Path(workdir.name),
            tap=specs[0],
            target=specs[-1],
            mappers=specs[1:-1],
            select_patterns=job.select,
            state=job.state,
            cwd=job.cwd,
            env=job.env,
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
        return FlextResult.ok(_Run(engine, workdir, stop or threading.Event(), job.stop_timeout))


def _ignore_state(state: dict[str, Any]) -> None:
    """Nobody asked for confirmed states."""


def _ignore_line(name: str, line: str) -> None:
    """Nobody asked for the processes' stderr."""


def _as_is(line: str) -> str:
    return line


class _Run:
    """One run going in its own thread: live counts now, the result when it is over."""

    def __init__(
        self, engine: Engine, workdir: tempfile.TemporaryDirectory[str], stop: threading.Event, timeout: float
    ) -> None:
        self._engine = engine
        self._done = threading.Event()
        self._result: SingerRunResult | None = None
        self._error: BaseException | None = None
        thread = threading.Thread(target=self._work, args=(workdir, stop, timeout), daemon=True)
        thread.start()

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

    def _work(self, workdir: tempfile.TemporaryDirectory[str], stop: threading.Event, timeout: float) -> None:
        try:
            self._result = _contract(self._engine.run(stop, stop_timeout=timeout))
        except BaseException as exc:  # handed to the caller's thread by wait(): a bug must not vanish
            self._error = exc
        finally:
            workdir.cleanup()
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
