"""Run a pipeline: resolve its processes, resume from confirmed state, record everything, retry.

One call of ``run_pipeline`` is one *job*: up to ``retry.attempts`` runs
(attempts), each recorded as events in the pipeline's stream. It holds the
pipeline's run lock for the whole job, so two runs of one pipeline never
overlap, whichever terminal or background process started them.

The Singer engine runs in a worker thread; this thread owns the event store
(SQLite connections stay on one thread) and writes what the engine reports:
confirmed states as ``StateCheckpointed``, progress every few seconds.
"""

from __future__ import annotations

import os
import queue
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flext_plugin_singer.engine import EngineResult, Outcome, SingerEngine
from flext_plugin_singer.installed import resolve
from flext_plugin_singer.invocation import prepare

from flext_plugin_pipeline.definition import PipelineDefinition, interpolate
from flext_plugin_pipeline.events import (
    PipelineRunCompleted,
    PipelineRunFailed,
    PipelineRunStarted,
    PipelineRunStopped,
    StateCheckpointed,
    StreamProgress,
)
from flext_plugin_pipeline.journal import Journal, RunRecord
from flext_plugin_pipeline.runtime import RunLock, RunLog, RunnerRecord
from flext_sdk import FlextEventStore, FlextResult

__all__ = ["Progress", "RunOptions", "new_run_id", "pipeline_environment", "run_pipeline"]

PROGRESS_EVERY = 5.0
"""Seconds between ``StreamProgress`` events."""
_SECRET_KEYS = ("password", "secret", "token", "key", "credential")


@dataclass(frozen=True)
class RunOptions:
    """How to run: from scratch or resuming, in the foreground or as a background job."""

    full_refresh: bool = False
    background: bool = False
    retry: bool = True


@dataclass(frozen=True)
class Progress:
    """What a display shows while a run goes."""

    run_id: str
    attempt: int
    records: dict[str, int]
    elapsed: float
    phase: str


