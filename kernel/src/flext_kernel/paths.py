"""Where FLEXT keeps the user's configuration, state, caches and local plugins.

``FLEXT_HOME`` puts everything under one directory (tests and CI use it to
stay isolated); otherwise the platform's user directories are used, with
local plugins in ``~/.flext/plugins``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir", "config_dir", "data_dir", "user_plugins_dir"]


def _home() -> Path | None:
    value = os.environ.get("FLEXT_HOME")
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    """User configuration and plugin state (``plugins.db``)."""
    home = _home()
    if home is not None:
        return home
    import platformdirs

    return Path(platformdirs.user_config_dir("flext"))


def data_dir() -> Path:
    """User data: the embedded event store, pipeline state."""
    home = _home()
    if home is not None:
        return home / "data"
    import platformdirs

    return Path(platformdirs.user_data_dir("flext"))


def cache_dir() -> Path:
    """Disposable caches, such as the plugin command cache."""
    home = _home()
    if home is not None:
        return home / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir("flext"))


def user_plugins_dir() -> Path:
    """Local single-file or package plugins."""
    home = _home()
    return (home / "plugins") if home is not None else Path.home() / ".flext" / "plugins"
