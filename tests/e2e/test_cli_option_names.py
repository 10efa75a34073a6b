"""No command option reuses a global option's name: the whole assembled CLI, walked.

The global options (``--output``, ``--json``, ``--debug``, ``--quiet``,
``--plugins-dir``, ``--help``/``-h``, ``--version``) are read wherever they
stand on the command line, so a command option of the same name is shadowed:
``flext events export --output json`` once wrote a file named ``json``. The
walk runs in a fresh interpreter against an isolated ``FLEXT_HOME``, builds
the app exactly as ``flext`` does (every installed plugin, from the command
table), imports every command, and lists each one's options as a user would
type them, ``--no-`` forms and short flags included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

WALK = """
import json
from flext_kernel.cli.app import apply_flag_policy
from flext_kernel.cli.main import _with_global_options, build
from flext_kernel.cli.settings import Settings

assembly = build(Settings())
meta = _with_global_options(assembly, None)

def typed(argument):
    return [name for name in (*argument.names, *argument.negatives) if name.startswith("-")]

def options(app):
    arguments = app.assemble_argument_collection()
    return {name for argument in arguments if argument.parse for name in typed(argument)}

global_options = options(meta) | {*assembly.app.help_flags, *assembly.app.version_flags}
commands = {}
for path, owner in sorted(assembly.owners.items()):
    node = assembly.app
    for word in path.split():
        node = node[word]
    apply_flag_policy(node)  # what flext does to the command a command line names
    commands[path] = {"owner": owner, "options": sorted(options(node))}
print(json.dumps({"global": sorted(global_options), "commands": commands, "hidden": assembly.hidden}))
"""

KNOWN_CLASHES: dict[str, set[str]] = {}
"""Commands of plugins whose owners have yet to rename an option: ``flext <command>`` -> the names."""


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("home")
    import os

    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLEXT_")}
    environment["FLEXT_HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, "-c", WALK],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    walked: dict[str, Any] = json.loads(done.stdout)
    return walked


def _clashes(cli: dict[str, Any]) -> dict[str, set[str]]:
    reserved = set(cli["global"])
    found = {path: reserved & set(command["options"]) for path, command in cli["commands"].items()}
    return {path: names for path, names in found.items() if names}


def test_the_walk_sees_every_installed_plugin(cli: dict[str, Any]) -> None:
    assert cli["hidden"] == {}, "a plugin failed to load, so its commands were not walked"
    installed = {entry.name for entry in entry_points(group="flext.plugins")}
    owners = {command["owner"] for command in cli["commands"].values()}
    # Plugins without commands (event stores, event sourcing) have nothing to walk.
    assert {"kernel", "sdk", "events", "pipeline", "singer", "dbt", "sqlite", "ldif"} <= owners
    assert owners - {"kernel"} <= installed
    assert {"--output", "--json", "--debug", "--quiet", "--plugins-dir", "--help", "-h", "--version"} <= set(
        cli["global"]
    )
    assert len(cli["commands"]) >= 40


def test_no_command_option_reuses_a_global_option(cli: dict[str, Any]) -> None:
    clashes = _clashes(cli)
    assert clashes == {}, "command options that reuse a global option's name (rename them): " + "; ".join(
        f"flext {path} ({cli['commands'][path]['owner']}): {', '.join(sorted(names))}"
        for path, names in sorted(clashes.items())
    )


def test_the_walk_catches_a_clash(tmp_path: Path) -> None:
    """The same walk over a local plugin with a clashing option finds it (the test can fail)."""
    plugins = tmp_path / "home" / "plugins"
    plugins.mkdir(parents=True)
    (plugins / "clash.py").write_text(
        textwrap.dedent(
            """
            from flext_kernel.plugins.manifest import CommandEntry, PluginManifest
            manifest = PluginManifest(name="clash", version="1.0.0",
                                      commands=(CommandEntry(path=("clash",), target="clash:clash"),))
            def clash(*, output: str = "x", quiet: bool = False) -> int:
                return 0
            """
        ),
        encoding="utf-8",
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLEXT_")}
    environment["FLEXT_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, "-c", WALK],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert _clashes(json.loads(done.stdout))["clash"] == {"--output", "--quiet"}
