"""The SDK's plugin contract, for the service plugin, and its commands' import targets."""

from __future__ import annotations

import importlib

from flext_plugin_service.plugin import manifest

from flext_sdk.testing import PluginContract


class TestServicePluginContract(PluginContract):
    """Manifest, hooks, owners and commands, as every FLEXT plugin."""

    plugin = "flext_plugin_service.plugin"


def test_every_command_target_resolves() -> None:
    for entry in manifest.commands:
        module, _, attribute = entry.target.partition(":")
        assert callable(getattr(importlib.import_module(module), attribute)), entry.target
