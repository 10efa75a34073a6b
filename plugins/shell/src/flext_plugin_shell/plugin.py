"""The ``shell`` plugin: declares ``flext interactive``, ``history``, ``alias`` and ``completion``.

Loading it imports nothing but the manifest types: prompt_toolkit is imported by the shell alone.
"""

from __future__ import annotations

from flext_sdk import CommandEntry, GroupEntry, PluginManifest

__all__ = ["manifest"]

_CLI = "flext_plugin_shell.cli"

manifest = PluginManifest(
    name="shell",
    version="0.1.0",
    description="The interactive shell, command history, aliases and shell completion",
    commands=(
        CommandEntry(
            path=("interactive",),
            target=f"{_CLI}:interactive",
            help="An interactive shell: completion, history search (Ctrl-R), aliases, the profile shown.",
        ),
        CommandEntry(
            path=("history",),
            target=f"{_CLI}:history_command",
            help="The command lines run here, with profile, exit code and duration (secrets redacted).",
        ),
        CommandEntry(
            path=("alias", "add"), target=f"{_CLI}:add_alias", help="Add an alias for a command line."
        ),
        CommandEntry(path=("alias", "list"), target=f"{_CLI}:list_aliases", help="List the aliases."),
        CommandEntry(path=("alias", "remove"), target=f"{_CLI}:remove_alias", help="Remove an alias."),
        CommandEntry(
            path=("completion", "show"),
            target=f"{_CLI}:show_completion",
            help="Print the completion script for bash, zsh or fish.",
        ),
        CommandEntry(
            path=("completion", "install"),
            target=f"{_CLI}:install_completion",
            help="Install the completion script for bash, zsh or fish.",
        ),
        CommandEntry(
            path=("completion", "candidates"),
            target=f"{_CLI}:candidates",
            help="The completions of $FLEXT_COMP_LINE, one a line (called by the completion scripts).",
        ),
    ),
    groups=(
        GroupEntry(path=("alias",), help="Short names for command lines, expanded in the shell."),
        GroupEntry(path=("completion",), help="Tab completion for bash, zsh and fish."),
    ),
)
"""The plugin's manifest: its commands, declared lazily."""
