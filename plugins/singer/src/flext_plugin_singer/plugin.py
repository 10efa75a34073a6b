"""The ``singer`` plugin: declares its commands; loading it imports nothing else."""

from __future__ import annotations

from flext_sdk import CommandEntry, GroupEntry, PluginManifest

__all__ = ["NAME", "manifest"]

NAME = "singer"
"""The plugin's name."""

_CLI = "flext_plugin_singer.connectors_cli"

_COMMANDS = (
    (("data", "taps", "list"), "list_taps", "List installed and installable taps."),
    (("data", "taps", "add"), "add_tap", "Install a tap into its own environment."),
    (("data", "targets", "list"), "list_targets", "List installed and installable targets."),
    (("data", "targets", "add"), "add_target", "Install a target into its own environment."),
    (("data", "mappers", "list"), "list_mappers", "List installed and installable mappers."),
    (("data", "mappers", "add"), "add_mapper", "Install a mapper into its own environment."),
)

manifest = PluginManifest(
    name=NAME,
    version="0.1.0",
    description="Singer taps and targets: install, list, and run them as connected processes",
    commands=tuple(
        CommandEntry(path=path, target=f"{_CLI}:{attribute}", help=text)
        for path, attribute, text in _COMMANDS
    ),
    groups=(
        GroupEntry(
            path=("data", "taps"),
            help="Singer taps (sources): list the installed and installable ones, add one.",
        ),
        GroupEntry(
            path=("data", "targets"),
            help="Singer targets (destinations): list the installed and installable ones, add one.",
        ),
        GroupEntry(
            path=("data", "mappers"),
            help="Singer mappers (between tap and target): list the installed and installable ones, add one.",
        ),
    ),
)
"""The plugin's manifest: its commands, declared lazily."""
