"""The SDK's plugin contract for the shell plugin, its command targets, and what loading it costs."""

from __future__ import annotations

import importlib
import subprocess
import sys

from flext_plugin_shell.plugin import manifest

from flext_sdk.testing import PluginContract


class TestShellPluginContract(PluginContract):
    """Manifest, hooks, owners and commands, as every FLEXT plugin."""

    plugin = "flext_plugin_shell.plugin"


def test_every_command_target_resolves() -> None:
    for entry in manifest.commands:
        module, _, attribute = entry.target.partition(":")
        assert callable(getattr(importlib.import_module(module), attribute)), entry.target


def test_loading_the_plugin_and_its_kernel_hooks_imports_nothing_heavy() -> None:
    """No prompt_toolkit until the shell starts; the hook functions (history, aliases) are stdlib-only."""
    code = (
        "import sys, flext_plugin_shell.plugin, flext_plugin_shell.history, flext_plugin_shell.aliases\n"
        "names = ('prompt_toolkit', 'cyclopts', 'rich', 'flext_plugin_shell.catalog')\n"
        "print([m for m in names if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
