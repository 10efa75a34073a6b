"""Tables stay readable in an 80-column terminal, and piped output is never cut.

The terminal is a real pseudo-terminal 80 columns wide (``COLUMNS=80`` and
the window size), so ``flext`` draws its rich tables as a user would see them.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from flext_sdk.testing import FlextCliRunner

WIDE = """
from flext_kernel.plugins.manifest import CommandEntry, PluginManifest
from flext_sdk.cli import emit_table

manifest = PluginManifest(
    name="wide",
    version="1.0.0",
    commands=(
        CommandEntry(path=("runs",), target="wide:runs"),
        CommandEntry(path=("ids",), target="wide:ids"),
    ),
)


def runs() -> int:
    rows = [
        {"pipeline": "directory", "status": "completed", "run": "20261207T065446.537-acd8",
         "message": "loaded every stream of the directory export into the warehouse [ok]"},
        {"pipeline": "organizational_units", "status": "failed", "run": "20261207T070231.645-1e03",
         "message": "target-sqlite exited 1: database is locked"},
    ]
    return emit_table(rows, ["pipeline", "status", "run", "message"], title="Pipelines")


def ids() -> int:
    row = {f"column_{n}": f"value-{n}-" + "x" * 12 for n in range(6)}
    return emit_table([row], list(row), title="Too wide")
"""


@pytest.fixture
def wide(flext_home: Path) -> None:
    directory = flext_home / "plugins"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "wide.py").write_text(textwrap.dedent(WIDE), encoding="utf-8")


def in_terminal(flext_cli: FlextCliRunner, *args: str, columns: int = 80) -> list[str]:
    """The lines ``flext *args`` shows in a terminal ``columns`` wide, without colour codes."""
    shown = flext_cli.on_terminal(*args, columns=columns)
    assert shown.exit_code == 0, shown.stderr
    return shown.stdout.splitlines()


def test_plugin_list_fits_80_columns_one_line_per_plugin(flext_cli: FlextCliRunner) -> None:
    plugins = flext_cli("--output", "json", "plugin", "list").json()["data"]
    lines = in_terminal(flext_cli, "plugin", "list")
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    assert not any("…" in line for line in lines), "\n".join(lines)
    for plugin in plugins:
        row = [line for line in lines if line.startswith(f"│ {plugin['name']} ")]
        assert len(row) == 1, f"{plugin['name']} is not on one line:\n" + "\n".join(lines)
        cells = [cell.strip() for cell in row[0].strip("│").split("│")]
        assert cells[:5] == [
            plugin["name"],
            plugin["version"],
            plugin["state"],
            str(len(plugin["commands"])),
            str(len(plugin["hooks"])),
        ]
    assert isinstance(plugins[0]["commands"], list)  # JSON keeps the names


def test_a_wide_table_cuts_no_name_state_or_time_and_wraps_only_text(
    flext_cli: FlextCliRunner, wide: None
) -> None:
    lines = in_terminal(flext_cli, "runs")
    screen = "\n".join(lines)
    assert all(len(line) <= 80 for line in lines), screen
    assert "…" not in screen
    for word in ("organizational_units", "completed", "20261207T065446.537-acd8", "20261207T070231.645-1e03"):
        assert word in screen, screen
    assert "[ok]" in screen  # a value is text, not rich markup
    row = r"│ directory +│ completed │ 20261207T065446\.537-acd8 │ loaded every"
    assert re.search(row, screen), screen


def test_rows_too_wide_for_the_terminal_become_records(flext_cli: FlextCliRunner, wide: None) -> None:
    lines = in_terminal(flext_cli, "ids")
    assert lines[:2] == ["Too wide", ""]
    assert lines[2:8] == [f"column_{n}  value-{n}-" + "x" * 12 for n in range(6)]
    assert in_terminal(flext_cli, "ids", columns=200)[1].startswith("┏")  # room enough: a table


def test_piped_tables_are_not_cut_at_80_columns(flext_cli: FlextCliRunner, wide: None) -> None:
    run = flext_cli("runs", env={"COLUMNS": "80"})
    assert run.exit_code == 0, run
    assert "loaded every stream of the directory export into the warehouse [ok]" in run.stdout
    assert max(len(line) for line in run.stdout.splitlines()) > 80
    listed = flext_cli("plugin", "list", env={"COLUMNS": "80"})
    names = [plugin["name"] for plugin in json.loads(flext_cli("--json", "plugin", "list").stdout)["data"]]
    assert [line.split()[0] for line in listed.stdout.splitlines()[3:]] == names
