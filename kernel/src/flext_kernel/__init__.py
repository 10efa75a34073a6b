"""FLEXT kernel: the railway result type, dependency injection, messages, the buses and the plugin host.

Re-exports every public name; the modules themselves are the namespaces
(``flext_kernel.result``, ``flext_kernel.container``, ...). Importing it does
no I/O and loads no plugin, and a name's module is imported on first use
(PEP 562): ``flext --help`` must not pay for pydantic and the buses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flext_kernel import version

__version__ = version.KERNEL_VERSION

if TYPE_CHECKING:  # what mypy reads: `import X as X` marks a re-export
    from flext_kernel.behaviors import CacheInvalidator as CacheInvalidator
    from flext_kernel.behaviors import LoggingBehavior as LoggingBehavior
    from flext_kernel.behaviors import QueryCachingBehavior as QueryCachingBehavior
    from flext_kernel.behaviors import TimingBehavior as TimingBehavior
    from flext_kernel.behaviors import ValidationBehavior as ValidationBehavior
    from flext_kernel.behaviors import Validator as Validator
    from flext_kernel.bus import AsyncBehavior as AsyncBehavior
    from flext_kernel.bus import AsyncNext as AsyncNext
    from flext_kernel.bus import Behavior as Behavior
    from flext_kernel.bus import FlextCommandBus as FlextCommandBus
    from flext_kernel.bus import FlextEventBus as FlextEventBus
    from flext_kernel.bus import FlextQueryBus as FlextQueryBus
    from flext_kernel.bus import Handler as Handler
    from flext_kernel.bus import HandlerObject as HandlerObject
    from flext_kernel.bus import Next as Next
    from flext_kernel.bus import Subscriber as Subscriber
    from flext_kernel.container import ContainerScope as ContainerScope
    from flext_kernel.container import FlextContainer as FlextContainer
    from flext_kernel.correlation import correlation_scope as correlation_scope
    from flext_kernel.correlation import current_correlation_id as current_correlation_id
    from flext_kernel.correlation import in_current_context as in_current_context
    from flext_kernel.correlation import new_correlation_id as new_correlation_id
    from flext_kernel.errors import FlextBusError as FlextBusError
    from flext_kernel.errors import FlextContainerError as FlextContainerError
    from flext_kernel.errors import FlextError as FlextError
    from flext_kernel.errors import FlextResultError as FlextResultError
    from flext_kernel.handlers import HandlerSpec as HandlerSpec
    from flext_kernel.handlers import command_handler as command_handler
    from flext_kernel.handlers import event_handler as event_handler
    from flext_kernel.handlers import handler_specs as handler_specs
    from flext_kernel.handlers import query_handler as query_handler
    from flext_kernel.handlers import register_handlers as register_handlers
    from flext_kernel.messages import FlextCommand as FlextCommand
    from flext_kernel.messages import FlextDomainEvent as FlextDomainEvent
    from flext_kernel.messages import FlextMessage as FlextMessage
    from flext_kernel.messages import FlextQuery as FlextQuery
    from flext_kernel.messages import message_type_name as message_type_name
    from flext_kernel.result import Failure as Failure
    from flext_kernel.result import FlextResult as FlextResult
    from flext_kernel.result import Success as Success
    from flext_kernel.result import safe as safe
    from flext_kernel.serialization import MessageRegistry as MessageRegistry
    from flext_kernel.serialization import Upcaster as Upcaster
    from flext_kernel.serialization import to_envelope as to_envelope
    from flext_kernel.serialization import to_json as to_json
    from flext_kernel.serialization import to_msgpack as to_msgpack
else:  # what runs: the same names, each imported from its module on first use
    from flext_kernel.lazy import lazy_exports, locations

    _LOCATIONS = locations(
        {
            "flext_kernel.behaviors": "CacheInvalidator LoggingBehavior QueryCachingBehavior TimingBehavior "
            "ValidationBehavior Validator",
            "flext_kernel.bus": "AsyncBehavior AsyncNext Behavior FlextCommandBus FlextEventBus "
            "FlextQueryBus Handler HandlerObject Next Subscriber",
            "flext_kernel.container": "ContainerScope FlextContainer",
            "flext_kernel.correlation": "correlation_scope current_correlation_id in_current_context "
            "new_correlation_id",
            "flext_kernel.errors": "FlextBusError FlextContainerError FlextError FlextResultError",
            "flext_kernel.handlers": "HandlerSpec command_handler event_handler handler_specs query_handler "
            "register_handlers",
            "flext_kernel.messages": "FlextCommand FlextDomainEvent FlextMessage FlextQuery "
            "message_type_name",
            "flext_kernel.result": "Failure FlextResult Success safe",
            "flext_kernel.serialization": "MessageRegistry Upcaster to_envelope to_json to_msgpack",
        }
    )
    __all__ = ["__version__", *_LOCATIONS]  # mypy must not see it: a computed one would hide the re-exports
    __getattr__, __dir__ = lazy_exports(__name__, globals(), _LOCATIONS)
