"""The SDK's plugin contract for the audit plugin, its command targets, and what its observer imports."""

from __future__ import annotations

import importlib
import subprocess
import sys

from flext_plugin_audit.plugin import manifest

from flext_sdk.testing import PluginContract


class TestAuditPluginContract(PluginContract):
    """Manifest, hooks, owners and commands, as every FLEXT plugin."""

    plugin = "flext_plugin_audit.plugin"


def test_every_command_target_resolves() -> None:
    for entry in manifest.commands:
        module, _, attribute = entry.target.partition(":")
        assert callable(getattr(importlib.import_module(module), attribute)), entry.target


def _loaded_after(imports: str, names: tuple[str, ...]) -> str:
    code = f"import sys, {imports}\nprint([m for m in {names!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_the_run_observer_imports_nothing_heavy() -> None:
    """It runs after every command: no pydantic, no event store, no CLI framework."""
    heavy = ("pydantic", "cyclopts", "rich", "flext_eventsourcing", "flext_plugin_audit.copy")
    assert _loaded_after("flext_plugin_audit.observer", heavy) == "[]"


def test_loading_the_plugin_imports_no_store_and_no_command() -> None:
    heavy = ("cyclopts", "rich", "flext_eventsourcing", "flext_plugin_audit.copy", "flext_plugin_audit.cli")
    assert _loaded_after("flext_plugin_audit.plugin", heavy) == "[]"
