"""A project's journal: its runs as events, read back as the checkpoint a new run resumes from.

- ``project_id`` names the project's stream; it is kept in the output directory,
  so the journal goes with the outputs it describes (a deleted ``out/`` starts
  a new history).
- ``RunLock`` keeps one run of a project at a time; the kernel drops the lock
  of a process that dies, so a lock that is free with a run still open in the
  journal means that run was killed.
- ``Journal`` appends a project's events and folds them into a ``RunView`` per run.
- ``plan_resume`` decides what a new run keeps from the last one, and
  ``JournaledRun`` runs the phases, recording each one.

docs/algar.md ("Runs, resume and logs") says what is kept and why.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Final

from flext_kernel.errors import CONCURRENCY_CONFLICT, INTERNAL_ERROR, INTERRUPTED
from flext_plugin_algar.events import (
    AGGREGATE_TYPE,
    AlgarEvent,
    FileMark,
    PhaseCompleted,
    PhaseStarted,
    RunCompleted,
    RunFailed,
    RunStarted,
    SyncBatchApplied,
    register_events,
    stream_of,
)
from flext_plugin_algar.phases import PHASES, SOURCE_SNAPSHOT, Migration, phase_paths, run_phases, source_path
from flext_sdk import ANY, FlextEventStore, FlextResult, RecordedEvent

if TYPE_CHECKING:
    from flext_plugin_algar.sync import SyncProgress

__all__ = [
    "LOCK_FILE",
    "PROJECT_ID_FILE",
    "Journal",
    "JournaledRun",
    "JournaledSync",
    "Resume",
    "RunLock",
    "RunView",
    "file_marks",
    "fold",
    "fold_into",
    "is_locked",
    "log_lines",
    "phase_files",
    "plan_resume",
    "project_id",
    "run_inputs",
    "span",
    "sync_recorder",
]

PROJECT_ID_FILE: Final = ".algar-project"
"""In the output directory: the project's id, the stream being ``algar-<id>``."""
LOCK_FILE: Final = ".algar.lock"
"""In the output directory: held (``flock``) by the run going on, with its pid inside."""
_LOCK_WAIT: Final = 2.0  # seconds a run waits for a reader's brief probe of the lock to end
SOURCE: Final = "source"
"""The report ``run_phases`` yields first when it reads a live source into its snapshot."""
SYNC: Final = "sync"
"""The phase of ``flext algar migration sync``: a run of it alone is a sync run."""
_READ_WHOLE: Final = frozenset({"validate", "hierarchy"})
"""Phases ``run_phases`` runs alone; it chains the others (a mismatch here only moves ``PhaseStarted``)."""


# -- the project's id and lock -----------------------------------------------------------------------


def project_id(out: Path, *, create: bool) -> str | None:
    """The project's id kept in ``out``; with ``create``, a new one is written (whole) if none is there."""
    path = out / PROJECT_ID_FILE
    with contextlib.suppress(FileNotFoundError):
        text = path.read_text(encoding="utf-8").strip()
        if text:
            return text
    if not create:
        return None
    new = uuid.uuid4().hex
    partial = path.with_name(path.name + ".partial")
    partial.write_text(new + "\n", encoding="utf-8")
    partial.replace(path)
    return new


