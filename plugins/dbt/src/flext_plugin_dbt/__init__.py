"""The ``dbt`` plugin: ``flext data dbt ...``, and the ``RunDbt`` handler for other plugins.

dbt runs in its own virtual environment (one per adapter, built on first
use), driven through dbt-core's programmatic runner; each invocation is
recorded in the event store as ``DbtInvocationCompleted`` or
``DbtInvocationFailed`` in the stream ``dbt-<project>``.

The plugin object is ``flext_plugin_dbt.plugin``. Other plugins do not
import this package (they dispatch ``flext_sdk.contracts.dbt.RunDbt``); the
names below serve the plugin's own modules and tests, and are imported on
first use (PEP 562), so loading the plugin, or ``flext --help``, imports
none of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flext_plugin_dbt.adapters import ADAPTERS
    from flext_plugin_dbt.errors import DBT_COMPILE_ERROR, DBT_CONFIG_ERROR, DBT_ERROR, DBT_NODES_FAILED
    from flext_plugin_dbt.events import (
        DbtInvocationCompleted,
        DbtInvocationFailed,
        record_invocation,
        stream_id,
    )
    from flext_plugin_dbt.report import DbtCommand, DbtReport, NodeResult
    from flext_plugin_dbt.runner import run_dbt

_LOCATIONS: dict[str, str] = {
    "ADAPTERS": "flext_plugin_dbt.adapters",
    "DBT_COMPILE_ERROR": "flext_plugin_dbt.errors",
    "DBT_CONFIG_ERROR": "flext_plugin_dbt.errors",
    "DBT_ERROR": "flext_plugin_dbt.errors",
    "DBT_NODES_FAILED": "flext_plugin_dbt.errors",
    "DbtCommand": "flext_plugin_dbt.report",
    "DbtInvocationCompleted": "flext_plugin_dbt.events",
    "DbtInvocationFailed": "flext_plugin_dbt.events",
    "DbtReport": "flext_plugin_dbt.report",
    "NodeResult": "flext_plugin_dbt.report",
    "record_invocation": "flext_plugin_dbt.events",
    "run_dbt": "flext_plugin_dbt.runner",
    "stream_id": "flext_plugin_dbt.events",
}


def __getattr__(name: str) -> Any:
    module = _LOCATIONS.get(name)
    if module is None:
        raise AttributeError(f"module 'flext_plugin_dbt' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "ADAPTERS",
    "DBT_COMPILE_ERROR",
    "DBT_CONFIG_ERROR",
    "DBT_ERROR",
    "DBT_NODES_FAILED",
    "DbtCommand",
    "DbtInvocationCompleted",
    "DbtInvocationFailed",
    "DbtReport",
    "NodeResult",
    "record_invocation",
    "run_dbt",
    "stream_id",
]
