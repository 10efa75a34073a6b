"""Plugins reach each other through the kernel, so turning one off takes what it provides away.

Through the real ``flext``: with the dbt plugin disabled, the sample pipeline
(which has a dbt step) fails before its tap starts, in one ``error:`` line
naming dbt and how to enable it; with the ldif plugin disabled, tap-ldif is
gone from ``flext data taps list``. Enabling them again restores both.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).parents[2] / "examples" / "directory"
DBT_OFF = "pipeline 'directory' has a dbt transform step, but plugin 'dbt' is disabled"


def _taps(flext_cli) -> dict[str, str]:
    listed = flext_cli("--output", "json", "data", "taps", "list")
    assert listed.exit_code == 0, listed
    return {row["name"]: row["status"] for row in listed.json()["data"]}


def test_a_disabled_dbt_plugin_stops_a_pipeline_with_a_dbt_step_before_it_extracts(flext_cli, tmp_path):
    sample = tmp_path / "directory"
    shutil.copytree(EXAMPLE, sample, ignore=shutil.ignore_patterns("output", "target", "logs"))
    assert flext_cli("data", "pipeline", "create", str(sample / "pipeline.yaml")).exit_code == 0
    assert flext_cli("plugin", "disable", "dbt").exit_code == 0

    run = flext_cli("pipeline", "run", "directory")
    assert run.exit_code == 2, run  # PLUGIN_DISABLED is a usage error: turn the plugin on
    assert run.stderr.splitlines() == [
        f"error: {DBT_OFF} (PLUGIN_DISABLED)",
        "hint: enable it with 'flext plugin enable dbt'",
    ]
    assert not (sample / "output").exists()  # the tap never started: nothing was loaded half-way
    history = flext_cli("--output", "json", "pipeline", "history", "directory")
    assert history.json()["data"] == []  # and no run was recorded

    as_json = flext_cli("--output", "json", "pipeline", "run", "directory")
    assert as_json.exit_code == 2
    assert as_json.json() == {
        "ok": False,
        "error": DBT_OFF,
        "code": "PLUGIN_DISABLED",
    }
    dry = flext_cli("pipeline", "run", "directory", "--dry-run")
    assert (dry.exit_code, dry.stderr.splitlines()[0]) == (2, run.stderr.splitlines()[0])
    start = flext_cli("pipeline", "start", "directory")
    assert (start.exit_code, start.stderr) == (2, run.stderr)

    assert flext_cli("plugin", "enable", "dbt").exit_code == 0
    enabled = flext_cli("pipeline", "run", "directory", "--dry-run")
    assert enabled.exit_code == 0, enabled
    assert "dbt build transform" in enabled.stdout


def test_a_disabled_ldif_plugin_takes_tap_ldif_out_of_the_taps_list(flext_cli):
    assert _taps(flext_cli)["tap-ldif"] == "installed"
    assert flext_cli("plugin", "disable", "ldif").exit_code == 0

    assert "tap-ldif" not in _taps(flext_cli)  # neither installed nor offered: its plugin is off
    table = flext_cli("data", "taps", "list")
    assert table.exit_code == 0
    assert "tap-ldif" not in table.stdout
    add = flext_cli("data", "taps", "add", "tap-ldif")
    assert add.exit_code == 2
    assert add.stderr.splitlines() == [
        "error: tap 'tap-ldif' comes with a plugin, but plugin 'ldif' is disabled (PLUGIN_DISABLED)",
        "hint: enable it with 'flext plugin enable ldif'",
    ]

    assert flext_cli("plugin", "enable", "ldif").exit_code == 0
    assert _taps(flext_cli)["tap-ldif"] == "installed"
