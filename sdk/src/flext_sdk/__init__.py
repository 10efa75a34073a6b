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
- the action's correlation id: ``correlation_scope``, ``current_correlation_id``,
  ``new_correlation_id``, ``causation_scope`` and ``in_current_context`` (for work
  handed to another thread);
- event sourcing, re-exported from ``flext_eventsourcing`` for convenience:
  ``FlextAggregateRoot``, ``when``, ``FlextEventStore``, ``AggregateRepository``,
  the projection types; backend authors import ``flext_eventsourcing`` itself;
- testing support lives in ``flext_sdk.testing`` (pytest fixtures and the
  ``PluginContract`` suite); it is not imported from here.

Each name is the kernel's own object, not a copy. The re-exports are lazy
(PEP 562), like the kernel's, so that a lazily imported CLI command that needs
only ``FlextResult`` does not pay for the buses, pydantic and pluggy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flext_kernel.lazy import lazy_exports

if TYPE_CHECKING:
    from flext_eventsourcing import (
        ANY,
        NO_STREAM,
        STREAM_EXISTS,
        AggregateRepository,
        FlextAggregateRoot,
        FlextEventStore,
        FlextProjection,
        Projection,
        ProjectionRunner,
        ReadModel,
        RecordedEvent,
        when,
    )
    from flext_kernel.bus import FlextCommandBus, FlextEventBus, FlextQueryBus
    from flext_kernel.container import FlextContainer
    from flext_kernel.correlation import (
        causation_scope,
        correlation_scope,
        current_correlation_id,
        in_current_context,
        new_correlation_id,
    )
    from flext_kernel.handlers import command_handler, event_handler, query_handler
    from flext_kernel.kernel import FlextKernel
    from flext_kernel.messages import FlextCommand, FlextDomainEvent, FlextQuery
    from flext_kernel.plugins.base import FlextPlugin, PluginState
    from flext_kernel.plugins.hookspecs import hookimpl
    from flext_kernel.plugins.manifest import CommandEntry, GroupEntry, PluginManifest
    from flext_kernel.plugins.registry import CommandRegistry
    from flext_kernel.result import Failure, FlextResult, Success, safe

_LOCATIONS: dict[str, str] = {
    "ANY": "flext_eventsourcing",
    "AggregateRepository": "flext_eventsourcing",
    "CommandEntry": "flext_kernel.plugins.manifest",
    "GroupEntry": "flext_kernel.plugins.manifest",
    "CommandRegistry": "flext_kernel.plugins.registry",
    "Failure": "flext_kernel.result",
    "FlextAggregateRoot": "flext_eventsourcing",
    "FlextCommand": "flext_kernel.messages",
    "FlextCommandBus": "flext_kernel.bus",
    "FlextContainer": "flext_kernel.container",
    "FlextDomainEvent": "flext_kernel.messages",
    "FlextEventBus": "flext_kernel.bus",
    "FlextEventStore": "flext_eventsourcing",
    "FlextKernel": "flext_kernel.kernel",
    "FlextPlugin": "flext_kernel.plugins.base",
    "FlextProjection": "flext_eventsourcing",
    "FlextQuery": "flext_kernel.messages",
    "FlextQueryBus": "flext_kernel.bus",
    "FlextResult": "flext_kernel.result",
    "NO_STREAM": "flext_eventsourcing",
    "PluginManifest": "flext_kernel.plugins.manifest",
    "PluginState": "flext_kernel.plugins.base",
    "Projection": "flext_eventsourcing",
    "ProjectionRunner": "flext_eventsourcing",
    "ReadModel": "flext_eventsourcing",
    "RecordedEvent": "flext_eventsourcing",
    "STREAM_EXISTS": "flext_eventsourcing",
    "Success": "flext_kernel.result",
    "causation_scope": "flext_kernel.correlation",
    "command_handler": "flext_kernel.handlers",
    "correlation_scope": "flext_kernel.correlation",
    "current_correlation_id": "flext_kernel.correlation",
    "in_current_context": "flext_kernel.correlation",
    "new_correlation_id": "flext_kernel.correlation",
    "event_handler": "flext_kernel.handlers",
    "hookimpl": "flext_kernel.plugins.hookspecs",
    "query_handler": "flext_kernel.handlers",
    "safe": "flext_kernel.result",
    "when": "flext_eventsourcing",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LOCATIONS)


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
    "causation_scope",
    "command_handler",
    "correlation_scope",
    "current_correlation_id",
    "event_handler",
    "hookimpl",
    "in_current_context",
    "new_correlation_id",
    "query_handler",
    "safe",
    "when",
]
