"""``flext version``: what is installed, read from the command cache without importing any plugin."""

from __future__ import annotations

import platform

from flext_kernel.cli import output
from flext_kernel.version import KERNEL_VERSION

__all__ = ["version"]


def version() -> int:
    """Print the versions of flext-kernel, Python and every installed plugin."""
    from flext_kernel.cli.command_cache import load_table
    from flext_kernel.cli.session import plugin_dirs

    plugins = {
        entry["name"]: entry.get("version")
        for entry in load_table(plugin_dirs()).get("plugins", [])
        if entry.get("name") != "kernel"
    }
    data = {"flext_kernel": KERNEL_VERSION, "python": platform.python_version(), "plugins": plugins}
    lines = [f"flext {KERNEL_VERSION} (Python {data['python']})"]
    lines += [f"  {name} {plugin_version or '?'}" for name, plugin_version in sorted(plugins.items())]
    return output.emit(data, human="\n".join(lines))
