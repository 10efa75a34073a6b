"""The events a migration's runs are recorded as, one stream per project (``algar-<project id>``).

They are what ``run`` resumes from, what ``status`` shows as the checkpoint
and what ``flext algar logs`` prints (``flext events show algar-<id>`` shows
them raw). Every event of a run carries the run id as ``correlation_id`` and
the previous event's id as ``causation_id``. No event holds a secret: the
project's settings are recorded as a digest, never as values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Final

from pydantic import BaseModel, ConfigDict, Field

from flext_sdk import FlextDomainEvent

if TYPE_CHECKING:
    from flext_sdk import FlextEventStore

__all__ = [
    "AGGREGATE_TYPE",
    "EVENT_CLASSES",
    "OWNER",
    "AlgarEvent",
    "FileMark",
    "PhaseCompleted",
    "PhaseStarted",
    "RunCompleted",
    "RunFailed",
    "RunStarted",
    "SyncBatchApplied",
    "register_events",
    "stream_of",
]

OWNER: Final = "algar"
"""The owner the event classes are registered under in a store's codec (the plugin's name)."""
AGGREGATE_TYPE: Final = "algar.Migration"
"""The ``aggregate_type`` of every event: a stream is one migration project."""


def stream_of(project_id: str) -> str:
    """The event stream of a project: ``algar-<project id>``."""
    return f"algar-{project_id}"


class FileMark(BaseModel):
    """What a file was when a phase finished: a later run keeps the phase only if it still is."""

    model_config = ConfigDict(frozen=True)

    size: int
    """Bytes."""
    sha256: str
    """Hex digest of the content."""


class AlgarEvent(FlextDomainEvent):
    """Base: every event names the project directory and the run.

    Each class builds its validator when first used, not at import: a command uses a few of them.
    """

    model_config = ConfigDict(defer_build=True)
    project: str
    """The project directory, as resolved when the run started."""
    run_id: str
    """The run the event belongs to (also its ``correlation_id``)."""


class RunStarted(AlgarEvent):
    """``flext algar migration run`` began (after taking the project's lock)."""

    message_type: ClassVar[str | None] = "algar.RunStarted"
    phases: tuple[str, ...]
    """The phases asked for, in order."""
    resumed_from: str | None = None
    """The run this one resumes: it was killed or interrupted before it ended."""
    kept: tuple[str, ...] = ()
    """Phases of ``resumed_from`` (or of runs it resumed) whose files were unchanged: not run again."""
    inputs: dict[str, str] = Field(default_factory=dict)
    """Digests of what the phases read (the export, the settings and rules that change outputs)."""
    pid: int
    """The process running it."""
    host: str
    """The machine it runs on."""


class PhaseStarted(AlgarEvent):
    """A phase began; phases chained over one read start together."""

    message_type: ClassVar[str | None] = "algar.PhaseStarted"
    phase: str
    """The phase."""
    input: str
    """The file it reads."""


class PhaseCompleted(AlgarEvent):
    """A phase wrote its LDIF, its items and its report (each renamed into place whole)."""

    message_type: ClassVar[str | None] = "algar.PhaseCompleted"
    phase: str
    """The phase."""
    counts: dict[str, int]
    """The report's counts: ``in``, ``out``, ``excluded``, ``failed`` and the phase's own."""
    problems: dict[str, int]
    """Items per severity (``error``, ``warning``, ``info``)."""
    seconds: float
    """How long it took."""
    output: str
    """Its LDIF file (the next phase's input)."""
    size: int
    """The LDIF's size in bytes."""
    sha256: str
    """The LDIF's digest."""
    files: dict[str, FileMark] = Field(default_factory=dict)
    """Every file it wrote (LDIF, items, report, password resets), by name in the output directory."""


class SyncBatchApplied(AlgarEvent):
    """A batch of changes was applied to the target: a resumed sync starts after ``position``."""

    message_type: ClassVar[str | None] = "algar.SyncBatchApplied"
    position: int
    """Entries of the sync's input done so far (the ``resume_from`` of the next sync)."""
    last_dn: str | None = None
    """The last entry of the batch."""
    counts: dict[str, int] = Field(default_factory=dict)
    """What the sync did so far (added, modified, deleted, unchanged...)."""


class RunCompleted(AlgarEvent):
    """Every phase asked for is done."""

    message_type: ClassVar[str | None] = "algar.RunCompleted"
    ran: tuple[str, ...] = ()
    """The phases this run ran."""
    kept: tuple[str, ...] = ()
    """The phases it kept from the run it resumed."""
    seconds: float = 0.0
    """How long the run took."""


class RunFailed(AlgarEvent):
    """The run stopped on a failure (a phase could not run), an interruption or a bug."""

    message_type: ClassVar[str | None] = "algar.RunFailed"
    code: str | None = None
    """The failure's error code (``INTERRUPTED`` for Ctrl-C: such a run is resumed like a killed one)."""
    message: str
    """The one-line error."""
    phase: str | None = None
    """The phase that failed, when one did."""


EVENT_CLASSES: Final[tuple[type[AlgarEvent], ...]] = (
    RunStarted,
    PhaseStarted,
    PhaseCompleted,
    SyncBatchApplied,
    RunCompleted,
    RunFailed,
)
"""Every algar event class."""


def register_events(store: FlextEventStore) -> None:
    """Teach ``store``'s codec the algar events, under the owner ``algar`` (unplugging removes them)."""
    for cls in EVENT_CLASSES:
        if cls not in store.codec:
            store.codec.register(cls, owner=OWNER)
