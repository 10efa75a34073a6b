"""The ``tap-oracle-wms`` plugin: offers the tap-oracle-wms Singer tap to the singer plugin.

The tap reaches the singer plugin through the ``flext_singer_connectors``
hook, as tap-ldif does, so ``flext plugin disable tap-oracle-wms`` takes it
out of ``flext data taps list`` and out of pipelines. The plugin does not
require ``singer`` (the tap runs on its own), so the hook is optional.
Loading the plugin imports nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flext_sdk import PluginManifest, hookimpl

if TYPE_CHECKING:
    from flext_sdk import FlextResult
    from flext_sdk.contracts.singer import ConnectorSpec

__all__ = ["NAME", "flext_health", "flext_singer_connectors", "manifest"]

NAME = "tap-oracle-wms"
"""The plugin's name."""

manifest = PluginManifest(
    name=NAME,
    version="0.1.0",
    description="Oracle WMS Cloud: the tap-oracle-wms Singer tap (LGF API v10)",
)
"""The plugin's manifest: no commands of its own; the tap is a console script."""


@hookimpl(optionalhook=True)  # specified by the singer plugin, which this plugin does not require
def flext_singer_connectors() -> list[ConnectorSpec]:
    """tap-oracle-wms, the console script this distribution installs."""
    from flext_sdk.contracts.singer import ConnectorSpec
    from tap_oracle_wms.singer import TAP_ORACLE_WMS

    return [ConnectorSpec.model_validate({"name": "tap-oracle-wms", "family": "flext", **TAP_ORACLE_WMS})]


@hookimpl
def flext_health() -> FlextResult[dict[str, Any]]:
    """Check that the ``tap-oracle-wms`` console script is installed next to flext's interpreter."""
    import sys
    from pathlib import Path

    from flext_kernel.errors import NOT_FOUND
    from flext_sdk import FlextResult

    executable = Path(sys.executable).with_name("tap-oracle-wms")
    if not executable.exists():
        return FlextResult.fail(
            f"tap-oracle-wms is not next to flext's interpreter ({executable}); "
            "reinstall flext-tap-oracle-wms",
            error_code=NOT_FOUND,
            error_data={"executable": str(executable)},
        )
    return FlextResult.ok({"tap": str(executable)})
