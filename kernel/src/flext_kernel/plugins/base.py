"""FlextPlugin: the base class for plugins that hold resources, and the plugin states."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from flext_kernel.plugins.hookspecs import hookimpl
from flext_kernel.result import FlextResult

if TYPE_CHECKING:
    from flext_kernel.kernel import FlextKernel
    from flext_kernel.plugins.manifest import PluginManifest

__all__ = ["FlextPlugin", "PluginState"]


class PluginState(StrEnum):
    """Where a plugin is in its life; ``flext plugin info`` shows it."""

    DISCOVERED = "discovered"
    """Found through an entry point or the plugins directory; not imported yet."""
    LOADED = "loaded"
    """Imported, manifest valid, version gate passed, hooks registered."""
    ACTIVE = "active"
    """Services and handlers registered and ``initialize`` succeeded."""
    FAILED = "failed"
    """Something went wrong; the reason is kept, every other plugin keeps working."""
    DISABLED = "disabled"
    """Turned off by the user; not imported at all."""
    STOPPED = "stopped"
    """Shut down cleanly."""


class FlextPlugin:
    """Base class for a plugin that acquires resources (connections, pools, watchers).

    Set ``manifest`` and override what you need; the entry point names the class and
    the kernel builds one instance. A failed result marks the plugin failed, nothing more.
    """

    manifest: ClassVar[PluginManifest]
    """The plugin's manifest; required."""

    def initialize(self, kernel: FlextKernel) -> FlextResult[None]:
        """Acquire resources; the default does nothing."""
        return FlextResult.ok(None)

    def health(self) -> FlextResult[dict[str, Any]]:
        """Report health details; the default reports ``{"status": "ok"}``."""
        return FlextResult.ok({"status": "ok"})

    def shutdown(self) -> FlextResult[None]:
        """Release resources; the default does nothing."""
        return FlextResult.ok(None)

    # The lifecycle reaches the kernel through the same hooks every plugin uses.

    @hookimpl
    def flext_startup(self, kernel: FlextKernel) -> None:
        """Run ``initialize``; a failure is raised so the manager marks this plugin failed."""
        self.initialize(kernel).unwrap()

    @hookimpl
    def flext_shutdown(self, kernel: FlextKernel) -> None:
        """Run ``shutdown``; a failure is raised so the manager reports it."""
        self.shutdown().unwrap()

    @hookimpl
    def flext_health(self) -> FlextResult[dict[str, Any]]:
        """Answer the health hook with ``health()``."""
        return self.health()
