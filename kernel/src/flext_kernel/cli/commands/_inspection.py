"""Load every plugin for real (imports them) for the diagnostic commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing pluggy costs start-up time that `flext version` must not pay
    from flext_kernel.plugins.manager import PluginManager

__all__ = ["inspect_plugins"]


def inspect_plugins() -> PluginManager:
    """Discover and load all plugins (disabled ones are recorded, not imported); refresh the cache."""
    from flext_kernel.cli import command_cache
    from flext_kernel.cli.kernel_plugin import CANDIDATE
    from flext_kernel.cli.session import plugin_dirs, selection
    from flext_kernel.plugins.discovery import discover
    from flext_kernel.plugins.manager import PluginManager
    from flext_kernel.version import KERNEL_VERSION

    only, disabled = selection()
    manager = PluginManager(KERNEL_VERSION, disabled=disabled, only=only)
    directories = plugin_dirs()
    manager.load([CANDIDATE, *discover(directories)])
    command_cache.load_table(directories, refresh=True)
    return manager
