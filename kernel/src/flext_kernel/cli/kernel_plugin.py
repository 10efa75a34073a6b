"""The kernel as a plugin: its commands go through the same manifest as everyone's."""

from __future__ import annotations

from flext_kernel.cli.builtin import KERNEL_COMMANDS, KERNEL_GROUPS
from flext_kernel.plugins.discovery import Candidate
from flext_kernel.plugins.manifest import CommandEntry, GroupEntry, PluginManifest
from flext_kernel.version import KERNEL_VERSION

__all__ = ["CANDIDATE", "manifest"]

_ROOTS = ", ".join(dict.fromkeys(path[0] for path, _, _ in KERNEL_COMMANDS))

manifest = PluginManifest(
    name="kernel",
    version=KERNEL_VERSION,
    description=f"The FLEXT kernel's own commands: {_ROOTS}.",
    kernel=f"=={KERNEL_VERSION}",
    commands=tuple(
        CommandEntry(path=path, target=target, help=text) for path, target, text in KERNEL_COMMANDS
    ),
    groups=tuple(GroupEntry(path=path, help=text) for path, text in KERNEL_GROUPS),
)

CANDIDATE = Candidate(
    name="kernel", target=__name__, source="builtin", distribution="flext-kernel", version=KERNEL_VERSION
)
"""How the plugin manager finds this module; it is always loaded first."""