def new_run_id() -> str:
    """A run id people can read and sort: start time (to the millisecond) plus a little randomness.

    Milliseconds keep a retry that starts within the same second as its
    failed attempt after it in name order, which ``flext pipeline logs`` uses.
    """
    now = datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S}.{now.microsecond // 1000:03d}-{secrets.token_hex(2)}"


def run_pipeline(
    definition: PipelineDefinition,
    store: FlextEventStore,
    options: RunOptions,
    stop: threading.Event,
    *,
    on_progress: Callable[[Progress], None] = lambda progress: None,
) -> FlextResult[RunRecord]:
    """Run ``definition`` (with retries); the result is the last attempt's record or why none could run."""
    journal = Journal(store, definition.name)
    lock = RunLock(definition.name)
    held = lock.acquire()
    if held.is_failure:
        return FlextResult.fail(held.error or "", error_code=held.error_code)
    try:
        closed = _close_interrupted(journal)
        if closed.is_failure:
            return FlextResult.fail(closed.error or "", error_code=closed.error_code)
        attempts = definition.retry.attempts if options.retry else 1
        record: FlextResult[RunRecord] = FlextResult.fail("no attempt ran")
        for attempt in range(1, attempts + 1):
            record = _attempt(definition, journal, options, stop, attempt, attempt < attempts, on_progress)
            if record.is_failure or record.value.status != "failed" or stop.is_set() or attempt == attempts:
                break
            stop.wait(definition.retry.delay(attempt))
            if stop.is_set():
                break
        return record
    finally:
        lock.release()


def _close_interrupted(journal: Journal) -> FlextResult[None]:
    """A run still "running" while we hold the lock lost its runner (killed): record that it failed."""
    runs = journal.runs()
    if runs.is_failure:
        return FlextResult.fail(runs.error or "", error_code=runs.error_code)
    for run in runs.value:
        if run.status == "running":
            recorded = journal.record(
                PipelineRunFailed,
                run_id=run.run_id,
                error="interrupted: the process running it ended without recording an outcome",
                code="INTERRUPTED",
                records=run.records,
            )
            if recorded.is_failure:
                return recorded
    return FlextResult.ok(None)


def _attempt(
    definition: PipelineDefinition,
    journal: Journal,
    options: RunOptions,
    stop: threading.Event,
    attempt: int,
    more_attempts: bool,
    on_progress: Callable[[Progress], None],
) -> FlextResult[RunRecord]:
    run_id = new_run_id()
    log = RunLog.create(definition.name, run_id)
    state: dict[str, Any] | None = None
    if not options.full_refresh:
        resumed = journal.resume_state()
        if resumed.is_failure:
            return FlextResult.fail(resumed.error or "", error_code=resumed.error_code)
        state = resumed.value
    started = journal.record(
        PipelineRunStarted,
        run_id=run_id,
        attempt=attempt,
        full_refresh=options.full_refresh,
        resumed_from_state=state is not None,
        pid=os.getpid(),
        background=options.background,
    )
    if started.is_failure:
        return FlextResult.fail(started.error or "", error_code=started.error_code)
    log.write(
        "flext",
        f"run {run_id} attempt {attempt} of pipeline {definition.name}"
        + (" (full refresh)" if options.full_refresh else " (resuming from saved state)" if state else ""),
    )
    with tempfile.TemporaryDirectory(prefix="flext-run-") as workdir:
        outcome = _extract_and_load(
            definition, journal, run_id, attempt, state, Path(workdir), log, stop, on_progress
        )
    transform: dict[str, Any] | None = None
    if outcome.outcome is Outcome.COMPLETED and definition.transform is not None:
        on_progress(Progress(run_id, attempt, outcome.records, outcome.elapsed, "transform"))
        transform = _transform(definition, outcome, log)
    return _record_outcome(journal, run_id, outcome, transform, log, more_attempts and not stop.is_set())


def _extract_and_load(
    definition: PipelineDefinition,
    journal: Journal,
    run_id: str,
    attempt: int,
    state: dict[str, Any] | None,
    workdir: Path,
    log: RunLog,
    stop: threading.Event,
    on_progress: Callable[[Progress], None],
) -> EngineResult:
    """Prepare the processes and run the engine; a failure to prepare is a failed run too."""
    prepared = _prepare(definition, state, workdir, log)
    if prepared.is_failure:
        return EngineResult(Outcome.FAILED, {}, 0.0, error=prepared.error, error_code=prepared.error_code)
    invocation, secrets_found = prepared.value
    log.secrets.update(secrets_found)
    states: queue.Queue[dict[str, Any]] = queue.Queue()
    engine = SingerEngine(
        invocation.tap,
        invocation.target,
        invocation.mappers,
        on_state=states.put,
        log=log.write,
        redact=log.redact,
    )
    results: list[EngineResult] = []
    worker = threading.Thread(
        target=lambda: results.append(engine.run(stop, stop_timeout=definition.stop_timeout)), daemon=True
    )
    worker.start()
    runner = RunnerRecord(definition.name)
    last_progress = time.monotonic()
    while worker.is_alive() or not states.empty():
        worker.join(0.2)
        if engine.process_group is not None and runner.process_group != engine.process_group:
            runner.update(run_id=run_id, process_group=engine.process_group)
        while not states.empty():
            journal.record(StateCheckpointed, run_id=run_id, state=states.get())
        records = dict(engine.scanner.records)
        on_progress(Progress(run_id, attempt, records, engine.elapsed, "extract-load"))
        if time.monotonic() - last_progress >= PROGRESS_EVERY and records:
            journal.record(StreamProgress, run_id=run_id, records=records, elapsed=engine.elapsed)
            last_progress = time.monotonic()
    return results[0]


def _prepare(
    definition: PipelineDefinition, state: dict[str, Any] | None, workdir: Path, log: RunLog
) -> FlextResult[tuple[Any, set[str]]]:
    tap = resolve(definition.extract.name, "tap")
    target = resolve(definition.load.name, "target")
    mappers = [resolve(mapper.name, "mapper") for mapper in definition.mappers]
    for found in (tap, target, *mappers):
        if found.is_failure:
            return FlextResult.fail(found.error or "", error_code=found.error_code)
    try:
        (tap_config, target_config, mapper_configs), filled = interpolate(
            [definition.extract.config, definition.load.config, [m.config for m in definition.mappers]],
            pipeline_environment(definition),
        )
    except KeyError as missing:
        return FlextResult.fail(
            f"pipeline {definition.name!r} needs the environment variable {missing.args[0]}: set it, "
            f"or give a default in the definition (${{{missing.args[0]}:-value}})",
            error_code="VALIDATION_ERROR",
        )
    filled.discard(pipeline_environment(definition)["FLEXT_PIPELINE_DIR"])
    filled |= _secret_values([tap_config, target_config, *mapper_configs])
    base = Path(definition.base_dir) if definition.base_dir else Path.cwd()
    prepared = prepare(
        workdir,
        tap=(tap.value, tap_config),
        target=(target.value, target_config),
        mappers=[(found.value, config) for found, config in zip(mappers, mapper_configs, strict=True)],
        select_patterns=definition.extract.select,
        state=state,
        cwd=base,
    )
    if prepared.is_failure:
        return FlextResult.fail(prepared.error or "", error_code=prepared.error_code)
    log.write("flext", f"tap {tap.value.name} {tap.value.version or ''} -> target {target.value.name}")
    return FlextResult.ok((prepared.value, filled))


def pipeline_environment(definition: PipelineDefinition) -> dict[str, str]:
    """What ``${VAR}`` may refer to: the environment, and ``FLEXT_PIPELINE_DIR`` (the definition's folder)."""
    return {**os.environ, "FLEXT_PIPELINE_DIR": definition.base_dir or str(Path.cwd())}


def _secret_values(configs: list[Any]) -> set[str]:
    """Values of config keys that look like secrets, masked in logs even when written literally."""
    found: set[str] = set()

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            for key, value in item.items():
                if isinstance(value, str) and any(word in str(key).lower() for word in _SECRET_KEYS):
                    found.add(value)
                walk(value)
        elif isinstance(item, list):
            for inner in item:
                walk(inner)

    walk(configs)
    return {value for value in found if len(value) >= 3}


def _transform(definition: PipelineDefinition, loaded: EngineResult, log: RunLog) -> dict[str, Any] | None:
    """Run the definition's dbt step; its failure fails the run (what was loaded stays loaded)."""
    from flext_plugin_pipeline.transform import run_transform

    assert definition.transform is not None
    report = run_transform(definition.transform, pipeline_environment(definition), log)
    if report.is_failure:
        loaded.outcome, loaded.error, loaded.error_code = Outcome.FAILED, report.error, report.error_code
        return None
    return report.value


def _record_outcome(
    journal: Journal,
    run_id: str,
    outcome: EngineResult,
    transform: dict[str, Any] | None,
    log: RunLog,
    will_retry: bool,
) -> FlextResult[RunRecord]:
    if outcome.outcome is Outcome.COMPLETED:
        recorded = journal.record(
            PipelineRunCompleted,
            run_id=run_id,
            records=outcome.records,
            elapsed=outcome.elapsed,
            transform=transform,
        )
    elif outcome.outcome is Outcome.STOPPED:
        recorded = journal.record(
            PipelineRunStopped, run_id=run_id, records=outcome.records, elapsed=outcome.elapsed
        )
    else:
        tail = outcome.stderr_tail.get(outcome.failed_process or "", [])
        recorded = journal.record(
            PipelineRunFailed,
            run_id=run_id,
            error=outcome.error or "failed",
            code=outcome.error_code,
            stderr_tail=tail[-10:],
            records=outcome.records,
            elapsed=outcome.elapsed,
            will_retry=will_retry,
        )
    log.write(
        "flext", f"run {run_id} {outcome.outcome.value}" + (f": {outcome.error}" if outcome.error else "")
    )
    log.close()
    if recorded.is_failure:
        return FlextResult.fail(recorded.error or "", error_code=recorded.error_code)
    runs = journal.runs()
    if runs.is_failure:
        return FlextResult.fail(runs.error or "", error_code=runs.error_code)
    return FlextResult.ok(next(run for run in runs.value if run.run_id == run_id))
