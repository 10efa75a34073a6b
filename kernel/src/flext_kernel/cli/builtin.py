"""The kernel's own commands, declared the way every plugin declares its commands.

They are plain data here (no pydantic) because the root app registers them
on every start-up; ``flext_kernel.cli.kernel_plugin`` wraps the same table in
a real plugin manifest for ``flext plugin list``.
"""

from __future__ import annotations

from typing import Final

__all__ = ["KERNEL_COMMANDS", "KERNEL_GROUPS"]

_COMMANDS = "flext_kernel.cli.commands"

KERNEL_COMMANDS: Final[tuple[tuple[tuple[str, ...], str, str], ...]] = (
    (("plugin",), f"{_COMMANDS}.plugin:app", "List, inspect, enable, disable, install and create plugins."),
    (
        ("doctor",),
        f"{_COMMANDS}.doctor:doctor",
        "Check plugins for failures, conflicts and missing requirements.",
    ),
    (("version",), f"{_COMMANDS}.version:version", "Print the versions of flext and its plugins."),
    (("dev",), f"{_COMMANDS}.dev:dev", "Run the kernel with plugins reloaded on every source change."),
)
"""(path, "module:attr", help) for each kernel command."""

KERNEL_GROUPS: Final[tuple[tuple[tuple[str, ...], str], ...]] = (
    (("data",), "Move data: Singer taps and targets, pipelines, dbt, and tools for each format."),
)
"""(path, help) of the groups many plugins share; a plugin's own ``GroupEntry`` cannot override these."""
