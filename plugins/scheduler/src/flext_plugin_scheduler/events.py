"""The events a schedule's life is recorded as: one stream per schedule, plus an index of names.

``schedule-<name>`` holds the definition (``ScheduleAdded``, ``ScheduleRemoved``)
and every firing: ``SlotClaimed`` (the slot is due and one scheduler takes
it, appended at the stream version that scheduler read, so of two only one
succeeds), ``SlotsSkipped`` (missed slots the catch-up policy does not run),
``FiringStarted`` and ``FiringFinished``. The ``schedules`` stream lists the
names that ever had a schedule, so a scheduler finds them without reading
the whole store; which of them are live is decided by their own streams.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AwareDatetime, ConfigDict, Field

from flext_sdk import FlextDomainEvent

__all__ = [
    "AGGREGATE_TYPE",
    "EVENT_CLASSES",
    "INDEX_STREAM",
    "CatchUp",
    "FiringFinished",
    "FiringStarted",
    "JobKind",
    "Outcome",
    "ScheduleAdded",
    "ScheduleEvent",
    "ScheduleIndexed",
    "ScheduleRemoved",
    "SlotClaimed",
    "SlotsSkipped",
    "stream_of",
]

AGGREGATE_TYPE = "schedule"
"""The ``aggregate_type`` of every schedule event."""
INDEX_STREAM = "schedules"
"""The stream of ``ScheduleIndexed`` events: every name that ever had a schedule."""

CatchUp = Literal["none", "latest", "all"]
"""What a scheduler does with slots that were due while no scheduler ran."""
JobKind = Literal["pipeline", "meltano-job", "command"]
"""What a firing runs: ``flext pipeline run P`` or ``flext meltano run J``."""
Outcome = Literal["completed", "failed", "stopped"]
"""How a firing ended."""


def stream_of(schedule: str) -> str:
    """The event stream of a schedule."""
    return f"schedule-{schedule}"


class ScheduleEvent(FlextDomainEvent):
    """Base: every schedule event names its schedule (validators are built on first use)."""

    model_config = ConfigDict(defer_build=True)
    schedule: str
    """The schedule's name."""


class ScheduleIndexed(ScheduleEvent):
    """A name got its first schedule (the ``schedules`` stream; never removed)."""

    message_type: ClassVar[str | None] = "schedule.Indexed"


class ScheduleAdded(ScheduleEvent):
    """``flext schedule add``: the definition; slots after ``since`` are due."""

    message_type: ClassVar[str | None] = "schedule.Added"
    cron: str
    """The cron expression (croniter syntax: 5 fields, an optional 6th for seconds)."""
    timezone: str = "UTC"
    """The IANA time zone the expression is read in."""
    catch_up: CatchUp = "latest"
    """What to do with slots missed while no scheduler ran."""
    job_kind: JobKind
    """What a firing runs."""
    job: str
    """The pipeline's or the Meltano job's name, or (``command``) the FLEXT command line after ``flext``."""
    directory: str
    """Where the job runs: the directory ``flext schedule add`` ran in (its project, for pipelines)."""
    full_refresh: bool = False
    """A pipeline job runs ``flext pipeline run P --full-refresh`` (a scheduled reload)."""
    since: AwareDatetime
    """When it was added: the first slot due is the first after this."""
    source: str | None = None
    """Who added it through ``AddSchedule`` (``meltano:<meltano.yml>``); None: ``flext schedule add``."""


class ScheduleRemoved(ScheduleEvent):
    """``flext schedule remove``: no more firings (the stream keeps its history)."""

    message_type: ClassVar[str | None] = "schedule.Removed"


class SlotClaimed(ScheduleEvent):
    """A slot is due and the scheduler ``claimed_by`` runs it (the "slot due" event).

    Appended at the stream version its scheduler read: a second scheduler
    that read the same version fails with ``CONCURRENCY_CONFLICT`` and runs
    nothing, so a slot is claimed, and run, at most once.
    """

    message_type: ClassVar[str | None] = "schedule.SlotClaimed"
    slot: AwareDatetime
    """The slot (the cron time, in UTC)."""
    run_id: str
    """The firing's id (its log file's name; the pipeline run it starts has its own run id).

    The firing's events carry a ``correlation_id`` of their own, new per claim: the id its job
    runs under (``FLEXT_CORRELATION_ID``).
    """
    claimed_by: str
    """``host:pid`` of the scheduler that claimed it."""
    claimed_at: AwareDatetime
    """The scheduler's clock when it claimed it."""
    missed: int = 0
    """Earlier slots that were due and are not run (the ``latest`` policy), counted up to a cap."""
    missed_first: AwareDatetime | None = None
    """The first of them."""


class SlotsSkipped(ScheduleEvent):
    """Slots that were due while no scheduler ran and that the ``none`` policy does not run."""

    message_type: ClassVar[str | None] = "schedule.SlotsSkipped"
    first: AwareDatetime
    """The first skipped slot."""
    last: AwareDatetime
    """The last skipped slot: the next one due comes after it."""
    count: int
    """How many (counted up to a cap)."""
    claimed_by: str
    """``host:pid`` of the scheduler that recorded it."""


class FiringStarted(ScheduleEvent):
    """The claimed slot's job process started."""

    message_type: ClassVar[str | None] = "schedule.FiringStarted"
    slot: AwareDatetime
    run_id: str
    pid: int
    """The job process."""
    command: list[str]
    """What it runs, from ``flext`` on (``["pipeline", "run", "P"]``)."""
    started_at: AwareDatetime
    """The scheduler's clock when it started."""
    log: str
    """The file its output goes to."""


class FiringFinished(ScheduleEvent):
    """The firing ended: its outcome, and why for one that failed."""

    message_type: ClassVar[str | None] = "schedule.FiringFinished"
    slot: AwareDatetime
    run_id: str
    outcome: Outcome
    exit_code: int | None = None
    """The job process's exit code (None: it never started)."""
    error: str | None = None
    """Why it failed, in one line."""
    code: str | None = None
    """The error code (the job's own, or ``FIRING_FAILED``, ``NOT_FOUND``, ...)."""
    hint: str | None = None
    """What to do about it, when the failure says (install or enable a plugin, ...)."""
    finished_at: AwareDatetime = Field(description="The scheduler's clock when it ended.")


EVENT_CLASSES: tuple[type[ScheduleEvent], ...] = (
    ScheduleIndexed,
    ScheduleAdded,
    ScheduleRemoved,
    SlotClaimed,
    SlotsSkipped,
    FiringStarted,
    FiringFinished,
)
"""Every schedule event class, registered with the store's codec (owner ``scheduler``)."""
