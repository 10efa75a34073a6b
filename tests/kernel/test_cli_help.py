"""``flext --help`` describes only what is installed, and offers only options that do something.

The help of the root and of every group comes from the command table (the
kernel's commands and the installed plugins'), never from text written for
plugins that may not be there.
"""

from __future__ import annotations

from typing import Any

import pytest

from flext_kernel.cli.app import HELP, assemble
from flext_kernel.cli.builtin import KERNEL_COMMANDS, KERNEL_GROUPS
from flext_kernel.cli.main import _unknown_global_option
from flext_kernel.cli.settings import Settings

NOT_THE_KERNELS = ("meltano", "ldap", "ldif", "oracle", "singer", "dbt", "pipeline", "data")


def _plugin(name: str, *paths: str, groups: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    return {
        "name": name,
        "state": "loaded",
        "reason": None,
        "requires": [],
        "description": f"{name} does things",
        "commands": [{"path": path.split(), "target": f"{name}.cli:run", "help": path} for path in paths],
        "groups": [{"path": path.split(), "help": text} for path, text in groups],
    }


def test_the_kernel_alone_describes_only_its_own_commands() -> None:
    assembly = assemble({"plugins": []}, disabled=set(), only=None)
    assert assembly.children[()] == {path[0] for path, _, _ in KERNEL_COMMANDS}
    texts = [HELP, *(text for _, _, text in KERNEL_COMMANDS), *(text for _, text in KERNEL_GROUPS)]
    for text in texts:
        for word in NOT_THE_KERNELS:
            assert word not in text.lower(), f"kernel help names {word!r}: {text!r}"


def test_a_group_no_plugin_declares_is_described_by_who_fills_it() -> None:
    table = {
        "plugins": [
            _plugin("alpha", "data hello", "solo one"),
            _plugin("beta", "data bye", "mail send", groups=(("mail", "Send mail."),)),
        ]
    }
    assembly = assemble(table, disabled=set(), only=None)
    assert assembly.app["data"].help == "Commands of the plugins alpha, beta."
    assert assembly.app["solo"].help == "alpha does things"
    assert assembly.app["mail"].help == "Send mail."
    alone = assemble(table, disabled={"beta"}, only=None)
    assert alone.app["data"].help == "alpha does things"  # a disabled plugin is not a contributor


def test_a_plugin_cannot_redescribe_a_kernel_group() -> None:
    table = {"plugins": [_plugin("alpha", "plugin hi", groups=(("plugin", "alpha's plugins"),))]}
    assembly = assemble(table, disabled=set(), only=None)
    assert assembly.app["plugin"].help == dict(KERNEL_GROUPS)[("plugin",)]


def test_settings_have_no_profile() -> None:
    assert not hasattr(Settings(), "profile")


@pytest.mark.parametrize(
    ("tokens", "unknown"),
    [
        (["--profile", "x", "version"], "--profile"),
        (["--profile=x", "version"], "--profile"),
        (["--debug", "--bogus", "version"], "--bogus"),
        (["--output", "json", "--plugins-dir", "d", "--quiet", "version"], None),
        (["--output=json", "--plugins-dir=d", "--json", "version"], None),
        (["--help"], None),
        (["-h"], None),
        (["--version"], None),
        (["plugin", "info", "kernel", "--bogus"], None),  # the command's own options are its business
        ([], None),
    ],
)
def test_an_unknown_option_before_the_command_is_named(tokens: list[str], unknown: str | None) -> None:
    assert _unknown_global_option(tokens) == unknown
