"""The ``dbt`` plugin: its commands, and the ``RunDbt`` handler other plugins dispatch to.

Other plugins never import this one: they dispatch
``flext_sdk.contracts.dbt.RunDbt`` on the command bus, handled here
(owner ``dbt``, so disabling or unloading the plugin takes the handler
away). Loading the plugin imports neither the runner nor dbt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flext_sdk import CommandEntry, GroupEntry, PluginManifest, hookimpl

if TYPE_CHECKING:
    from flext_sdk import FlextCommandBus, FlextResult

__all__ = ["NAME", "flext_health", "flext_register_handlers", "manifest"]

NAME = "dbt"
"""The plugin's name."""

_CLI = "flext_plugin_dbt.dbt_cli"

_COMMANDS = (
    ("run", "dbt_run", "Run a dbt project's models (dbt run)."),
    ("build", "dbt_build", "Build a dbt project: seeds, models, snapshots and tests (dbt build)."),
    ("test", "dbt_test", "Run a dbt project's data tests (dbt test)."),
    ("docs", "dbt_docs", "Generate a dbt project's docs and catalog (dbt docs generate)."),
    ("show", "dbt_show", "Preview the rows of one model (dbt show)."),
)

manifest = PluginManifest(
    name=NAME,
    requires=("eventsourcing",),
    version="0.1.0",
    description="Run dbt projects in dbt's own environment and record each invocation",
    commands=tuple(
        CommandEntry(path=("data", "dbt", name), target=f"{_CLI}:{attribute}", help=text)
        for name, attribute, text in _COMMANDS
    ),
    groups=(
        GroupEntry(
            path=("data", "dbt"), help="Run, build, test and document dbt projects in dbt's own environment."
        ),
    ),
)
"""The plugin's manifest: its commands, declared lazily."""


@hookimpl
def flext_health() -> FlextResult[dict[str, Any]]:
    """The adapters flext runs and which of their environments are built (the first run builds one)."""
    from flext_plugin_dbt.adapters import ADAPTERS, environment_name
    from flext_sdk import FlextResult, tools

    built = {tool.name for tool in tools.installed()}
    environments = [environment_name(adapter) for adapter in sorted(ADAPTERS)]
    return FlextResult.ok(
        {"adapters": sorted(ADAPTERS), "environments": [name for name in environments if name in built]}
    )


@hookimpl
def flext_register_handlers(command_bus: FlextCommandBus) -> None:
    """Handle ``RunDbt`` (the runner is imported when the first one arrives)."""
    from flext_plugin_dbt.handlers import handle_run_dbt
    from flext_sdk.contracts.dbt import RunDbt

    command_bus.register(RunDbt, handle_run_dbt, owner=NAME)
