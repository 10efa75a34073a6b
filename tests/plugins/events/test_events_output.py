"""What ``flext events`` and ``flext projections`` print: the documented JSON, tables at 80 columns, options.

The JSON keys and table columns of each command are read from the table in
docs/event-sourcing.md ("What the commands print") and compared with what the
real ``flext`` prints, so the page and the commands cannot drift apart.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cyclopts import App

from flext_sdk.testing import CliResult, FlextCliRunner

ROOT = Path(__file__).resolve().parents[3]
PLUGINS = ROOT / "docs" / "examples" / "plugins"
STREAMS = ("acc-1", "pipeline-customers-daily")
"""Stream ids as users have them: short, and as long as a pipeline's."""


def _names(cell: str) -> list[str]:
    """The names in a table cell: each in backquotes, alone (`NAME: N events` is an example, not a name)."""
    return re.findall(r"`([a-z_]+)`", cell)


def _documented() -> dict[str, tuple[list[str], list[str]]]:
    """Each documented command: its JSON keys and its table columns (empty for a sentence)."""
    page = (ROOT / "docs" / "event-sourcing.md").read_text(encoding="utf-8")
    section = page.split("### What the commands print", 1)[1].split("\n## ", 1)[0]
    found: dict[str, tuple[list[str], list[str]]] = {}
    for line in section.splitlines():
        if line.startswith("| `flext "):
            command, _, keys, columns = (cell.strip() for cell in line.strip().strip("|").split("|"))
            found[command.strip("`")] = (_names(keys), _names(columns))
    return found


DOCUMENTED = _documented()


class Seeded:
    """A FLEXT home whose default store holds the example bank plugin's events, projections run."""

    def __init__(self, home: Path) -> None:
        self.cli = FlextCliRunner(home)
        self.home = home

    def __call__(self, *args: str) -> CliResult:
        return self.cli(*args, plugin_dirs=[PLUGINS])


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    flext = Seeded(tmp_path_factory.mktemp("events-output") / "flext-home")
    for account in STREAMS:
        assert flext("bank", "open", account, "--owner", "Ada").exit_code == 0
        assert flext("bank", "deposit", account, "100").exit_code == 0
    assert flext("projections", "run").exit_code == 0
    return flext


def _commands(seeded: Seeded, scratch: Path) -> dict[str, Callable[[], CliResult]]:
    """How each documented command is run with --output json."""
    export = scratch / "events.jsonl"

    def exported() -> Path:
        if not export.exists():
            assert seeded("events", "export", "--to", str(export)).exit_code == 0
        return export

    return {
        "flext events streams": lambda: seeded("--output", "json", "events", "streams"),
        "flext events show STREAM": lambda: seeded("--output", "json", "events", "show", "acc-1"),
        "flext events tail": lambda: seeded(
            "--output", "json", "events", "tail", "--from-start", "--count", "4"
        ),
        "flext events export --to FILE": lambda: seeded(
            "--output", "json", "events", "export", "--to", str(export)
        ),
        "flext events import FILE": lambda: seeded(
            "--output", "json", "events", "import", str(exported()), "--store", str(scratch / "copy.db")
        ),
        "flext projections list": lambda: seeded("--output", "json", "projections", "list"),
        "flext projections status [NAME]": lambda: seeded("--output", "json", "projections", "status"),
        "flext projections run": lambda: seeded("--output", "json", "projections", "run"),
        "flext projections rebuild NAME": lambda: seeded(
            "--output", "json", "projections", "rebuild", "bank-balances"
        ),
    }


def _objects(command: str, result: CliResult) -> list[dict[str, Any]]:
    """The objects a command printed: the envelope's data, or JSON lines for tail."""
    assert result.exit_code == 0, result
    if command == "flext events tail":
        return [json.loads(line) for line in result.stdout.splitlines()]
    envelope = result.json()
    assert envelope["ok"] is True
    data = envelope["data"]
    return data if isinstance(data, list) else [data]


def test_every_documented_command_is_checked() -> None:
    assert sorted(DOCUMENTED) == sorted(_commands(Seeded(Path("unused")), Path("unused")))


