"""The ``pipeline`` plugin: declares its commands; loading it imports nothing else."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flext_sdk import CommandEntry, GroupEntry, PluginManifest, hookimpl

if TYPE_CHECKING:
    from flext_sdk import FlextProjection

__all__ = ["NAME", "flext_projections", "manifest"]

NAME = "pipeline"
"""The plugin's name."""

_CLI = "flext_plugin_pipeline.pipeline_cli"

_COMMANDS = (
    (("pipeline", "create"), "create", "Validate a pipeline definition and register it."),
    (("pipeline", "update"), "update", "Validate a pipeline definition and replace the registered one."),
    (("pipeline", "remove"), "remove", "Remove a registered pipeline (its runs stay in the history)."),
    (("pipeline", "list"), "list_pipelines", "List the registered pipelines."),
    (("pipeline", "run"), "run", "Run a pipeline in the foreground."),
    (("pipeline", "start"), "start", "Start a pipeline in the background."),
    (("pipeline", "stop"), "stop", "Stop a running pipeline (gracefully, then by force)."),
    (("pipeline", "status"), "status", "Show the state of the pipelines."),
    (("pipeline", "history"), "history", "List a pipeline's runs."),
    (("pipeline", "logs"), "logs", "Print (or follow) a run's log."),
    (("data", "pipeline", "create"), "create", "Same as 'flext pipeline create' (an alias)."),
)

manifest = PluginManifest(
    name=NAME,
    version="0.1.0",
    description="Define, run, stop and inspect data pipelines (Singer taps and targets, dbt)",
    requires=("eventsourcing", "singer"),
    commands=tuple(
        CommandEntry(path=path, target=f"{_CLI}:{attribute}", help=text)
        for path, attribute, text in _COMMANDS
    ),
    groups=(
        GroupEntry(path=("pipeline",), help="Define, run, start, stop and inspect data pipelines."),
        GroupEntry(path=("data", "pipeline"), help="Alias of 'flext pipeline create'."),
    ),
)
"""The plugin's manifest: its commands, declared lazily."""


@hookimpl
def flext_projections() -> list[FlextProjection]:
    """The ``pipeline-status`` projection (``flext projections status`` shows it)."""
    from flext_plugin_pipeline.status_projection import PipelineStatus

    return [PipelineStatus()]
