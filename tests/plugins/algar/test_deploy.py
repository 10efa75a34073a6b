"""``flext algar pipeline deploy``: ``oud sync`` on a schedule, through the scheduler's own command."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from flext_sdk.testing import FlextCliRunner


def _schedules(flext_cli: FlextCliRunner) -> dict[str, dict]:  # type: ignore[type-arg]
    listed = flext_cli("--output", "json", "schedule", "list")
    return {row["schedule"]: row for row in listed.json()["data"]} if listed.exit_code == 0 else {}


@pytest.mark.slow
def test_deploy_schedules_oud_sync_changes_it_only_when_asked_and_removes_it(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    project = tmp_path / "My Migration"
    assert flext_cli("algar", "init", str(project)).exit_code == 0
    first = flext_cli("--output", "json", "algar", "pipeline", "deploy", "--project", str(project))
    assert first.exit_code == 0, first.stderr
    name = "algar-my-migration-oud-sync"
    assert first.json()["data"]["changed"] is True
    schedule = _schedules(flext_cli)[name]
    assert (schedule["cron"], schedule["job_kind"]) == ("*/30 * * * *", "command")
    assert shlex.split(schedule["job"]) == ["algar", "oud", "sync", "--project", str(project.resolve())]
    assert schedule["directory"] == str(project.resolve())

    again = flext_cli("--output", "json", "algar", "pipeline", "deploy", "--project", str(project))
    assert again.json()["data"]["changed"] is False
    hourly = flext_cli(
        "--output", "json", "algar", "pipeline", "deploy", "--project", str(project), "--cron", "0 * * * *"
    )
    assert hourly.json()["data"]["changed"] is True
    assert _schedules(flext_cli)[name]["cron"] == "0 * * * *"

    removed = flext_cli(
        "--output", "json", "algar", "pipeline", "deploy", "--project", str(project), "--remove"
    )
    assert removed.exit_code == 0, removed.stderr
    assert removed.json()["data"] == {"schedule": name, "removed": True}
    assert name not in _schedules(flext_cli)


def test_a_bad_cron_is_the_schedulers_one_clear_line(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    assert flext_cli("algar", "init", str(tmp_path / "m")).exit_code == 0
    bad = flext_cli("algar", "pipeline", "deploy", "--project", str(tmp_path / "m"), "--cron", "every day")
    assert bad.exit_code == 2, bad
    assert bad.stderr.startswith("error: ")
    assert "every day" in bad.stderr
    assert "Traceback" not in bad.stderr
