"""The ``flext pipeline`` group: create, update, remove and the ``data pipeline create`` alias; logs.

Real ``flext`` subprocesses on a fresh ``FLEXT_HOME``; the runs use the
counting tap and file target of ``conftest``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
COMMANDS = ("create", "update", "remove", "list", "run", "start", "stop", "status", "history", "logs")


def _definition(folder: Path, name: str, **tap: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    body = {
        "name": name,
        "extract": {"name": "tap-numbers", "config": {"records": 5, **tap}},
        "load": {"name": "target-file", "config": {"path": "rows.json"}},
    }
    path.write_text(yaml.safe_dump(body))
    return path


def _event_types(flext_cli: Any, name: str) -> list[str]:
    shown = flext_cli("--output", "json", "events", "show", f"pipeline-{name}")
    assert shown.exit_code == 0, shown
    return [event["type"] for event in shown.json()["data"]]


def test_one_pipeline_group_holds_every_command(flext_cli):
    shown = flext_cli("pipeline", "--help")
    assert shown.exit_code == 0, shown
    listed = re.findall(r"^│ (\w+) ", shown.stdout, flags=re.MULTILINE) or [
        line.split()[0] for line in shown.stdout.splitlines() if line.startswith("  ")
    ]
    assert set(COMMANDS) <= set(listed), shown.stdout


def test_create_update_remove_are_recorded_and_the_old_path_still_creates(flext_cli, tmp_path):
    source = _definition(tmp_path, "numbers")
    created = flext_cli("--output", "json", "pipeline", "create", str(source))
    assert created.exit_code == 0, created
    assert created.json()["data"] == {
        "pipeline": "numbers",
        "tap": "tap-numbers",
        "target": "target-file",
        "replaced": False,
    }

    again = flext_cli("pipeline", "create", str(source))
    assert again.exit_code == 1, again
    assert "already registered" in again.stderr
    assert f"flext pipeline update {source}" in again.stderr

    source.write_text(source.read_text().replace("records: 5", "records: 7"))
    updated = flext_cli("pipeline", "update", str(source))
    assert updated.exit_code == 0, updated
    assert updated.stdout.startswith("updated pipeline numbers: tap-numbers -> target-file")

    listed = flext_cli("--output", "json", "pipeline", "list")
    assert [row["name"] for row in listed.json()["data"]] == ["numbers"]

    removed = flext_cli("pipeline", "remove", "numbers")
    assert removed.exit_code == 0, removed
    assert removed.stdout.startswith("removed pipeline numbers")
    assert flext_cli("--output", "json", "pipeline", "list").json()["data"] == []
    missing = flext_cli("pipeline", "run", "numbers")
    assert missing.exit_code == 2
    assert "no pipeline named 'numbers'" in missing.stderr
    assert _event_types(flext_cli, "numbers") == [
        "pipeline.Registered",
        "pipeline.Registered",
        "pipeline.Removed",
    ]
    payloads = flext_cli("--output", "json", "events", "show", "pipeline-numbers").json()["data"]
    assert [event["payload"].get("replaced") for event in payloads[:2]] == [False, True]

    alias = flext_cli("data", "pipeline", "create", str(source))  # the old path, kept as an alias
    assert alias.exit_code == 0, alias
    assert alias.stdout.startswith("registered pipeline numbers")


def test_update_and_remove_of_an_unknown_pipeline_say_it_does_not_exist(flext_cli, tmp_path):
    update = flext_cli("pipeline", "update", str(_definition(tmp_path, "ghost")))
    assert update.exit_code == 2, update
    assert update.stderr.startswith("error: no pipeline named 'ghost'")
    assert "(NOT_FOUND)" in update.stderr
    assert "flext pipeline create" in update.stderr
    remove = flext_cli("--output", "json", "pipeline", "remove", "ghost")
    assert remove.exit_code == 2, remove
    assert remove.json()["code"] == "NOT_FOUND"


def test_logs_of_an_unknown_pipeline_say_it_does_not_exist(flext_cli, tmp_path):
    unknown = flext_cli("pipeline", "logs", "nosuch")
    assert unknown.exit_code == 2, unknown
    assert unknown.stderr.startswith("error: no pipeline named 'nosuch'")
    assert "run logs" not in unknown.stderr
    assert "(NOT_FOUND)" in unknown.stderr

    assert flext_cli("pipeline", "create", str(_definition(tmp_path, "fresh"))).exit_code == 0
    never = flext_cli("pipeline", "logs", "fresh")
    assert never.exit_code == 2, never
    assert never.stderr.splitlines() == [
        "error: pipeline 'fresh' has not run yet: it has no run logs (NOT_FOUND)",
        "hint: run it with 'flext pipeline run fresh'",
    ]


@pytest.mark.slow
def test_logs_print_json_lines_objects(connectors, flext_cli, tmp_path):
    assert flext_cli("pipeline", "create", str(_definition(tmp_path, "logged"))).exit_code == 0
    assert flext_cli("pipeline", "run", "logged").exit_code == 0
    text = flext_cli("pipeline", "logs", "logged").stdout.splitlines()
    shown = flext_cli("--output", "json", "pipeline", "logs", "logged")
    assert shown.exit_code == 0, shown
    lines = shown.json()["data"]
    assert len(lines) == len(text)
    run_id = lines[0]["run_id"]
    for line, raw in zip(lines, text, strict=True):
        assert set(line) == {"run_id", "time", "correlation_id", "source", "message"}
        assert line["run_id"] == run_id
        assert ISO_TIME.match(line["time"]), line
        assert line["correlation_id"] == lines[0]["correlation_id"]  # one action's run: one id
        assert raw == f"{line['time']} {line['correlation_id']} [{line['source']}] {line['message']}"
    assert lines[0]["source"] == "flext"
    assert lines[-1]["message"] == f"run {run_id} completed"

    followed = flext_cli("--output", "json", "pipeline", "logs", "logged", "--follow")
    assert followed.exit_code == 0, followed
    assert [json.loads(line) for line in followed.stdout.splitlines()] == lines  # JSON lines


@pytest.mark.slow
def test_a_running_pipeline_is_not_removed(connectors, flext_cli, tmp_path):
    source = _definition(tmp_path, "busy", records=3000, state_every=20, delay=0.002)
    assert flext_cli("pipeline", "create", str(source)).exit_code == 0
    assert flext_cli("pipeline", "start", "busy").exit_code == 0
    removed = flext_cli("pipeline", "remove", "busy")
    assert removed.exit_code == 1, removed
    assert removed.stderr.splitlines() == [
        "error: pipeline 'busy' is running (ALREADY_RUNNING)",
        "hint: stop it first with 'flext pipeline stop busy'",
    ]
    assert flext_cli("pipeline", "stop", "busy").exit_code == 0
    assert flext_cli("pipeline", "remove", "busy").exit_code == 0


def test_the_alias_and_the_group_resolve_to_the_same_command():
    from flext_plugin_pipeline import pipeline_cli
    from flext_plugin_pipeline.plugin import manifest

    targets = {entry.path: entry.target for entry in manifest.commands}
    assert targets[("data", "pipeline", "create")] == targets[("pipeline", "create")]
    for command in COMMANDS:
        module, _, attribute = targets[("pipeline", command)].partition(":")
        assert module == pipeline_cli.__name__
        assert callable(getattr(pipeline_cli, attribute))
