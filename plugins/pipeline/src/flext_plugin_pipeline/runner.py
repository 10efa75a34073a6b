"""Run a pipeline: resolve its processes, resume from confirmed state, record everything, retry.

One call of ``run_pipeline`` is one *job*: up to ``retry.attempts`` runs
(attempts), each recorded as events in the pipeline's stream. It holds the
pipeline's run lock for the whole job, so two runs of one pipeline never
overlap, whichever terminal or background process started them.

Every step runs in another plugin, reached through the kernel: the Singer
steps through the ``SingerEngine`` service of the ``singer`` plugin, the dbt
step through the ``RunDbt`` command the ``dbt`` plugin handles. Both are
found before the run starts (``steps.check_steps``), so a pipeline whose dbt
plugin is off fails before its tap extracts anything.

The Singer run goes in a thread of its own; this thread owns the event store
(SQLite connections stay on one thread) and writes what the run reports:
confirmed states as ``StateCheckpointed``, progress every few seconds.

A stop request (the ``stop`` event; SIGTERM or SIGINT in the CLI) ends
whichever step is running: the Singer engine ends the tap and lets the
target confirm what it wrote (killing what outlives the pipeline's
``stop_timeout``); the dbt plugin ends dbt (the event is ``RunDbt.cancel``);
a retry that waits is not started. The run is recorded as stopped, with the
state the target confirmed last, and the step it ended.

A full refresh (``--full-refresh``) starts the tap without state and, when
the tap advertises Singer's ``activate-version`` capability, with
``emit_activate_version_messages: true`` added to its config: each stream's
records then carry a table version and end with ``ACTIVATE_VERSION``, and a
target that processes it deletes the rows the source no longer has, so the
target ends equal to the source (``full_refresh_config``). The run's log
says which it was.

The job runs under the correlation id of the action that started it (the
``flext`` invocation's; a new one when there is none): every event it
records carries it, the run's log names it in its first line, and the tap,
mappers and target get it as ``FLEXT_CORRELATION_ID`` in their environment
(see ``flext_kernel.correlation``).

Before anything runs, the job lists the definition's secrets
(``masking.Masker``); its log, the Singer engine's stderr lines (the tap's
``--discover`` too) and the errors, stderr lines and dbt report it records
all pass through it.

``${secret:NAME}`` in a config is resolved through the secrets plugin's
contract before the job takes its lock (``secret_refs``; a missing secret
fails the job with nothing written), added to the masker, and filled in only
in the configs handed to the connectors and dbt.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flext_kernel.correlation import CORRELATION_ENV, correlation_scope, current_correlation_id
from flext_kernel.errors import INTERRUPTED, VALIDATION_ERROR
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
from flext_plugin_pipeline.masking import Masker
from flext_plugin_pipeline.runtime import (
    RunLock,
    RunLog,
    RunnerRecord,
    StopRequest,
    log_path,
)
from flext_plugin_pipeline.secret_refs import fill
from flext_plugin_pipeline.secret_refs import resolve as resolve_secrets
from flext_plugin_pipeline.steps import Steps, check_steps
from flext_sdk import FlextEventStore, FlextResult
from flext_sdk.contracts.singer import ConnectorSpec, ConnectorStep, SingerJob, SingerRunResult

if TYPE_CHECKING:
    from flext_sdk import FlextKernel

__all__ = [
    "ACTIVATE_VERSION",
    "EMIT_ACTIVATE_VERSION",
    "Progress",
    "RunOptions",
    "full_refresh_config",
    "new_run_id",
    "pipeline_environment",
    "run_pipeline",
    "stop_summary",
]

PROGRESS_EVERY = 5.0
"""Seconds between ``StreamProgress`` events."""
ACTIVATE_VERSION = "activate-version"
"""The Singer capability (``--about``) of a tap that can send ``ACTIVATE_VERSION``, and of a target that
processes it."""
EMIT_ACTIVATE_VERSION = "emit_activate_version_messages"
"""The Meltano Singer SDK's tap setting that turns ``ACTIVATE_VERSION`` on."""


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
    kernel: FlextKernel,
    definition: PipelineDefinition,
    store: FlextEventStore,
    options: RunOptions,
    stop: threading.Event,
    *,
    on_progress: Callable[[Progress], None] = lambda progress: None,
    lock: RunLock | None = None,
) -> FlextResult[RunRecord]:
    """Run ``definition`` (with retries); the result is the last attempt's record or why none could run.

    A step that no running plugin can run fails the job before any attempt
    starts, and nothing is recorded: the run never began. ``lock`` is the
    pipeline's run lock when the caller holds it already (the background job
    ``flext pipeline start`` took it for); else the job takes it, and fails
    with ``ALREADY_RUNNING`` if another process holds it. Either way the job
    releases it. The job keeps the caller's correlation id, or opens a scope with a new one.
    """
    with correlation_scope(current_correlation_id()) as correlation_id:
        return _run_job(kernel, definition, store, options, stop, on_progress, lock, correlation_id)


