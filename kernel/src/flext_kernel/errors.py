"""Kernel exceptions (for bugs and "raise on failure" accessors) and the error codes of expected failures.

Each code is documented in docs/errors.md; why and how: docs/kernel/messages.md. Hierarchy::

    FlextError                      base of everything the kernel raises
    ├── FlextResultError            a failed result was unwrapped
    ├── FlextContainerError         a service could not be resolved
    └── FlextBusError               a bus was wired wrongly (duplicate handler, ...)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = [
    "ALREADY_REGISTERED",
    "ASYNC_REQUIRED",
    "CIRCULAR_DEPENDENCY",
    "CONCURRENCY_CONFLICT",
    "DESERIALIZATION_ERROR",
    "HANDLER_ERROR",
    "INSTALL_FAILED",
    "INTERNAL_ERROR",
    "INTERRUPTED",
    "LOCAL_PLUGIN",
    "MULTIPLE_ERRORS",
    "NOT_A_PLUGIN",
    "NOT_FOUND",
    "NO_HANDLER",
    "OPERATION_ERROR",
    "PLUGIN_DISABLED",
    "PLUGIN_LOAD_FAILED",
    "ROLLBACK_FAILED",
    "SCOPE_ERROR",
    "STORAGE_ERROR",
    "TIMEOUT",
    "UNINSTALL_FAILED",
    "UNKNOWN_MESSAGE_TYPE",
    "USAGE_ERROR",
    "VALIDATION_ERROR",
    "FlextBusError",
    "FlextContainerError",
    "FlextError",
    "FlextResultError",
]

NOT_FOUND: Final = "NOT_FOUND"
"""A named thing (service, stream, plugin, pipeline) does not exist."""
VALIDATION_ERROR: Final = "VALIDATION_ERROR"
"""Input did not pass validation; ``error_data`` holds the field errors."""
CONCURRENCY_CONFLICT: Final = "CONCURRENCY_CONFLICT"
"""An optimistic-concurrency check failed, or an event id was reused with a different event."""
TIMEOUT: Final = "TIMEOUT"
"""An operation did not finish in its time budget."""
MULTIPLE_ERRORS: Final = "MULTIPLE_ERRORS"
"""Code of the failure ``FlextResult.collect_errors`` returns when its failures disagree on a code."""
OPERATION_ERROR: Final = "OPERATION_ERROR"
"""Default code of ``FlextResult.fail`` and ``from_exception``."""
NO_HANDLER: Final = "NO_HANDLER"
"""A command or query was dispatched with no handler registered for its type."""
HANDLER_ERROR: Final = "HANDLER_ERROR"
"""One or more event subscribers failed; ``error_data`` lists them."""
ALREADY_REGISTERED: Final = "ALREADY_REGISTERED"
"""A second registration for something that takes exactly one."""
CIRCULAR_DEPENDENCY: Final = "CIRCULAR_DEPENDENCY"
"""Container services depend on each other in a cycle."""
UNKNOWN_MESSAGE_TYPE: Final = "UNKNOWN_MESSAGE_TYPE"
"""A serialized message names a type the registry does not know."""
DESERIALIZATION_ERROR: Final = "DESERIALIZATION_ERROR"
"""A serialized payload is malformed or does not fit its type."""
SCOPE_ERROR: Final = "SCOPE_ERROR"
"""A scoped service was resolved with no active ``container.scope()``."""
ASYNC_REQUIRED: Final = "ASYNC_REQUIRED"
"""A service needs ``await container.aresolve`` (or ``aclose``) but was used synchronously."""
STORAGE_ERROR: Final = "STORAGE_ERROR"
"""An event store's storage failed (disk, database, driver); ``error_data`` names the driver error."""
PLUGIN_DISABLED: Final = "PLUGIN_DISABLED"
"""What was asked for is provided by an installed plugin that is disabled; ``error_data`` names it."""
PLUGIN_LOAD_FAILED: Final = "PLUGIN_LOAD_FAILED"
"""A plugin could not be imported, failed its version gate, or raised in a hook."""

# The ``flext`` command line's codes (``flext_kernel.cli``); docs/cli.md gives their exit codes.
USAGE_ERROR: Final = "USAGE_ERROR"
"""Unknown command or option, or a bad option value (exit code 2)."""
INTERNAL_ERROR: Final = "INTERNAL_ERROR"
"""An unexpected exception, a bug: one line, the traceback only with ``--debug``."""
INTERRUPTED: Final = "INTERRUPTED"
"""The run was stopped by Ctrl-C or a signal (exit code 130 from ``flext``)."""
INSTALL_FAILED: Final = "INSTALL_FAILED"
"""``flext plugin install`` found no installer, or the installer failed; the environment is unchanged."""
NOT_A_PLUGIN: Final = "NOT_A_PLUGIN"
"""What ``flext plugin install`` installed has no ``flext.plugins`` entry point; it was rolled back."""
ROLLBACK_FAILED: Final = "ROLLBACK_FAILED"
"""A failed ``flext plugin install`` could not be undone; the message lists what differs."""
UNINSTALL_FAILED: Final = "UNINSTALL_FAILED"
"""The installer could not uninstall a plugin's distribution."""
LOCAL_PLUGIN: Final = "LOCAL_PLUGIN"
"""The plugin to uninstall lives in a plugins directory, not in an installed distribution."""


class FlextError(Exception):
    """Base of every exception the kernel raises; its code and data turn back into a failure unparsed."""

    def __init__(
        self, message: str, error_code: str | None = None, error_data: Mapping[str, object] | None = None
    ) -> None:
        super().__init__(message if error_code is None else f"{message} ({error_code})")
        self.message = message
        """The message, without the code."""
        self.error_code = error_code
        """The error code, one of the constants in this module or a plugin's own."""
        self.error_data: dict[str, object] = dict(error_data or {})
        """Structured details."""


class FlextResultError(FlextError):
    """A failed ``FlextResult`` was unwrapped; carries the failure's details."""


class FlextContainerError(FlextError):
    """A service could not be resolved or registered; the message names the chain."""


class FlextBusError(FlextError):
    """A bus was wired wrongly, for example two handlers for one command type."""
