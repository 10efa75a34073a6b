"""The scheduler: claims due slots in the event store and runs their jobs, with an injected clock.

One ``step`` reads what changed in the store, records the firings whose
process ended, and for each schedule whose previous firing is over asks
``planning.plan`` what is due at ``clock.now()``. A due slot is claimed
first (``SlotClaimed`` appended at the stream version it was planned on);
only a scheduler whose claim was appended starts the job. A claim that
conflicts means another scheduler (or a ``run-due``) acted first: the
state is read again and planned again. A scheduler killed after its claim
never runs that slot again (and no other does): a slot runs at most once.

``run`` loops until stopped: it sleeps on the clock until the next slot
(at most ``IDLE`` seconds, to see schedules added meanwhile), or, while
jobs run, polls them in real time. Stopped, it asks each running job to
stop (SIGTERM), waits for it, and records how it ended. ``run_due`` runs
what is due now, waits for it, and returns.

Each firing is one action with a correlation id of its own (a new one per
claim, not the run id, which stays in ``run_id``): its claim, start and end
events carry it, its job gets it as ``FLEXT_CORRELATION_ID``, so the run
events and log lines of the pipeline it starts carry it too.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from flext_kernel.correlation import correlation_scope, new_correlation_id
from flext_kernel.errors import CONCURRENCY_CONFLICT
from flext_plugin_scheduler.book import ScheduleBook, ScheduleState
from flext_plugin_scheduler.events import (
    AGGREGATE_TYPE,
    FiringFinished,
    FiringStarted,
    SlotClaimed,
    SlotsSkipped,
    stream_of,
)
from flext_plugin_scheduler.firing import Ended, Launcher, RunningJob, command_of, required_plugin
from flext_plugin_scheduler.planning import Claim, Skip, next_due, plan
from flext_sdk import FlextResult

if TYPE_CHECKING:
    from flext_plugin_scheduler.clock import Clock, StopFlag
    from flext_plugin_scheduler.events import ScheduleEvent
    from flext_sdk import FlextKernel

__all__ = ["IDLE", "Firing", "Scheduler", "claimant_alive", "identity"]

IDLE: Final = 5.0
"""Longest sleep between two looks at the store, so a schedule added meanwhile is seen."""
_POLL: Final = 0.2
"""Seconds between two looks at running jobs."""
STOP_WAIT: Final = 120.0
"""Seconds a stopped job has to end cleanly before its processes are killed."""
_ATTEMPTS: Final = 5
"""How often a schedule is planned again after a conflicting append, in one step."""


def identity() -> str:
    """``host:pid`` of this process: who claimed a slot."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claimant_alive(claimed_by: str) -> bool | None:
    """Whether the claimant ``host:pid`` still runs: None when it is on another host (unknowable here)."""
    host, _, pid = claimed_by.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Firing:
    """A claimed slot whose job this scheduler runs."""

    claim: SlotClaimed
    """The claim."""
    job: RunningJob
    """The child process."""


