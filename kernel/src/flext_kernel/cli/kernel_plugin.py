"""The kernel as a plugin: its commands go through the same manifest as everyone's."""

from __future__ import annotations

from flext_kernel.cli.builtin import KERNEL_COMMANDS
from flext_kernel.plugins.discovery import Candidate
from flext_kernel.plugins.manifest import CommandEntry, PluginManifest
from flext_kernel.version import KERNEL_VERSION

__all__ = ["CANDIDATE", "manifest"]

manifest = PluginManifest(
    name="kernel",
    version=KERNEL_VERSION,
    description=f"The FLEXT kernel's own commands: {', '.join(p[0] for p, _, _ in KERNEL_COMMANDS)}.",
    kernel=f"=={KERNEL_VERSION}",
    commands=tuple(
        CommandEntry(path=path, target=target, help=text) for path, target, text in KERNEL_COMMANDS
    ),
)

CANDIDATE = Candidate(
    name="kernel", target=__name__, source="builtin", distribution="flext-kernel", version=KERNEL_VERSION
)
"""How the plugin manager finds this module; it is always loaded first."""
