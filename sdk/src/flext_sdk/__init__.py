"""FLEXT SDK: the names a plugin author imports, and nothing of the kernel's internals.

Plugins import from here rather than from ``flext_kernel`` so that the
kernel's module layout can change without breaking them. The names fall in
four groups:

- results and messages: ``FlextResult`` (with ``Success``, ``Failure``,
  ``safe``), ``FlextCommand``, ``FlextQuery``, ``FlextDomainEvent`` and the
  handler decorators;
- the plugin contract: ``hookimpl`` (the marker for hook implementations),
  ``FlextPlugin`` (the base class for plugins that hold resources),
  ``PluginState``, ``PluginManifest``, ``CommandEntry``, ``GroupEntry`` and the
  ``CommandRegistry`` handed to ``flext_register_commands``;
- what the hooks hand a plugin: ``FlextKernel``, ``FlextContainer`` and the
  ``FlextCommandBus``, ``FlextQueryBus`` and ``FlextEventBus``, for type
  annotations;
- testing support lives in ``flext_sdk.testing`` (pytest fixtures and the
  ``PluginContract`` suite); it is not imported from here.

Each name is the kernel's own object, not a copy. The re-exports are lazy
(PEP 562), like the kernel's, so that a lazily imported CLI command that needs
only ``FlextResult`` does not pay for the buses, pydantic and pluggy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flext_kernel.aggregate import FlextAggregateRoot, when
    from flext_kernel.bus import FlextCommandBus, FlextEventBus, FlextQueryBus
    from flext_kernel.container import FlextContainer
    from flext_kernel.eventstore import ANY, NO_STREAM, STREAM_EXISTS, FlextEventStore, RecordedEvent
    from flext_kernel.handlers import command_handler, event_handler, query_handler
    from flext_kernel.kernel import FlextKernel
    from flext_kernel.messages import FlextCommand, FlextDomainEvent, FlextQuery
    from flext_kernel.plugins.base import FlextPlugin, PluginState
    from flext_kernel.plugins.hookspecs import hookimpl
    from flext_kernel.plugins.manifest import CommandEntry, GroupEntry, PluginManifest
    from flext_kernel.plugins.registry import CommandRegistry
    from flext_kernel.projection import FlextProjection, Projection, ReadModel
    from flext_kernel.projection_runner import ProjectionRunner
    from flext_kernel.repository import AggregateRepository
    from flext_kernel.result import Failure, FlextResult, Success, safe

_LOCATIONS: dict[str, str] = {
    "ANY": "flext_kernel.eventstore",
    "AggregateRepository": "flext_kernel.repository",
    "CommandEntry": "flext_kernel.plugins.manifest",
    "GroupEntry": "flext_kernel.plugins.manifest",
    "CommandRegistry": "flext_kernel.plugins.registry",
    "Failure": "flext_kernel.result",
    "FlextAggregateRoot": "flext_kernel.aggregate",
    "FlextCommand": "flext_kernel.messages",
    "FlextCommandBus": "flext_kernel.bus",
    "FlextContainer": "flext_kernel.container",
    "FlextDomainEvent": "flext_kernel.messages",
    "FlextEventBus": "flext_kernel.bus",
    "FlextEventStore": "flext_kernel.eventstore",
    "FlextKernel": "flext_kernel.kernel",
    "FlextPlugin": "flext_kernel.plugins.base",
    "FlextProjection": "flext_kernel.projection",
    "FlextQuery": "flext_kernel.messages",
    "FlextQueryBus": "flext_kernel.bus",
    "FlextResult": "flext_kernel.result",
    "NO_STREAM": "flext_kernel.eventstore",
    "PluginManifest": "flext_kernel.plugins.manifest",
    "PluginState": "flext_kernel.plugins.base",
    "Projection": "flext_kernel.projection",
    "ProjectionRunner": "flext_kernel.projection_runner",
    "ReadModel": "flext_kernel.projection",
    "RecordedEvent": "flext_kernel.eventstore",
    "STREAM_EXISTS": "flext_kernel.eventstore",
    "Success": "flext_kernel.result",
    "command_handler": "flext_kernel.handlers",
    "event_handler": "flext_kernel.handlers",
    "hookimpl": "flext_kernel.plugins.hookspecs",
    "query_handler": "flext_kernel.handlers",
    "safe": "flext_kernel.result",
    "when": "flext_kernel.aggregate",
}


def __getattr__(name: str) -> Any:
    module = _LOCATIONS.get(name)
    if module is None:
        raise AttributeError(f"module 'flext_sdk' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "ANY",
    "NO_STREAM",
    "STREAM_EXISTS",
    "AggregateRepository",
    "CommandEntry",
    "CommandRegistry",
    "Failure",
    "FlextAggregateRoot",
    "FlextCommand",
    "FlextCommandBus",
    "FlextContainer",
    "FlextDomainEvent",
    "FlextEventBus",
    "FlextEventStore",
    "FlextKernel",
    "FlextPlugin",
    "FlextProjection",
    "FlextQuery",
    "FlextQueryBus",
    "FlextResult",
    "GroupEntry",
    "PluginManifest",
    "PluginState",
    "Projection",
    "ProjectionRunner",
    "ReadModel",
    "RecordedEvent",
    "Success",
    "command_handler",
    "event_handler",
    "hookimpl",
    "query_handler",
    "safe",
    "when",
]
