"""The SDK's plugin contract for the monitor plugin, its command targets, and what loading it costs."""

from __future__ import annotations

import importlib
import subprocess
import sys

from flext_plugin_monitor.plugin import flext_alert_notifiers, manifest

from flext_sdk.testing import PluginContract


class TestMonitorPluginContract(PluginContract):
    """Manifest, hooks, owners and commands, as every FLEXT plugin."""

    plugin = "flext_plugin_monitor.plugin"
    required_plugins = ("flext_eventsourcing.plugin",)


def test_every_command_target_resolves() -> None:
    for entry in manifest.commands:
        module, _, attribute = entry.target.partition(":")
        assert callable(getattr(importlib.import_module(module), attribute)), entry.target


def test_the_shipped_notifiers() -> None:
    assert sorted(notifier.kind for notifier in flext_alert_notifiers()) == ["command", "webhook"]


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    """No rich, YAML parser, Prometheus parser or event store until a command runs (pydantic: the SDK's)."""
    code = (
        "import sys, flext_plugin_monitor.plugin\n"
        "names = ('rich', 'yaml', 'prometheus_client', 'flext_eventsourcing')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
