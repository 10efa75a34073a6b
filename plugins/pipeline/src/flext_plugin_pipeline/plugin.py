"""The ``pipeline`` plugin: its commands and the state contract's handlers; loading it imports nothing else.

Other plugins read and set a pipeline's resume state through ``flext_sdk.contracts.pipeline``
(``GetPipelineState`` on the query bus, ``SetPipelineState`` on the command bus), handled here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flext_sdk import CommandEntry, GroupEntry, PluginManifest, hookimpl

if TYPE_CHECKING:
    from flext_sdk import FlextCommandBus, FlextEventBus, FlextProjection, FlextQueryBus, FlextResult

__all__ = ["NAME", "flext_projections", "flext_register_handlers", "manifest"]

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


@hookimpl
def flext_register_handlers(
    command_bus: FlextCommandBus, query_bus: FlextQueryBus, event_bus: FlextEventBus
) -> None:
    """Handle ``GetPipelineState`` and ``SetPipelineState`` (the handlers load when first asked)."""
    from flext_sdk.contracts.pipeline import GetPipelineState, SetPipelineState

    def get_state(query: GetPipelineState) -> FlextResult[dict[str, Any] | None]:
        from flext_plugin_pipeline.state_handlers import get_state as handle

        return handle(query)

    def set_state(command: SetPipelineState) -> FlextResult[str]:
        from flext_plugin_pipeline.state_handlers import set_state as handle

        return handle(command)

    query_bus.register(GetPipelineState, get_state, owner=NAME)
    command_bus.register(SetPipelineState, set_state, owner=NAME)
