"""Testing support for FLEXT plugins: contract suites and pytest fixtures.

- ``PluginContract``: subclass it as ``Test<Something>``, set ``plugin``, and
  the plugin is checked the way the kernel will use it.
- ``EventStoreContract`` and ``ProjectionStoreContract``: the same for event
  store backends and their projection stores (in ``flext_sdk.testing.eventstore``
  and ``flext_sdk.testing.projections``, imported on first use).
- The fixtures ``flext_home``, ``flext_kernel_factory`` and ``flext_cli``
  come from ``flext_sdk.testing.pytest_plugin``, which pytest loads
  automatically; ``FlextKernelFactory``, ``FlextCliRunner`` and ``CliResult``
  are their types, for annotations.

Importing this package imports pytest but nothing of the kernel.
"""

from __future__ import annotations

import importlib
from typing import Any

from flext_sdk.testing._cli import CliResult, FlextCliRunner, flext_command
from flext_sdk.testing._contract import PluginContract
from flext_sdk.testing._kernels import FlextKernelFactory
from flext_sdk.testing._resolve import PluginSpec

_LAZY: dict[str, str] = {
    "EventStoreContract": "flext_sdk.testing.eventstore",
    "ProjectionStoreContract": "flext_sdk.testing.projections",
}


def __getattr__(name: str) -> Any:
    # The event store contract pulls in the event store; load it only when a test asks for it.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flext_sdk.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "CliResult",
    "EventStoreContract",  # resolved lazily by __getattr__ (flext_sdk.testing.eventstore)
    "FlextCliRunner",
    "FlextKernelFactory",
    "PluginContract",
    "PluginSpec",
    "ProjectionStoreContract",  # resolved lazily by __getattr__ (flext_sdk.testing.projections)
    "flext_command",
]
