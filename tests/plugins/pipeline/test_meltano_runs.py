"""Delegated Meltano runs in ``flext pipeline status`` and ``history``, next to native runs.

The meltano plugin records each ``flext meltano run`` as ``meltano.RunStarted``
and ``meltano.RunFinished`` in the stream ``meltano-<project>``; the pipeline
plugin reads them by those type names (it never imports the meltano plugin).
A real Meltano project (``flext meltano project init --template
ldif-sqlite``) runs delegated, once completing and once failing, beside a
native pipeline's run in the same FLEXT home.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

SAMPLE_USERS = 30
"""Users in the template's sample LDIF (the Quickstart's directory export)."""


@pytest.fixture
def both(connectors: Path, define: Any, flext_cli: Any, tmp_path: Path) -> str:
    """A native run of ``numbers``; a completed, then a failed, delegated run of a Meltano project."""
    define("numbers", {"records": 5})
    assert flext_cli("pipeline", "run", "numbers").exit_code == 0
    project = tmp_path / "Warehouse Project"
    created = flext_cli("meltano", "project", "init", str(project), "--template", "ldif-sqlite")
    assert created.exit_code == 0, str(created)
    ran = flext_cli("meltano", "run", "ldif-to-sqlite", "--project", str(project))
    assert ran.exit_code == 0, str(ran)
    broken = flext_cli("meltano", "run", "tap-ldif", "no-such-loader", "--project", str(project))
    assert broken.exit_code != 0, str(broken)
    return "meltano-warehouse-project"


def test_status_shows_the_meltano_project_after_the_native_pipelines(both: str, flext_cli: Any) -> None:
    shown = flext_cli("--output", "json", "pipeline", "status")
    assert shown.exit_code == 0, str(shown)
    rows = {row["pipeline"]: row for row in shown.json()["data"]}
    assert list(rows) == ["numbers", both]
    assert rows["numbers"]["status"] == "completed"
    meltano = rows[both]
    assert (meltano["status"], meltano["runs"]) == ("failed", 2)
    assert meltano["error"].startswith("meltano run exited ")
    assert meltano["finished_at"] is not None

    one = flext_cli("--output", "json", "pipeline", "status", both)
    assert one.exit_code == 0, str(one)
    assert [row["pipeline"] for row in one.json()["data"]] == [both]


def test_history_lists_the_delegated_runs_with_the_rows_meltano_reported(both: str, flext_cli: Any) -> None:
    shown = flext_cli("--output", "json", "pipeline", "history", both)
    assert shown.exit_code == 0, str(shown)
    failed, completed = shown.json()["data"]  # newest first
    assert failed["status"] == "failed"
    assert completed["status"] == "completed"
    assert completed["records"]["users"] == SAMPLE_USERS
    assert completed["total_records"] >= SAMPLE_USERS
    assert completed["elapsed"] > 0
    assert completed["run_id"] != failed["run_id"]

    table = flext_cli("pipeline", "history", both)
    assert table.exit_code == 0, str(table)
    assert "completed" in table.stdout
    assert "failed" in table.stdout


def test_a_meltano_name_nobody_ran_is_not_found(connectors: Path, flext_cli: Any, define: Any) -> None:
    define("numbers", {"records": 1})
    assert flext_cli("pipeline", "run", "numbers").exit_code == 0
    for command in ("status", "history"):
        shown = flext_cli("pipeline", command, "meltano-nothing-here")
        assert shown.exit_code == 2, str(shown)
        assert "meltano-nothing-here" in shown.stderr
