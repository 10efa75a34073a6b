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


def _user_dir(under_home: str, platform_dir: str) -> Path:
    """``FLEXT_HOME/under_home``, else ``platformdirs``' ``platform_dir`` (imported only then) for flext."""
    home = _home()
    if home is not None:
        return home / under_home
    import platformdirs

    return Path(getattr(platformdirs, platform_dir)("flext"))


def config_dir() -> Path:
    """User configuration and plugin state (``plugins.db``)."""
    return _user_dir("", "user_config_dir")


def data_dir() -> Path:
    """User data: the embedded event store, pipeline state."""
    return _user_dir("data", "user_data_dir")


def cache_dir() -> Path:
    """Disposable caches, such as the plugin command cache."""
    return _user_dir("cache", "user_cache_dir")


def user_plugins_dir() -> Path:
    """Local single-file or package plugins."""
    home = _home()
    return (home / "plugins") if home is not None else Path.home() / ".flext" / "plugins"
