"""The JSON of every ``flext pipeline`` command is what docs/pipelines.md documents.

The keys and table columns of each command are read from the tables of
"What the commands print" and compared with what the real ``flext`` prints
(JSON and plain tables), so the page and the commands cannot drift apart.
Every key is snake_case and every time ISO 8601 in UTC.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def _names(cell: str) -> list[str]:
    return re.findall(r"`([a-z_]+)`", cell)


def _documented() -> tuple[dict[str, tuple[list[str], list[str]]], list[str]]:
    """Each command's documented keys and table columns, and a run's keys."""
    page = (ROOT / "docs" / "pipelines.md").read_text(encoding="utf-8")
    section = page.split("### What the commands print", 1)[1].split("\n## ", 1)[0]
    commands: dict[str, tuple[list[str], list[str]]] = {}
    run_keys: list[str] = []
    for line in section.splitlines():
        if line.startswith("| `flext pipeline "):
            command, _, keys, columns = (cell.strip() for cell in line.strip().strip("|").split("|"))
            commands[command.strip("`")] = (_names(keys), _names(columns))
        elif line.startswith("| `") and not line.startswith("| `flext"):
            run_keys += _names(line.split("|")[1])
    return commands, run_keys


DOCUMENTED, RUN_KEYS = _documented()


def _check_values(document: dict[str, Any]) -> None:
    for key, value in document.items():
        assert SNAKE.match(key), key
        if key.endswith("_at") or key == "time":
            assert value is None or ISO_UTC.match(value), (key, value)


def _data(flext_cli: Any, *args: str) -> Any:
    shown = flext_cli("--output", "json", "pipeline", *args)
    assert shown.exit_code == 0, shown
    document = shown.json()
    assert document["ok"] is True
    return document["data"]


def _header(flext_cli: Any, *args: str) -> list[str]:
    shown = flext_cli("pipeline", *args)
    assert shown.exit_code == 0, shown
    return shown.stdout.splitlines()[1].split()  # after the title


def _definition(folder: Path, name: str, tap: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    body = {
        "name": name,
        "extract": {"name": "tap-numbers", "config": tap},
        "load": {"name": "target-file", "config": {"path": "rows.json"}},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(body))
    return path


def test_the_documented_tables_name_every_command():
    assert set(DOCUMENTED) == {
        "flext pipeline create FILE",
        "flext pipeline update FILE",
        "flext pipeline remove NAME",
        "flext pipeline list",
        "flext pipeline run NAME",
        "flext pipeline run NAME --dry-run",
        "flext pipeline start NAME",
        "flext pipeline stop NAME",
        "flext pipeline status [NAME]",
        "flext pipeline history NAME",
        "flext pipeline logs NAME",
        "flext pipeline logs NAME --follow",
    }
    assert "run_id" in RUN_KEYS
    assert "state" in RUN_KEYS


def test_every_command_prints_the_documented_keys(connectors, flext_cli, tmp_path):
    source = _definition(tmp_path, "numbers", {"records": 40, "state_every": 10})
    slow = _definition(tmp_path / "slow", "slow", {"records": 100000, "state_every": 20, "delay": 0.002})
    printed: dict[str, list[dict[str, Any]]] = {}
    printed["flext pipeline create FILE"] = [_data(flext_cli, "create", str(source))]
    printed["flext pipeline update FILE"] = [_data(flext_cli, "update", str(source))]
    printed["flext pipeline run NAME"] = [_data(flext_cli, "run", "numbers")]
    printed["flext pipeline run NAME --dry-run"] = [_data(flext_cli, "run", "numbers", "--dry-run")]
    printed["flext pipeline list"] = _data(flext_cli, "list")
    every, one = _data(flext_cli, "status"), _data(flext_cli, "status", "numbers")
    printed["flext pipeline status [NAME]"] = every + one
    printed["flext pipeline history NAME"] = _data(flext_cli, "history", "numbers")
    printed["flext pipeline logs NAME"] = _data(flext_cli, "logs", "numbers")
    followed = flext_cli("--output", "json", "pipeline", "logs", "numbers", "--follow")
    printed["flext pipeline logs NAME --follow"] = [json.loads(line) for line in followed.stdout.splitlines()]
    assert _data(flext_cli, "create", str(slow))["pipeline"] == "slow"
    printed["flext pipeline start NAME"] = [_data(flext_cli, "start", "slow")]
    deadline = time.monotonic() + 60
    while not (tmp_path / "slow" / "rows.json").exists():  # it is running
        assert time.monotonic() < deadline
        time.sleep(0.1)
    stopped = _data(flext_cli, "stop", "slow")
    idle = _data(flext_cli, "stop", "slow")  # not running any more
    printed["flext pipeline stop NAME"] = [stopped, idle]
    printed["flext pipeline remove NAME"] = [_data(flext_cli, "remove", "slow")]

    assert set(printed) == set(DOCUMENTED)
    for command, documents in printed.items():
        keys, _ = DOCUMENTED[command]
        expected = RUN_KEYS if command in ("flext pipeline run NAME", "flext pipeline history NAME") else keys
        assert documents, command
        for document in documents:
            assert list(document) == expected, (command, document)
            _check_values(document)
    assert stopped["run"] is not None
    assert list(stopped["run"]) == RUN_KEYS
    _check_values(stopped["run"])
    assert idle["run"] is None

    for command, args in (
        ("flext pipeline list", ("list",)),
        ("flext pipeline status [NAME]", ("status",)),
        ("flext pipeline history NAME", ("history", "numbers")),
    ):
        assert _header(flext_cli, *args) == DOCUMENTED[command][1], command
