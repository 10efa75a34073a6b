"""target-oracle as a FLEXT plugin: entry points, the plugin contract, ``--about``, the targets list."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from target_oracle.plugin import flext_singer_connectors

from flext_sdk.testing import FlextCliRunner, PluginContract

TARGET = Path(sys.executable).with_name("target-oracle")


class TestTargetOraclePlugin(PluginContract):
    plugin = "target_oracle.plugin"
    optional_plugins = ("flext_plugin_singer.plugin",)  # it answers flext_singer_connectors


def test_the_entry_points_are_installed() -> None:
    plugins = {ep.name: ep.value for ep in entry_points(group="flext.plugins")}
    assert plugins["target-oracle"] == "target_oracle.plugin"
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts["target-oracle"] == "target_oracle.target:TargetOracle.cli"


def test_the_connector_says_what_target_oracle_about_says() -> None:
    (described,) = flext_singer_connectors()
    assert (described.name, described.kind, described.executable) == (
        "target-oracle",
        "target",
        "target-oracle",
    )
    about = subprocess.run(
        [str(TARGET), "--about", "--format", "json"], capture_output=True, text=True, check=True, timeout=120
    )
    found = json.loads(about.stdout)
    assert described.capabilities == tuple(found["capabilities"])
    assert found["settings"]["properties"]["password"].get("secret") is True
    assert set(found["settings"]["required"]) >= {"host", "user", "service_name"}


def test_a_missing_setting_is_refused_before_anything_connects(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"host": "db.example.com", "user": "u"}))  # no service_name
    done = subprocess.run(
        [str(TARGET), "--config", str(config)],
        input="",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "service_name" in done.stderr


@pytest.mark.slow
def test_flext_lists_the_target(flext_cli: FlextCliRunner) -> None:
    listed = flext_cli("--output", "json", "data", "targets", "list")
    assert listed.exit_code == 0, listed.stderr
    rows = {row["name"]: row for row in listed.json()["data"]}
    row = rows["target-oracle"]
    assert (row["status"], row["source"], row["plugin"]) == ("installed", "plugin", "target-oracle")
    assert row["package"] == "flext-target-oracle"


def test_a_database_that_cannot_be_reached_is_one_error_line(tmp_path: Path) -> None:
    """Port 1 on the loopback refuses at once: the driver's reason, no traceback, no password."""
    secret = "Pw-Secret-5521"
    config = tmp_path / "config.json"
    settings = {"host": "127.0.0.1", "port": 1, "user": "u", "password": secret, "service_name": "X"}
    config.write_text(json.dumps({**settings, "default_target_schema": "wms"}))
    messages = [
        {"type": "SCHEMA", "stream": "item", "schema": {"properties": {"id": {"type": "integer"}}},
         "key_properties": ["id"]},
        {"type": "RECORD", "stream": "item", "record": {"id": 1}},
    ]  # fmt: skip
    done = subprocess.run(
        [str(TARGET), "--config", str(config)],
        input="".join(json.dumps(message) + "\n" for message in messages),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert errors[0].startswith("error: target-oracle: the database failed: DPY-6005: cannot connect to")
    assert "Connection refused" in errors[0]
    assert "Traceback" not in done.stderr
    assert secret not in done.stderr + done.stdout
