"""The pipeline plugin's contract: a pipeline's Singer state, read and set by other plugins.

A pipeline resumes from the latest state its target confirmed, kept in the
pipeline's journal in an event store. Other plugins move that state (the
meltano plugin between Meltano's system database and FLEXT) or show it (the
gruponos plugin's lag per entity) without importing the pipeline plugin:
they ask ``GetPipelineState`` on the query bus and dispatch
``SetPipelineState`` on the command bus, both handled by the ``pipeline``
plugin. ``require_handler(kernel, GetPipelineState, why=...)`` says first
whether that plugin is there.

Both name the event store to work on (``store``): the one the caller opened,
in-process only (it is not serialized, like ``RunDbt``'s callbacks). The
answers: ``FlextResult[dict | None]`` (None: the pipeline starts from
scratch) and ``FlextResult[str]`` (the id of the checkpoint recorded); a
pipeline that was never registered in that store is ``NOT_FOUND``.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field, InstanceOf, JsonValue
from pydantic.json_schema import SkipJsonSchema

from flext_eventsourcing import FlextEventStore
from flext_kernel.messages import FlextCommand, FlextQuery
from flext_sdk.contracts._providers import provided_by

__all__ = ["GetPipelineState", "SetPipelineState"]


@provided_by("pipeline", distribution="flext-plugin-pipeline")
class GetPipelineState(FlextQuery):
    """The state the pipeline's next run resumes from; answered with ``dict | None``."""

    model_config = ConfigDict(defer_build=True)

    pipeline: str
    """The pipeline's name."""
    store: SkipJsonSchema[InstanceOf[FlextEventStore]] = Field(exclude=True, repr=False)
    """The event store holding the pipeline's journal (in-process only)."""


@provided_by("pipeline", distribution="flext-plugin-pipeline")
class SetPipelineState(FlextCommand):
    """Make ``state`` the one the pipeline's next run resumes from; answered with the checkpoint's id."""

    model_config = ConfigDict(defer_build=True)

    pipeline: str
    """The pipeline's name (it must be registered: its journal exists)."""
    state: dict[str, JsonValue]
    """A Singer state (``{"bookmarks": {...}}``)."""
    source: str = Field(min_length=1)
    """Where the state comes from (``meltano:dev:tap-ldif-to-target-sqlite``): kept with the checkpoint."""
    store: SkipJsonSchema[InstanceOf[FlextEventStore]] = Field(exclude=True, repr=False)
    """The event store holding the pipeline's journal (in-process only)."""