class RunLock:
    """The project's run lock: an exclusive ``flock`` on ``out/.algar.lock`` for the whole run.

    The kernel releases it when the process ends, however it ends.
    """

    def __init__(self, out: Path) -> None:
        self.path = out / LOCK_FILE
        """The lock file."""
        self._handle: IO[str] | None = None

    def acquire(self) -> FlextResult[None]:
        """Take the lock, or fail with ``CONCURRENCY_CONFLICT`` naming the process that holds it."""
        handle = self.path.open("a+", encoding="utf-8")
        deadline = time.monotonic() + _LOCK_WAIT
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "unknown"
                    handle.close()
                    return FlextResult.fail(
                        f"another run of this project is going on (process {holder}); "
                        "follow it with 'flext algar logs --follow'",
                        error_code=CONCURRENCY_CONFLICT,
                        error_data={"pid": holder},
                    )
                time.sleep(0.02)  # a status or logs probe holds it for microseconds
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return FlextResult.ok(None)

    def release(self) -> None:
        """Let the lock go (closing the file releases it)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.release()


def is_locked(out: Path) -> bool:
    """True while a run of the project holds its lock (a probe: a shared lock taken and let go at once)."""
    try:
        handle = (out / LOCK_FILE).open(encoding="utf-8")
    except FileNotFoundError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


# -- files and inputs ---------------------------------------------------------------------------------


def _digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _base_name(phase: str) -> str:
    """``NN-<phase>``: ``00-source`` for the live source's snapshot, ``08-sync`` for sync."""
    if phase in PHASES:
        return f"{PHASES.index(phase) + 1:02d}-{phase}"
    return Path(SOURCE_SNAPSHOT).stem if phase == SOURCE else f"{len(PHASES) + 1:02d}-{phase}"


def phase_files(out: Path, phase: str) -> list[Path]:
    """The files a finished phase left in ``out``: ``NN-<phase>.*`` but the ``.partial`` ones."""
    prefix = _base_name(phase) + "."
    return sorted(
        path for path in out.glob(prefix + "*") if path.is_file() and not path.name.endswith(".partial")
    )


def file_marks(out: Path, phase: str) -> dict[str, FileMark]:
    """Size and digest of each file of ``phase``, by name."""
    return {
        path.name: FileMark(size=path.stat().st_size, sha256=_digest(path))
        for path in phase_files(out, phase)
    }


def _unchanged(out: Path, marks: Mapping[str, FileMark]) -> bool:
    for name, mark in marks.items():
        path = out / name
        try:
            if path.stat().st_size != mark.size or _digest(path) != mark.sha256:
                return False
        except FileNotFoundError:
            return False
    return bool(marks)


def run_inputs(migration: Migration) -> dict[str, str]:
    """Digests of what decides the phases' outputs: the export, the LDIF settings and the rules.

    A killed run is resumed only if they are the same; the target and its
    credentials do not take part (the LDIF phases do not read them).
    """
    project = migration.project
    settings = {
        "source": project.source.model_dump(mode="json", include={"ldif", "encoding"}),
        "base_dn": project.base_dn.model_dump(mode="json"),
        "output": str(project.output),
    }
    inputs = {
        "settings": hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest(),
        "rules": hashlib.sha256(migration.rules.model_dump_json().encode()).hexdigest(),
    }
    export = source_path(migration)  # the export, or the live source's snapshot once taken
    if export.is_file():
        inputs["export"] = _fingerprint(export)
    return inputs


def _fingerprint(path: Path) -> str:
    return f"{path.stat().st_size}:{_digest(path)}"


def span(phases: Sequence[str]) -> str:
    """``validate..groups`` (or the one phase)."""
    return phases[0] if len(phases) == 1 else f"{phases[0]}..{phases[-1]}"


# -- runs read back ---------------------------------------------------------------------------------


