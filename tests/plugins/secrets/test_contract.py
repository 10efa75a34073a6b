"""The SDK's plugin contract, for the secrets plugin, and its commands' import targets."""

from __future__ import annotations

import importlib
import subprocess
import sys

from flext_plugin_secrets.plugin import manifest

from flext_sdk.testing import PluginContract


class TestSecretsPluginContract(PluginContract):
    """Manifest, hooks, owners and commands, as every FLEXT plugin."""

    plugin = "flext_plugin_secrets.plugin"


def test_every_command_target_resolves() -> None:
    for entry in manifest.commands:
        module, _, attribute = entry.target.partition(":")
        assert callable(getattr(importlib.import_module(module), attribute)), entry.target


def test_loading_the_plugin_imports_neither_keyring_nor_cryptography() -> None:
    code = (
        "import sys, flext_plugin_secrets.plugin; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'keyring', 'cryptography'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
