"""The ``ldif`` plugin: declares ``flext data ldif inspect``; loading it imports nothing else."""

from __future__ import annotations

from flext_sdk import CommandEntry, GroupEntry, PluginManifest

__all__ = ["NAME", "manifest"]

NAME = "ldif"
"""The plugin's name."""

manifest = PluginManifest(
    name=NAME,
    version="0.1.0",
    description="LDIF files: the tap-ldif Singer tap and flext data ldif inspect",
    commands=(
        CommandEntry(
            path=("data", "ldif", "inspect"),
            target="flext_plugin_ldif.inspect_cli:inspect",
            help="Count the entries of LDIF files per stream and change type (or show the first error).",
        ),
    ),
    groups=(
        GroupEntry(path=("data", "ldif"), help="Look into LDIF files (read by the tap-ldif Singer tap)."),
    ),
)
"""The plugin's manifest: its commands, declared lazily."""