@dataclass
class RunView:
    """One run, folded from its events."""

    run_id: str
    """The run."""
    started_at: datetime
    """When it began."""
    phases: tuple[str, ...]
    """The phases asked for."""
    resumed_from: str | None = None
    """The run it resumed."""
    kept: tuple[str, ...] = ()
    """The phases it kept from ``resumed_from``."""
    inputs: dict[str, str] = field(default_factory=dict)
    """Digests of its inputs (``run_inputs``)."""
    pid: int = 0
    """Its process."""
    status: str = "open"
    """``completed``, ``failed``, ``interrupted``, ``running`` or ``killed`` (``open`` inside ``fold``)."""
    finished_at: datetime | None = None
    """When it ended (None: it is running, or was killed)."""
    started: list[str] = field(default_factory=list)
    """Phases it began."""
    completed: dict[str, PhaseCompleted] = field(default_factory=dict)
    """Phases it finished itself."""
    effective: dict[str, PhaseCompleted] = field(default_factory=dict)
    """Where each phase's files come from: its own completions over those it kept."""
    sync: SyncBatchApplied | None = None
    """Its last sync batch (or, until it applies one, that of the run it resumed)."""
    code: str | None = None
    """A failed run's error code."""
    error: str | None = None
    """A failed run's message."""
    failed_phase: str | None = None
    """The phase a failed run stopped in."""

    @property
    def ended(self) -> bool:
        """True once it recorded how it ended."""
        return self.status in ("completed", "failed", "interrupted")

    @property
    def resumable(self) -> bool:
        """Killed or interrupted: a new run goes on from it."""
        return self.status in ("killed", "interrupted")


class Journal:
    """A project's stream: appends its events (each caused by the one before) and reads its runs back."""

    def __init__(self, store: FlextEventStore, project_id: str, project: Path) -> None:
        register_events(store)
        self.store = store
        """The event store."""
        self.stream = stream_of(project_id)
        """``algar-<project id>``."""
        self.project = str(project)
        """The project directory, as recorded in each event."""
        self._last_event: str | None = None

    def record(self, cls: type[AlgarEvent], run_id: str, **fields: Any) -> FlextResult[None]:
        """Append one event of run ``run_id``."""
        event = cls(
            aggregate_id=self.stream,
            aggregate_type=AGGREGATE_TYPE,
            project=self.project,
            run_id=run_id,
            correlation_id=run_id,
            causation_id=self._last_event,
            metadata={"plugin": "algar"},
            **fields,
        )
        appended = self.store.append(self.stream, [event], ANY)
        if appended.is_failure:
            return FlextResult.fail(appended.error or "", appended.error_code, appended.error_data)
        self._last_event = str(event.event_id)
        return FlextResult.ok(None)

    def events(self, from_version: int = 0) -> FlextResult[list[RecordedEvent]]:
        """The stream's events after ``from_version``, oldest first."""
        return self.store.read_stream(self.stream, from_version)

    def history(self, *, running: bool) -> FlextResult[list[RunView]]:
        """Every run, oldest first; ``running``: whether the project's lock is held by another process."""
        read = self.events()
        if read.is_failure:
            return FlextResult.fail(read.error or "", read.error_code, read.error_data)
        return FlextResult.ok(fold(read.value, running=running))


def fold(recorded: Sequence[RecordedEvent], *, running: bool) -> list[RunView]:
    """The runs of a stream; an open run is ``running`` only if it is the last and the lock is held."""
    runs: dict[str, RunView] = {}
    for item in recorded:
        _fold(runs, item.event, item.event.occurred_at)
    views = list(runs.values())
    for index, view in enumerate(views):
        if view.status == "open":
            view.status = "running" if running and index == len(views) - 1 else "killed"
    return views


def _fold(runs: dict[str, RunView], event: object, when: datetime) -> None:
    if isinstance(event, RunStarted):
        earlier = runs.get(event.resumed_from or "")
        kept = {p: earlier.effective[p] for p in event.kept if earlier and p in earlier.effective}
        runs[event.run_id] = RunView(
            run_id=event.run_id,
            started_at=when,
            phases=event.phases,
            resumed_from=event.resumed_from,
            kept=event.kept,
            inputs=dict(event.inputs),
            pid=event.pid,
            effective=kept,
            sync=earlier.sync if earlier else None,
        )
        return
    run = runs.get(getattr(event, "run_id", ""))
    if run is None:
        return
    if isinstance(event, PhaseStarted):
        run.started.append(event.phase)
    elif isinstance(event, PhaseCompleted):
        run.completed[event.phase] = run.effective[event.phase] = event
    elif isinstance(event, SyncBatchApplied):
        run.sync = event
    elif isinstance(event, RunCompleted):
        run.status, run.finished_at = "completed", when
    elif isinstance(event, RunFailed):
        run.status = "interrupted" if event.code == INTERRUPTED else "failed"
        run.finished_at, run.code, run.error, run.failed_phase = when, event.code, event.message, event.phase


