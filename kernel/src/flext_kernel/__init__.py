"""FLEXT kernel: the railway result type, dependency injection, messages, the buses and event sourcing.

Everything public is re-exported here; the modules themselves are the
namespaces (``flext_kernel.result``, ``flext_kernel.container``,
``flext_kernel.bus``, ...). Importing this package does no I/O and loads no
plugin. The re-exports are lazy (PEP 562): ``flext --help`` imports
``flext_kernel.cli`` and must not pay for pydantic and the buses it does not
use, so a name's module is imported on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from flext_kernel.version import KERNEL_VERSION as __version__

if TYPE_CHECKING:
    from flext_kernel.aggregate import FlextAggregateRoot, when
    from flext_kernel.behaviors import (
        CacheInvalidator,
        LoggingBehavior,
        QueryCachingBehavior,
        TimingBehavior,
        ValidationBehavior,
        Validator,
    )
    from flext_kernel.bus import (
        AsyncBehavior,
        AsyncNext,
        Behavior,
        FlextCommandBus,
        FlextEventBus,
        FlextQueryBus,
        Handler,
        HandlerObject,
        Next,
        Subscriber,
    )
    from flext_kernel.container import ContainerScope, FlextContainer
    from flext_kernel.errors import (
        FlextBusError,
        FlextContainerError,
        FlextError,
        FlextEventStoreError,
        FlextResultError,
        ProjectionStoreError,
    )
    from flext_kernel.eventcodec import EventCodec
    from flext_kernel.eventstore import (
        ANY,
        NO_STREAM,
        STREAM_EXISTS,
        AppendResult,
        EventStoreFactory,
        ExpectedVersion,
        FlextEventStore,
        RecordedEvent,
        Snapshot,
        StreamDeleted,
        UnknownEvent,
    )
    from flext_kernel.eventstore_base import EventStoreBase
    from flext_kernel.handlers import (
        HandlerSpec,
        command_handler,
        event_handler,
        handler_specs,
        query_handler,
        register_handlers,
    )
    from flext_kernel.memory_projection_store import InMemoryProjectionStore
    from flext_kernel.memory_store import InMemoryEventStore
    from flext_kernel.messages import (
        FlextCommand,
        FlextDomainEvent,
        FlextMessage,
        FlextQuery,
        message_type_name,
    )
    from flext_kernel.projection import (
        FlextProjection,
        Projection,
        ProjectionCheckpoint,
        ProjectionState,
        ProjectionStore,
        ReadModel,
    )
    from flext_kernel.projection_runner import ProjectionRunner, ProjectionStatus
    from flext_kernel.repository import AggregateRepository
    from flext_kernel.result import Failure, FlextResult, Success, safe
    from flext_kernel.serialization import MessageRegistry, Upcaster, to_envelope, to_json, to_msgpack
    from flext_kernel.subscription import AsyncEventSubscription, EventSubscription
    from flext_kernel.upcasting import UpcasterRegistry

_LOCATIONS: dict[str, str] = {
    "ANY": "flext_kernel.eventstore",
    "AggregateRepository": "flext_kernel.repository",
    "AppendResult": "flext_kernel.eventstore",
    "AsyncBehavior": "flext_kernel.bus",
    "AsyncEventSubscription": "flext_kernel.subscription",
    "AsyncNext": "flext_kernel.bus",
    "Behavior": "flext_kernel.bus",
    "CacheInvalidator": "flext_kernel.behaviors",
    "ContainerScope": "flext_kernel.container",
    "EventCodec": "flext_kernel.eventcodec",
    "EventStoreBase": "flext_kernel.eventstore_base",
    "EventStoreFactory": "flext_kernel.eventstore",
    "EventSubscription": "flext_kernel.subscription",
    "ExpectedVersion": "flext_kernel.eventstore",
    "Failure": "flext_kernel.result",
    "FlextAggregateRoot": "flext_kernel.aggregate",
    "FlextBusError": "flext_kernel.errors",
    "FlextCommand": "flext_kernel.messages",
    "FlextCommandBus": "flext_kernel.bus",
    "FlextContainer": "flext_kernel.container",
    "FlextContainerError": "flext_kernel.errors",
    "FlextDomainEvent": "flext_kernel.messages",
    "FlextError": "flext_kernel.errors",
    "FlextEventBus": "flext_kernel.bus",
    "FlextEventStore": "flext_kernel.eventstore",
    "FlextEventStoreError": "flext_kernel.errors",
    "FlextMessage": "flext_kernel.messages",
    "FlextProjection": "flext_kernel.projection",
    "FlextQuery": "flext_kernel.messages",
    "FlextQueryBus": "flext_kernel.bus",
    "FlextResult": "flext_kernel.result",
    "FlextResultError": "flext_kernel.errors",
    "Handler": "flext_kernel.bus",
    "HandlerObject": "flext_kernel.bus",
    "HandlerSpec": "flext_kernel.handlers",
    "InMemoryEventStore": "flext_kernel.memory_store",
    "InMemoryProjectionStore": "flext_kernel.memory_projection_store",
    "LoggingBehavior": "flext_kernel.behaviors",
    "MessageRegistry": "flext_kernel.serialization",
    "NO_STREAM": "flext_kernel.eventstore",
    "Next": "flext_kernel.bus",
    "Projection": "flext_kernel.projection",
    "ProjectionCheckpoint": "flext_kernel.projection",
    "ProjectionRunner": "flext_kernel.projection_runner",
    "ProjectionState": "flext_kernel.projection",
    "ProjectionStatus": "flext_kernel.projection_runner",
    "ProjectionStore": "flext_kernel.projection",
    "ProjectionStoreError": "flext_kernel.errors",
    "QueryCachingBehavior": "flext_kernel.behaviors",
    "ReadModel": "flext_kernel.projection",
    "RecordedEvent": "flext_kernel.eventstore",
    "STREAM_EXISTS": "flext_kernel.eventstore",
    "Snapshot": "flext_kernel.eventstore",
    "StreamDeleted": "flext_kernel.eventstore",
    "Subscriber": "flext_kernel.bus",
    "Success": "flext_kernel.result",
    "TimingBehavior": "flext_kernel.behaviors",
    "UnknownEvent": "flext_kernel.eventstore",
    "Upcaster": "flext_kernel.serialization",
    "UpcasterRegistry": "flext_kernel.upcasting",
    "ValidationBehavior": "flext_kernel.behaviors",
    "Validator": "flext_kernel.behaviors",
    "command_handler": "flext_kernel.handlers",
    "event_handler": "flext_kernel.handlers",
    "handler_specs": "flext_kernel.handlers",
    "message_type_name": "flext_kernel.messages",
    "query_handler": "flext_kernel.handlers",
    "register_handlers": "flext_kernel.handlers",
    "safe": "flext_kernel.result",
    "to_envelope": "flext_kernel.serialization",
    "to_json": "flext_kernel.serialization",
    "to_msgpack": "flext_kernel.serialization",
    "when": "flext_kernel.aggregate",
}


def __getattr__(name: str) -> Any:
    module = _LOCATIONS.get(name)
    if module is None:
        raise AttributeError(f"module 'flext_kernel' has no attribute {name!r}")
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
    "AppendResult",
    "AsyncBehavior",
    "AsyncEventSubscription",
    "AsyncNext",
    "Behavior",
    "CacheInvalidator",
    "ContainerScope",
    "EventCodec",
    "EventStoreBase",
    "EventStoreFactory",
    "EventSubscription",
    "ExpectedVersion",
    "Failure",
    "FlextAggregateRoot",
    "FlextBusError",
    "FlextCommand",
    "FlextCommandBus",
    "FlextContainer",
    "FlextContainerError",
    "FlextDomainEvent",
    "FlextError",
    "FlextEventBus",
    "FlextEventStore",
    "FlextEventStoreError",
    "FlextMessage",
    "FlextProjection",
    "FlextQuery",
    "FlextQueryBus",
    "FlextResult",
    "FlextResultError",
    "Handler",
    "HandlerObject",
    "HandlerSpec",
    "InMemoryEventStore",
    "InMemoryProjectionStore",
    "LoggingBehavior",
    "MessageRegistry",
    "Next",
    "Projection",
    "ProjectionCheckpoint",
    "ProjectionRunner",
    "ProjectionState",
    "ProjectionStatus",
    "ProjectionStore",
    "ProjectionStoreError",
    "QueryCachingBehavior",
    "ReadModel",
    "RecordedEvent",
    "Snapshot",
    "StreamDeleted",
    "Subscriber",
    "Success",
    "TimingBehavior",
    "UnknownEvent",
    "Upcaster",
    "UpcasterRegistry",
    "ValidationBehavior",
    "Validator",
    "__version__",
    "command_handler",
    "event_handler",
    "handler_specs",
    "message_type_name",
    "query_handler",
    "register_handlers",
    "safe",
    "to_envelope",
    "to_json",
    "to_msgpack",
    "when",
]
