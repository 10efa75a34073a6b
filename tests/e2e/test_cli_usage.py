"""Usage errors say what is wrong in the user's words, and help shows what a user can type.

Every check runs the real ``flext`` in a subprocess, on the first-party
commands the issue named and on a local plugin with the shapes of parameter
a command can have.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from flext_sdk.testing import FlextCliRunner

SHAPES = """
from flext_kernel.plugins.manifest import CommandEntry, PluginManifest

manifest = PluginManifest(
    name="shapes", version="1.0.0", commands=(CommandEntry(path=("shapes",), target="shapes:shapes"),)
)


def shapes(name: str, *, dry_run: bool = False, no_retry: bool = False, colour: bool = True,
           limit: int = 5, label: str | None = None) -> int:
    \"\"\"Try every shape of parameter.

    Args:
        name: Required, positional.
        dry_run: A flag, off unless given.
        no_retry: A flag whose own name starts with no-.
        colour: On unless turned off.
        limit: A number.
        label: An optional value.

    \"\"\"
    print(name, dry_run, no_retry, colour, limit, label)
    return 0
"""


@pytest.fixture
def shapes(flext_home: Path) -> None:
    directory = flext_home / "plugins"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "shapes.py").write_text(textwrap.dedent(SHAPES), encoding="utf-8")


def _error(flext_cli: FlextCliRunner, *args: str) -> list[str]:
    run = flext_cli(*args)
    assert (run.exit_code, run.stdout) == (2, ""), run
    return run.stderr.splitlines()


def test_a_missing_positional_is_a_missing_argument(flext_cli: FlextCliRunner, shapes: None) -> None:
    assert _error(flext_cli, "events", "show") == [
        "error: missing argument STREAM (USAGE_ERROR)",
        "hint: run 'flext events show --help' for the options",
    ]
    assert _error(flext_cli, "shapes")[0] == "error: missing argument NAME (USAGE_ERROR)"
    assert (
        _error(flext_cli, "shapes", "x", "--limit")[0]
        == "error: option --limit requires a value (USAGE_ERROR)"
    )
    assert _error(flext_cli, "shapes", "x", "y")[0] == "error: unexpected argument 'y' (USAGE_ERROR)"


def test_an_unknown_option_suggests_only_a_close_one(flext_cli: FlextCliRunner, shapes: None) -> None:
    # --jsno is the global --json mistyped (global options go anywhere), never --store.
    assert _error(flext_cli, "pipeline", "status", "--jsno") == [
        "error: unknown option --jsno (USAGE_ERROR)",
        "hint: did you mean --json? run 'flext pipeline status --help' for the options",
    ]
    assert _error(flext_cli, "shapes", "x", "--dry")[1].startswith("hint: did you mean --dry-run? ")
    assert _error(flext_cli, "shapes", "x", "--lable", "a")[1].startswith("hint: did you mean --label? ")
    assert _error(flext_cli, "shapes", "x", "--verbose") == [
        "error: unknown option --verbose (USAGE_ERROR)",
        "hint: run 'flext shapes --help' for the options",
    ]


def test_an_unknown_option_before_the_command_is_an_unknown_option(flext_cli: FlextCliRunner) -> None:
    assert _error(flext_cli, "--outptu", "json", "version") == [
        "error: unknown option --outptu (USAGE_ERROR)",
        "hint: did you mean --output? the options before the command are the global ones; see flext --help",
    ]


def test_flext_alone_prints_help_and_succeeds(flext_cli: FlextCliRunner) -> None:
    run = flext_cli()
    assert run.exit_code == 0, run
    assert run.stdout.startswith("Usage: flext COMMAND")
    assert run.stderr == ""


def _options(help_text: str) -> list[str]:
    """Every option a help screen shows (``--x``), in order."""
    return re.findall(r"(?<![\w-])--[a-z][\w-]*", help_text)


def test_command_help_shows_plain_flags_and_only_its_own_options(
    flext_cli: FlextCliRunner, shapes: None
) -> None:
    run = flext_cli("shapes", "--help")
    assert run.exit_code == 0, run
    body, _, note = run.stdout.partition("Global options")
    assert _options(body) == [
        "--name",
        "--dry-run",
        "--no-retry",
        "--colour",
        "--no-colour",
        "--limit",
        "--label",
    ]
    assert "[default: False]" not in run.stdout
    assert "[default: True]" in run.stdout  # --colour: the default a user may want to turn off
    assert "[default: 5]" in run.stdout
    assert _options(note) == ["--output", "--json", "--debug", "--quiet", "--plugins-dir", "--help"]
    ran = flext_cli("shapes", "x", "--dry-run", "--no-retry", "--no-colour", "--label", "a")
    assert (ran.exit_code, ran.stdout) == (0, "x True True False 5 a\n"), ran
    assert (
        _error(flext_cli, "shapes", "x", "--no-dry-run")[0]
        == "error: unknown option --no-dry-run (USAGE_ERROR)"
    )


def test_pipeline_run_help(flext_cli: FlextCliRunner) -> None:
    run = flext_cli("pipeline", "run", "--help")
    assert run.exit_code == 0, run
    body = run.stdout.partition("Global options")[0]
    for absent in (
        "--no-no-retry",
        "--no-dry-run",
        "--no-full-refresh",
        "[default: False]",
        "--output",
        "--quiet",
    ):
        assert absent not in body, f"{absent} in:\n{run.stdout}"
    assert {"--name", "--full-refresh", "--dry-run", "--no-retry", "--store"} <= set(_options(body))


def test_pipeline_run_help_hides_its_internal_option(flext_cli: FlextCliRunner) -> None:
    assert "--background-job" not in flext_cli("pipeline", "run", "--help").stdout


def test_root_and_group_help_list_the_global_options_once(flext_cli: FlextCliRunner) -> None:
    for args in (("--help",), ("plugin",), ("plugin", "--help")):
        run = flext_cli(*args)
        assert run.exit_code == 0, run
        assert re.findall(r"^│ (--[\w-]+)", run.stdout, re.MULTILINE).count("--output") == 1, run.stdout
        assert "Global options" in run.stdout
        assert "[default: False]" not in run.stdout
