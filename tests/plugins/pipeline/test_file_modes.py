"""What the pipeline plugin writes is 0600 in 0700 directories, whatever the umask (issue 22, item 14).

The ``flext`` CLI sets umask 077 itself; the plugin's functions are also
called from Python under any umask, so these tests call them in-process with
the loosest umasks, then run a real background pipeline too.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flext_plugin_pipeline import project
from flext_plugin_pipeline.definition import parse_definition
from flext_plugin_pipeline.runtime import RunLock, RunLog, RunnerRecord, is_running

DEFINITION = "name: secretive\nextract: {name: tap-x, config: {password: hunter2}}\nload: {name: target-y}\n"


@pytest.fixture(params=[0o000, 0o022])
def loose_umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def _modes(root: Path) -> dict[str, str]:
    found = {}
    for directory, names, files in os.walk(root):
        for name in (*names, *files):
            path = Path(directory, name)
            found[str(path.relative_to(root))] = f"{stat.S_IMODE(path.lstat().st_mode):04o}"
    return found


def _loose(modes: dict[str, str], root: Path) -> dict[str, str]:
    return {
        name: mode for name, mode in modes.items() if mode != ("0700" if (root / name).is_dir() else "0600")
    }


def test_registered_definitions_locks_records_and_logs_are_private(
    loose_umask: int, flext_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "secretive.yaml"
    source.write_text(DEFINITION)
    project.register(parse_definition(DEFINITION, str(source)).unwrap(), source).unwrap()
    lock = RunLock("secretive")
    lock.acquire().unwrap()
    try:
        RunnerRecord("secretive").update(run_id="20261207T000000.000-abcd", process_group=1)
        assert is_running("secretive")
        log = RunLog.create("secretive", "20261207T000000.000-abcd")
        log.write("flext", "a line")
        log.close()
        data = flext_home / "data"
        modes = _modes(data)
        assert {
            "project/pipelines/secretive.yaml",
            "pipelines/secretive/run.lock",
            "pipelines/secretive/runner.json",
            "pipelines/secretive/runs/20261207T000000.000-abcd.log",
        } <= set(modes)
        assert _loose(modes, data) == {}, f"umask {loose_umask:04o}"
    finally:
        lock.release()


def test_a_background_run_writes_only_private_files(connectors, define, flext_cli, loose_umask: int) -> None:
    define("quiet", {"records": 20})
    started = flext_cli("pipeline", "start", "quiet")
    assert started.exit_code == 0, started
    deadline = time.monotonic() + 60
    while flext_cli("--output", "json", "pipeline", "status", "quiet").json()["data"][0]["status"] in (
        "running",
        "never run",
    ):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    data = flext_cli.home / "data"
    modes = _modes(data / "pipelines")
    assert "quiet/background.out" in modes
    assert _loose(modes, data / "pipelines") == {}