# -- resuming -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resume:
    """What a new run takes over from the last one, which did not end."""

    run_id: str
    """The run resumed."""
    state: str
    """``killed`` or ``interrupted``."""
    kept: tuple[str, ...]
    """Phases whose files are still exactly what that run (or one it resumed) finished: not run again."""
    start: str | None
    """The first phase to run (None: every phase asked for is kept)."""

    def describe(self) -> str:
        """``resuming run R (killed): phases validate..groups done, starting at acl``."""
        done = (
            f"phase {self.kept[0]} done"
            if len(self.kept) == 1
            else f"phases {span(self.kept)} done"
            if self.kept
            else "no phase was done"
        )
        rest = f"starting at {self.start}" if self.start else "nothing left to run"
        return f"resuming run {self.run_id} ({self.state}): {done}, {rest}"


def plan_resume(
    last: RunView | None, asked: Sequence[str], inputs: Mapping[str, str], out: Path
) -> tuple[Resume | None, str | None]:
    """What a run of ``asked`` keeps from ``last``, and a note when ``last`` did not end but is not resumed.

    Kept: the longest run of ``asked``'s first phases that ``last`` finished
    (itself or through the runs it resumed) and whose files are all still
    there, byte for byte. A phase is never kept after one that runs again:
    its input would have changed.
    """
    if last is None or not last.resumable:
        return None, None
    if dict(last.inputs) != dict(inputs):
        return None, (
            f"run {last.run_id} did not end ({last.status}), but the export, the settings or the rules "
            "changed since: starting over"
        )
    kept: list[str] = []
    for phase in asked:
        mark = last.effective.get(phase)
        if mark is None or not _unchanged(out, mark.files):
            break
        kept.append(phase)
    rest = [phase for phase in asked if phase not in kept]
    return Resume(last.run_id, last.status, tuple(kept), rest[0] if rest else None), None


# -- a run --------------------------------------------------------------------------------------------


def _without_userinfo(url: str) -> str:
    """``ldap://host:389``: a ``user:password@`` someone put in the URL never reaches an event."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


_USERINFO = re.compile(r"(?i)\b(ldaps?://)[^/@\s]*@")


def _scrubbed(message: str) -> str:
    """A failure's message with any LDAP URL's ``user:password@`` removed (the message is recorded)."""
    return _USERINFO.sub(r"\1", message)


def _numbers(counts: Mapping[str, Any]) -> dict[str, int]:
    """A report's counts that are numbers (a count a phase could not know is None there)."""
    return {key: value for key, value in counts.items() if isinstance(value, int)}


def _new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def _segments(phases: Sequence[str]) -> list[list[str]]:
    segments: list[list[str]] = []
    for phase in phases:
        if segments and phase not in _READ_WHOLE and segments[-1][-1] not in _READ_WHOLE:
            segments[-1].append(phase)
        else:
            segments.append([phase])
    return segments


