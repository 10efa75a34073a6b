"""FLEXT kernel: the railway result type, dependency injection, messages, the buses and the plugin host.

Everything public is re-exported here; the modules themselves are the
namespaces (``flext_kernel.result``, ``flext_kernel.container``,
``flext_kernel.bus``, ...). Importing this package does no I/O and loads no
plugin. The re-exports are lazy (PEP 562): ``flext --help`` imports
``flext_kernel.cli`` and must not pay for pydantic and the buses it does not
use, so a name's module is imported on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flext_kernel.lazy import lazy_exports
from flext_kernel.version import KERNEL_VERSION as __version__

if TYPE_CHECKING:
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
    from flext_kernel.errors import FlextBusError, FlextContainerError, FlextError, FlextResultError
    from flext_kernel.handlers import (
        HandlerSpec,
        command_handler,
        event_handler,
        handler_specs,
        query_handler,
        register_handlers,
    )
    from flext_kernel.messages import (
        FlextCommand,
        FlextDomainEvent,
        FlextMessage,
        FlextQuery,
        message_type_name,
    )
    from flext_kernel.result import Failure, FlextResult, Success, safe
    from flext_kernel.serialization import MessageRegistry, Upcaster, to_envelope, to_json, to_msgpack

_LOCATIONS: dict[str, str] = {
    "AsyncBehavior": "flext_kernel.bus",
    "AsyncNext": "flext_kernel.bus",
    "Behavior": "flext_kernel.bus",
    "CacheInvalidator": "flext_kernel.behaviors",
    "ContainerScope": "flext_kernel.container",
    "Failure": "flext_kernel.result",
    "FlextBusError": "flext_kernel.errors",
    "FlextCommand": "flext_kernel.messages",
    "FlextCommandBus": "flext_kernel.bus",
    "FlextContainer": "flext_kernel.container",
    "FlextContainerError": "flext_kernel.errors",
    "FlextDomainEvent": "flext_kernel.messages",
    "FlextError": "flext_kernel.errors",
    "FlextEventBus": "flext_kernel.bus",
    "FlextMessage": "flext_kernel.messages",
    "FlextQuery": "flext_kernel.messages",
    "FlextQueryBus": "flext_kernel.bus",
    "FlextResult": "flext_kernel.result",
    "FlextResultError": "flext_kernel.errors",
    "Handler": "flext_kernel.bus",
    "HandlerObject": "flext_kernel.bus",
    "HandlerSpec": "flext_kernel.handlers",
    "LoggingBehavior": "flext_kernel.behaviors",
    "MessageRegistry": "flext_kernel.serialization",
    "Next": "flext_kernel.bus",
    "QueryCachingBehavior": "flext_kernel.behaviors",
    "Subscriber": "flext_kernel.bus",
    "Success": "flext_kernel.result",
    "TimingBehavior": "flext_kernel.behaviors",
    "Upcaster": "flext_kernel.serialization",
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
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LOCATIONS)

__all__ = [
    "AsyncBehavior",
    "AsyncNext",
    "Behavior",
    "CacheInvalidator",
    "ContainerScope",
    "Failure",
    "FlextBusError",
    "FlextCommand",
    "FlextCommandBus",
    "FlextContainer",
    "FlextContainerError",
    "FlextDomainEvent",
    "FlextError",
    "FlextEventBus",
    "FlextMessage",
    "FlextQuery",
    "FlextQueryBus",
    "FlextResult",
    "FlextResultError",
    "Handler",
    "HandlerObject",
    "HandlerSpec",
    "LoggingBehavior",
    "MessageRegistry",
    "Next",
    "QueryCachingBehavior",
    "Subscriber",
    "Success",
    "TimingBehavior",
    "Upcaster",
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
]
