"""``flext gruponos pipeline deploy``: the pipeline and its schedules made to match gruponos.yaml, for real.

Each test runs the real ``flext`` in subprocesses (the deploy itself runs
``flext pipeline`` and ``flext schedule`` as children in the project), then
looks at what an operator would: ``flext pipeline list``, ``flext schedule
list``, the generated definitions and the deployment's events.
"""

from __future__ import annotations

import getpass
import json
import socket
from pathlib import Path

import pytest
import yaml
from flext_plugin_gruponos.config import CONFIG_FILE

CONFIG = """\
version: 1
name: dc01
wms:
  base_url: https://wms.example.com/prod
  username: api
  password: env:WMS_PASSWORD
  facility: DC01
  company: GRUPONOS
  entities: [item, inventory]
target:
  host: 127.0.0.1
  user: loader
  password: env:DB_PASSWORD
  database: warehouse
schedule:
  incremental: "*/15 * * * *"
  full: "0 2 * * 0"
"""
SECRETS = {"WMS_PASSWORD": "wms-S3cret-value", "DB_PASSWORD": "db-S3cret-value"}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "dc01"
    directory.mkdir()
    (directory / "flext.yaml").write_text("# project\n", encoding="utf-8")
    (directory / CONFIG_FILE).write_text(CONFIG, encoding="utf-8")
    monkeypatch.chdir(directory)  # 'flext pipeline list' of the tests looks at this project
    return directory


def _deploy(flext_cli, project: Path, *options: str) -> dict:  # type: ignore[no-untyped-def]
    command = ("--output", "json", "gruponos", "pipeline", "deploy", "--project", str(project), *options)
    result = flext_cli(*command, env=SECRETS)
    assert result.exit_code == 0, result.stderr
    data: dict = result.json()["data"]
    return data


def _pipelines(flext_cli) -> dict[str, str]:  # type: ignore[no-untyped-def]
    rows = flext_cli("--output", "json", "pipeline", "list").json()["data"]
    return {row["name"]: row["target"] for row in rows}


def _schedules(flext_cli) -> dict[str, tuple[str, str, bool]]:  # type: ignore[no-untyped-def]
    rows = flext_cli("--output", "json", "schedule", "list").json()["data"]
    return {row["schedule"]: (row["cron"], row["job"], row["full_refresh"]) for row in rows}


def _deploy_events(flext_cli) -> list[dict]:  # type: ignore[no-untyped-def]
    shown = flext_cli("--output", "json", "events", "show", "gruponos-dc01")
    assert shown.exit_code == 0, shown.stderr
    return [event["payload"] for event in shown.json()["data"]]


@pytest.mark.slow
def test_deploy_creates_then_changes_only_what_the_file_changed(flext_cli, project: Path) -> None:
    first = _deploy(flext_cli, project)
    assert first["changes"] == [
        "pipeline dc01 created",
        "schedule dc01-incremental added (*/15 * * * * UTC, incremental)",
        "schedule dc01-reload added (0 2 * * 0 UTC, full refresh)",
    ]
    assert _pipelines(flext_cli) == {"dc01": "target-postgres"}
    assert _schedules(flext_cli) == {
        "dc01-incremental": ("*/15 * * * *", "dc01", False),
        "dc01-reload": ("0 2 * * 0", "dc01", True),
    }
    deployed = yaml.safe_load((project / "deploy" / "dc01.yaml").read_text(encoding="utf-8"))
    assert deployed["extract"]["config"]["password"] == "${WMS_PASSWORD}"  # a reference, never the value
    assert deployed["load"]["config"]["password"] == "${DB_PASSWORD}"
    assert deployed["extract"]["config"]["entities"] == ["item", "inventory"]

    again = _deploy(flext_cli, project)
    assert again["changes"] == []
    assert len(_deploy_events(flext_cli)) == 1  # a deploy that changed nothing records nothing

    (project / CONFIG_FILE).write_text(
        CONFIG.replace("*/15 * * * *", "*/5 * * * *").replace('  full: "0 2 * * 0"', "  full: null"),
        encoding="utf-8",
    )
    changed = _deploy(flext_cli, project)
    assert changed["changes"] == [
        "schedule dc01-reload removed",
        "schedule dc01-incremental changed (*/5 * * * * UTC, incremental)",
    ]
    assert _schedules(flext_cli) == {"dc01-incremental": ("*/5 * * * *", "dc01", False)}

    (project / CONFIG_FILE).write_text(CONFIG.replace("[item, inventory]", "[item, inventory, container]"))
    entities = _deploy(flext_cli, project)
    assert entities["changes"] == [
        "pipeline dc01 updated",
        "schedule dc01-incremental changed (*/15 * * * * UTC, incremental)",
        "schedule dc01-reload added (0 2 * * 0 UTC, full refresh)",
    ]
    assert "+    - container\n" in entities["diff"]
    events = _deploy_events(flext_cli)
    assert len(events) == 3
    assert events[-1]["changes"] == entities["changes"]
    assert events[-1]["diff"] == entities["diff"]
    assert events[-1]["deployed_by"] == getpass.getuser()  # who
    assert events[-1]["host"] == socket.gethostname()  # from where
    assert events[-1]["project"] == str(project.resolve())


