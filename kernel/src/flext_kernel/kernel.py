"""FlextKernel: one container, three buses and the plugins that fill them.

A process builds one (the CLI, a service, a test); there is no global kernel:
hooks hand it to plugins.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from flext_kernel.bus import FlextCommandBus, FlextEventBus, FlextQueryBus
from flext_kernel.container import FlextContainer
from flext_kernel.plugins.discovery import Candidate, discover
from flext_kernel.plugins.inflight import InflightTracker
from flext_kernel.plugins.manager import PLUGIN_LOAD_FAILED, PluginManager
from flext_kernel.result import FlextResult
from flext_kernel.version import KERNEL_VERSION

__all__ = ["FlextKernel"]


class FlextKernel:
    """The running kernel: services, buses and loaded plugins."""

    def __init__(self, plugins: PluginManager | None = None) -> None:
        self.inflight = InflightTracker()
        """How many handlers of each plugin are running; hot reload waits on it."""
        self.reload_lock = threading.RLock()
        """Held while plugins are swapped; hold it to see one consistent set of plugin modules."""
        self.container = FlextContainer()
        """Services, registered by plugins with their name as owner."""
        self.command_bus = FlextCommandBus(tracker=self.inflight)
        """Commands: one handler per type."""
        self.query_bus = FlextQueryBus(tracker=self.inflight)
        """Queries: one handler per type."""
        self.event_bus = FlextEventBus(tracker=self.inflight)
        """Domain events: any number of subscribers."""
        self.plugins = plugins if plugins is not None else PluginManager(KERNEL_VERSION)
        """The plugin manager, with every plugin's record."""
        # A plugin a hook fails at any time (collect, health, not only the lifecycle) leaves nothing behind.
        self.plugins.on_fail = self.remove_contributions
        self.container.register(FlextKernel, self)
        self.container.register(FlextCommandBus, self.command_bus)
        self.container.register(FlextQueryBus, self.query_bus)
        self.container.register(FlextEventBus, self.event_bus)

    @classmethod
    def boot(
        cls,
        candidates: Iterable[Candidate] | None = None,
        *,
        plugin_dirs: Iterable[Path] = (),
        disabled: Iterable[str] = (),
        only: Iterable[str] | None = None,
        strict: bool = False,
    ) -> FlextResult[FlextKernel]:
        """Discover (unless ``candidates`` is given), load and activate plugins.

        A failing plugin is recorded and skipped; with ``strict`` the boot fails (``PLUGIN_LOAD_FAILED``).
        """
        kernel = cls(PluginManager(KERNEL_VERSION, disabled=disabled, only=only))
        found = list(candidates) if candidates is not None else discover(plugin_dirs)
        kernel.plugins.load(found)
        kernel.plugins.activate(kernel)
        failures = kernel.plugins.failures()
        if strict and failures:
            lines = "; ".join(f"{r.name}: {r.reason}" for r in failures)
            kernel.close()  # the plugins that did start must not be left holding resources
            return FlextResult.fail(
                f"{len(failures)} plugin(s) failed: {lines}",
                error_code=PLUGIN_LOAD_FAILED,
                error_data={"failed": [r.name for r in failures]},
            )
        return FlextResult.ok(kernel)

    def remove_contributions(self, owner: str) -> None:
        """Remove every service and handler registered with ``owner=owner``, and tell the plugins.

        Plugins with registries of their own drop ``owner``'s entries on ``flext_contributions_removed``.
        A plugin's registrations under its manifest's spelling of its name (``my_plugin``) go too.
        """
        record = self.plugins.records.get(owner)
        for name in record.owners if record is not None else (owner,):
            self.container.remove_owner(name)
            for bus in (self.command_bus, self.query_bus, self.event_bus):
                bus.remove_owner(name)
            self.plugins.collect("flext_contributions_removed", kernel=self, owner=name)

    def close(self) -> None:
        """Shut plugins down in reverse dependency order, then close the container's objects.

        Each plugin's contributions leave right after its ``flext_shutdown``, so a plugin
        shutting down can still use what the plugins it requires provide. Waits for a reload.
        """
        with self.reload_lock:
            for record in reversed(self.plugins.active_order()):
                self.plugins.shutdown_one(self, record.name)
                self.remove_contributions(record.name)
            self.container.close()

    def __enter__(self) -> FlextKernel:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
