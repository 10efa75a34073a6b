"""The ``meltano`` plugin: ``flext meltano ...`` commands, declared lazily.

Loading the plugin imports neither Meltano (it runs in its own environment)
nor the plugin's own modules: each command's module is imported when it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flext_sdk import CommandEntry, GroupEntry, PluginManifest, hookimpl

if TYPE_CHECKING:
    from flext_sdk import FlextResult

__all__ = ["NAME", "flext_health", "manifest"]

NAME = "meltano"
"""The plugin's name."""

_CLI = "flext_plugin_meltano.meltano_cli"

_COMMANDS = (
    (
        "run",
        f"{_CLI}:meltano_run",
        "Run a Meltano project's jobs or blocks with the real meltano (meltano run).",
    ),
    ("invoke", f"{_CLI}:meltano_invoke", "Invoke one plugin of a Meltano project (meltano invoke)."),
    ("install", f"{_CLI}:meltano_install", "Install a Meltano project's plugins (meltano install)."),
    ("state", f"{_CLI}:meltano_state", "Meltano's state (meltano state ...), or export/import it to FLEXT."),
    (
        "import",
        "flext_plugin_meltano.import_cli:meltano_import",
        "Turn a Meltano project's job blocks into FLEXT pipelines (and its schedules into schedules).",
    ),
    (
        "schedules import",
        "flext_plugin_meltano.schedules_cli:meltano_schedules_import",
        "Turn a Meltano project's schedules into FLEXT schedules.",
    ),
    (
        "test",
        "flext_plugin_meltano.project_test_cli:meltano_test",
        "Run a Meltano project's tests (meltano test) and report one table.",
    ),
    (
        "project init",
        "flext_plugin_meltano.init_cli:meltano_project_init",
        "Create a Meltano project with meltano init, optionally from a ready template.",
    ),
)

manifest = PluginManifest(
    name=NAME,
    requires=("eventsourcing",),
    version="0.1.0",
    description="Run existing Meltano projects, delegated or imported as pipelines, and move their state",
    commands=tuple(
        CommandEntry(path=("meltano", *name.split()), target=target, help=text)
        for name, target, text in _COMMANDS
    ),
    groups=(
        GroupEntry(path=("meltano",), help="Run, import and move the state of existing Meltano projects."),
        GroupEntry(path=("meltano", "schedules"), help="Meltano's schedules as FLEXT schedules."),
        GroupEntry(path=("meltano", "project"), help="Create Meltano projects."),
    ),
)
"""The plugin's manifest: its commands, declared lazily."""


@hookimpl
def flext_health() -> FlextResult[dict[str, Any]]:
    """The pinned Meltano and whether its environment is built (the first command builds it)."""
    from flext_plugin_meltano.tool import MELTANO, TOOL_NAME
    from flext_sdk import FlextResult, tools

    ready = tools.environment(TOOL_NAME)
    return FlextResult.ok(
        {"meltano": MELTANO[0], "installed": ready is not None and ready.requirements == MELTANO}
    )
