"""``flext algar ...``: the migration's commands (one module; each command is imported only when it runs).

- ``flext algar init DIR``: a commented ``algar.yaml`` and a starter ``rules.yaml``; never overwrites;
- ``flext algar sample FILE``: an OID-style export to try the migration on (``flext_plugin_algar.sample``);
- ``flext algar migration plan|run|status``: the LDIF to LDIF phases (``flext_plugin_algar.phases``),
  each run recorded in the event store and resumed after a kill (``flext_plugin_algar.journal``);
- ``flext algar logs``: a run's events and its phases' items, as they come with ``--follow``.

Every command prints ``{"ok": ..., "data": ...}`` under ``--output json``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from cyclopts import Parameter

from flext_sdk.cli import emit, fail, note

if TYPE_CHECKING:
    from flext_plugin_algar.journal import Journal, JournaledRun, RunView
    from flext_plugin_algar.phases import Migration
    from flext_plugin_algar.sync import SyncProgress
    from flext_sdk import FlextEventStore, FlextKernel, FlextResult

__all__ = ["init", "logs", "plan", "recorded_sync", "run", "sample", "status"]

_FOLLOW_POLL = 0.2  # seconds between two reads of the journal while following a run


def init(directory: Path, /) -> int:
    """Start a migration project in DIRECTORY: a commented algar.yaml and a starter rules.yaml.

    Refuses to overwrite either file.

    Args:
        directory: The project directory (created if missing).

    """
    from flext_plugin_algar.project import init_project

    done = init_project(directory)
    if done.is_failure:
        return fail(done)
    note("edit algar.yaml (source, target, base_dn), then run 'flext algar migration plan'")
    return emit({"files": [str(path) for path in done.value]}, human="\n".join(map(str, done.value)))


def sample(file: Path, /, *, entries: int = 60, seed: int = 1, defects: bool = True) -> int:
    """Write an OID-style export (orclUserV2 users, orclGroup and dynamic groups, orclaci) to FILE.

    The same options always give the same bytes.

    Args:
        file: The LDIF file to write.
        entries: About how many entries (never fewer than the fixed skeleton of 18).
        seed: Changes names, passwords and memberships.
        defects: Add what real exports also hold: a dangling group member and an orphan entry.

    """
    from flext_plugin_algar.sample import write_export

    written = write_export(file, entries=entries, seed=seed, defects=defects)
    return emit({"file": str(file), "entries": written}, human=f"{written} entries written to {file}")


def plan(*, project: Path = Path(), phase: str | None = None) -> int:
    """Show what 'flext algar migration run' would do: each phase, its files, and whether it is done.

    Checks the project, the rules, the export and that the ldif plugin's reader is there.

    Args:
        project: The project directory (holding algar.yaml).
        phase: Only this phase.

    """
    return _with_migration(project, phase, lambda _kernel, migration, phases: _plan(migration, phases))


def run(
    *,
    project: Path = Path(),
    phase: str | None = None,
    refresh_source: bool = False,
    store: str | None = None,
) -> int:
    """Run the LDIF phases (validate, hierarchy, schema, users, groups, acl, output), or one of them.

    Each phase writes <output>/NN-<phase>.ldif and its report; a phase's input is the previous
    phase's output, so one phase can be run again alone. The run is recorded in the event store;
    if the last run was killed or interrupted, this one resumes it: the phases it finished whose
    files are unchanged are kept, the others run again.

    Args:
        project: The project directory (holding algar.yaml).
        phase: Only this phase (its input must be there).
        refresh_source: With a live source (source.url), read the server again instead of reusing
            the snapshot out/00-source.ldif (a resumed run then starts over).
        store: The event store (a SQLite path or postgresql:// URL); default $FLEXT_EVENTSTORE_URL.

    """
    return _with_migration(
        project,
        phase,
        lambda kernel, migration, phases: _run(
            kernel, migration, phases, store, refresh_source=refresh_source
        ),
    )


def status(*, project: Path = Path(), phase: str | None = None, store: str | None = None) -> int:
    """Show per phase: entries in, out, excluded, failed, problems, seconds, and the checkpoint.

    The state of each phase comes from the journal: done, running, killed (by the last run,
    which the next 'run' resumes), interrupted, failed or pending; a sync row shows the
    position a resumed sync starts from.

    Args:
        project: The project directory (holding algar.yaml).
        phase: Only this phase.
        store: The event store (a SQLite path or postgresql:// URL); default $FLEXT_EVENTSTORE_URL.

    """
    from flext_plugin_algar.project import load_project
    from flext_sdk.cli import emit_table

    loaded = load_project(project)
    if loaded.is_failure:
        return fail(loaded)
    checked = _phases(phase)
    if isinstance(checked, int):
        return checked
    out = loaded.value.path(loaded.value.output)
    history = _read_history(out, store, loaded.value.directory)
    if isinstance(history, int):
        return history
    rows = _status_rows(out, checked, history)
    title = f"ALGAR migration {project}"
    if history:
        last = history[-1]
        title += f": last run {last.run_id} {last.status}"
        if last.resumable:
            title += " ('flext algar migration run' resumes it)"
    columns = ["phase", "state", "in", "out", "excluded", "failed", "errors", "warnings", "seconds", "run_id"]
    return emit_table(rows, columns, title=title)


def logs(
    *,
    project: Path = Path(),
    run_id: Annotated[str | None, Parameter(name=["--run"])] = None,
    phase: str | None = None,
    follow: bool = False,
    store: str | None = None,
) -> int:
    """Print a run's events and its phases' items (time, phase, severity, code, dn, message).

    Default: the last run. With --follow, new lines are printed as the run records them, until it
    ends (exit 0) or Ctrl-C (exit 130); started while no run goes on but one is starting, it waits
    for it. Under --output json: a list of objects, or with --follow one object a line.

    Args:
        project: The project directory (holding algar.yaml).
        run_id: The run (as 'flext algar migration status' and these logs show it).
        phase: Only this phase's lines.
        follow: Keep printing while the run goes on.
        store: The event store (a SQLite path or postgresql:// URL); default $FLEXT_EVENTSTORE_URL.

    """
    from flext_plugin_algar.project import load_project

    loaded = load_project(project)
    if loaded.is_failure:
        return fail(loaded)
    if phase is not None:
        checked = _phases(phase)
        if isinstance(checked, int):
            return checked
    out = loaded.value.path(loaded.value.output)
    with _project_journal(out, store, loaded.value.directory, project, wait=follow) as journal:
        if isinstance(journal, int):
            return journal
        if follow:
            return _follow(journal, out, run_id, phase)
        return _print_run(journal, out, run_id, phase)


def _phases(phase: str | None) -> tuple[str, ...] | int:
    from flext_kernel.errors import VALIDATION_ERROR
    from flext_plugin_algar.phases import PHASES
    from flext_sdk import FlextResult

    if phase is None:
        return PHASES
    if phase not in PHASES:
        return fail(
            FlextResult.fail(f"--phase: {phase!r} is not one of {', '.join(PHASES)}", VALIDATION_ERROR)
        )
    return (phase,)


def _with_migration(
    project: Path, phase: str | None, action: Callable[[FlextKernel, Migration, tuple[str, ...]], int]
) -> int:
    from flext_plugin_algar.session import with_migration

    checked = _phases(phase)
    if isinstance(checked, int):
        return checked
    return with_migration(project, lambda kernel, migration: action(kernel, migration, checked))


def _plan(migration: Migration, phases: tuple[str, ...]) -> int:
    from flext_plugin_algar.phases import plan as phase_plan
    from flext_sdk.cli import emit_table

    rows = [row for row in phase_plan(migration) if row["phase"] in phases]
    export = migration.project.path(migration.project.source.ldif or Path())
    if not export.exists():
        note(f"the export {export} is not there yet")
    return emit_table(rows, ["phase", "state", "input", "output"], title="ALGAR migration plan")


def _run(
    kernel: FlextKernel,
    migration: Migration,
    phases: tuple[str, ...],
    store: str | None,
    *,
    refresh_source: bool,
) -> int:
    from flext_plugin_algar.journal import Journal, JournaledRun, RunLock, project_id

    out = migration.out
    with _opened_store(kernel, store, write=True) as events:
        if isinstance(events, int):
            return events
        out.mkdir(parents=True, exist_ok=True)
        with RunLock(out) as lock:
            locked = lock.acquire()
            if locked.is_failure:
                return fail(locked, hint="'flext algar logs --follow' follows it")
            identity = project_id(out, create=True)
            assert identity is not None  # created when missing
            journal = Journal(events, identity, migration.project.directory.resolve())
            history = journal.history(running=False)  # this process holds the lock: an open run was killed
            if history.is_failure:
                return fail(history)
            with JournaledRun(migration, journal, phases, refresh_source=refresh_source) as journaled:
                started = journaled.start(history.value)
                if started.is_failure:
                    return fail(started)
                return _run_phases(migration, journaled)


def _run_phases(migration: Migration, journaled: JournaledRun) -> int:
    from flext_plugin_algar.phases import phase_paths
    from flext_plugin_algar.report import read_report
    from flext_sdk.cli import EXIT_OK, current, emit_table

    if journaled.note:
        note(journaled.note)
    resume = journaled.resume
    if resume is not None:
        note(resume.describe())
    done: list[dict[str, Any]] = []
    for phase in journaled.kept:
        _, base = phase_paths(migration, phase)
        done.append(
            {
                **(read_report(base.with_suffix(".report.json")) or {"phase": phase}),
                "kept_from": resume.run_id if resume else None,
            }
        )
    for result in journaled.phases():
        if result.is_failure:
            return fail(result)
        report = result.value
        done.append({**report, "kept_from": None})
        problems = report["problems"]
        note(f"{report['phase']}: {report['counts']['out']} entries out, {problems['error']} errors, "
             f"{problems['warning']} warnings ({report['items_file']})")  # fmt: skip
    resumed = None
    if resume is not None:
        resumed = {
            "run_id": resume.run_id,
            "state": resume.state,
            "kept": list(resume.kept),
            "starting_at": resume.start,
        }
    if current().output != "table":
        return emit({"run_id": journaled.run_id, "resumed": resumed, "phases": done})
    rows = [
        {"phase": r["phase"], "state": "kept" if r["kept_from"] else "done",
         **{k: r.get("counts", {}).get(k) for k in ("in", "out", "excluded", "failed")},
         "errors": r.get("problems", {}).get("error"), "warnings": r.get("problems", {}).get("warning"),
         "output": r.get("output")}
        for r in done
    ]  # fmt: skip
    title = f"ALGAR migration run {journaled.run_id}"
    if resume is not None:
        title += f" (resumed run {resume.run_id} at {resume.start or 'its end'})"
    emit_table(rows, list(rows[0]) if rows else ["phase"], title=title)
    return EXIT_OK


def recorded_sync(
    kernel: FlextKernel,
    migration: Migration,
    *,
    dry_run: bool = False,
    on_batch: Callable[[SyncProgress], None] | None = None,
    store: str | None = None,
) -> FlextResult[dict[str, Any]] | int:
    """``run_sync`` recorded in the project's journal, resuming a killed sync; for ``migration sync``.

    Takes the project's run lock (a sync never runs beside a run or another
    sync), says where it resumes (``note``), and records every batch before
    ``on_batch`` hears of it.

    Returns:
        The sync's result, or the exit code of a failure to open the journal or take the lock
        (already printed).

    """
    from flext_plugin_algar.journal import Journal, JournaledSync, RunLock, project_id

    out = migration.out
    with _opened_store(kernel, store, write=True) as events:
        if isinstance(events, int):
            return events
        out.mkdir(parents=True, exist_ok=True)
        with RunLock(out) as lock:
            locked = lock.acquire()
            if locked.is_failure:
                return fail(locked, hint="'flext algar logs --follow' follows it")
            identity = project_id(out, create=True)
            assert identity is not None  # created when missing
            journal = Journal(events, identity, migration.project.directory.resolve())
            history = journal.history(running=False)
            if history.is_failure:
                return fail(history)
            with JournaledSync(migration, journal, dry_run=dry_run) as journaled:
                started = journaled.start(history.value)
                if started.is_failure:
                    return fail(started)
                if journaled.note:
                    note(journaled.note)
                if journaled.resumed is not None:
                    note(journaled.describe())
                return journaled.run(on_batch)


@contextmanager
def _opened_store(
    kernel: FlextKernel, location: str | None, *, write: bool
) -> Iterator[FlextEventStore | int]:
    """The event store (the container's ``EventStores`` opens it), or the exit code of why it cannot be.

    Readers open it read-only and never create it (``NOT_FOUND`` when it is not there).
    """
    from flext_eventsourcing import stores_of

    stores = stores_of(kernel)
    if stores.is_failure:
        yield fail(stores, hint=str(stores.error_data.get("hint", "")) or None)
        return
    opened = stores.value.open_event_store(location, create=write, read_only=not write)
    if opened.is_failure:
        yield fail(opened, hint=str(opened.error_data.get("hint", "")) or None)
        return
    try:
        yield opened.value
    finally:
        opened.value.close()


def _read_history(out: Path, store: str | None, directory: Path) -> list[RunView] | int:
    """The project's runs from the journal ([] when none is recorded, or the store is not there)."""
    from flext_kernel.errors import NOT_FOUND
    from flext_plugin_algar.journal import Journal, is_locked, project_id
    from flext_sdk.cli import boot_kernel

    identity = project_id(out, create=False)
    if identity is None:
        return []
    booted = boot_kernel()
    if booted.is_failure:
        return fail(booted)
    with booted.value as kernel:
        from flext_eventsourcing import stores_of

        stores = stores_of(kernel)
        if stores.is_failure:
            note(f"no journal: {stores.error} ({stores.error_data.get('hint', '')})")
            return []
        opened = stores.value.open_event_store(store, create=False, read_only=True)
        if opened.is_failure:
            if opened.error_code == NOT_FOUND:
                return []
            return fail(opened)
        try:
            history = Journal(opened.value, identity, directory).history(running=is_locked(out))
        finally:
            opened.value.close()
    if history.is_failure:
        return fail(history)
    return history.value


def _status_rows(out: Path, phases: tuple[str, ...], history: list[RunView]) -> list[dict[str, Any]]:
    from flext_plugin_algar.phases import PHASES
    from flext_plugin_algar.report import read_report

    last = history[-1] if history else None
    rows: list[dict[str, Any]] = []
    for name in phases:
        report = read_report(out / f"{PHASES.index(name) + 1:02d}-{name}.report.json")
        counts = report["counts"] if report else {}
        problems = report["problems"] if report else {}
        state = "done" if report else "pending"
        run_id = next((view.run_id for view in reversed(history) if name in view.completed), None)
        if (
            last is not None
            and last.status != "completed"
            and name in last.phases
            and name not in last.effective
        ):
            # the last run has not finished this phase yet: what is on disk is an older run's
            state, run_id = (last.status, last.run_id) if name in last.started else ("pending", None)
            report, counts, problems = None, {}, {}
        rows.append({
            "phase": name,
            "state": state,
            "run_id": run_id,
            **{key: counts.get(key) for key in ("in", "out", "excluded", "failed")},
            **{f"{key}s": problems.get(key) for key in ("error", "warning")},
            "seconds": report["seconds"] if report else None,
            "finished_at": report["finished_at"] if report else None,
            "position": None,
        })  # fmt: skip
    synced = next((view for view in reversed(history) if view.sync is not None), None)
    if synced is not None and synced.sync is not None and len(phases) > 1:
        rows.append({
            "phase": "sync",
            "state": "done" if synced.status == "completed" else synced.status,
            "run_id": synced.sync.run_id,
            **dict.fromkeys(("in", "out", "excluded", "failed", "errors", "warnings", "seconds"), None),
            "out": sum(synced.sync.counts.values()) or None,
            "finished_at": None,
            "position": synced.sync.position,
        })  # fmt: skip
    return rows


@contextmanager
def _project_journal(
    out: Path, store: str | None, directory: Path, project: Path, *, wait: bool
) -> Iterator[Journal | int]:
    """The project's journal for reading, or the exit code of why there is none.

    With ``wait`` (``--follow``), a project whose first run has taken the lock but not yet
    written its id is waited for.
    """
    from flext_kernel.errors import NOT_FOUND
    from flext_plugin_algar.journal import Journal, is_locked, project_id
    from flext_sdk import FlextResult
    from flext_sdk.cli import boot_kernel

    identity = project_id(out, create=False)
    while identity is None and wait and is_locked(out):
        time.sleep(_FOLLOW_POLL)
        identity = project_id(out, create=False)
    if identity is None:
        yield fail(
            FlextResult.fail(f"no run of the migration in {project} is recorded yet", error_code=NOT_FOUND),
            hint=f"run it with 'flext algar migration run --project {project}'",
        )
        return
    booted = boot_kernel()
    if booted.is_failure:
        yield fail(booted)
        return
    with booted.value as kernel, _opened_store(kernel, store, write=False) as events:
        yield events if isinstance(events, int) else Journal(events, identity, directory)


def _pick(history: list[RunView], run_id: str | None) -> RunView | int:
    from flext_kernel.errors import NOT_FOUND
    from flext_sdk import FlextResult

    if run_id is None and history:
        return history[-1]
    found = next((view for view in history if view.run_id == run_id), None)
    if found is not None:
        return found
    what = (
        f"no run {run_id!r} is recorded for this project" if run_id else "no run is recorded for this project"
    )
    return fail(
        FlextResult.fail(what, error_code=NOT_FOUND), hint="'flext algar migration status' names the last run"
    )


def _print_run(journal: Journal, out: Path, run_id: str | None, phase: str | None) -> int:
    from flext_plugin_algar.journal import is_locked, log_lines
    from flext_sdk.cli import EXIT_OK, current

    read = journal.events()
    if read.is_failure:
        return fail(read)
    from flext_plugin_algar.journal import fold

    history = fold(read.value, running=is_locked(out))
    picked = _pick(history, run_id)
    if isinstance(picked, int):
        return picked
    lines = [
        line
        for recorded in read.value
        if getattr(recorded.event, "run_id", None) == picked.run_id
        for line in log_lines(recorded.event, picked, out)  # type: ignore[arg-type]  # an algar event: it has a run_id
        if phase is None or line["phase"] == phase
    ]
    if current().output != "table":
        return emit(lines)
    for line in lines:
        sys.stdout.write(_human(line))
    if picked.status == "killed":
        note(f"run {picked.run_id} ended without an outcome: it was killed "
             "('flext algar migration run' resumes it)")  # fmt: skip
    return EXIT_OK


def _human(line: dict[str, Any]) -> str:
    return (
        f"{line['time']}  {line['phase'] or '-':<9}  {line['severity']:<7}  {line['code']}  "
        f"{line['dn'] or '-'}  {line['message']}\n"
    )


def _follow(journal: Journal, out: Path, run_id: str | None, phase: str | None) -> int:
    """Print the run's lines as they are recorded until it ends, its process dies, or Ctrl-C."""
    from flext_plugin_algar.journal import fold_into, is_locked, log_lines
    from flext_sdk.cli import EXIT_INTERRUPTED, EXIT_OK, current

    machine = current().output != "table"
    runs: dict[str, RunView] = {}
    version = 0
    read = journal.events()
    if read.is_failure:
        return fail(read)
    for recorded in read.value:
        fold_into(runs, recorded)
    following = run_id
    if following is None and runs:
        last = list(runs.values())[-1]
        if last.status == "open" or not is_locked(out):
            following = last.run_id  # the run going on (or the last one, when none is)
    if run_id is not None and run_id not in runs:
        return _pick(list(runs.values()), run_id)  # type: ignore[return-value]  # always the exit code here
    runs.clear()
    quiet_since_free = False
    try:
        while True:
            read = journal.events(version)
            if read.is_failure:
                return fail(read)
            for recorded in read.value:
                version = recorded.version
                fold_into(runs, recorded)
                event = recorded.event
                owner = getattr(event, "run_id", None)
                if following is None and type(event).__name__ == "RunStarted" and owner is not None:
                    following = owner
                if owner is None or owner != following:
                    continue
                for line in log_lines(event, runs[owner], out):  # type: ignore[arg-type]  # an algar event
                    if phase is None or line["phase"] == phase:
                        sys.stdout.write(
                            json.dumps(line, ensure_ascii=False) + "\n" if machine else _human(line)
                        )
                sys.stdout.flush()
                if runs[owner].status != "open":
                    return EXIT_OK
            if read.value:
                quiet_since_free = False
                continue
            if not is_locked(out):
                if quiet_since_free:  # read once more after the lock went: the last events may be in
                    if following is not None:
                        note(f"run {following} ended without an outcome: it was killed "
                             "('flext algar migration run' resumes it)")  # fmt: skip
                    else:
                        note("no run of this project is going on")
                    return EXIT_OK
                quiet_since_free = True
                continue
            time.sleep(_FOLLOW_POLL)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