def _run_job(
    kernel: FlextKernel,
    definition: PipelineDefinition,
    store: FlextEventStore,
    options: RunOptions,
    stop: threading.Event,
    on_progress: Callable[[Progress], None],
    lock: RunLock | None,
    correlation_id: str,
) -> FlextResult[RunRecord]:
    masker = Masker.of(definition, pipeline_environment(definition))  # before anything can print a secret
    if definition.full_refresh and not options.full_refresh:
        options = replace(options, full_refresh=True)
    steps = check_steps(kernel, definition)
    if steps.is_failure:
        if lock is not None:
            lock.release()
        return FlextResult.fail(steps.error or "", steps.error_code, steps.error_data)
    secrets = resolve_secrets(kernel, definition)  # before the lock and any event
    if secrets.is_failure:
        if lock is not None:
            lock.release()
        return FlextResult.fail(secrets.error or "", secrets.error_code, secrets.error_data)
    masker = Masker.from_values((*masker.values, *secrets.value.values()))
    journal = Journal(store, definition.name)
    if lock is None:
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
            record = _attempt(
                _Job(
                    kernel,
                    steps.value,
                    definition,
                    journal,
                    options,
                    stop,
                    on_progress,
                    masker,
                    correlation_id,
                    secrets.value,
                ),
                attempt,
                attempt < attempts,
            )
            if record.is_failure or record.value.status != "failed" or stop.is_set() or attempt == attempts:
                break
            stop.wait(definition.retry.delay(attempt))
            if stop.is_set():
                _note_in_log(definition.name, record.value.run_id, "stop requested: the retry is not started")
                break
        return record
    finally:
        lock.release()


def _note_in_log(pipeline: str, run_id: str, line: str) -> None:
    """Append a line of flext's to the log of a run that is over."""
    log = RunLog(log_path(pipeline, run_id))
    log.write("flext", line)
    log.close()


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
                code=INTERRUPTED,
                records=run.records,
            )
            if recorded.is_failure:
                return recorded
    return FlextResult.ok(None)


@dataclass(frozen=True)
class _Job:
    """What every attempt of one job shares."""

    kernel: FlextKernel
    steps: Steps
    definition: PipelineDefinition
    journal: Journal
    options: RunOptions
    stop: threading.Event
    on_progress: Callable[[Progress], None]
    masker: Masker
    """Hides the definition's secrets in every sink: the log, the events, what the CLI prints."""
    correlation_id: str
    """The action's correlation id: in the run's events and log, and in every step's environment."""
    secrets: Mapping[str, str] = field(default_factory=dict)
    """``${secret:NAME}`` values by name, filled into a config only as it is handed to its process."""


def _attempt(job: _Job, attempt: int, more_attempts: bool) -> FlextResult[RunRecord]:
    definition, journal, options = job.definition, job.journal, job.options
    run_id = new_run_id()
    log = RunLog.create(definition.name, run_id, job.masker, job.correlation_id)
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
    RunnerRecord(definition.name).update(run_id=run_id)  # which run 'flext pipeline stop' ends
    log.write(
        "flext",
        f"run {run_id} attempt {attempt} of pipeline {definition.name}"
        + (" (full refresh)" if options.full_refresh else " (resuming from saved state)" if state else "")
        + f", correlation id {job.correlation_id}",
    )
    try:
        ended = _Ended(_extract_and_load(job, run_id, attempt, state, log), "extract-load")
        loaded = ended.result
        if not job.stop.is_set() and loaded.outcome == "completed" and definition.transform:
            job.on_progress(Progress(run_id, attempt, loaded.records, loaded.elapsed, "transform"))
            ended = _transform(job, ended.result, log)
    except BaseException:  # _record_outcome closes the log; leaving by an exception must too
        log.write("flext", f"run {run_id} left by an exception; the next run records it as interrupted")
        log.close()
        raise
    if job.stop.is_set() and ended.result.outcome != "stopped":
        ended = _stopped(ended, log, has_transform=definition.transform is not None)
    return _record_outcome(journal, run_id, ended, log, more_attempts and not job.stop.is_set())


