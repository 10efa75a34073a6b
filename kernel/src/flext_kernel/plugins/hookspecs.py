"""The plugin contract: every hook a FLEXT plugin may implement (docs/plugins/hooks.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from flext_kernel.bus import FlextCommandBus, FlextEventBus, FlextQueryBus
    from flext_kernel.container import FlextContainer
    from flext_kernel.kernel import FlextKernel
    from flext_kernel.plugins.registry import CommandRegistry
    from flext_kernel.result import FlextResult

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "flext"
"""pluggy project name; hook implementations must use this project's marker."""

hookspec = pluggy.HookspecMarker(PROJECT)
"""Marks a hook specification (kernel only)."""
hookimpl = pluggy.HookimplMarker(PROJECT)
"""Marks a hook implementation; plugin authors import it from ``flext_sdk``."""


@hookspec
def flext_register_services(container: FlextContainer) -> None:
    """Register the plugin's services, each with ``owner=<plugin name>``: unplugging removes exactly those."""


@hookspec
def flext_register_handlers(
    command_bus: FlextCommandBus, query_bus: FlextQueryBus, event_bus: FlextEventBus
) -> None:
    """Register the plugin's command and query handlers and event subscribers (with ``owner=``)."""


@hookspec
def flext_register_commands(registry: CommandRegistry) -> None:
    """Declare CLI commands as lazy ``"module:attr"`` targets; called only to rebuild the command cache."""


@hookspec
def flext_startup(kernel: FlextKernel) -> None:
    """Run once every plugin's services and handlers are registered."""


@hookspec
def flext_shutdown(kernel: FlextKernel) -> None:
    """Release what ``flext_startup`` acquired; called in reverse dependency order."""


@hookspec
def flext_health() -> FlextResult[dict[str, Any]] | None:
    """Report the plugin's health: ``ok({...details})`` or a failure saying what is wrong."""


@hookspec
def flext_contributions_removed(kernel: FlextKernel, owner: str) -> None:
    """Forget what plugin ``owner`` registered with you; its services and handlers are gone already.

    Called when ``owner`` fails, stops or is unplugged for a hot reload. Must be
    idempotent: the call is repeated for the others when one of them raises.
    """