class JournaledRun:
    """One run of the LDIF phases, recorded: ``start``, then iterate ``phases``; use as a context manager.

    Leaving the block by an exception records ``RunFailed`` (``INTERRUPTED``
    for Ctrl-C, which a later run resumes like a kill; ``INTERNAL_ERROR``
    with the exception's type otherwise) and lets the exception go on.
    """

    def __init__(
        self, migration: Migration, journal: Journal, asked: Sequence[str], *, refresh_source: bool = False
    ) -> None:
        self.migration = migration
        """The migration."""
        self.journal = journal
        """The project's journal."""
        self.asked = tuple(asked)
        """The phases asked for."""
        self.run_id = _new_run_id()
        """This run's id."""
        self.resume: Resume | None = None
        """What it resumed (set by ``start``)."""
        self.note: str | None = None
        """Why the last run, which did not end, is not resumed (set by ``start``)."""
        self.ran: list[str] = []
        """Phases run so far (``source`` first when a live source was read)."""
        self.refresh_source = refresh_source
        """Read the live source again rather than reuse its snapshot (``run_phases``)."""
        self._started = time.monotonic()
        self._ended = False

    @property
    def kept(self) -> tuple[str, ...]:
        """Phases kept from the run resumed."""
        return self.resume.kept if self.resume else ()

    def start(self, history: Sequence[RunView]) -> FlextResult[None]:
        """Decide what is kept from the last run, discard unfinished files, and record ``RunStarted``."""
        out = self.migration.out
        inputs = run_inputs(self.migration)
        last = next((view for view in reversed(history) if view.phases != (SYNC,)), None)
        self.resume, self.note = plan_resume(last, self.asked, inputs, out)
        if self.resume is not None and self.refresh_source and PHASES[0] in self.asked:
            self.note = f"run {self.resume.run_id} did not end, but the source is read again: starting over"
            self.resume = None
        for phase in self.asked:
            if phase not in self.kept:
                for partial in out.glob(f"{PHASES.index(phase) + 1:02d}-{phase}.*.partial"):
                    partial.unlink(missing_ok=True)  # half-written by a killed run: never taken as done
        for scratch in out.glob(".*.depths"):
            shutil.rmtree(scratch, ignore_errors=True)
        return self.journal.record(
            RunStarted,
            self.run_id,
            phases=self.asked,
            resumed_from=self.resume.run_id if self.resume else None,
            kept=self.kept,
            inputs=inputs,
            pid=os.getpid(),
            host=socket.gethostname(),
        )

    def phases(self) -> Iterator[FlextResult[dict[str, Any]]]:
        """Run what is not kept, yielding each phase's report as it ends; records every step.

        The first failure is recorded (``RunFailed``) and yielded last.
        """
        todo = [phase for phase in self.asked if phase not in self.kept]
        live = self.migration.project.source.url
        for segment in _segments(todo):
            inputs = [(phase, str(phase_paths(self.migration, phase)[0])) for phase in segment]
            if live is not None and segment[0] == PHASES[0]:
                inputs.insert(0, (SOURCE, _without_userinfo(live)))  # read (or its snapshot reused) first
            for phase, source in inputs:
                started = self.journal.record(PhaseStarted, self.run_id, phase=phase, input=source)
                if started.is_failure:
                    yield self._failed(started, phase)
                    return
            for result in run_phases(self.migration, segment, refresh_source=self.refresh_source):
                if result.is_failure:
                    reading = inputs[0][0] == SOURCE and SOURCE not in self.ran  # the server was not read
                    yield self._failed(result, SOURCE if reading else segment[0])
                    return
                done = self._completed(result.value)
                if done.is_failure:
                    yield self._failed(done, result.value["phase"])
                    return
                self.ran.append(result.value["phase"])
                yield result
        self._ended = True
        completed = self.journal.record(
            RunCompleted,
            self.run_id,
            ran=tuple(self.ran),
            kept=self.kept,
            seconds=round(time.monotonic() - self._started, 3),
        )
        if completed.is_failure:
            yield FlextResult.fail(completed.error or "", completed.error_code, completed.error_data)

    def _completed(self, report: dict[str, Any]) -> FlextResult[None]:
        phase = report["phase"]
        output = Path(report["output"])
        marks = file_marks(self.migration.out, phase)
        mark = marks.get(output.name)
        if mark is None:
            return FlextResult.fail(f"{output}: not there after phase {phase}", error_code=INTERNAL_ERROR)
        return self.journal.record(
            PhaseCompleted,
            self.run_id,
            phase=phase,
            counts=_numbers(report["counts"]),
            problems=_numbers(report["problems"]),
            seconds=report["seconds"],
            output=str(output),
            size=mark.size,
            sha256=mark.sha256,
            files=marks,
        )

    def _failed(self, failure: FlextResult[Any], phase: str | None) -> FlextResult[dict[str, Any]]:
        self._ended = True
        self.journal.record(
            RunFailed,
            self.run_id,
            code=failure.error_code,
            message=_scrubbed(failure.error or "failed"),
            phase=phase,
        )  # the run's own failure is what the user sees, even if the store failed too
        return FlextResult.fail(failure.error or "failed", failure.error_code, failure.error_data)

    def __enter__(self) -> JournaledRun:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if error is None or self._ended:
            return
        self._ended = True
        self.journal.record(RunFailed, self.run_id, **_left_by(error))


