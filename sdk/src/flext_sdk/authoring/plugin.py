"""The ``sdk`` plugin: declares the authoring commands; loading it imports nothing else.

``plugin new`` sits under the kernel's ``plugin`` group, so users type
``flext plugin new`` as before; the kernel makes a group of its commands and
any plugin may add a command to it.
"""

from __future__ import annotations

from flext_sdk import CommandEntry, PluginManifest

__all__ = ["NAME", "VERSION", "manifest"]

NAME = "sdk"
"""The plugin's name: its entry point's name, and what ``flext plugin disable`` takes."""

VERSION = "0.1.0"
"""The flext-sdk version (a test keeps it equal to ``sdk/pyproject.toml``)."""

_HERE = "flext_sdk.authoring"

manifest = PluginManifest(
    name=NAME,
    version=VERSION,
    description="Plugin authoring tools: flext plugin new, flext dev",
    commands=(
        CommandEntry(
            path=("plugin", "new"),
            target=f"{_HERE}.new:new",
            help="Write a complete new plugin distribution (pyproject, package, command, handler, tests).",
        ),
        CommandEntry(
            path=("dev",),
            target=f"{_HERE}.dev:dev",
            help="Run the kernel with plugins reloaded on every source change.",
        ),
    ),
)
"""The plugin's manifest: its commands, declared lazily."""
