"""FLEXT SDK: the names a plugin author imports, and nothing of the kernel's internals.

Plugins import from here rather than from ``flext_kernel`` so that the
kernel's module layout can change without breaking them. Hook markers,
``FlextPlugin``, the manifest model and ``flext_sdk.testing`` arrive with the
plugin mechanism.
"""

from flext_kernel import (
    Failure,
    FlextCommand,
    FlextDomainEvent,
    FlextQuery,
    FlextResult,
    Success,
    command_handler,
    event_handler,
    query_handler,
    safe,
)

__all__ = [
    "Failure",
    "FlextCommand",
    "FlextDomainEvent",
    "FlextQuery",
    "FlextResult",
    "Success",
    "command_handler",
    "event_handler",
    "query_handler",
    "safe",
]