SyncBatch = Callable[["SyncProgress"], None]
"""What ``run_sync(on_batch=...)`` calls with each ``SyncProgress(position, last_dn, counts)``."""


def sync_recorder(journal: Journal, run_id: str) -> SyncBatch:
    """An ``on_batch`` for ``run_sync`` that records each batch as ``SyncBatchApplied``.

    A batch the store cannot record raises: the sync must stop rather than
    apply batches a resumed sync would apply again.
    """

    def on_batch(progress: SyncProgress) -> None:
        journal.record(
            SyncBatchApplied,
            run_id,
            position=progress.position,
            last_dn=progress.last_dn,
            counts=dict(progress.counts),
        ).unwrap()

    return on_batch


class JournaledSync:
    """One ``sync`` of the output to the target, recorded batch by batch; use as a context manager.

    ``start`` resumes a killed or interrupted sync of the same output to the
    same target: ``run_sync`` is given ``resume_from`` = the last recorded
    batch's position (the entries before it are on the target). A dry run
    never resumes, and is never resumed (its change file must be whole).
    """

    def __init__(self, migration: Migration, journal: Journal, *, dry_run: bool = False) -> None:
        self.migration = migration
        """The migration."""
        self.journal = journal
        """The project's journal."""
        self.dry_run = dry_run
        """Change nothing; write the change records."""
        self.run_id = _new_run_id()
        """This run's id."""
        self.resumed: RunView | None = None
        """The sync run this one resumes (set by ``start``)."""
        self.resume_from = 0
        """Entries of the output already on the target (set by ``start``)."""
        self.note: str | None = None
        """Why the last sync, which did not end, is not resumed (set by ``start``)."""
        self._started = time.monotonic()
        self._ended = False

    def _inputs(self) -> dict[str, str]:
        from flext_plugin_algar.sync import output_ldif

        source = output_ldif(self.migration)
        target = self.migration.project.target
        aim = json.dumps([target.url, target.bind_dn, self.migration.project.base_dn.target])
        return {
            "output": _fingerprint(source) if source.is_file() else "missing",
            "target": hashlib.sha256(aim.encode()).hexdigest(),
            "mode": "dry-run" if self.dry_run else "apply",
        }

    def start(self, history: Sequence[RunView]) -> FlextResult[None]:
        """Decide where to start and record ``RunStarted``."""
        inputs = self._inputs()
        last = next((view for view in reversed(history) if view.phases == (SYNC,)), None)
        if last is not None and last.resumable and not self.dry_run:
            if last.inputs != inputs:
                self.note = (
                    f"sync run {last.run_id} did not end ({last.status}), but the output or the target "
                    "changed since: syncing from the first entry"
                )
            elif last.sync is not None:
                self.resumed, self.resume_from = last, last.sync.position
        return self.journal.record(
            RunStarted,
            self.run_id,
            phases=(SYNC,),
            resumed_from=self.resumed.run_id if self.resumed else None,
            inputs=inputs,
            pid=os.getpid(),
            host=socket.gethostname(),
        )

    def describe(self) -> str:
        """Where the sync starts: ``resuming sync run R (killed): entries 1-20 are on the target (...)``.

        Without a run to resume: ``syncing from the first entry``.
        """
        if self.resumed is None or self.resumed.sync is None:
            return "syncing from the first entry"
        last = self.resumed.sync
        return (
            f"resuming sync run {self.resumed.run_id} ({self.resumed.status}): entries 1-{last.position} "
            f"are on the target (last: {last.last_dn}), starting at entry {last.position + 1}"
        )

    def run(self, on_batch: SyncBatch | None = None) -> FlextResult[dict[str, Any]]:
        """``run_sync`` from where ``start`` said, each batch recorded before ``on_batch`` hears of it."""
        from flext_plugin_algar.sync import output_ldif, run_sync

        source = output_ldif(self.migration)
        started = self.journal.record(PhaseStarted, self.run_id, phase=SYNC, input=str(source))
        if started.is_failure:
            return self._failed(started)
        record = sync_recorder(self.journal, self.run_id)

        def batch(progress: SyncProgress) -> None:
            record(progress)
            if on_batch is not None:
                on_batch(progress)

        counts = (
            self.resumed.sync.counts if self.resumed is not None and self.resumed.sync is not None else None
        )
        result = run_sync(
            self.migration,
            dry_run=self.dry_run,
            resume_from=self.resume_from,
            on_batch=batch,
            resumed_counts=counts,
        )
        if result.is_failure:
            return self._failed(result)
        report = result.value
        output = Path(report["output"])
        recorded = self.journal.record(
            PhaseCompleted,
            self.run_id,
            phase=SYNC,
            counts=_numbers(report["counts"]),
            problems=_numbers(report["problems"]),
            seconds=report["seconds"],
            output=str(output),
            size=output.stat().st_size,
            sha256=_digest(output),
            files=file_marks(self.migration.out, SYNC),
        ).flat_map(
            lambda _: self.journal.record(
                RunCompleted, self.run_id, ran=(SYNC,), seconds=round(time.monotonic() - self._started, 3)
            )
        )
        self._ended = True
        if recorded.is_failure:
            return FlextResult.fail(recorded.error or "", recorded.error_code, recorded.error_data)
        return result

    def _failed(self, failure: FlextResult[Any]) -> FlextResult[dict[str, Any]]:
        self._ended = True
        self.journal.record(
            RunFailed,
            self.run_id,
            code=failure.error_code,
            message=_scrubbed(failure.error or "failed"),
            phase=SYNC,
        )
        return FlextResult.fail(failure.error or "failed", failure.error_code, failure.error_data)

    def __enter__(self) -> JournaledSync:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if error is None or self._ended:
            return
        self._ended = True
        self.journal.record(RunFailed, self.run_id, **_left_by(error), phase=SYNC)