@pytest.mark.parametrize("command", sorted(DOCUMENTED))
def test_json_output_has_the_documented_keys_snake_case_and_iso_times(
    seeded: Seeded, tmp_path: Path, command: str
) -> None:
    objects = _objects(command, _commands(seeded, tmp_path)[command]())
    assert objects, f"{command} printed no object to check"
    keys, _ = DOCUMENTED[command]
    for found in objects:
        assert list(found) == keys, f"{command}: keys differ from docs/event-sourcing.md"
        for key, value in found.items():
            assert re.fullmatch(r"[a-z][a-z0-9_]*", key), key
            if key.endswith("_at") and value is not None:
                moment = datetime.fromisoformat(value)
                assert moment.utcoffset() is not None, f"{key}={value!r} has no time zone"
                assert value.endswith("Z"), f"{key}={value!r} is not in UTC"


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("flext events streams", ("events", "streams")),
        ("flext events show STREAM", ("events", "show", "acc-1")),
        ("flext projections list", ("projections", "list")),
        ("flext projections status [NAME]", ("projections", "status")),
    ],
)
def test_tables_have_the_documented_columns(seeded: Seeded, command: str, args: tuple[str, ...]) -> None:
    shown = seeded(*args)  # piped: the plain-text table, title then column names
    assert shown.exit_code == 0, shown
    header = shown.stdout.splitlines()[1].split()
    columns = DOCUMENTED[command][1]
    if command == "flext projections status [NAME]":
        columns = [column for column in columns if column != "error"]  # shown only when one failed
    assert header == columns


def _on_a_terminal(seeded: Seeded, *args: str, columns: int = 80) -> str:
    """What ``flext *args`` shows on a terminal ``columns`` wide, escape codes removed."""
    shown = seeded.cli.on_terminal(*args, columns=columns, plugin_dirs=[PLUGINS])
    assert shown.exit_code == 0, shown
    return shown.stdout


@pytest.mark.parametrize(
    ("args", "whole"),
    [
        (("events", "streams"), [*STREAMS, "bank.Deposited"]),
        (("events", "show", "pipeline-customers-daily"), ["bank.Opened", "bank.Deposited"]),
        (("projections", "list"), ["bank-balances", "pipeline-status", "pipeline"]),
        (("projections", "status"), ["bank-balances", "pipeline-status", "live"]),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else None,
)
def test_tables_are_readable_at_80_columns(seeded: Seeded, args: tuple[str, ...], whole: list[str]) -> None:
    shown = _on_a_terminal(seeded, *args)
    assert "…" not in shown, shown
    assert max(len(line) for line in shown.splitlines()) <= 80, shown
    for value in whole:
        assert value in shown, f"{value!r} is not shown whole:\n{shown}"
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?Z", shown) or args[0] == "projections", shown


def _global_options(flext: FlextCliRunner) -> set[str]:
    """Every option ``flext --help`` shows at the top level (the global ones)."""
    shown = flext("--help")
    assert shown.exit_code == 0, shown
    return set(re.findall(r"(?<![\w-])(--?[a-z][a-z0-9-]*)", shown.stdout))


def test_no_command_option_reuses_a_global_option_name(flext_cli: FlextCliRunner) -> None:
    from flext_plugin_events.plugin import manifest

    globals_ = _global_options(flext_cli)
    assert {"--output", "--debug", "--quiet", "--plugins-dir"} <= globals_
    app = App()
    clashes: dict[str, set[str]] = {}
    for entry in manifest.commands:
        name = " ".join(entry.path)
        module, _, attribute = entry.target.partition(":")
        app.command(getattr(importlib.import_module(module), attribute), name=name)
        names = {n for argument in app[name].assemble_argument_collection() for n in argument.names}
        if names & globals_:
            clashes[name] = names & globals_
    assert clashes == {}


def test_export_writes_the_file_given_to_to_and_the_global_output_only_sets_the_format(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    from flext_plugin_eventstore_sqlite import SQLiteEventStore

    from flext_eventsourcing import NO_STREAM
    from flext_sdk.testing.projections import Deposited

    store = tmp_path / "e.db"
    with SQLiteEventStore(path=store) as events:
        events.append("acc-1", [Deposited(aggregate_id="acc-1", amount=1)], NO_STREAM).unwrap()
    # The global --output after the command sets the format; it names no file (it wrote one named "json").
    done = subprocess.run(
        [*flext_cli.command, "events", "export", "--store", str(store), "--output", "json"],
        cwd=tmp_path, env=flext_cli.environment(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [line[:30] for line in done.stdout.splitlines()] == ['{"position":1,"stream_id":"acc']
    assert not (tmp_path / "json").exists()
    # --to names the file; with --output json the result is the JSON envelope (it printed nothing).
    to = str(tmp_path / "f.jsonl")
    result = flext_cli("--output", "json", "events", "export", "--store", str(store), "--to", to)
    assert result.json() == {"ok": True, "data": {"exported": 1, "file": to}}
    assert len((tmp_path / "f.jsonl").read_text().splitlines()) == 1
    short = flext_cli("events", "export", "--store", str(store), "-o", str(tmp_path / "g.jsonl"))
    assert short.stdout == f"exported 1 events to {tmp_path / 'g.jsonl'}\n"
    assert (tmp_path / "g.jsonl").read_text() == (tmp_path / "f.jsonl").read_text()