@dataclass(frozen=True)
class _Ended:
    """How an attempt ended: the Singer result (its outcome updated by the transform), and where."""

    result: SingerRunResult
    during: str
    """``extract-load`` or ``transform``: the step that was running last."""
    transform: dict[str, Any] | None = None
    """The dbt report of a transform that ran."""
    forced: bool = False
    """A stopped run whose processes had to be killed."""


def _stopped(ended: _Ended, log: RunLog, *, has_transform: bool) -> _Ended:
    """An attempt that ended otherwise while a stop was requested counts as stopped.

    A failure then is the stop's doing (a target killed after ``stop_timeout``
    exits with a signal); one that completed before the stop reached a step
    skips what came next (the transform). A run with nothing left to do when
    the stop came completed: it is recorded so, and ``flext pipeline stop``
    says it ended first.
    """
    forced = ended.result.outcome == "failed"
    completed = ended.result.outcome == "completed"
    if completed and (ended.during == "transform" or not has_transform):
        return ended
    if completed and ended.during == "extract-load":
        log.write("flext", "stop requested: the extract and load are done; the transform is not run")
        ended = _Ended(ended.result, "transform")
    result = ended.result.model_copy(update={"outcome": "stopped"})
    return _Ended(result, ended.during, ended.transform, forced or ended.forced)


def _extract_and_load(
    job: _Job, run_id: str, attempt: int, state: dict[str, Any] | None, log: RunLog
) -> SingerRunResult:
    """Start the Singer run and record what it reports; a failure to start is a failed run too.

    Leaving by an exception (a display's ``on_progress``, the event store)
    stops the run on the way out: only SIGINT and SIGTERM set ``job.stop``,
    and nothing else would end the connectors.
    """
    prepared = _singer_job(
        job.definition,
        job.steps,
        state,
        full_refresh=job.options.full_refresh,
        note=lambda line: log.write("flext", line),
        correlation_id=job.correlation_id,
        secrets=job.secrets,
    )
    if prepared.is_failure:
        return SingerRunResult(outcome="failed", error=prepared.error, error_code=prepared.error_code)
    singer_job = prepared.value
    steps = job.steps
    log.write("flext", f"tap {steps.tap.name} {steps.tap.version or ''} -> target {steps.target.name}")
    states: queue.Queue[dict[str, Any]] = queue.Queue()
    started = steps.singer.start(
        singer_job, stop=job.stop, on_state=states.put, log=log.write, redact=log.redact
    )
    if started.is_failure:  # the tap's --discover failed, or a connector could not be prepared
        tail = (started.error_data or {}).get("stderr_tail")
        return SingerRunResult(
            outcome="failed",
            error=started.error,
            error_code=started.error_code,
            stderr_tail={steps.tap.name: tail} if isinstance(tail, list) else {},
            failed_process=steps.tap.name if isinstance(tail, list) else None,
        )
    run = started.value
    runner = RunnerRecord(job.definition.name)
    last_progress = time.monotonic()
    result: SingerRunResult | None = None
    stopping = False
    try:
        while True:
            result = run.wait(0.2)
            if job.stop.is_set() and not stopping:
                stopping = True
                log.write("flext", _stop_line(job))
            if run.process_group is not None and runner.process_group != run.process_group:
                runner.update(run_id=run_id, process_group=run.process_group)
            while not states.empty():
                job.journal.record(StateCheckpointed, run_id=run_id, state=states.get())
            if result is not None:
                return result
            records = dict(run.records)
            job.on_progress(Progress(run_id, attempt, records, run.elapsed, "extract-load"))
            if time.monotonic() - last_progress >= PROGRESS_EVERY and records:
                job.journal.record(StreamProgress, run_id=run_id, records=records, elapsed=run.elapsed)
                last_progress = time.monotonic()
    finally:
        if result is None:  # leaving early: the run must not go on without anybody watching it
            run.stop()


def _stop_line(job: _Job) -> str:
    """The run log's line when a stop request reaches the extract and load."""
    how = f"signal {job.stop.signal}" if isinstance(job.stop, StopRequest) and job.stop.signal else "request"
    return (
        f"stop requested ({how}): ending {job.steps.tap.name}; {job.steps.target.name} writes what it "
        f"received and confirms its state (killed after {job.definition.stop_timeout:g}s)"
    )


