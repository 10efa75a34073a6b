"""``flext service start|stop|restart|status|logs`` on real processes, through the real CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from .conftest import PYTHON, QUITTER, SLEEPER, STUBBORN, Services, alive, free_port, wait_for

pytestmark = pytest.mark.slow


def _pid_file(home: Path, name: str) -> Path:
    return home / "data" / "services" / f"{name}.pid"


def test_start_status_stop_leaves_no_process_behind(services: Services, flext_home: Path) -> None:
    services.set(services.process("sleeper", SLEEPER))
    started = services.json("service", "start", "sleeper")
    assert started["data"]["started"] is True
    pid = started["data"]["pid"]
    child = services.child_pid("sleeper")
    assert alive(pid)
    assert alive(child)
    record = json.loads(_pid_file(flext_home, "sleeper").read_text())
    assert record["pid"] == pid
    assert record["pgid"] == pid  # a process group of its own
    assert os.getpgid(child) == pid

    status = {row["service"]: row for row in services.json("service", "status")["data"]}
    assert status["sleeper"]["process"] == "running"
    assert status["sleeper"]["pid"] == pid

    again = services("service", "start", "sleeper")
    assert again.exit_code == 0, again
    assert f"already running (pid {pid})" in again.stdout

    stopped = services.json("service", "stop", "sleeper")
    assert stopped["data"] == {
        "service": "sleeper",
        "pid": pid,
        "stopped": True,
        "forced": False,
        "stale_pid_file": False,
    }
    assert not alive(pid)
    assert not alive(child)  # the whole group went: no orphan
    assert not _pid_file(flext_home, "sleeper").exists()
    status = {row["service"]: row for row in services.json("service", "status")["data"]}
    assert status["sleeper"]["process"] == "stopped"


def test_a_process_that_ignores_sigterm_is_killed_with_its_children(services: Services) -> None:
    services.set(services.process("stubborn", STUBBORN, stop_timeout=1))
    started = services.json("service", "start", "stubborn")
    pid = started["data"]["pid"]
    child = services.child_pid("stubborn")
    stopped = services("service", "stop", "stubborn")
    assert stopped.exit_code == 0, stopped
    assert f"killed stubborn (pid {pid})" in stopped.stdout
    assert not alive(pid)
    assert not alive(child)


def test_the_process_outlives_the_cli_and_a_later_cli_stops_it(services: Services) -> None:
    services.set(services.process("sleeper", SLEEPER))
    # The CLI that starts it is killed while the service runs: the pid file is what a later CLI has.
    cli = subprocess.Popen(
        [*services.flext_cli.command, "service", "start", "sleeper", "--wait", "60"],
        env=services.flext_cli.environment(services.environment()),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    child = services.child_pid("sleeper")
    cli.send_signal(signal.SIGKILL)
    cli.wait()
    status = wait_for(
        lambda: next(
            row for row in services.json("service", "status")["data"] if row["service"] == "sleeper"
        )["pid"],
        what="the pid file",
    )
    assert alive(status)
    assert alive(child)
    stopped = services.json("service", "stop", "sleeper")
    assert stopped["data"]["stopped"] is True
    assert not alive(child)


def test_a_stale_pid_file_is_recognised_and_replaced(services: Services, flext_home: Path) -> None:
    services.set(services.process("sleeper", SLEEPER))
    started = services.json("service", "start", "sleeper")
    pid = started["data"]["pid"]
    child = services.child_pid("sleeper")
    os.killpg(pid, signal.SIGKILL)  # the service and its child die; the pid file stays (a crash)
    wait_for(lambda: not alive(pid) and not alive(child), what="the kill")
    assert _pid_file(flext_home, "sleeper").exists()

    status = {row["service"]: row for row in services.json("service", "status")["data"]}
    assert status["sleeper"]["process"] == "stopped"

    restarted = services.json("service", "start", "sleeper")
    assert restarted["data"]["started"] is True
    assert restarted["data"]["pid"] != pid
    stopped = services.json("service", "stop", "sleeper")
    assert stopped["data"]["stopped"] is True

    # A pid file left by a crash; stop only removes it.
    (services.tmp_path / "sleeper.child").unlink()
    services.json("service", "start", "sleeper")
    services.child_pid("sleeper")
    record = json.loads(_pid_file(flext_home, "sleeper").read_text())
    os.killpg(record["pgid"], signal.SIGKILL)
    wait_for(lambda: not alive(record["pid"]), what="the kill")
    stale = services.json("service", "stop", "sleeper")
    assert stale["data"]["stale_pid_file"] is True
    assert stale["data"]["stopped"] is False
    assert not _pid_file(flext_home, "sleeper").exists()


def test_a_reused_pid_is_not_mistaken_for_the_service(services: Services, flext_home: Path) -> None:
    services.set(services.process("sleeper", SLEEPER))
    stranger = subprocess.Popen([PYTHON, "-c", "import time; time.sleep(600)"], start_new_session=True)
    try:
        pid_file = _pid_file(flext_home, "sleeper")
        pid_file.parent.mkdir(parents=True, exist_ok=True)
        # The pid file of a service that died, whose pid the stranger now has (another start time).
        pid_file.write_text(json.dumps({"pid": stranger.pid, "pgid": stranger.pid, "ticks": "1", "argv": []}))
        status = {row["service"]: row for row in services.json("service", "status")["data"]}
        assert status["sleeper"]["process"] == "stopped"
        stale = services.json("service", "stop", "sleeper")
        assert stale["data"]["stale_pid_file"] is True
        assert stranger.poll() is None  # not ours: left alone
    finally:
        stranger.kill()
        stranger.wait()


def test_the_leaders_orphans_are_stopped(services: Services, flext_home: Path) -> None:
    services.set(services.process("sleeper", SLEEPER))
    pid = services.json("service", "start", "sleeper")["data"]["pid"]
    child = services.child_pid("sleeper")
    os.kill(pid, signal.SIGKILL)  # only the leader dies: its child is an orphan in the group
    wait_for(lambda: not alive(pid), what="the leader's end")
    assert alive(child)
    stopped = services.json("service", "stop", "sleeper")
    assert stopped["data"]["pid"] == pid
    assert not alive(child)
    assert not _pid_file(flext_home, "sleeper").exists()


def test_a_process_that_ends_at_once_fails_the_start_with_its_last_line(services: Services) -> None:
    port = free_port()  # nothing listens: the process never passes its check, and ends first
    check = {"type": "tcp", "host": "127.0.0.1", "port": port}
    services.set(services.process("quitter", QUITTER, check=check))
    failed = services("service", "start", "quitter")
    assert failed.exit_code == 1, failed
    assert failed.stderr.startswith(
        "error: quitter ended at once; its last line: bad configuration: no such table (SERVICE_START_FAILED)"
    )
    assert "hint: its log: " in failed.stderr
    assert "Traceback" not in failed.stderr


def test_restart_gives_a_new_process(services: Services) -> None:
    services.set(services.process("sleeper", SLEEPER))
    first = services.json("service", "start", "sleeper")["data"]["pid"]
    second = services.json("service", "restart", "sleeper")["data"]["pid"]
    assert second != first
    assert not alive(first)
    assert alive(second)
    services("service", "stop", "sleeper")


def test_logs_prints_the_end_and_follows(services: Services) -> None:
    services.set(services.process("sleeper", SLEEPER))
    services.json("service", "start", "sleeper")
    services.child_pid("sleeper")
    shown = services("service", "logs", "sleeper", "--lines", "1")
    assert shown.exit_code == 0, shown
    assert shown.stdout.startswith("sleeper up, child ")
    follower = subprocess.Popen(
        [*services.flext_cli.command, "service", "logs", "sleeper", "--lines", "0", "--follow"],
        env=services.flext_cli.environment(services.environment()),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    log = Path(services.flext_cli.home) / "data" / "services" / "sleeper.log"
    done = threading.Event()

    def append() -> None:  # until the follower shows one: it may start reading after the first lines
        count = 0
        while not done.wait(0.2):
            count += 1
            with log.open("a") as sink:
                sink.write(f"a line written later {count}\n")

    writer = threading.Thread(target=append, daemon=True)
    writer.start()
    watchdog = threading.Timer(60, follower.kill)  # a follower that prints nothing fails, not hangs
    watchdog.start()
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline().startswith("a line written later ")
        follower.send_signal(signal.SIGINT)
        assert follower.wait(timeout=60) == 130
    finally:
        done.set()
        watchdog.cancel()
        if follower.poll() is None:
            follower.kill()
            follower.wait()
        assert follower.stdout is not None
        follower.stdout.close()
    services("service", "stop", "sleeper")


def test_bad_names_and_dependencies_are_refused(services: Services) -> None:
    services.set()
    unknown = services("service", "start", "nope")
    assert unknown.exit_code == 2
    assert unknown.stderr.splitlines()[0] == "error: no service named 'nope' (NOT_FOUND)"
    dependency = services("service", "stop", "event-store")
    assert dependency.exit_code == 2
    assert "is a dependency: FLEXT checks it but does not run it (VALIDATION_ERROR)" in dependency.stderr
