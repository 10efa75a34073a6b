"""Machine output: snake_case keys, ISO 8601 times, and the kernel's commands as docs/cli.md documents them.

Each kernel command runs for real with ``--output json`` (and ``yaml``), and
the keys of its ``data`` are compared with the table in docs/cli.md, both
ways: a key the table does not name fails the test as a documented key that
is missing does.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from flext_sdk.testing import FlextCliRunner

CLI_DOC = Path(__file__).parents[2] / "docs" / "cli.md"
SNAKE = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")


def documented_keys() -> dict[str, set[str]]:
    """``flext <command>`` -> the keys the "JSON of the kernel's commands" table of docs/cli.md names."""
    section = CLI_DOC.read_text(encoding="utf-8").split("### JSON of the kernel's commands", 1)[1]
    table: dict[str, set[str]] = {}
    for line in section.split("\n\n|", 1)[1].splitlines()[2:]:
        if not line.startswith("|"):
            break
        commands, _, keys = (cell.strip() for cell in line.strip("|").split("|"))
        for command in re.findall(r"`flext ([a-z ]+?)(?: NAME)?`", commands):
            table[command] = set(re.findall(r"`([\w\[\].]+)`", keys))
    return table


def keys_of(data: Any) -> set[str]:
    """The keys of ``data`` (an object, or every object of a list), with ``x[].y`` for lists of objects."""
    rows = data if isinstance(data, list) else [data]
    keys: set[str] = set()
    for row in rows:
        for key, value in row.items():
            keys.add(key)
            if isinstance(value, list):
                keys |= {f"{key}[].{inner}" for item in value if isinstance(item, dict) for inner in item}
    return keys


GREETER = """
from flext_kernel.plugins.manifest import CommandEntry, PluginManifest

manifest = PluginManifest(
    name="greeter", version="1.0.0", commands=(CommandEntry(path=("greet",), target="greeter:greet"),)
)


def greet() -> int:
    return 0
"""


@pytest.fixture
def plugins(flext_home: Path) -> Path:
    """The user's plugins directory, with one plugin that loads and one that does not."""
    directory = flext_home / "plugins"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "greeter.py").write_text(textwrap.dedent(GREETER), encoding="utf-8")
    (directory / "broken.py").write_text("raise RuntimeError('kaput')\n", encoding="utf-8")
    return directory


def test_the_table_names_every_kernel_command() -> None:
    assert set(documented_keys()) == {
        "plugin list",
        "plugin info",
        "plugin enable",
        "plugin disable",
        "doctor",
        "version",
    }


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("plugin list", ("plugin", "list")),
        ("plugin info", ("plugin", "info", "greeter")),
        ("plugin disable", ("plugin", "disable", "greeter")),
        ("plugin enable", ("plugin", "enable", "greeter")),
        ("doctor", ("doctor",)),
        ("version", ("version",)),
    ],
)
def test_kernel_commands_print_their_documented_keys(
    flext_cli: FlextCliRunner, plugins: Path, command: str, args: tuple[str, ...]
) -> None:
    run = flext_cli("--output", "json", *args)
    assert run.exit_code == (1 if command == "doctor" else 0), run  # doctor finds 'broken'
    document = run.json()
    assert set(document) == {"ok", "data"}
    assert keys_of(document["data"]) == documented_keys()[command]
    as_yaml = flext_cli("--output", "yaml", *args)
    assert yaml.safe_load(as_yaml.stdout) == document


def test_plugin_info_has_the_same_keys_for_a_failed_plugin(flext_cli: FlextCliRunner, plugins: Path) -> None:
    info = flext_cli("--output", "json", "plugin", "info", "broken").json()["data"]
    assert keys_of(info) - {"commands[].command", "commands[].target", "commands[].help"} == (
        documented_keys()["plugin info"] - {"commands[].command", "commands[].target", "commands[].help"}
    )
    assert (info["state"], info["kernel_range"], info["config_schema"]) == ("failed", None, None)


LABELS = """
import datetime
from flext_kernel.plugins.manifest import CommandEntry, PluginManifest
from flext_sdk.cli import emit, emit_table

manifest = PluginManifest(
    name="labels",
    version="1.0.0",
    commands=(
        CommandEntry(path=("labels", "table"), target="labels:table"),
        CommandEntry(path=("labels", "one"), target="labels:one"),
        CommandEntry(path=("labels", "raw"), target="labels:raw"),
    ),
)
WHEN = datetime.datetime(2026, 12, 7, 6, 53, 12, 531254, tzinfo=datetime.timezone.utc)


def table() -> int:
    rows = [{"name": "directory", "last run": WHEN, "Records-Loaded": 5, "payload": {"First Name": "Ada"}}]
    return emit_table(rows, ["name", "last run", "Records-Loaded"], title="Pipelines")


def one() -> int:
    return emit({"lastRun": WHEN, "day": WHEN.date(), "runs": [{"startedAt": WHEN}], "last_run": "kept"})


def raw() -> int:
    return emit([{"First Name": "Ada", "COUNT(*)": 1}], raw_keys=True)
"""


@pytest.fixture
def labels(flext_home: Path) -> None:
    directory = flext_home / "plugins"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "labels.py").write_text(textwrap.dedent(LABELS), encoding="utf-8")


def test_keys_are_snake_case_and_times_iso_8601_for_every_command(
    flext_cli: FlextCliRunner, labels: None
) -> None:
    when = "2026-12-07T06:53:12.531254+00:00"
    table = flext_cli("--output", "json", "labels", "table").json()["data"]
    assert table == [
        {"name": "directory", "last_run": when, "records_loaded": 5, "payload": {"First Name": "Ada"}}
    ]
    as_yaml = yaml.safe_load(flext_cli("--output", "yaml", "labels", "table").stdout)["data"]
    assert as_yaml == table  # a string, not a YAML timestamp
    one = flext_cli("--output", "json", "labels", "one").json()["data"]
    # A key already snake_case wins; the one that would collide with it keeps its spelling.
    assert one == {"lastRun": when, "day": "2026-12-07", "runs": [{"startedAt": when}], "last_run": "kept"}
    assert flext_cli("--json", "labels", "raw").json()["data"] == [{"First Name": "Ada", "COUNT(*)": 1}]
    human = flext_cli("labels", "table")
    assert human.stdout.splitlines()[1].split() == ["name", "last", "run", "Records-Loaded"]


def test_every_kernel_command_key_is_snake_case() -> None:
    for command, keys in documented_keys().items():
        for key in keys:
            assert all(SNAKE.fullmatch(part) for part in key.replace("[]", "").split(".")), (command, key)