def _left_by(error: BaseException) -> dict[str, str]:
    """The ``RunFailed`` code and message of a run left by an exception (Ctrl-C, or a bug)."""
    if isinstance(error, KeyboardInterrupt):
        return {"code": INTERRUPTED, "message": "interrupted"}
    return {"code": INTERNAL_ERROR, "message": _scrubbed(f"{type(error).__name__}: {error}")}


# -- logs ---------------------------------------------------------------------------------------------


def fold_into(runs: dict[str, RunView], recorded: RecordedEvent) -> None:
    """Fold one more event into ``runs`` (an open run stays ``open``: ``fold`` settles it)."""
    _fold(runs, recorded.event, recorded.event.occurred_at)


def log_lines(event: AlgarEvent, run: RunView, out: Path) -> Iterator[dict[str, Any]]:
    """What ``flext algar logs`` prints for one event of ``run``: its line, then any phase items it brings.

    Each line is ``{time, run_id, phase, severity, code, dn, message}``; a
    ``PhaseCompleted`` (or a ``RunStarted`` that kept phases) brings those
    phases' items, read from their items files if these are still the ones the
    phase wrote.
    """
    when = _time(event.occurred_at)
    yield _line(when, run.run_id, getattr(event, "phase", None), _severity(event), _kind(event), _says(event))
    if isinstance(event, RunStarted):
        for phase in event.kept:
            mark = run.effective.get(phase)
            if mark is None:
                continue
            yield _line(
                when, run.run_id, phase, "info", "PhaseKept", f"kept from run {mark.run_id}: {_counts(mark)}"
            )
            yield from _items(mark, run.run_id, out, _time(mark.occurred_at))
    elif isinstance(event, PhaseCompleted):
        yield from _items(event, run.run_id, out, when)


