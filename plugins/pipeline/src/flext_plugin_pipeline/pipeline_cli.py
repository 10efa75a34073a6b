"""``flext pipeline ...``: define, run, operate and inspect pipelines (``flext data pipeline create`` too).

Every command but ``logs`` takes ``--store`` (default ``$FLEXT_EVENTSTORE_URL``,
else the embedded SQLite file): runs are recorded there, and status and
history are read from there; the commands that only read it refuse one that
is not there (``create=False``). ``run``, ``start`` and ``--dry-run`` first
check that a running plugin can run every step (``steps.check_steps``); a
disabled dbt plugin fails them with ``PLUGIN_DISABLED`` and how to enable it.
What each command prints under ``--output json`` is built in ``views`` and
listed in docs/pipelines.md.
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from cyclopts import Parameter

from flext_eventsourcing import NOT_A_FLEXT_STORE, STORE_HINT, opened_store, stores_of
from flext_kernel.errors import INTERRUPTED, NOT_FOUND, TIMEOUT, VALIDATION_ERROR
from flext_plugin_pipeline import project
from flext_plugin_pipeline.errors import ALREADY_RUNNING, RUN_FAILED, STOP_FAILED
from flext_plugin_pipeline.files import open_private
from flext_plugin_pipeline.journal import Journal, RunRecord
from flext_plugin_pipeline.runtime import (
    RunLock,
    RunLog,
    RunnerRecord,
    StopRequest,
    is_running,
    log_path,
    logs_dir,
)
from flext_sdk import Failure, FlextResult
from flext_sdk.cli import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    boot_kernel,
    current,
    emit,
    emit_error,
    emit_table,
    fail,
    note,
)
from flext_sdk.contracts import hint_of

if TYPE_CHECKING:
    from flext_plugin_pipeline.definition import PipelineDefinition
    from flext_plugin_pipeline.runner import Progress
    from flext_sdk import FlextEventStore

__all__ = [
    "create",
    "history",
    "list_pipelines",
    "logs",
    "remove",
    "run",
    "start",
    "status",
    "stop",
    "update",
]


@contextmanager
def _store(
    store: str | None, *, create: bool = True, read_only: bool = False
) -> Iterator[FlextEventStore | int]:
    """The event store at ``store`` (or the exit code of the failure to open it).

    Commands that only read pass ``create=False``: a store that is not there
    is then ``NOT_FOUND`` (naming it, and how one is created), never a new
    empty one; those that never append pass ``read_only=True`` too, so the
    file is not written, locked or marked (``list``, ``status``, ``history``).
    """
    with opened_store(store, create=create, read_only=read_only) as opened:
        yield opened if isinstance(opened, int) else opened[1]


def create(config: Path, *, replace: bool = False, store: str | None = None) -> int:
    """Validate a pipeline definition (YAML) and register it in the project.

    Args:
        config: The definition file.
        replace: Update a pipeline that is already registered under the same name.
        store: The event store (a SQLite path or postgresql:// URL).

    """
    return _register(config, replace=replace, existing=False, store=store)


def update(config: Path, *, store: str | None = None) -> int:
    """Validate a pipeline definition (YAML) and replace the registered pipeline of its name.

    Args:
        config: The definition file.
        store: The event store (a SQLite path or postgresql:// URL).

    """
    return _register(config, replace=True, existing=True, store=store)


def _register(config: Path, *, replace: bool, existing: bool, store: str | None) -> int:
    from flext_plugin_pipeline.definition import load_definition
    from flext_plugin_pipeline.events import PipelineRegistered

    loaded = load_definition(config)
    if loaded.is_failure:
        return fail(loaded)
    replaced = project.is_registered(loaded.value.name)
    with _store(store) as events:  # before registering: a store that cannot be opened registers nothing
        if isinstance(events, int):
            return events
        registered = project.register(loaded.value, config, replace=replace, existing=existing)
        if registered.is_failure:
            return fail(registered)
        definition = registered.value
        Journal(events, definition.name).record(
            PipelineRegistered,
            tap=definition.extract.name,
            target=definition.load.name,
            source=str(config.resolve()),
            replaced=replaced,
        ).unwrap()
    verb = "updated" if replaced else "registered"
    return emit(
        {
            "pipeline": definition.name,
            "tap": definition.extract.name,
            "target": definition.load.name,
            "replaced": replaced,
        },
        human=f"{verb} pipeline {definition.name}: {definition.extract.name} -> {definition.load.name}"
        f" (run it with 'flext pipeline run {definition.name}')",
    )


def remove(name: str, *, store: str | None = None) -> int:
    """Remove a registered pipeline; its runs stay in the event store and its logs on disk.

    Args:
        name: The pipeline.
        store: The event store (a SQLite path or postgresql:// URL).

    """
    from flext_plugin_pipeline.events import PipelineRemoved

    checked = project.checked_name(name)
    if checked.is_failure:
        return fail(checked)
    if not project.is_registered(name):  # a registered definition that no longer validates is removed
        return fail(project.find(name))
    if is_running(name):
        return fail(
            FlextResult.fail(f"pipeline {name!r} is running", error_code=ALREADY_RUNNING),
            hint=f"stop it first with 'flext pipeline stop {name}'",
        )
    with _store(store) as events:
        if isinstance(events, int):
            return events
        removed = project.unregister(name)
        if removed.is_failure:
            return fail(removed)
        Journal(events, name).record(PipelineRemoved, base_dir=removed.value.base_dir).unwrap()
    return emit(
        {"pipeline": name, "removed": True},
        human=f"removed pipeline {name} (its runs stay in 'flext pipeline history {name}'; "
        "'flext pipeline create FILE' registers it again)",
    )


def list_pipelines(*, store: str | None = None) -> int:
    """List the registered pipelines with their last run.

    Args:
        store: The event store (a SQLite path or postgresql:// URL).

    """
    from flext_plugin_pipeline.views import LIST_COLUMNS, list_document

    documents: list[dict[str, Any]] = []
    definitions = project.definitions()
    if not definitions:  # nothing to look up: the store is not opened, so not required
        note(f"no pipelines in {project.project_dir()}: register one with 'flext pipeline create FILE'")
        return _table(documents, LIST_COLUMNS, title="Pipelines")
    with _store(store, create=False, read_only=True) as events:
        if isinstance(events, int):
            return events
        for definition in definitions:
            last = _last_run(events, definition.name)
            status = _status(definition.name, last)
            documents.append(list_document(definition, status, last.run_id if last else None))
    return _table(documents, LIST_COLUMNS, title="Pipelines")


def _table(documents: list[dict[str, Any]], columns: tuple[str, ...], *, title: str) -> int:
    """The documents as JSON for machines, or as a table of ``columns`` for people."""
    from flext_plugin_pipeline.views import table_rows

    if current().output != "table":
        return emit(documents)
    return emit_table(table_rows(documents), list(columns), title=title)


def run(
    name: str,
    *,
    full_refresh: bool = False,
    dry_run: bool = False,
    no_retry: bool = False,
    background_job: Annotated[bool, Parameter(show=False)] = False,
    lock_fd: Annotated[int | None, Parameter(show=False)] = None,
    store: str | None = None,
) -> int:
    """Run a pipeline in the foreground, showing records per stream as they flow; Ctrl-C stops it cleanly.

    Args:
        name: The pipeline.
        full_refresh: Ignore the saved state and extract everything again.
        dry_run: Check the definition, the tap and target and the environment; run nothing.
        no_retry: One attempt only, whatever the pipeline's retry policy says.
        background_job: (internal) this process is the background job 'flext pipeline start' launched.
        lock_fd: (internal) the run lock 'flext pipeline start' took and handed to this process.
        store: The event store (a SQLite path or postgresql:// URL).

    """
    found = project.find(name)  # checks the name first: nothing else is looked up for one that is not
    if found.is_failure:
        return fail(found)
    if dry_run:
        return _dry_run(found.value)
    from flext_plugin_pipeline.runner import RunOptions, run_pipeline

    lock = None
    if lock_fd is not None:
        adopted = RunLock.adopt(name, lock_fd)
        if adopted.is_failure:
            return fail(adopted)
        lock = adopted.value
    stop = StopRequest()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop.handle)
    options = RunOptions(full_refresh=full_refresh, background=background_job, retry=not no_retry)
    with opened_store(store) as opened, _progress_display(background_job) as show:
        if isinstance(opened, int):
            return opened
        kernel, events = opened
        result = run_pipeline(kernel, found.value, events, options, stop, on_progress=show, lock=lock)
    if result.is_failure:
        from flext_plugin_pipeline.secret_refs import BAD_INPUT_CODES

        usage = result.error_code in BAD_INPUT_CODES  # a secret the definition names is missing
        return fail(result, hint=hint_of(result), exit_code=2 if usage else None)
    return _summary(found.value, result.value, interrupted=stop.signal == signal.SIGINT)


def _checked(definition: PipelineDefinition) -> int:
    """Exit code 0 if a running plugin can run every step of ``definition`` and every secret it names exists.

    A dry run and ``start`` ask this before anything runs, so a missing ``${secret:NAME}`` is
    bad input (exit 2, ``SECRET_NOT_FOUND`` naming it) here, as it is for ``run``, rather than
    a fine dry run or a background job that fails at once. The values are dropped at once.
    """
    from flext_plugin_pipeline.secret_refs import BAD_INPUT_CODES, resolve
    from flext_plugin_pipeline.steps import check_steps

    booted = boot_kernel()
    if booted.is_failure:
        return fail(booted)
    with booted.value as kernel:
        checked = check_steps(kernel, definition)
        if checked.is_failure:
            return fail(checked, hint=hint_of(checked))
        secrets = resolve(kernel, definition)
    if secrets.is_failure:
        usage = secrets.error_code in BAD_INPUT_CODES
        return fail(secrets, hint=hint_of(secrets), exit_code=2 if usage else None)
    return EXIT_OK


def _dry_run(definition: PipelineDefinition) -> int:
    from flext_plugin_pipeline.definition import interpolate
    from flext_plugin_pipeline.runner import pipeline_environment

    checked = _checked(definition)
    if checked != EXIT_OK:
        return checked
    try:
        interpolate([definition.extract.config, definition.load.config], pipeline_environment(definition))
    except KeyError as missing:
        return fail(
            FlextResult.fail(
                f"environment variable {missing.args[0]} is not set", error_code=VALIDATION_ERROR
            )
        )
    steps = [
        f"{definition.extract.name} -> "
        + "".join(f"{m.name} -> " for m in definition.mappers)
        + definition.load.name
    ]
    if definition.transform:
        steps.append(f"dbt {definition.transform.command} {definition.transform.project}")
    return emit(
        {"pipeline": definition.name, "steps": steps},
        human=f"dry run of {definition.name}: " + "; then ".join(steps) + " (nothing was run)",
    )


@contextmanager
def _progress_display(background: bool) -> Iterator[Any]:
    """A live table of records per stream on a terminal; nothing otherwise."""
    settings = current()
    if background or settings.quiet or settings.output != "table" or not sys.stderr.isatty():
        yield lambda progress: None
        return
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    def render(progress: Progress) -> Table:
        table = Table(title=f"run {progress.run_id} (attempt {progress.attempt}) - {progress.phase}")
        for column in ("stream", "records", "records/s"):
            table.add_column(column, justify="right" if column != "stream" else "left")
        for stream, count in sorted(progress.records.items()):
            rate = count / progress.elapsed if progress.elapsed > 0 else 0.0
            table.add_row(stream, f"{count:,}", f"{rate:,.0f}")
        table.caption = f"elapsed {progress.elapsed:.1f}s"
        return table

    with Live(console=Console(stderr=True), refresh_per_second=4, transient=True) as live:
        yield lambda progress: live.update(render(progress))


def _summary(definition: PipelineDefinition, record: RunRecord, *, interrupted: bool) -> int:
    """Print how the run ended; its exit code (130 for a run Ctrl-C stopped, 1 for a failed one).

    A run that failed or was interrupted is a failure: its error (and, for
    people, the counts of what it read, only if it read anything, and the
    failed process's last lines); a completed or stopped one is its record.
    """
    if record.status == "failed":
        return _failed_summary(definition, record)
    if record.status == "stopped" and interrupted:
        _counts(definition, record)
        return emit_error(
            f"interrupted: run {record.run_id} of {definition.name!r} stopped; "
            "the next run resumes from the state the target confirmed last",
            INTERRUPTED,
            exit_code=EXIT_INTERRUPTED,
        )
    if current().output != "table":
        from flext_plugin_pipeline.views import run_document

        return emit(run_document(definition.name, record))
    _counts(definition, record)
    if record.status == "stopped":
        how = " by force" if record.forced else ""
        during = f" during {record.stopped_during}" if record.stopped_during else ""
        print(f"stopped{how}{during}; the next run resumes from the state the target confirmed last")
    if record.transform:
        _transform_table(definition, record.transform)
    return EXIT_OK


def _failed_summary(definition: PipelineDefinition, record: RunRecord) -> int:
    _counts(definition, record)
    if current().output == "table":
        print(f"error: {record.error} ({record.code})", file=sys.stderr)
        for line in record.stderr_tail[-5:]:
            print(f"  {line}", file=sys.stderr)
        print(
            f"hint: the whole log: 'flext pipeline logs {definition.name} --run {record.run_id}'",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return emit_error(record.error or "the run failed", record.code, exit_code=EXIT_FAILED)


def _counts(definition: PipelineDefinition, record: RunRecord) -> None:
    """For people: records per stream and the rate; for a run that did not complete, only if it read any."""
    if current().output != "table" or (record.status != "completed" and not record.total):
        return
    if not record.total:
        print(f"no new records in {record.elapsed:.1f}s, attempt {record.attempt}")
        return
    rows = [{"stream": stream, "records": f"{count:,}"} for stream, count in sorted(record.records.items())]
    emit_table(rows, ["stream", "records"], title=f"{definition.name}: run {record.run_id} {record.status}")
    rate = record.total / record.elapsed if record.elapsed else 0.0
    before = "" if record.status == "completed" else f" before it {record.status}"
    print(
        f"{record.total:,} records in {record.elapsed:.1f}s ({rate:,.0f}/s){before}, attempt {record.attempt}"
    )


def _transform_table(definition: PipelineDefinition, transform: dict[str, Any]) -> None:
    emit_table(
        [
            {
                "name": node.get("name"),
                "status": node.get("status"),
                "rows": node.get("rows_affected"),
                "seconds": f"{node.get('execution_time') or 0.0:.2f}",
            }
            for node in transform.get("nodes", [])
        ],
        ["name", "status", "rows", "seconds"],
        title=f"dbt {definition.transform.command if definition.transform else ''}",
    )


def start(name: str, *, full_refresh: bool = False, store: str | None = None) -> int:
    """Start a pipeline in the background; it keeps running after the terminal closes.

    Args:
        name: The pipeline.
        full_refresh: Ignore the saved state and extract everything again.
        store: The event store (a SQLite path or postgresql:// URL).

    """
    found = project.find(name)
    if found.is_failure:
        return fail(found)
    checked = _checked(found.value)
    if checked != EXIT_OK:
        return checked
    lock = RunLock(name)
    held = lock.acquire()  # before answering: of two starts at once, one gets it, the other is told
    if held.is_failure:
        holder = RunnerRecord(name).read()
        return fail(
            FlextResult.fail(
                f"pipeline {name!r} is already running (pid {holder.get('pid', '?')})",
                error_code=ALREADY_RUNNING,
            ),
            hint=f"follow it with 'flext pipeline logs {name} --follow', "
            f"or stop it with 'flext pipeline stop {name}'",
        )
    try:
        process = _launch(name, lock, full_refresh=full_refresh, store=store)
    except BaseException:
        lock.release()
        raise
    lock.handed_over(process.pid)
    out = project.run_dir(name) / "background.out"
    deadline = time.monotonic() + 15
    while (
        time.monotonic() < deadline and process.poll() is None and "run_id" not in RunnerRecord(name).read()
    ):
        time.sleep(0.05)
    if process.poll() not in (None, 0):
        tail = out.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
        return fail(
            FlextResult.fail(f"the background run ended at once: {' '.join(tail)}", error_code=RUN_FAILED)
        )
    return emit(
        {"pipeline": name, "pid": process.pid},
        human=f"started {name} in the background (pid {process.pid}); "
        f"follow it with 'flext pipeline logs {name} --follow'",
    )


def _launch(name: str, lock: RunLock, *, full_refresh: bool, store: str | None) -> subprocess.Popen[bytes]:
    """Start the background job, handing it the run lock this process took (it inherits the descriptor)."""
    argv = [sys.executable, "-m", "flext_kernel.cli", "pipeline", "run", name, "--background-job"]
    argv += ["--lock-fd", str(lock.descriptor)]
    argv += ["--full-refresh"] if full_refresh else []
    argv += ["--store", store] if store else []
    with open_private(project.run_dir(name) / "background.out", "ab") as sink:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
            pass_fds=(lock.descriptor,),
            start_new_session=True,  # its own session: closing the terminal does not hang it up
            cwd=Path.cwd(),
            env=_background_environ(),
        )


def _background_environ() -> dict[str, str]:
    """The background run's environment: this one, with the start command's correlation id (one action)."""
    from flext_kernel.correlation import CORRELATION_ENV, current_correlation_id

    correlation_id = current_correlation_id()
    return {**os.environ, **({CORRELATION_ENV: correlation_id} if correlation_id else {})}


def stop(name: str, *, timeout: float | None = None, store: str | None = None) -> int:
    """Stop a running pipeline: gracefully (the target confirms its state), killed after the timeout.

    Whichever step is running ends: the tap (the target then writes what it
    received and confirms its state), the target, the mappers, or dbt. The
    run is recorded as stopped with the state the next run resumes from, and
    its log says so. Exits 1 if the run could not be stopped: it ended
    otherwise first (``STOP_FAILED``), or its processes outlived SIGKILL
    (``TIMEOUT``).

    Args:
        name: The pipeline.
        timeout: Seconds to wait for a graceful stop (default: the pipeline's stop_timeout plus a margin).
        store: The event store (a SQLite path or postgresql:// URL).

    """
    found = project.find(name)
    if found.is_failure:
        return fail(found)
    pid = RunnerRecord(name).read().get("pid")
    if not is_running(name) or not isinstance(pid, int):
        return emit(
            {"pipeline": name, "stopped": False, "run": None}, human=f"pipeline {name} is not running"
        )
    wait = timeout if timeout is not None else found.value.stop_timeout + 10
    with _store(store, create=False) as events:  # first: a wrong --store stops nothing
        if isinstance(events, int):
            return events
        forced = _signal_and_wait(name, pid, wait)
        if isinstance(forced, Failure):
            return fail(
                forced, hint="look for its processes with 'ps -g PID'; 'flext pipeline status' shows them"
            )
        return _report_stop(Journal(events, name), forced.value, wait)


def _signal_and_wait(name: str, pid: int, wait: float) -> FlextResult[bool]:
    """SIGTERM the runner; after ``wait`` seconds kill its processes. True if they had to be killed."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _ended(name, wait):
        return FlextResult.ok(False)
    holder = RunnerRecord(name).read()  # read again: the run may have started its processes since
    for group in {holder.get("process_group"), pid}:
        if isinstance(group, int):
            _kill_group(group)
    if not _ended(name, 10):
        return FlextResult.fail(
            f"pipeline {name!r} is still running after SIGKILL (pid {pid})", error_code=TIMEOUT
        )
    RunnerRecord(name).clear()
    return FlextResult.ok(True)


def _ended(name: str, seconds: float) -> bool:
    """Wait up to ``seconds`` for the pipeline's run lock to be free; whether it is."""
    deadline = time.monotonic() + seconds
    while is_running(name):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _report_stop(journal: Journal, forced: bool, wait: float) -> int:
    """Say how the run that was just stopped ended; record the stop if the runner was killed first."""
    from flext_plugin_pipeline.events import PipelineRunStopped
    from flext_plugin_pipeline.runner import stop_summary

    name = journal.pipeline
    runs = journal.runs()
    if runs.is_failure:
        return fail(runs)
    last = runs.value[-1] if runs.value else None
    if last is not None and last.status == "running":  # its runner was killed before it recorded the end
        error = f"flext pipeline stop killed its processes after {wait:g}s"
        state = journal.resume_state().unwrap_or(None)
        journal.record(
            PipelineRunStopped,
            run_id=last.run_id,
            records=last.records,
            forced=True,
            state=state,
            error=error,
        ).unwrap()
        _append_log(name, last.run_id, stop_summary(last.run_id, None, True, error, state))
        last = journal.runs().unwrap()[-1]
    if last is not None and last.status not in ("stopped", "failed"):
        return fail(
            FlextResult.fail(
                f"run {last.run_id} of {name!r} {last.status} before the stop reached it",
                error_code=STOP_FAILED,
            ),
            hint=f"'flext pipeline history {name}' shows the run",
        )
    if last is not None and last.status == "failed" and not last.will_retry:
        return fail(
            FlextResult.fail(
                f"run {last.run_id} of {name!r} failed before the stop reached it: {last.error}",
                error_code=STOP_FAILED,
            ),
            hint=f"'flext pipeline logs {name}' shows why",
        )
    forced = forced or bool(last and last.forced)
    return emit(_stop_document(name, last), human=_stop_text(name, last, forced))


def _stop_document(name: str, last: RunRecord | None) -> dict[str, Any]:
    """``flext pipeline stop``'s JSON: the run it stopped (None if none had started)."""
    from flext_plugin_pipeline.views import run_document

    return {"pipeline": name, "stopped": True, "run": None if last is None else run_document(name, last)}


def _stop_text(name: str, last: RunRecord | None, forced: bool) -> str:
    if last is None:
        return f"stopped {name} before its first run started"
    if last.status == "failed":  # a failed attempt whose retry the stop cancelled
        return f"stopped {name} before its retry (run {last.run_id} failed: {last.error})"
    how = " by force" if forced else ""
    during = f" during {last.stopped_during}" if last.stopped_during else ""
    return (
        f"stopped {name}{how}: run {last.run_id}{during}, {last.total:,} records; "
        "the next run resumes from the state the target confirmed last"
    )


def _kill_group(group: int) -> None:
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(group, signal.SIGKILL)


def _append_log(name: str, run_id: str, line: str) -> None:
    if project.checked_run_id(run_id).is_failure:  # read from the store, which may have been imported
        return
    log = RunLog(log_path(name, run_id))
    log.write("flext", line)
    log.close()


def status(name: str | None = None, *, store: str | None = None) -> int:
    """Show the state of every pipeline, or of one, from the ``pipeline-status`` projection.

    Delegated Meltano runs are shown too: one row per Meltano project, named
    ``meltano-<project>`` (``flext pipeline history`` takes that name).

    Args:
        name: The pipeline, or a Meltano project's row (default: all).
        store: The event store (a SQLite path or postgresql:// URL).

    """
    from flext_plugin_pipeline.status_projection import MELTANO_SOURCE

    meltano_row = name is not None and name.startswith("meltano-")
    if name is not None and not meltano_row:
        found = project.find(name)
        if found.is_failure:
            return fail(found)
    names = [name] if name is not None else [definition.name for definition in project.definitions()]
    documents = _status_documents(store, absent_ok=name is None)
    if isinstance(documents, int):
        return documents
    if name is None:  # Meltano projects' delegated runs, after the pipelines
        names += sorted(key for key, doc in documents.items() if doc.get("source") == MELTANO_SOURCE)
    elif meltano_row and documents.get(name, {}).get("source") != MELTANO_SOURCE:
        found = project.find(name)  # a native pipeline may be named meltano-...
        if found.is_failure:
            return fail(found)
    from flext_plugin_pipeline.views import STATUS_COLUMNS, iso

    rows = []
    for pipeline in names:
        document = documents.get(pipeline, {})
        state = document.get("status", "never run")
        meltano = document.get("source") == MELTANO_SOURCE
        if state == "running" and not meltano and not is_running(pipeline):
            state = "interrupted"
        rows.append(
            {
                "pipeline": pipeline,
                "status": state,
                "runs": document.get("runs", 0),
                "last_run_id": document.get("last_run"),
                "attempt": document.get("attempt"),
                "started_at": iso(document.get("started_at")),
                "finished_at": iso(document.get("finished_at")),
                "total_records": document.get("records", 0),
                "elapsed": round(document.get("elapsed", 0.0), 3),
                "error": document.get("error"),
            }
        )
    shown = _table(rows, STATUS_COLUMNS, title="Pipelines")
    failed = [row for row in rows if row["status"] == "failed"]
    if failed and current().output == "table":
        first = failed[0]
        note(
            f"hint: why a run failed is in its log: 'flext pipeline logs {first['pipeline']}"
            f" --run {first['last_run_id']}'"
            if not first["pipeline"].startswith("meltano-")
            else f"hint: 'flext pipeline history {first['pipeline']}' lists its delegated Meltano runs"
        )
    return shown


def _status_documents(store: str | None, *, absent_ok: bool = False) -> dict[str, dict[str, Any]] | int:
    """Bring the status projection up to date and return its documents (or an exit code).

    ``absent_ok``: no ``--store`` given and the default store not created yet is no documents, not an
    error (a new home has no runs to show).
    """
    from flext_eventsourcing import ProjectionRunner
    from flext_plugin_pipeline.journal import register_events
    from flext_plugin_pipeline.status_projection import PipelineStatus

    booted = boot_kernel()
    if booted.is_failure:
        return fail(booted)
    with booted.value as kernel:
        stores = stores_of(kernel)
        if stores.is_failure:
            return fail(stores, hint=hint_of(stores))
        opened = stores.value.open_event_store(store, create=False, read_only=True)
        if opened.is_failure:
            default = store is None and "FLEXT_EVENTSTORE_URL" not in os.environ
            if absent_ok and default and opened.error_code == NOT_FOUND:
                return {}
            hint = hint_of(opened) or STORE_HINT
            if opened.error_code == NOT_A_FLEXT_STORE:  # a foreign file is bad input (as opened_store says)
                return emit_error(opened.error or "", NOT_A_FLEXT_STORE, hint=hint, exit_code=EXIT_USAGE)
            return fail(opened, hint=hint)
        events = opened.value
        projections = stores.value.open_projection_store(store, create=False)
        if projections.is_failure:
            events.close()
            return fail(projections, hint=STORE_HINT)
        try:
            register_events(events)
            projection = PipelineStatus()
            caught_up = ProjectionRunner(events, projections.value, [projection]).catch_up()
            if caught_up.is_failure:
                return fail(caught_up)
            return dict(projections.value.documents(projection.name))
        finally:
            projections.value.close()
            events.close()


def history(name: str, *, limit: int = 20, store: str | None = None) -> int:
    """List a pipeline's runs, newest first, from the event store (a Meltano project's: meltano-NAME).

    Args:
        name: The pipeline, or meltano-PROJECT for a Meltano project's delegated runs.
        limit: How many runs to show.
        store: The event store (a SQLite path or postgresql:// URL).

    """
    checked = project.checked_name(name)
    if checked.is_failure:
        return fail(checked)
    with _store(store, create=False, read_only=True) as events:
        if isinstance(events, int):
            return events
        runs = Journal(events, name).runs()
        meltano = runs.is_success and not runs.value and name.startswith("meltano-")
        if meltano:  # a Meltano project's delegated runs (status_projection.meltano_runs)
            runs = _meltano_history(events, name)
    if runs.is_failure:
        return fail(runs)
    if not runs.value and project.find(name).is_failure:
        return fail(project.find(name))
    from flext_plugin_pipeline.views import HISTORY_COLUMNS, run_document

    last = runs.value[-1] if runs.value and not meltano else None
    documents = [
        run_document(name, run, status=_status(name, run) if run is last else None)
        for run in reversed(runs.value[-limit:])
    ]
    return _table(documents, HISTORY_COLUMNS, title=f"{name}: runs")


def _meltano_history(events: FlextEventStore, name: str) -> FlextResult[list[RunRecord]]:
    from flext_plugin_pipeline.status_projection import meltano_runs

    read = events.read_stream(name)
    if read.is_failure:
        return FlextResult.fail(read.error or "", read.error_code, read.error_data)
    return FlextResult.ok(meltano_runs(read.value))


def logs(
    name: str,
    *,
    run_id: Annotated[str | None, Parameter(name=["--run", "--run-id"])] = None,
    follow: bool = False,
) -> int:
    """Print a run's log (default: the latest run); --follow keeps printing until the run ends.

    With ``--output json`` each line is an object ``{run_id, time, source,
    message}``: a list of them, or with ``--follow`` one per line as they come
    (JSON lines).

    Args:
        name: The pipeline.
        run_id: The run (as 'flext pipeline history' shows it).
        follow: Keep printing new lines while the run goes on.

    """
    found = _log_of(name, run_id)
    if isinstance(found, int):
        return found
    printer = _LogPrinter(machine=current().output != "table")
    if not follow:
        if printer.machine:
            return emit(printer.records(found.stem, found.read_text(encoding="utf-8", errors="replace")))
        sys.stdout.write(found.read_text(encoding="utf-8", errors="replace"))
        return EXIT_OK
    _follow(name, found, printer, next_runs=run_id is None)
    return EXIT_OK


def _log_of(name: str, run_id: str | None) -> Path | int:
    """The log file to print, or the exit code of saying why there is none.

    The name and the run id are checked before any path is made of them, and
    the file must resolve inside the pipeline's log directory.
    """
    checked = project.checked_name(name).flat_map(
        lambda _name: project.checked_run_id(run_id) if run_id is not None else FlextResult.ok("")
    )
    if checked.is_failure:
        return fail(checked)
    candidates = _run_logs(logs_dir(name))
    if not candidates and not project.is_registered(name):
        return fail(project.find(name))  # an unknown pipeline (a removed one keeps its logs)
    if run_id is not None:
        path = log_path(name, run_id)
        if path.exists():
            return _own_log(path)
        return fail(
            FlextResult.fail(f"no log for run {run_id!r} of {name!r}", error_code=NOT_FOUND),
            hint=f"'flext pipeline history {name}' lists the runs",
        )
    if not candidates:
        return fail(
            FlextResult.fail(f"pipeline {name!r} has not run yet: it has no run logs", error_code=NOT_FOUND),
            hint=f"run it with 'flext pipeline run {name}'",
        )
    return _own_log(candidates[-1])


def _own_log(path: Path) -> Path | int:
    """``path`` when it is a file in its pipeline's log directory (not a link leading elsewhere)."""
    inside = project.contained(path.parent, path.name)
    return inside.value if inside.is_success else fail(inside)


_LOG_LINE = re.compile(
    r"^(?P<time>\S+) (?:(?P<correlation_id>[A-Za-z0-9._:-]+) )?\[(?P<source>[^\]]*)\] (?P<message>.*)$"
)
"""A run log's line: ``2026-12-07T06:57:15.723335Z req-7 [tap-ldif] message`` (see ``runtime.RunLog``).

The correlation id is absent in logs written before it was on each line; they still read.
"""


class _LogPrinter:
    """Prints log text as it is (for people) or as one JSON object per line (for machines)."""

    def __init__(self, *, machine: bool) -> None:
        self.machine = machine
        self._pending = ""

    @staticmethod
    def records(run_id: str, text: str) -> list[dict[str, Any]]:
        """The lines of ``text`` as ``{run_id, time, correlation_id, source, message}`` objects."""
        return [_LogPrinter.record(run_id, line) for line in text.splitlines()]

    @staticmethod
    def record(run_id: str, line: str) -> dict[str, Any]:
        """One line as ``{run_id, time, correlation_id, source, message}`` (None for what it lacks)."""
        match = _LOG_LINE.match(line)
        if match is None:
            return {"run_id": run_id, "time": None, "correlation_id": None, "source": None, "message": line}
        return {"run_id": run_id, **match.groupdict()}

    def header(self, run_id: str) -> None:
        """A retry's log starts (people see a line; machines see its run id in each object)."""
        if not self.machine:
            sys.stdout.write(f"--- run {run_id} ---\n")

    def write(self, run_id: str, chunk: str) -> None:
        """Print what was read of ``run_id``'s log: as it is, or each whole line as JSON."""
        if not chunk:
            return
        if not self.machine:
            sys.stdout.write(chunk)
        else:
            lines = (self._pending + chunk).split("\n")
            self._pending = lines.pop()
            for line in lines:
                sys.stdout.write(json.dumps(self.record(run_id, line), ensure_ascii=False) + "\n")
        sys.stdout.flush()


def _run_logs(folder: Path) -> list[Path]:
    """A pipeline's run logs, oldest first (run ids sort by start time)."""
    return sorted(folder.glob("*.log")) if folder.is_dir() else []


def _follow(name: str, path: Path, printer: _LogPrinter, *, next_runs: bool) -> None:
    """Print ``path`` as it grows until the pipeline stops running.

    With ``next_runs``, a run that starts meanwhile (a retry, or the next run
    of ``flext pipeline start``) is followed too, after a header line.
    """
    handle = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115  (replaced when a run follows)
    try:
        while True:
            printer.write(path.stem, handle.read())
            newer = [log for log in _run_logs(path.parent) if log.name > path.name] if next_runs else []
            newer = [log for log in newer if project.contained(log.parent, log.name).is_success]
            if newer:
                printer.write(path.stem, handle.read())
                handle.close()
                path = newer[0]
                handle = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
                printer.header(path.stem)
                continue
            if not is_running(name):
                printer.write(path.stem, handle.read())
                return
            time.sleep(0.2)
    finally:
        handle.close()


def _last_run(events: FlextEventStore, name: str) -> RunRecord | None:
    runs = Journal(events, name).runs()
    return runs.value[-1] if runs.is_success and runs.value else None


def _status(name: str, last: RunRecord | None) -> str:
    """A run "running" in the store whose pipeline nobody is running was interrupted."""
    if last is None:
        return "never run"
    if last.status == "running" and not is_running(name):
        return "interrupted"
    return last.status
