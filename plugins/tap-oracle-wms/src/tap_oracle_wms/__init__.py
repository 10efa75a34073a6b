"""tap-oracle-wms: Oracle WMS Cloud (LGF API v10) entities as Singer streams.

Run it as the ``tap-oracle-wms`` console script; flext finds it through the
``tap-oracle-wms`` plugin (``tap_oracle_wms.plugin``). Importing the
package imports nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tap_oracle_wms.errors import SettingsError, WmsError
    from tap_oracle_wms.tap import TapOracleWMS

__all__ = ["SettingsError", "TapOracleWMS", "WmsError"]

_LOCATIONS = {
    "SettingsError": "tap_oracle_wms.errors",
    "TapOracleWMS": "tap_oracle_wms.tap",
    "WmsError": "tap_oracle_wms.errors",
}


def __getattr__(name: str) -> Any:
    """Import the public names on first use, so that loading the plugin stays cheap."""
    import importlib

    if name not in _LOCATIONS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LOCATIONS[name]), name)