@pytest.mark.slow
def test_a_dry_run_shows_the_diff_and_changes_nothing(flext_cli, project: Path) -> None:
    planned = _deploy(flext_cli, project, "--dry-run")
    assert planned["dry_run"] is True
    assert "pipeline dc01 would change" in planned["changes"]
    assert "+name: dc01\n" in planned["diff"]
    assert _pipelines(flext_cli) == {}
    assert not (project / "deploy").exists()
    listed = flext_cli("--output", "json", "schedule", "list")
    assert listed.exit_code != 0 or listed.json()["data"] == []


@pytest.mark.slow
def test_secrets_never_reach_the_definitions_or_the_events(
    flext_cli, project: Path, flext_home: Path
) -> None:
    _deploy(flext_cli, project)
    stored = b"".join(path.read_bytes() for path in flext_home.rglob("*") if path.is_file())
    stored += b"".join(path.read_bytes() for path in project.rglob("*") if path.is_file())
    for value in SECRETS.values():
        assert value.encode() not in stored
    events = json.dumps(_deploy_events(flext_cli))
    assert "${WMS_PASSWORD}" in events
    assert SECRETS["WMS_PASSWORD"] not in events


@pytest.mark.slow
def test_a_pipeline_removed_by_hand_is_deployed_again(flext_cli, project: Path) -> None:
    _deploy(flext_cli, project)
    assert flext_cli("pipeline", "remove", "dc01").exit_code == 0
    again = _deploy(flext_cli, project)
    assert again["changes"] == ["pipeline dc01 created"]
    assert "dc01" in _pipelines(flext_cli)


@pytest.mark.slow
def test_a_relative_project_directory_works(
    flext_cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project.parent)
    result = flext_cli("--output", "json", "gruponos", "pipeline", "deploy", "--project", project.name)
    assert result.exit_code == 0, result.stderr
    assert result.json()["data"]["changes"][0] == "pipeline dc01 created"


@pytest.mark.slow
def test_an_explicit_store_is_the_one_every_step_uses(flext_cli, project: Path, tmp_path: Path) -> None:
    store = tmp_path / "elsewhere" / "events.db"
    store.parent.mkdir()
    first = _deploy(flext_cli, project, "--store", str(store))
    assert first["changes"][0] == "pipeline dc01 created"
    again = _deploy(flext_cli, project, "--store", str(store))  # reads what is live in that store
    assert again["changes"] == []
    shown = flext_cli("--output", "json", "events", "show", "gruponos-dc01", "--store", str(store))
    assert shown.exit_code == 0, shown.stderr
    assert len(shown.json()["data"]) == 1


@pytest.mark.slow
def test_switching_the_target_to_oracle_deploys_target_oracle_behind_the_same_pipeline(
    flext_cli, project: Path
) -> None:  # type: ignore[no-untyped-def]
    _deploy(flext_cli, project)
    oracle = CONFIG.replace("  host: 127", "  kind: oracle\n  host: 127").replace(
        "  database: warehouse\n", "  service_name: WAREHOUSE\n  schema: WMS\n"
    )
    (project / CONFIG_FILE).write_text(oracle, encoding="utf-8")
    switched = _deploy(flext_cli, project)
    assert switched["changes"] == ["pipeline dc01 updated"]  # the schedules stay as they are
    assert "-  name: target-postgres\n+  name: target-oracle\n" in switched["diff"]
    assert _pipelines(flext_cli) == {"dc01": "target-oracle"}
    deployed = yaml.safe_load((project / "deploy" / "dc01.yaml").read_text(encoding="utf-8"))
    assert deployed["load"]["config"]["service_name"] == "WAREHOUSE"
    assert deployed["load"]["config"]["password"] == "${DB_PASSWORD}"
    assert _deploy_events(flext_cli)[-1]["changes"] == ["pipeline dc01 updated"]
