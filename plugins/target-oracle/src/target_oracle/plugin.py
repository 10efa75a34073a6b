"""The ``target-oracle`` plugin: offers the target-oracle Singer target to the singer plugin.

As tap-oracle-wms does, it answers the singer plugin's optional
``flext_singer_connectors`` hook, so ``flext data targets list`` shows
``target-oracle`` and pipelines (the GrupoNos one with ``target.kind:
oracle``) can name it. Loading the plugin imports nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flext_sdk import PluginManifest, hookimpl

if TYPE_CHECKING:
    from flext_sdk import FlextResult
    from flext_sdk.contracts.singer import ConnectorSpec

__all__ = ["NAME", "flext_health", "flext_singer_connectors", "manifest"]

NAME = "target-oracle"
"""The plugin's name."""

manifest = PluginManifest(
    name=NAME,
    version="0.1.0",
    description="Oracle Database: the target-oracle Singer target (oracle+oracledb, MERGE upserts)",
)
"""The plugin's manifest: no commands of its own; the target is a console script."""


@hookimpl(optionalhook=True)  # specified by the singer plugin, which this plugin does not require
def flext_singer_connectors() -> list[ConnectorSpec]:
    """target-oracle, the console script this distribution installs."""
    from flext_sdk.contracts.singer import ConnectorSpec
    from target_oracle.singer import TARGET_ORACLE

    return [ConnectorSpec.model_validate({"name": "target-oracle", "family": "flext", **TARGET_ORACLE})]


@hookimpl
def flext_health() -> FlextResult[dict[str, Any]]:
    """Check that the ``target-oracle`` console script is installed next to flext's interpreter."""
    import sys
    from pathlib import Path

    from flext_kernel.errors import NOT_FOUND
    from flext_sdk import FlextResult

    executable = Path(sys.executable).with_name("target-oracle")
    if not executable.exists():
        return FlextResult.fail(
            f"target-oracle is not next to flext's interpreter ({executable}); reinstall flext-target-oracle",
            error_code=NOT_FOUND,
            error_data={"executable": str(executable)},
        )
    return FlextResult.ok({"target": str(executable)})
