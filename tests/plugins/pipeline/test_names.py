"""Pipeline names and run ids are checked at every command, and no path made of them leaves its directory.

The attack: a name like ``../../../elsewhere/travtest`` made ``flext pipeline
run`` run a definition nobody registered, and ``flext pipeline logs`` (and
its ``--run``) print any ``*.log`` file. Each command is run for real with
traversal names, absolute paths and very long names; names with NUL (which
no command line can carry) and every other string go through the functions
the commands use, with hypothesis.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from flext_plugin_pipeline import project
from flext_plugin_pipeline.runtime import log_path
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.slow

NAME_COMMANDS = [
    ("pipeline", "run"),
    ("pipeline", "run", "--dry-run"),
    ("pipeline", "start"),
    ("pipeline", "stop"),
    ("pipeline", "remove"),
    ("pipeline", "status"),
    ("pipeline", "history"),
    ("pipeline", "logs"),
]


@pytest.fixture
def elsewhere(tmp_path: Path, connectors, define, flext_cli) -> Path:
    """A definition and logs outside the project, and a registered pipeline that has run once."""
    define("real", {"records": 3})
    assert flext_cli("pipeline", "run", "real").exit_code == 0
    outside = tmp_path / "elsewhere"
    (outside / "runs").mkdir(parents=True)
    body = {
        "name": "travtest",
        "extract": {"name": "tap-numbers", "config": {"records": 5}},
        "load": {"name": "target-file", "config": {"path": str(outside / "rows.json")}},
    }
    (outside / "travtest.yaml").write_text(yaml.safe_dump(body))
    (outside / "runs" / "zzz.log").write_text("private log of someone else\n")
    (outside / "zzz.log").write_text("private log of someone else\n")
    return outside


def _refused(result, what: str = "is not a pipeline name") -> None:
    assert result.exit_code == 2, result
    assert what in result.stderr, result
    assert result.stderr.rstrip().endswith("(VALIDATION_ERROR)"), result
    assert "private log" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_every_command_refuses_a_name_that_climbs_out(elsewhere: Path, flext_cli) -> None:
    pipelines = flext_cli.home / "data" / "project" / "pipelines"
    runs_parent = flext_cli.home / "data" / "pipelines"
    to_definition = os.path.relpath(elsewhere / "travtest", pipelines)
    to_logs = os.path.relpath(elsewhere, runs_parent)
    for name in (to_definition, to_logs, str(elsewhere / "travtest"), str(elsewhere), "a" * 300, "Real", ""):
        for command in NAME_COMMANDS:
            _refused(flext_cli(*command[:2], name, *command[2:]))
    assert not (elsewhere / "rows.json").exists()  # the unregistered definition never ran
    assert sorted(path.name for path in runs_parent.iterdir()) == ["real"]


def test_logs_refuses_a_run_id_that_climbs_out(elsewhere: Path, flext_cli) -> None:
    runs = flext_cli.home / "data" / "pipelines" / "real" / "runs"
    for run_id in (os.path.relpath(elsewhere / "zzz", runs), str(elsewhere / "zzz"), "x" * 300, "zzz"):
        for options in ((), ("--follow",)):
            _refused(flext_cli("pipeline", "logs", "real", "--run", run_id, *options), "is not a run id")
    history = flext_cli("--output", "json", "pipeline", "history", "real").json()["data"]
    shown = flext_cli("pipeline", "logs", "real", "--run", history[0]["run_id"])
    assert shown.exit_code == 0, shown


def test_links_that_lead_out_of_flext_s_directories_are_not_followed(elsewhere: Path, flext_cli) -> None:
    pipelines = flext_cli.home / "data" / "project" / "pipelines"
    (pipelines / "travtest.yaml").symlink_to(elsewhere / "travtest.yaml")
    ran = flext_cli("pipeline", "run", "travtest")
    _refused(ran, "leads outside")
    assert not (elsewhere / "rows.json").exists()
    runs = flext_cli.home / "data" / "pipelines" / "real" / "runs"
    (runs / "99991231T235959.999-ffff.log").symlink_to(elsewhere / "zzz.log")
    _refused(flext_cli("pipeline", "logs", "real"), "leads outside")


def test_a_registered_file_must_hold_the_pipeline_it_is_named_after(connectors, define, flext_cli) -> None:
    define("first", {"records": 3})
    pipelines = flext_cli.home / "data" / "project" / "pipelines"
    document = json.loads((pipelines / "first.yaml").read_text())
    (pipelines / "second.yaml").write_text(json.dumps({**document, "name": "first"}))
    ran = flext_cli("pipeline", "run", "second")
    assert ran.exit_code == 2, ran
    assert "holds pipeline 'first', not 'second'" in ran.stderr
    listed = flext_cli("--output", "json", "pipeline", "list").json()["data"]
    assert [entry["name"] for entry in listed] == ["first"]


@given(st.text(max_size=80))
def test_a_name_is_accepted_only_if_it_stays_in_its_directory(name: str) -> None:
    checked = project.checked_name(name)
    if checked.is_failure:
        assert checked.error_code == "VALIDATION_ERROR"
        with pytest.raises(ValueError, match="not a pipeline name"):
            project.run_dir(name)
        return
    for folder in (Path("/srv/project/pipelines"), Path("/srv/data/pipelines")):
        assert os.path.normpath(folder / f"{name}.yaml").startswith(f"{folder}/")
        assert os.path.normpath(folder / name).startswith(f"{folder}/")
    assert "\0" not in name
    assert len(name) <= 64


@given(st.text(max_size=40))
def test_a_run_id_is_accepted_only_if_it_stays_in_its_directory(run_id: str) -> None:
    checked = project.checked_run_id(run_id)
    if checked.is_failure:
        assert checked.error_code == "VALIDATION_ERROR"
        with pytest.raises(ValueError, match="not a run id"):
            log_path("real", run_id)
        return
    folder = Path("/srv/data/pipelines/real/runs")
    assert os.path.normpath(folder / f"{run_id}.log").startswith(f"{folder}/")


@pytest.mark.parametrize(
    "name", ["../x", "/etc/passwd", "a\0b", "a/b", ".", "..", "x" * 65, "A", "-x", "x\n"]
)
def test_lookups_refuse_what_cannot_be_a_name(name: str, flext_home: Path) -> None:
    for result in (project.find(name), project.unregister(name)):
        assert result.error_code == "VALIDATION_ERROR", (name, result)
    assert project.is_registered(name) is False


def test_run_ids_from_every_version_are_accepted() -> None:
    from flext_plugin_pipeline.runner import new_run_id

    for run_id in (new_run_id(), "20261124T211424-a1b2", "20261207T071905.970-b887"):
        assert project.checked_run_id(run_id).is_success, run_id


def test_follow_does_not_move_on_to_a_planted_link(connectors, define, flext_cli, tmp_path: Path) -> None:
    import subprocess
    import time

    from flext_sdk.testing import flext_command

    secret = tmp_path / "secret.log"
    secret.write_text("private log of someone else\n")
    define("slowly", {"records": 100_000, "state_every": 50, "delay": 0.002})
    assert flext_cli("pipeline", "start", "slowly").exit_code == 0
    runs = flext_cli.home / "data" / "pipelines" / "slowly" / "runs"
    deadline = time.monotonic() + 30
    while not list(runs.glob("*.log")):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    follower = subprocess.Popen(
        [*flext_command(), "pipeline", "logs", "slowly", "--follow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=flext_cli.environment(),
    )
    time.sleep(2)
    (runs / "99991231T235959.999-ffff.log").symlink_to(secret)
    time.sleep(2)
    assert flext_cli("pipeline", "stop", "slowly").exit_code == 0
    out, err = follower.communicate(timeout=60)
    assert follower.returncode == 0, err
    assert "[flext] run " in out
    assert "private log" not in out
    assert "--- run 99991231T235959.999-ffff ---" not in out