def full_refresh_config(
    tap_config: dict[str, Any], tap: ConnectorSpec, target: ConnectorSpec, *, mappers: int = 0
) -> tuple[dict[str, Any], str]:
    """The tap's config for a full refresh, and the run log's line saying what it does about deletions.

    A tap that advertises ``activate-version`` gets ``emit_activate_version_messages: true``, so that the
    streams it syncs in full are versioned and the target can drop their rows of older table versions
    (what the source no longer has; a Singer SDK tap does not version its incremental streams); a config that
    sets the setting itself is left as it is (the user chose). Other taps are not given a setting they
    may refuse: the line says that rows gone from the source stay. Nor is a pipeline with mappers: the
    last mapper, not flext, ends the target's input, so a mapper that fails would end it cleanly and
    let the target apply an activation after a partial load.
    """
    if EMIT_ACTIVATE_VERSION in tap_config:
        return tap_config, (
            f"full refresh: the tap's config sets {EMIT_ACTIVATE_VERSION}: "
            f"{json.dumps(tap_config[EMIT_ACTIVATE_VERSION])}, left as it is"
        )
    if mappers:
        return tap_config, (
            f"full refresh: the pipeline has mappers, so {tap.name} is not asked for ACTIVATE_VERSION "
            f"(a failing mapper would end {target.name}'s input as if the run had finished); rows the "
            f"source no longer has stay in {target.name} (set {EMIT_ACTIVATE_VERSION} in the tap's config "
            "to ask for it anyway)"
        )
    if ACTIVATE_VERSION not in tap.capabilities:
        return tap_config, (
            f"full refresh: {tap.name} does not advertise the '{ACTIVATE_VERSION}' capability, so it is not "
            f"asked for ACTIVATE_VERSION; rows the source no longer has stay in {target.name} "
            "(remove them there, or drop its tables before the run)"
        )
    line = (
        f"full refresh: {tap.name} is asked for ACTIVATE_VERSION ({EMIT_ACTIVATE_VERSION}: true): the "
        f"streams it syncs in full are versioned, and {target.name}, if it processes ACTIVATE_VERSION, "
        "removes the rows the source no longer has in those streams (streams it does not version keep them)"
    )
    if ACTIVATE_VERSION not in target.capabilities:
        line += (
            f"; {target.name} does not advertise the '{ACTIVATE_VERSION}' capability and may ignore it, "
            "keeping those rows"
        )
    return {**tap_config, EMIT_ACTIVATE_VERSION: True}, line


def _singer_job(
    definition: PipelineDefinition,
    steps: Steps,
    state: dict[str, Any] | None,
    *,
    full_refresh: bool = False,
    note: Callable[[str], None] = lambda line: None,
    correlation_id: str | None = None,
    secrets: Mapping[str, str] | None = None,
) -> FlextResult[SingerJob]:
    """The definition's Singer steps with ``${VAR}`` filled in.

    Every process gets ``FLEXT_CORRELATION_ID`` (``correlation_id``, default the one in force) in
    its environment, so what a connector logs or records can be traced to the action.

    Each step carries the connector ``check_steps`` resolved, so the run
    starts exactly what was checked. A full refresh asks the tap for
    ``ACTIVATE_VERSION`` when it can send it (``full_refresh_config``;
    ``note`` gets the log line).
    """
    try:
        (tap_config, target_config, mapper_configs), _filled = interpolate(
            [definition.extract.config, definition.load.config, [m.config for m in definition.mappers]],
            pipeline_environment(definition),
        )
    except KeyError as missing:
        return FlextResult.fail(
            f"pipeline {definition.name!r} needs the environment variable {missing.args[0]}: set it, "
            f"or give a default in the definition (${{{missing.args[0]}:-value}})",
            error_code=VALIDATION_ERROR,
        )
    if secrets:  # into the configs the engine writes to 0600 files, nowhere else
        tap_config, target_config, mapper_configs = fill([tap_config, target_config, mapper_configs], secrets)
    if full_refresh:
        tap_config, line = full_refresh_config(
            tap_config, steps.tap, steps.target, mappers=len(definition.mappers)
        )
        note(line)
    job = SingerJob(
        tap=ConnectorStep(name=definition.extract.name, config=tap_config, spec=steps.tap),
        target=ConnectorStep(name=definition.load.name, config=target_config, spec=steps.target),
        mappers=tuple(
            ConnectorStep(name=mapper.name, config=config, spec=spec)
            for mapper, config, spec in zip(definition.mappers, mapper_configs, steps.mappers, strict=True)
        ),
        select=tuple(definition.extract.select),
        state=state,
        cwd=Path(definition.base_dir) if definition.base_dir else Path.cwd(),
        env=_correlation_env(correlation_id or current_correlation_id()),
        stop_timeout=definition.stop_timeout,
    )
    return FlextResult.ok(job)


