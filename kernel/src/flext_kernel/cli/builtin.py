"""The kernel's own commands (the plugin host's), declared the way every plugin declares its commands.

Plain data (no pydantic): the root app registers them on every start-up;
``flext_kernel.cli.kernel_plugin`` wraps them in a manifest for ``flext plugin list``.
"""

from __future__ import annotations

from typing import Final

__all__ = ["KERNEL_COMMANDS", "KERNEL_GROUPS"]

_COMMANDS = "flext_kernel.cli.commands"
_PLUGIN = f"{_COMMANDS}.plugin"
_INSTALL = f"{_COMMANDS}.plugin_install"

KERNEL_COMMANDS: Final[tuple[tuple[tuple[str, ...], str, str], ...]] = (
    (
        ("plugin", "list"),
        f"{_PLUGIN}:list_plugins",
        "List every plugin with its version, state, commands and hooks.",
    ),
    (
        ("plugin", "info"),
        f"{_PLUGIN}:info",
        "Show everything known about one plugin: manifest, state, failure reason.",
    ),
    (
        ("plugin", "install"),
        f"{_INSTALL}:install",
        "Install a plugin with uv or pip (-e DIR: editable) and verify that it loads.",
    ),
    (("plugin", "enable"), f"{_PLUGIN}:enable", "Enable a plugin that was disabled."),
    (
        ("plugin", "disable"),
        f"{_PLUGIN}:disable",
        "Disable a plugin without uninstalling it: its commands and handlers disappear.",
    ),
    (
        ("plugin", "pin"),
        f"{_COMMANDS}.plugin_pin:pin",
        "Choose which plugin keeps a command that two plugins claim.",
    ),
    (
        ("plugin", "uninstall"),
        f"{_INSTALL}:uninstall",
        "Uninstall a plugin's distribution from this environment.",
    ),
    (
        ("doctor",),
        f"{_COMMANDS}.doctor:doctor",
        "Check plugins for failures, conflicts and missing requirements.",
    ),
    (("version",), f"{_COMMANDS}.version:version", "Print the versions of flext and its plugins."),
)
"""(path, "module:attr", help) for each kernel command; the first word of a longer path is a group."""

KERNEL_GROUPS: Final[tuple[tuple[tuple[str, ...], str], ...]] = (
    (("plugin",), "List, inspect, install, enable, disable and uninstall plugins."),
)
"""(path, help) of the kernel's groups: a plugin may add commands to them, not change their help."""
