"""What the CLI's commands share: this run's plugin directories, plugin state, and a full plugin load."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from flext_kernel.cli.settings import current

if TYPE_CHECKING:  # importing pluggy costs start-up time that `flext version` must not pay
    from flext_kernel.plugins.manager import PluginManager
    from flext_kernel.plugins.state import PluginStateStore

__all__ = ["inspect_plugins", "plugin_dirs", "selection", "state_store"]


def plugin_dirs() -> list[Path]:
    """The local plugin directories of this run."""
    from flext_kernel.paths import user_plugins_dir

    return [*current().plugin_dirs, user_plugins_dir()]


def state_store() -> PluginStateStore:
    """The user's plugin state (``plugins.db``: disabled plugins and pinned commands)."""
    from flext_kernel.paths import config_dir
    from flext_kernel.plugins.state import PluginStateStore

    return PluginStateStore(config_dir() / "plugins.db")


def selection() -> tuple[set[str] | None, set[str]]:
    """(``FLEXT_PLUGINS``'s names or None, the plugins this run disables: plugins.db and the environment)."""
    from flext_kernel.plugins.state import environment_overrides

    only, denied = environment_overrides()
    return only, state_store().disabled() | denied


def inspect_plugins() -> PluginManager:
    """Discover and load all plugins (disabled ones are recorded, not imported); refresh the cache."""
    from flext_kernel.cli import command_cache
    from flext_kernel.cli.kernel_plugin import CANDIDATE
    from flext_kernel.plugins.discovery import discover
    from flext_kernel.plugins.manager import PluginManager
    from flext_kernel.version import KERNEL_VERSION

    only, disabled = selection()
    manager = PluginManager(KERNEL_VERSION, disabled=disabled, only=only)
    directories = plugin_dirs()
    manager.load([CANDIDATE, *discover(directories)])
    command_cache.load_table(directories, refresh=True)
    return manager