class Scheduler:
    """Claims and fires the schedules of one event store."""

    def __init__(
        self,
        book: ScheduleBook,
        kernel: FlextKernel,
        clock: Clock,
        *,
        launcher: Launcher | None = None,
        report: Callable[[str], None] | None = None,
    ) -> None:
        self.book = book
        """The schedules' streams."""
        self.kernel = kernel
        """The running kernel (which plugins run: a firing's command needs its plugin)."""
        self.clock = clock
        """Now, and sleeping."""
        self.launcher = launcher or Launcher()
        """Starts the jobs."""
        self.report = report or (lambda line: None)
        """Where one line per claim, start and end goes (the scheduler's log)."""
        self.identity = identity()
        """``host:pid``, written in each claim."""
        self.running: dict[str, Firing] = {}
        """The firings this scheduler runs, by schedule."""
        self.finished: list[FiringFinished] = []
        """Every firing that ended in this scheduler, in order."""

    def step(self, until: datetime | None = None) -> FlextResult[int]:
        """Read the store, record ended jobs, claim and start what is due now (and not after ``until``)."""
        refreshed = self.book.refresh()
        if refreshed.is_failure:
            return FlextResult.fail(refreshed.error or "", error_code=refreshed.error_code)
        self.reap()
        started = 0
        for state in self.book.states():
            if state.name in self.running or self._busy_elsewhere(state):
                continue
            fired = self._fire(state, until)
            if fired.is_failure:
                return fired
            started += fired.value
        return FlextResult.ok(started)

    def run(self, stop: StopFlag) -> FlextResult[None]:
        """Fire schedules until ``stop`` is set; then stop the running jobs and record how they ended."""
        while not stop.is_set():
            stepped = self.step()
            if stepped.is_failure:
                self.report(f"error: {stepped.error} ({stepped.error_code}); trying again")
            if stop.is_set():
                break
            if self.running:
                self.wait_jobs(stop, _POLL)
            else:
                pause = self.seconds_to_next()  # 0: a slot is due, but its schedule runs elsewhere
                self.clock.sleep(pause if pause > 0 else _POLL, stop)
        return self.shutdown()

    def run_due(self, stop: StopFlag) -> FlextResult[list[FiringFinished]]:
        """Run what is due now (under ``all``, every missed slot, in turn), wait for it, and return.

        Slots that come due while it runs are left to the next run: it ends.
        """
        until = self.clock.now()
        while not stop.is_set():
            stepped = self.step(until)
            if stepped.is_failure:
                self.shutdown()
                return FlextResult.fail(stepped.error or "", error_code=stepped.error_code)
            if not self.running and not stepped.value:
                break
            self.wait_jobs(stop, _POLL)
        shut = self.shutdown()
        if shut.is_failure:
            return FlextResult.fail(shut.error or "", error_code=shut.error_code)
        return FlextResult.ok(self.finished)

    def shutdown(self) -> FlextResult[None]:
        """Ask every running job to stop, wait for each, and record how it ended."""
        for firing in self.running.values():
            firing.job.stop()
        deadline = time.monotonic() + STOP_WAIT
        while self.running:
            if time.monotonic() > deadline:
                for firing in self.running.values():
                    firing.job.kill()
            time.sleep(_POLL)
            self.reap()
        return FlextResult.ok(None)

    def wait_jobs(self, stop: StopFlag, seconds: float) -> None:
        """Wait in real time (jobs run in real time, whatever the clock) for a job to end, or ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not stop.is_set():
            if any(firing.job.poll() is not None for firing in self.running.values()):
                return
            stop.wait(0.02)

    def seconds_to_next(self) -> float:
        """Seconds from now to the next slot of any schedule (at most ``IDLE``; 0 if one is due)."""
        now = self.clock.now()
        slots = [due for state in self.book.states() if (due := next_due(state, now)) is not None]
        if not slots:
            return IDLE
        return max(0.0, min(IDLE, (min(slots) - now).total_seconds()))

    def reap(self) -> None:
        """Record the end of every job that exited."""
        for name, firing in list(self.running.items()):
            if firing.job.poll() is None:
                continue
            del self.running[name]
            self._finish(firing.claim, firing.job.ended())

    def _busy_elsewhere(self, state: ScheduleState) -> bool:
        """A claim of this schedule is still running in another live scheduler of this host."""
        for claim in state.open_claims.values():
            if claim.claimed_by != self.identity and claimant_alive(claim.claimed_by):
                return True
        return False

    def _fire(self, state: ScheduleState, until: datetime | None) -> FlextResult[int]:
        """Claim what is due for ``state`` (not after ``until``) and start it (1), or do nothing (0)."""
        for _attempt in range(_ATTEMPTS):
            now = self.clock.now()
            decision = plan(state, now if until is None else min(now, until))
            if decision is None:
                return FlextResult.ok(0)
            recorded = self._decide(state, decision)
            if recorded.is_success:
                return self._start(state, recorded.value) if recorded.value else FlextResult.ok(0)
            if recorded.error_code != CONCURRENCY_CONFLICT:
                return FlextResult.fail(recorded.error or "", error_code=recorded.error_code)
            refreshed = self.book.refresh()  # someone else appended: plan on what is there now
            if refreshed.is_failure:
                return FlextResult.fail(refreshed.error or "", error_code=refreshed.error_code)
            if self.book.get(state.name) is None or self._busy_elsewhere(state):
                return FlextResult.ok(0)
        return FlextResult.ok(0)

    def _decide(self, state: ScheduleState, decision: Claim | Skip) -> FlextResult[SlotClaimed | None]:
        """Append the claim (or the skip) at the version it was planned on."""
        common: dict[str, Any] = {"aggregate_id": stream_of(state.name), "aggregate_type": AGGREGATE_TYPE}
        if isinstance(decision, Skip):
            skipped = SlotsSkipped(
                **common,
                schedule=state.name,
                first=decision.first,
                last=decision.last,
                count=decision.count,
                claimed_by=self.identity,
            )
            appended = self.book.append(state, skipped)
            if appended.is_success:
                last = _iso(decision.last)
                self.report(f"{state.name}: skipped {decision.count} missed slot(s) up to {last}")
            return appended.map(lambda _none: None)
        run_id = uuid.uuid4().hex[:16]
        claim = SlotClaimed(
            **common,
            schedule=state.name,
            slot=decision.slot,
            run_id=run_id,
            correlation_id=new_correlation_id(),  # the firing's own action, not the scheduler's
            claimed_by=self.identity,
            claimed_at=self.clock.now(),
            missed=decision.missed,
            missed_first=decision.missed_first,
        )
        return self.book.append(state, claim).map(lambda _none: claim)

    def _start(self, state: ScheduleState, claim: SlotClaimed) -> FlextResult[int]:
        """Start the claimed slot's job; a job that cannot start is recorded as failed."""
        definition = state.definition
        assert definition is not None, "a claimed schedule has a definition"
        missed = f" ({claim.missed} earlier missed slot(s) not run)" if claim.missed else ""
        self.report(
            f"{state.name}: slot {_iso(claim.slot)} due, firing {claim.run_id}{missed}, "
            f"correlation id {_correlation_of(claim)}"
        )
        with correlation_scope(_correlation_of(claim)):  # a failure made here keeps the firing's id
            launched = required_plugin(self.kernel, definition).flat_map(
                lambda _none: self.launcher.start(definition, claim.run_id, _correlation_of(claim))
            )
        if launched.is_failure:
            hint = launched.error_data.get("hint")
            why = Ended(
                "failed", None, launched.error, launched.error_code, hint if isinstance(hint, str) else None
            )
            self._finish(claim, why)
            return FlextResult.ok(1)
        job = launched.value
        self._record(
            claim,
            FiringStarted,
            slot=claim.slot,
            pid=job.pid,
            command=command_of(definition),
            started_at=self.clock.now(),
            log=str(job.log),
        )
        self.running[state.name] = Firing(claim, job)
        return FlextResult.ok(1)

    def _finish(self, claim: SlotClaimed, ended: Ended) -> None:
        finished = self._record(
            claim,
            FiringFinished,
            slot=claim.slot,
            outcome=ended.outcome,
            exit_code=ended.exit_code,
            error=ended.error,
            code=ended.code,
            hint=ended.hint,
            finished_at=self.clock.now(),
        )
        if isinstance(finished, FiringFinished):
            self.finished.append(finished)
        why = f": {ended.error} ({ended.code})" if ended.outcome == "failed" else ""
        self.report(f"{claim.schedule}: firing {claim.run_id} {ended.outcome}{why}")

    def _record(self, claim: SlotClaimed, cls: type[ScheduleEvent], **fields: Any) -> ScheduleEvent | None:
        """Append a firing's event after its claim (no version check: the claim already decided)."""
        fields.update(
            aggregate_id=stream_of(claim.schedule),
            aggregate_type=AGGREGATE_TYPE,
            schedule=claim.schedule,
            run_id=claim.run_id,
            correlation_id=_correlation_of(claim),
            causation_id=str(claim.event_id),
        )
        event = cls(**fields)
        state = self.book.get(claim.schedule) or ScheduleState(claim.schedule)
        appended = self.book.append(state, event, checked=False)
        if appended.is_failure:
            self.report(f"error: could not record {cls.__name__} of {claim.run_id}: {appended.error}")
            return None
        return event


def _correlation_of(claim: SlotClaimed) -> str:
    """The firing's correlation id (a claim recorded before firings had their own: its run id)."""
    return claim.correlation_id or claim.run_id


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
