"""The distribution as a FLEXT plugin: its entry points, the plugin contract, and ``flext data taps list``."""

from __future__ import annotations

import json
import subprocess
from importlib.metadata import entry_points

import pytest
import tap_oracle_wms
from tap_oracle_wms.plugin import flext_singer_connectors

from flext_sdk.testing import FlextCliRunner, PluginContract

from .conftest import TAP


class TestTapOracleWmsPlugin(PluginContract):
    plugin = "tap_oracle_wms.plugin"
    optional_plugins = ("flext_plugin_singer.plugin",)  # it answers flext_singer_connectors


def test_the_entry_points_are_installed() -> None:
    plugins = {ep.name: ep.value for ep in entry_points(group="flext.plugins")}
    assert plugins["tap-oracle-wms"] == "tap_oracle_wms.plugin"
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts["tap-oracle-wms"] == "tap_oracle_wms.tap:TapOracleWMS.cli"


def test_the_connector_says_what_tap_oracle_wms_about_says() -> None:
    (described,) = flext_singer_connectors()
    assert (described.name, described.kind, described.executable) == (
        "tap-oracle-wms", "tap", "tap-oracle-wms",
    )  # fmt: skip
    about = subprocess.run(
        [str(TAP), "--about", "--format", "json"], capture_output=True, text=True, check=True, timeout=120
    )
    assert described.capabilities == tuple(json.loads(about.stdout)["capabilities"])
    assert json.loads(about.stdout)["version"] == "0.1.0"


def test_the_package_surface() -> None:
    assert sorted(tap_oracle_wms.__all__) == ["SettingsError", "TapOracleWMS", "WmsError"]
    for name in tap_oracle_wms.__all__:
        assert getattr(tap_oracle_wms, name).__name__ == name
    with pytest.raises(AttributeError):
        _ = tap_oracle_wms.nothing_here


@pytest.mark.slow
def test_flext_lists_the_tap_and_forgets_it_when_the_plugin_is_disabled(flext_cli: FlextCliRunner) -> None:
    listed = flext_cli("--output", "json", "data", "taps", "list")
    assert listed.exit_code == 0, listed.stderr
    rows = {row["name"]: row for row in listed.json()["data"]}
    row = rows["tap-oracle-wms"]
    assert (row["status"], row["source"], row["plugin"]) == ("installed", "plugin", "tap-oracle-wms")
    assert row["package"] == "flext-tap-oracle-wms"
    assert row["location"].endswith("/tap-oracle-wms")

    assert flext_cli("plugin", "disable", "tap-oracle-wms").exit_code == 0
    listed = flext_cli("--output", "json", "data", "taps", "list")
    assert "tap-oracle-wms" not in {row["name"] for row in listed.json()["data"]}
