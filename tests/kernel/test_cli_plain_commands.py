"""A command named without any option runs without the global-options layer, and nothing else changes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

FLEXT = str(Path(sys.executable).with_name("flext"))

PLUGIN = """
from flext_kernel.cli.settings import current
from flext_kernel.plugins.manifest import CommandEntry, GroupEntry, PluginManifest

manifest = PluginManifest(
    name="probe",
    version="1.0.0",
    commands=(CommandEntry(path=("probe", "show"), target="probe:show"),),
    groups=(GroupEntry(path=("probe",), help="Probe the settings."),),
)


def show(word: str = "none") -> int:
    settings = current()
    print(settings.output, settings.debug, settings.quiet, word)
    return 0
"""


@pytest.fixture
def flext(tmp_path: Path):  # type: ignore[no-untyped-def]
    plugins = tmp_path / "home" / "plugins"  # the user's plugins directory: no --plugins-dir needed
    plugins.mkdir(parents=True)
    (plugins / "probe.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLEXT_")}
    environment.update(FLEXT_HOME=str(tmp_path / "home"), NO_COLOR="1", COLUMNS="200")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [FLEXT, *args],
            capture_output=True,
            text=True,
            env=environment,
            timeout=120,
            check=False,
        )

    return run


def test_a_plain_command_runs_with_the_default_settings(flext) -> None:  # type: ignore[no-untyped-def]
    done = flext("probe", "show", "hello")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["table", "False", "False", "hello"]


def test_global_options_anywhere_still_apply(flext) -> None:  # type: ignore[no-untyped-def]
    assert flext("--json", "probe", "show").stdout.split() == ["json", "False", "False", "none"]
    assert flext("probe", "show", "--quiet").stdout.split() == ["table", "False", "True", "none"]


def test_a_group_named_alone_still_lists_the_global_options_in_its_help(flext) -> None:  # type: ignore[no-untyped-def]
    done = flext("probe")
    assert done.returncode == 0, done.stderr
    assert "--output" in done.stdout
    assert "show" in done.stdout


def test_a_bad_plain_command_line_is_the_same_usage_error(flext) -> None:  # type: ignore[no-untyped-def]
    done = flext("probe", "show", "one", "two")
    assert done.returncode == 2
    assert done.stderr.startswith("error: ")
    assert "hint: run 'flext probe show --help' for the options" in done.stderr
