"""The domain events of delegated Meltano commands, in the stream ``meltano-<project>``.

- ``MeltanoRunStarted``: flext started ``meltano <command> ...`` in a project;
  for ``run``, the blocks it will run (from ``meltano.yml``).
- ``MeltanoStateMoved``: ``flext meltano state export|import`` copied a
  block's state between Meltano and a FLEXT pipeline.
- ``MeltanoRunFinished``: it ended: ``outcome`` (``completed``, ``failed``,
  ``interrupted``), Meltano's exit code, the seconds it took, how many blocks
  Meltano reported complete and the records its loaders counted per stream.

Both carry the run id as ``correlation_id``; the second's ``causation_id`` is
the first's id. Arguments of ``meltano invoke`` are not stored (they may hold
anything a user types), only the plugin invoked.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar, Final

from pydantic import Field

from flext_kernel.messages import FlextDomainEvent

if TYPE_CHECKING:
    from flext_eventsourcing import FlextEventStore

__all__ = [
    "OWNER",
    "MeltanoRunFinished",
    "MeltanoRunStarted",
    "MeltanoStateMoved",
    "register_events",
    "stream_id",
]

OWNER: Final = "meltano"
"""The owner the event classes are registered under (the plugin's name)."""
AGGREGATE_TYPE: Final = "meltano.Project"
_UNSAFE = re.compile(r"[^a-z0-9_-]+")


class MeltanoRunStarted(FlextDomainEvent):
    """flext started a Meltano command in a project."""

    message_type: ClassVar[str | None] = "meltano.RunStarted"

    run_id: str
    """This invocation's id (also the events' correlation id)."""
    project_dir: str
    """The Meltano project's directory."""
    command: str
    """``run``, ``invoke``, ``install`` or ``state``."""
    args: tuple[str, ...] = ()
    """What followed the command (for ``invoke``, only the plugin)."""
    environment: str | None = None
    """The Meltano environment it runs in (None: Meltano's default)."""
    meltano_version: str
    """The pinned Meltano requirement."""
    blocks: tuple[str, ...] = ()
    """For ``run``: each block as ``extractor -> mapping -> loader``."""


class MeltanoRunFinished(FlextDomainEvent):
    """A delegated Meltano command ended."""

    message_type: ClassVar[str | None] = "meltano.RunFinished"

    run_id: str
    """The invocation's id."""
    command: str
    """The Meltano command."""
    outcome: str
    """``completed`` (exit 0), ``failed`` (another exit code) or ``interrupted`` (a signal stopped it)."""
    exit_code: int
    """Meltano's exit code (128 + N when signal N ended it)."""
    elapsed: float
    """Seconds from start to end."""
    blocks_completed: int = 0
    """Blocks Meltano reported as completed (``Block run completed``)."""
    records: dict[str, int] = Field(default_factory=dict)
    """Records the loaders counted, per stream (Meltano SDK ``record_count`` metrics)."""


class MeltanoStateMoved(FlextDomainEvent):
    """``flext meltano state export|import`` copied a block's Singer state between Meltano and FLEXT."""

    message_type: ClassVar[str | None] = "meltano.StateMoved"

    direction: str
    """``export`` (Meltano's system database to the FLEXT pipeline) or ``import`` (the other way)."""
    state_id: str
    """Meltano's state id: ``<environment>:<extractor>-to-<loader>``."""
    pipeline: str
    """The FLEXT pipeline."""
    streams: tuple[str, ...] = ()
    """The streams the state holds bookmarks for."""


def stream_id(project_name: str) -> str:
    """The stream of a project's Meltano runs: ``meltano-<project directory name>``."""
    return f"meltano-{_UNSAFE.sub('-', project_name.lower()).strip('-') or 'project'}"


def register_events(store: FlextEventStore) -> None:
    """Teach ``store``'s codec the Meltano event classes (once per store)."""
    for event_class in (MeltanoRunStarted, MeltanoRunFinished, MeltanoStateMoved):
        if event_class not in store.codec:
            store.codec.register(event_class, owner=OWNER)
