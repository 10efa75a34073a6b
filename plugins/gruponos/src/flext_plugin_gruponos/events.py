"""What a GrupoNos deployment records: each ``pipeline deploy``, in the stream ``gruponos-<name>``.

A ``Deployed`` event says who deployed, from which host and project, what
changed (pipelines created or updated, schedules added, changed or removed),
the unified diff of every definition against the one deployed before, and
the definitions and schedules as deployed: the next deploy diffs against the
latest event, so the event stream is the record of what is live. Definitions
hold secrets only as ``${VAR}`` references.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict, Field

from flext_sdk import FlextDomainEvent

__all__ = ["AGGREGATE_TYPE", "EVENT_CLASSES", "Deployed", "stream_of"]

AGGREGATE_TYPE = "gruponos"


def stream_of(name: str) -> str:
    """The event stream of a deployment."""
    return f"gruponos-{name}"


class Deployed(FlextDomainEvent):
    """``flext gruponos pipeline deploy`` made the pipeline and its schedules match ``gruponos.yaml``."""

    model_config = ConfigDict(defer_build=True)
    message_type: ClassVar[str | None] = "gruponos.Deployed"
    deployment: str
    """The deployment's ``name``."""
    deployed_by: str
    """The operating-system user who ran the deploy."""
    host: str
    project: str
    """The project directory (where ``gruponos.yaml`` and the pipelines are)."""
    changes: list[str] = Field(default_factory=list)
    """One line per change, e.g. ``schedule gruponos-reload added (5 2 * * 0 UTC, full refresh)``."""
    diff: str = ""
    """Unified diff of the definitions against the previous deploy's."""
    definitions: dict[str, str] = Field(default_factory=dict)
    """The pipeline's definition (YAML text) as deployed, by name."""
    schedules: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Each schedule as deployed: ``{"cron", "pipeline", "timezone", "run"}`` (``run``: ``incremental``
    or ``full refresh``)."""


EVENT_CLASSES: tuple[type[FlextDomainEvent], ...] = (Deployed,)
"""Registered in the store's codec (owner ``gruponos``) before anything is read or appended."""
