"""The ``sqlite`` plugin: ``flext data sqlite`` commands, and target-sqlite for the singer plugin.

target-sqlite reaches the singer plugin through the ``flext_singer_connectors``
hook, not an entry-point group, so ``flext plugin disable sqlite`` takes it
out of ``flext data targets list`` and out of pipelines. The plugin does not
require ``singer`` (the target runs on its own, and ``flext data sqlite``
needs nothing else), so the hook is optional. Loading the plugin imports
nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flext_sdk import CommandEntry, GroupEntry, PluginManifest, hookimpl

if TYPE_CHECKING:
    from flext_sdk import FlextResult
    from flext_sdk.contracts.singer import ConnectorSpec

__all__ = ["NAME", "flext_health", "flext_singer_connectors", "manifest"]

NAME = "sqlite"
"""The plugin's name."""

_CLI = "flext_plugin_sqlite.sqlite_cli"

manifest = PluginManifest(
    name=NAME,
    version="0.1.0",
    description="SQLite files target-sqlite loads: what landed, and read-only queries",
    commands=(
        CommandEntry(
            path=("data", "sqlite", "tables"),
            target=f"{_CLI}:tables",
            help="List a SQLite file's tables with their row and column counts.",
        ),
        CommandEntry(
            path=("data", "sqlite", "query"),
            target=f"{_CLI}:query",
            help="Run one read-only SQL statement on a SQLite file and print its rows.",
        ),
    ),
    groups=(
        GroupEntry(
            path=("data", "sqlite"),
            help="See what landed in a SQLite file: its tables, and read-only queries.",
        ),
    ),
)
"""The plugin's manifest: its commands, declared lazily."""


@hookimpl
def flext_health() -> FlextResult[dict[str, Any]]:
    """Check that ``target-sqlite`` is installed next to flext and that SQLite can make STRICT tables."""
    import sqlite3
    import sys
    from pathlib import Path

    from flext_kernel.errors import NOT_FOUND, STORAGE_ERROR
    from flext_plugin_sqlite._database import MINIMUM_SQLITE
    from flext_sdk import FlextResult

    executable = Path(sys.executable).with_name("target-sqlite")
    if not executable.exists():
        return FlextResult.fail(
            f"target-sqlite is not next to flext's interpreter ({executable}); reinstall flext-plugin-sqlite",
            error_code=NOT_FOUND,
            error_data={"executable": str(executable)},
        )
    if sqlite3.sqlite_version_info < MINIMUM_SQLITE:
        return FlextResult.fail(
            f"this Python's SQLite is {sqlite3.sqlite_version}; target-sqlite needs "
            f"{'.'.join(map(str, MINIMUM_SQLITE))} or newer (STRICT tables)",
            error_code=STORAGE_ERROR,
            error_data={"sqlite": sqlite3.sqlite_version},
        )
    return FlextResult.ok({"target": str(executable), "sqlite": sqlite3.sqlite_version})


@hookimpl(optionalhook=True)  # specified by the singer plugin, which this plugin does not require
def flext_singer_connectors() -> list[ConnectorSpec]:
    """target-sqlite, the console script this distribution installs."""
    from flext_plugin_sqlite.singer import TARGET_SQLITE
    from flext_sdk.contracts.singer import ConnectorSpec

    return [ConnectorSpec.model_validate({"name": "target-sqlite", "family": "flext", **TARGET_SQLITE})]
