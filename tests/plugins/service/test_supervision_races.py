"""Concurrent ``flext service start|stop`` and pid files that do not name a process of ours."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import PYTHON, Services, alive, wait_for

pytestmark = pytest.mark.slow

RECORDER = """
import os, sys, time
with open(sys.argv[1], "a") as sink:
    sink.write(f"{os.getpid()}\\n")
print("recorder up", flush=True)
time.sleep(600)
"""


def _pid_file(home: Path, name: str) -> Path:
    return home / "data" / "services" / f"{name}.pid"


def _started(services: Services) -> list[int]:
    path = services.tmp_path / "recorder.child"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


@pytest.fixture(autouse=True)
def _no_recorders(services: Services) -> Iterator[None]:
    """Kill every recorder a test started, even one no pid file names (what the race left)."""
    yield
    for pid in _started(services):
        if alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def test_concurrent_starts_start_one_process_and_stop_leaves_none(services: Services) -> None:
    services.set(services.process("recorder", RECORDER))
    command = [*services.flext_cli.command, "--output", "json", "service", "start", "recorder"]
    environment = services.flext_cli.environment(services.environment())
    for _round in range(3):  # each round is a fresh race
        clis = [
            subprocess.Popen(
                command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(4)
        ]
        outputs = [cli.communicate(timeout=120) for cli in clis]
        assert [cli.returncode for cli in clis] == [0, 0, 0, 0], outputs
        documents = [json.loads(out)["data"] for out, _ in outputs]
        assert sorted(document["started"] for document in documents) == [False, False, False, True]
        assert len({document["pid"] for document in documents}) == 1
        live = [pid for pid in _started(services) if alive(pid)]
        assert live == [documents[0]["pid"]], (live, documents)
        stopped = services.json("service", "stop", "recorder")
        assert stopped["data"]["stopped"] is True
        assert not [pid for pid in _started(services) if alive(pid)]


def _waits_for_a_lock(pid: int) -> bool:
    """Whether process ``pid`` is blocked on a file lock (a ``->`` line of /proc/locks)."""
    return any(
        "->" in line and line.split("->", 1)[1].split()[3] == str(pid)
        for line in Path("/proc/locks").read_text().splitlines()
    )


def test_a_stop_waits_while_a_start_holds_the_pid_file(services: Services, flext_home: Path) -> None:
    services.set(services.process("recorder", RECORDER))
    pid = services.json("service", "start", "recorder")["data"]["pid"]
    lock = flext_home / "data" / "services" / "recorder.lock"
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # what a start holds from its running-check to its pid file
        stop = subprocess.Popen(
            [*services.flext_cli.command, "--output", "json", "service", "stop", "recorder"],
            env=services.flext_cli.environment(services.environment()),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(lambda: _waits_for_a_lock(stop.pid), what="the stop to wait for the lock")
        assert alive(pid)
        assert _pid_file(flext_home, "recorder").exists()
    out, err = stop.communicate(timeout=120)
    assert stop.returncode == 0, err
    assert json.loads(out)["data"]["pid"] == pid
    assert not alive(pid)


def test_a_pid_file_without_a_start_time_does_not_stop_a_stranger(
    services: Services, flext_home: Path
) -> None:
    services.set(services.process("recorder", RECORDER))
    stranger = subprocess.Popen([PYTHON, "-c", "import time; time.sleep(600)"], start_new_session=True)
    try:
        pid_file = _pid_file(flext_home, "recorder")
        pid_file.parent.mkdir(parents=True, exist_ok=True)
        # What a start leaves when its process ended before /proc could be read: no start time.
        pid_file.write_text(
            json.dumps({"pid": stranger.pid, "pgid": stranger.pid, "ticks": None, "argv": []})
        )
        status = {row["service"]: row for row in services.json("service", "status")["data"]}
        assert status["recorder"]["process"] == "stopped"
        stopped = services.json("service", "stop", "recorder")
        assert stopped["data"]["stale_pid_file"] is True
        assert stranger.poll() is None
        assert not pid_file.exists()
    finally:
        stranger.kill()
        stranger.wait()


def test_a_start_that_ends_at_once_leaves_no_pid_file(services: Services, flext_home: Path) -> None:
    quitter = services.process("quitter", "import sys; print('no config', flush=True); sys.exit(3)")
    services.set({**quitter, "check": {"type": "tcp", "host": "127.0.0.1", "port": 9}})
    failed = services("service", "start", "quitter")
    assert failed.exit_code == 1, failed
    assert not _pid_file(flext_home, "quitter").exists()
