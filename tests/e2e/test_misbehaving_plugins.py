"""Plugins that misbehave, through the real ``flext``: every other command must go on.

A plugin is code FLEXT did not write. One that loops forever, exits, prints or
raises KeyboardInterrupt while it is imported, one that claims another
plugin's command, or one whose name or manifest is spelt oddly must cost the
user at most that plugin, with a reason that says what is wrong
(docs/security.md, "Misbehaving plugins").
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from flext_sdk.testing import CliResult, FlextCliRunner

LIMIT = "2"  # FLEXT_PLUGIN_IMPORT_TIMEOUT for these tests, in seconds
SLOW = 12.0  # far more than the limit, far less than the runner's timeout


def write_plugin(directory: Path, module: str, name: str, *, body: str = "", commands: str = "") -> Path:
    """A local plugin ``module.py`` with a manifest named ``name``; ``body`` runs at import, after it."""
    source = textwrap.dedent(
        f"""
        from flext_kernel.plugins.manifest import CommandEntry, PluginManifest

        manifest = PluginManifest(name={name!r}, version="1.0.0", commands=({commands}))
        """
    ) + textwrap.dedent(body)
    path = directory / f"{module}.py"
    path.write_text(source, encoding="utf-8")
    return path


def command(path: str, target: str) -> str:
    return f"CommandEntry(path={tuple(path.split())!r}, target={target!r}, help='test command'),"


HELLO = """
def hello() -> int:
    print("hello from " + __name__)
    return 0
"""


@pytest.fixture
def plugins(tmp_path: Path) -> Path:
    directory = tmp_path / "plugins"
    directory.mkdir()
    return directory


def run(cli: FlextCliRunner, plugins: Path, *args: str, **env: str) -> CliResult:
    return cli(*args, plugin_dirs=[plugins], env={"FLEXT_PLUGIN_IMPORT_TIMEOUT": LIMIT, **env})


def plugin_rows(result: CliResult) -> dict[str, dict[str, object]]:
    return {row["name"]: row for row in result.json()["data"]}


# Item 12: names and manifests.


def test_a_plugin_file_with_an_underscore_loads_under_its_canonical_name(
    flext_cli: FlextCliRunner, plugins: Path
) -> None:
    write_plugin(
        plugins, "plugin_cmd", "plugin_cmd", body=HELLO, commands=command("say-hi", "plugin_cmd:hello")
    )
    listed = plugin_rows(run(flext_cli, plugins, "--output", "json", "plugin", "list"))
    assert listed["plugin-cmd"]["state"] == "loaded", listed["plugin-cmd"]
    said = run(flext_cli, plugins, "say-hi")
    assert (said.exit_code, said.stdout) == (0, "hello from plugin_cmd\n"), said
    info = run(flext_cli, plugins, "--output", "json", "plugin", "info", "plugin_cmd")
    assert info.json()["data"]["name"] == "plugin-cmd", info
    off = run(flext_cli, plugins, "say-hi", FLEXT_DISABLE_PLUGINS="plugin_cmd")
    assert off.exit_code == 2, off
    assert "belongs to plugin 'plugin-cmd', which is disabled (PLUGIN_DISABLED)" in off.stderr


def test_a_dict_manifest_is_reported_as_what_it_is(flext_cli: FlextCliRunner, plugins: Path) -> None:
    (plugins / "dicty.py").write_text("manifest = {'name': 'dicty', 'version': '1.0'}\n", encoding="utf-8")
    info = run(flext_cli, plugins, "--output", "json", "plugin", "info", "dicty")
    assert info.json()["data"]["reason"] == (
        "dicty: manifest must be a PluginManifest, got dict; build it with PluginManifest(...)"
    )
