"""Every lazy command target of the kernel and the SDK imports, so a typo fails CI and not a user.

Also: the kernel's ``plugin`` group is a group like any other, so a plugin's
command lands in it (the SDK's ``flext plugin new``) without taking the
kernel's commands away, and the kernel's commands win every conflict.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
from cyclopts import App

from flext_kernel.cli.app import assemble
from flext_kernel.cli.builtin import KERNEL_COMMANDS, KERNEL_GROUPS
from flext_kernel.version import KERNEL_VERSION
from flext_sdk.authoring.plugin import manifest as sdk_manifest

COMMANDS = [(path, target) for path, target, _ in KERNEL_COMMANDS] + [
    (entry.path, entry.target) for entry in sdk_manifest.commands
]


def _resolve(target: str) -> object:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


@pytest.mark.parametrize(("path", "target"), COMMANDS, ids=lambda v: str(v))
def test_command_target_resolves(path: tuple[str, ...], target: str) -> None:
    obj = _resolve(target)
    assert isinstance(obj, App) or callable(obj)


def test_the_kernel_has_only_the_plugin_hosts_commands() -> None:
    assert {" ".join(path) for path, _, _ in KERNEL_COMMANDS} == {
        "plugin list",
        "plugin info",
        "plugin install",
        "plugin enable",
        "plugin disable",
        "plugin pin",
        "plugin uninstall",
        "doctor",
        "version",
    }
    assert ("plugin",) in dict(KERNEL_GROUPS)


def _plugin(name: str, *commands: tuple[str, str], state: str = "loaded") -> dict[str, Any]:
    return {
        "name": name,
        "state": state,
        "reason": None,
        "requires": [],
        "commands": [
            {"path": path.split(), "target": target, "help": f"{path} help"} for path, target in commands
        ],
        "groups": [{"path": ["plugin"], "help": "a plugin cannot redescribe the kernel's group"}],
    }


def test_a_plugin_adds_a_command_to_the_kernels_plugin_group() -> None:
    table = {
        "plugins": [_plugin("author", ("plugin new", "author.cli:new"), ("plugin list", "author.cli:other"))]
    }
    assembly = assemble(table, disabled=set(), only=None)
    assert assembly.owners["plugin new"] == "author"
    assert assembly.owners["plugin list"] == "kernel"
    assert assembly.children[("plugin",)] >= {
        "list",
        "info",
        "install",
        "enable",
        "disable",
        "uninstall",
        "new",
    }
    assert assembly.conflicts == ["'flext plugin list' is claimed by kernel and author; kernel wins"]
    assert assembly.app["plugin"].help == dict(KERNEL_GROUPS)[("plugin",)]
    assert assembly.unknown_command(["plugin", "new"]) is None


def test_a_plugin_cannot_turn_a_kernel_group_into_a_command() -> None:
    assembly = assemble(
        {"plugins": [_plugin("grabby", ("plugin", "grabby.cli:main"))]}, disabled=set(), only=None
    )
    assert "plugin" not in assembly.owners
    assert assembly.conflicts == ["'flext plugin' is a command group, so grabby cannot make it a command"]


def test_a_disabled_plugins_subcommand_disappears_and_the_group_stays() -> None:
    table = {"plugins": [_plugin("author", ("plugin new", "author.cli:new"))]}
    assembly = assemble(table, disabled={"author"}, only=None)
    assert "plugin new" not in assembly.owners
    assert assembly.unknown_command(["plugin", "new"]) == (
        "new",
        ["disable", "enable", "info", "install", "list", "pin", "uninstall"],
    )
    assert assembly.unavailable == {"plugin new": "author"}
    assert assembly.hidden == {"author": "disabled"}


def test_kernel_version_constant_matches_pyproject() -> None:
    pyproject = Path(__file__).resolve().parents[2] / "kernel" / "pyproject.toml"
    declared = re.search(r'^version = "([^"]+)"', pyproject.read_text(encoding="utf-8"), re.MULTILINE)
    assert declared is not None
    assert declared.group(1) == KERNEL_VERSION
