"""The SDK's plugin ``sdk``: ``flext plugin new`` and ``flext dev``, and what turning it off leaves.

The authoring tools left the kernel for the SDK; these tests pin that they
are a plugin like any other (the contract suite), that users still type the
same commands, that ``flext --help`` and the kernel's CLI modules import
none of them, and that disabling the plugin takes exactly its two commands.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

from flext_sdk.authoring import plugin
from flext_sdk.testing import FlextCliRunner, PluginContract

ROOT = Path(__file__).resolve().parents[2]


class TestSdkPlugin(PluginContract):
    """The rules every FLEXT plugin follows, for the SDK's own."""

    plugin = "flext_sdk.authoring.plugin"


def test_the_entry_point_names_the_plugin() -> None:
    (found,) = entry_points(group="flext.plugins", name=plugin.NAME)
    assert found.value == "flext_sdk.authoring.plugin"
    assert plugin.manifest.name == plugin.NAME


def test_version_matches_pyproject() -> None:
    declared = re.search(
        r'^version = "([^"]+)"', (ROOT / "sdk" / "pyproject.toml").read_text(encoding="utf-8"), re.MULTILINE
    )
    assert declared is not None
    assert declared.group(1) == plugin.VERSION


def test_users_type_the_same_commands() -> None:
    assert {entry.name for entry in plugin.manifest.commands} == {"plugin new", "dev"}


def test_the_commands_are_listed_and_owned_by_sdk(flext_cli: FlextCliRunner) -> None:
    listed = flext_cli("--output", "json", "plugin", "info", "sdk")
    assert listed.exit_code == 0, listed.stderr
    data = json.loads(listed.stdout)["data"]
    assert (data["name"], data["state"], data["distribution"]) == ("sdk", "loaded", "flext-sdk")
    assert {c["command"] for c in data["commands"]} == {"flext plugin new", "flext dev"}
    kernel = json.loads(flext_cli("--output", "json", "plugin", "info", "kernel").stdout)["data"]
    assert not {"flext plugin new", "flext dev"} & {c["command"] for c in kernel["commands"]}
    helped = flext_cli("plugin", "--help").stdout
    assert re.search(r"^\W*new\s+Write a complete new plugin", helped, re.MULTILINE), helped


def test_disabled_it_takes_only_its_own_commands(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    where = tmp_path / "work"
    where.mkdir()
    listed_dev = re.compile(r"^\W*dev\b", re.MULTILINE)
    assert listed_dev.search(flext_cli("--help").stdout)
    assert flext_cli("plugin", "disable", "sdk").exit_code == 0
    new = flext_cli("plugin", "new", "greeter", "--directory", str(where))
    assert new.exit_code == 2
    assert new.stderr.splitlines() == [
        "error: 'flext plugin new' belongs to plugin 'sdk', which is disabled (PLUGIN_DISABLED)",
        "hint: enable it with 'flext plugin enable sdk'",
    ]
    assert list(where.iterdir()) == []
    dev = flext_cli("dev", "--reload", "off", input="")
    assert dev.exit_code == 2
    assert dev.stderr.startswith("error: 'flext dev' belongs to plugin 'sdk', which is disabled")
    helped = flext_cli("--help")
    assert helped.exit_code == 0
    assert not listed_dev.search(helped.stdout)
    for command in (("plugin", "list"), ("doctor",), ("version",)):
        ran = flext_cli(*command)
        assert ran.exit_code == 0, (command, ran.stderr)
    assert flext_cli("plugin", "enable", "sdk").exit_code == 0
    left_out = flext_cli("dev", env={"FLEXT_DISABLE_PLUGINS": "sdk"})
    assert (left_out.exit_code, left_out.stderr.splitlines()[1]) == (
        2,
        "hint: FLEXT_PLUGINS or FLEXT_DISABLE_PLUGINS leaves 'sdk' out of this run; change them to use it",
    )
    assert flext_cli("plugin", "new", "greeter", "--directory", str(where)).exit_code == 0


def test_the_cli_imports_none_of_it(flext_cli: FlextCliRunner) -> None:
    """``flext --help`` on a warm cache imports no SDK module, and neither does the CLI's main module."""
    code = (
        "import sys\n"
        "import flext_kernel.cli.main as main\n"
        "loaded = set(sys.modules)\n"
        "sys.argv = ['flext', '--help']\n"
        "try:\n"
        "    main.run()\n"
        "except SystemExit:\n"
        "    pass\n"
        "after = set(sys.modules)\n"
        "bad = lambda names: sorted(n for n in names if n.startswith(('flext_sdk', 'watchfiles')))\n"
        "print(bad(loaded), bad(after), file=sys.stderr)\n"
    )
    environment = {"FLEXT_HOME": str(flext_cli.home), "NO_COLOR": "1"}
    warm = [sys.executable, "-c", code]
    subprocess.run(warm, capture_output=True, text=True, check=True, env=environment)  # fills the cache
    done = subprocess.run(warm, capture_output=True, text=True, check=True, env=environment)
    assert done.stderr.strip().splitlines()[-1] == "[] []"


def test_flext_dev_without_watchfiles_says_what_to_install(tmp_path: Path) -> None:
    # None in sys.modules makes `import watchfiles` raise ImportError, as if it were not installed.
    code = (
        "import sys; sys.modules['watchfiles'] = None; "
        "from flext_kernel.cli.main import run; sys.argv = ['flext', 'dev']; run()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "FLEXT_HOME": str(tmp_path)},
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == (
        "error: flext dev needs watchfiles to watch files, and it is not installed (NOT_FOUND)"
    )
    assert "flext-sdk[dev]" in done.stderr
