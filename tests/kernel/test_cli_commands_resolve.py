"""Every lazy command target of the kernel imports, so a typo fails CI and not a user."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from cyclopts import App

from flext_kernel.cli.builtin import KERNEL_COMMANDS
from flext_kernel.version import KERNEL_VERSION


def _resolve(target: str) -> object:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


@pytest.mark.parametrize(("path", "target"), [(p, t) for p, t, _ in KERNEL_COMMANDS], ids=lambda v: str(v))
def test_kernel_command_target_resolves(path: tuple[str, ...], target: str) -> None:
    obj = _resolve(target)
    assert isinstance(obj, App) or callable(obj)


def test_plugin_group_subcommands_resolve() -> None:
    from flext_kernel.cli.commands.plugin import app

    names = {"list", "info", "enable", "disable", "new", "install", "uninstall"}
    assert names <= set(app)
    for name in names:
        assert app[name] is not None  # resolving a lazy subcommand imports its module


def test_kernel_version_constant_matches_pyproject() -> None:
    pyproject = Path(__file__).resolve().parents[2] / "kernel" / "pyproject.toml"
    declared = re.search(r'^version = "([^"]+)"', pyproject.read_text(encoding="utf-8"), re.MULTILINE)
    assert declared is not None
    assert declared.group(1) == KERNEL_VERSION