def _correlation_env(correlation_id: str | None) -> dict[str, str] | None:
    """The environment a step's process is given on top of flext's: the action's correlation id."""
    return None if correlation_id is None else {CORRELATION_ENV: correlation_id}


def pipeline_environment(definition: PipelineDefinition) -> dict[str, str]:
    """What ``${VAR}`` may refer to: the environment, and ``FLEXT_PIPELINE_DIR`` (the definition's folder)."""
    return {**os.environ, "FLEXT_PIPELINE_DIR": definition.base_dir or str(Path.cwd())}


def _transform(job: _Job, loaded: SingerRunResult, log: RunLog) -> _Ended:
    """Run the definition's dbt step; its failure fails the run (what was loaded stays loaded).

    The stop request is the ``RunDbt`` command's ``cancel`` event: the dbt
    plugin ends dbt once it is set and answers ``INTERRUPTED``.
    """
    from flext_plugin_pipeline.transform import run_transform

    step = job.definition.transform
    assert step is not None
    environment = pipeline_environment(job.definition)
    report = run_transform(
        job.kernel.command_bus, step, environment, log, cancel=job.stop, secrets=job.secrets
    )
    if report.is_failure and job.stop.is_set():
        log.write("flext", f"stop requested: dbt {step.command} was ended")
        return _Ended(loaded.model_copy(update={"outcome": "stopped"}), "transform")
    if report.is_failure:
        failed = loaded.model_copy(
            update={"outcome": "failed", "error": report.error, "error_code": report.error_code}
        )
        return _Ended(failed, "transform")
    return _Ended(loaded, "transform", report.value)


def _record_outcome(
    journal: Journal, run_id: str, ended: _Ended, log: RunLog, will_retry: bool
) -> FlextResult[RunRecord]:
    outcome, mask = ended.result, log.masker
    error = mask(outcome.error) if outcome.error else None  # a connector's stderr may quote a secret
    line = f"run {run_id} {outcome.outcome}" + (f": {error}" if error else "")
    if outcome.outcome == "completed":
        recorded = journal.record(
            PipelineRunCompleted,
            run_id=run_id,
            records=outcome.records,
            elapsed=outcome.elapsed,
            transform=mask.deep(ended.transform),
        )
    elif outcome.outcome == "stopped":
        state = outcome.last_state
        if state is None:  # nothing confirmed in this run: the next one resumes where this one did
            state = journal.resume_state().unwrap_or(None)
        recorded = journal.record(
            PipelineRunStopped,
            run_id=run_id,
            records=outcome.records,
            elapsed=outcome.elapsed,
            forced=ended.forced,
            state=state,
            during=ended.during,
            error=error if ended.forced else None,
        )
        line = stop_summary(run_id, ended.during, ended.forced, error, state)
    else:
        tail = outcome.stderr_tail.get(outcome.failed_process or "", [])
        recorded = journal.record(
            PipelineRunFailed,
            run_id=run_id,
            error=error or "failed",
            code=outcome.error_code,
            stderr_tail=[mask(text) for text in tail[-10:]],
            records=outcome.records,
            elapsed=outcome.elapsed,
            will_retry=will_retry,
        )
    log.write("flext", line)
    log.close()
    if recorded.is_failure:
        return FlextResult.fail(recorded.error or "", error_code=recorded.error_code)
    runs = journal.runs()
    if runs.is_failure:
        return FlextResult.fail(runs.error or "", error_code=runs.error_code)
    return FlextResult.ok(next(run for run in runs.value if run.run_id == run_id))


def stop_summary(
    run_id: str, during: str | None, forced: bool, error: str | None, state: dict[str, Any] | None
) -> str:
    """The run log's last line for a stopped run: what was stopped, how, and where the next run resumes."""
    how = f" by force ({error})" if forced and error else " by force" if forced else ""
    step = f" during {during}" if during else ""
    resume = f"the state {json.dumps(state, sort_keys=True)}" if state else "the start"
    return f"run {run_id} stopped{step}{how}; the next run resumes from {resume}"
