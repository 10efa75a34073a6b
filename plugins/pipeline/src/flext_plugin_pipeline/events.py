"""The events a pipeline's life is recorded as, one stream per pipeline (``pipeline-<name>``).

They are the source of truth for ``flext pipeline status``, ``history`` and
the state a run resumes from: a ``StateCheckpointed`` is written only for a
state the target confirmed, so the latest one is always safe to resume from.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ConfigDict, Field

from flext_sdk import FlextDomainEvent

__all__ = [
    "EVENT_CLASSES",
    "PipelineRegistered",
    "PipelineRemoved",
    "PipelineRunCompleted",
    "PipelineRunFailed",
    "PipelineRunStarted",
    "PipelineRunStopped",
    "StateCheckpointed",
    "StreamProgress",
    "stream_of",
]

AGGREGATE_TYPE = "pipeline"


def stream_of(pipeline: str) -> str:
    """The event stream of a pipeline."""
    return f"pipeline-{pipeline}"


class PipelineEvent(FlextDomainEvent):
    """Base: every pipeline event names its pipeline (and, for runs, the run).

    Each event class builds its validator when it is first used, not when this
    module is imported: a run uses a few of them, and the bases none.
    """

    model_config = ConfigDict(defer_build=True)
    pipeline: str


class PipelineRegistered(PipelineEvent):
    """``flext pipeline create`` (or ``update``) stored a definition."""

    message_type: ClassVar[str | None] = "pipeline.Registered"
    tap: str
    target: str
    source: str
    replaced: bool = False
    """An update: the pipeline was registered already and its definition was replaced."""


class PipelineRemoved(PipelineEvent):
    """``flext pipeline remove`` deleted the registered definition (its runs stay in the stream)."""

    message_type: ClassVar[str | None] = "pipeline.Removed"
    base_dir: str | None = None
    """The directory of the file the definition was registered from."""


class _RunEvent(PipelineEvent):
    run_id: str


class PipelineRunStarted(_RunEvent):
    """A run (one attempt) began."""

    message_type: ClassVar[str | None] = "pipeline.RunStarted"
    attempt: int = 1
    full_refresh: bool = False
    resumed_from_state: bool = False
    pid: int
    background: bool = False


class StreamProgress(_RunEvent):
    """Records read so far, per stream (written every few seconds while a run goes)."""

    message_type: ClassVar[str | None] = "pipeline.StreamProgress"
    records: dict[str, int]
    elapsed: float


class StateCheckpointed(_RunEvent):
    """The target confirmed it has written everything up to this Singer state."""

    message_type: ClassVar[str | None] = "pipeline.StateCheckpointed"
    state: dict[str, Any]


class PipelineRunCompleted(_RunEvent):
    """The run loaded everything (and its transform, if any, succeeded)."""

    message_type: ClassVar[str | None] = "pipeline.RunCompleted"
    records: dict[str, int]
    elapsed: float
    transform: dict[str, Any] | None = None


class PipelineRunFailed(_RunEvent):
    """The run failed; ``will_retry`` says whether another attempt follows."""

    message_type: ClassVar[str | None] = "pipeline.RunFailed"
    error: str
    code: str | None = None
    stderr_tail: list[str] = Field(default_factory=list)
    records: dict[str, int] = Field(default_factory=dict)
    elapsed: float = 0.0
    will_retry: bool = False


class PipelineRunStopped(_RunEvent):
    """Someone stopped the run; ``forced`` when a process had to be killed."""

    message_type: ClassVar[str | None] = "pipeline.RunStopped"
    records: dict[str, int] = Field(default_factory=dict)
    elapsed: float = 0.0
    forced: bool = False
    state: dict[str, Any] | None = None
    """Where the next run resumes: the last state a target confirmed (None: from the start)."""
    during: str | None = None
    """The step the stop ended: ``extract-load`` (tap, mappers, target) or ``transform`` (dbt)."""
    error: str | None = None
    """For a forced stop, what had to be killed (the engine's message)."""


EVENT_CLASSES: tuple[type[FlextDomainEvent], ...] = (
    PipelineRegistered,
    PipelineRemoved,
    PipelineRunStarted,
    StreamProgress,
    StateCheckpointed,
    PipelineRunCompleted,
    PipelineRunFailed,
    PipelineRunStopped,
)
