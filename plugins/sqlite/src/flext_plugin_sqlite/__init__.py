"""flext-plugin-sqlite: the ``target-sqlite`` Singer target and ``flext data sqlite`` commands.

Importing the package loads nothing: ``flext`` imports ``flext_plugin_sqlite.plugin``
to read the manifest, and only ``target-sqlite`` itself imports the Singer SDK.
The names below are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flext_plugin_sqlite._sink import SQLiteSink
    from flext_plugin_sqlite.errors import (
        ConfigError,
        InputError,
        LockTimeout,
        RecordError,
        SchemaError,
        Stopped,
        StorageError,
        TargetError,
    )
    from flext_plugin_sqlite.target import TargetSQLite

__all__ = [
    "ConfigError",
    "InputError",
    "LockTimeout",
    "RecordError",
    "SQLiteSink",
    "SchemaError",
    "Stopped",
    "StorageError",
    "TargetError",
    "TargetSQLite",
]

_LOCATIONS = {
    "ConfigError": "flext_plugin_sqlite.errors",
    "InputError": "flext_plugin_sqlite.errors",
    "LockTimeout": "flext_plugin_sqlite.errors",
    "RecordError": "flext_plugin_sqlite.errors",
    "SQLiteSink": "flext_plugin_sqlite._sink",
    "SchemaError": "flext_plugin_sqlite.errors",
    "Stopped": "flext_plugin_sqlite.errors",
    "StorageError": "flext_plugin_sqlite.errors",
    "TargetError": "flext_plugin_sqlite.errors",
    "TargetSQLite": "flext_plugin_sqlite.target",
}


def __getattr__(name: str) -> Any:
    module = _LOCATIONS.get(name)
    if module is None:
        raise AttributeError(f"module 'flext_plugin_sqlite' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