def _line(
    when: str, run_id: str, phase: str | None, severity: str, kind: str, message: str, dn: str | None = None
) -> dict[str, Any]:
    return {
        "time": when,
        "run_id": run_id,
        "phase": phase,
        "severity": severity,
        "code": kind,
        "dn": dn,
        "message": message,
    }


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _kind(event: AlgarEvent) -> str:
    if isinstance(event, RunFailed) and event.code:
        return event.code
    return type(event).__name__


def _severity(event: AlgarEvent) -> str:
    if isinstance(event, RunFailed):
        return "warning" if event.code == INTERRUPTED else "error"
    return "info"


def _counts(event: PhaseCompleted) -> str:
    counts, problems = event.counts, event.problems
    return (
        f"{counts.get('in', 0)} in, {counts.get('out', 0)} out, {counts.get('excluded', 0)} excluded, "
        f"{counts.get('failed', 0)} failed; {problems.get('error', 0)} errors, "
        f"{problems.get('warning', 0)} warnings ({event.seconds:g} s)"
    )


def _says(event: AlgarEvent) -> str:
    if isinstance(event, RunStarted):
        said = f"run started: {span(event.phases)} (process {event.pid} on {event.host})"
        if event.resumed_from:
            kept = f"kept {span(event.kept)}" if event.kept else "kept nothing"
            said += f"; resumes run {event.resumed_from}: {kept}"
        return said
    if isinstance(event, PhaseStarted):
        return f"reading {event.input}"
    if isinstance(event, PhaseCompleted):
        return f"{_counts(event)} -> {event.output}"
    if isinstance(event, SyncBatchApplied):
        counts = ", ".join(f"{key} {value}" for key, value in sorted(event.counts.items()))
        return f"applied up to entry {event.position} ({event.last_dn or '-'}): {counts}"
    if isinstance(event, RunCompleted):
        ran = span(event.ran) if event.ran else "nothing"
        kept = f", kept {span(event.kept)}" if event.kept else ""
        return f"run completed: ran {ran}{kept} ({event.seconds:g} s)"
    if isinstance(event, RunFailed):
        return f"run failed: {event.message}"
    return type(event).__name__


def _items(mark: PhaseCompleted, run_id: str, out: Path, when: str) -> Iterator[dict[str, Any]]:
    name = next((name for name in mark.files if name.endswith(".items.jsonl")), None)
    if name is None:
        return
    if not _unchanged(out, {name: mark.files[name]}):
        yield _line(
            when, run_id, mark.phase, "info", "ItemsReplaced",
            f"{out / name} is no longer this run's (a later run wrote it, or it is gone): "
            f"'flext algar logs --run' with the later run shows its items",
        )  # fmt: skip
        return
    with (out / name).open(encoding="utf-8") as handle:
        for text in handle:
            item = json.loads(text)
            message = str(item.get("message", ""))
            if item.get("line") is not None:
                message += f" (line {item['line']})"
            yield _line(
                when, run_id, mark.phase, str(item.get("severity", "info")), str(item.get("code", "")),
                message, item.get("dn"),
            )  # fmt: skip
