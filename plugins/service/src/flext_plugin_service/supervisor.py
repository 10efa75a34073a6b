"""Starting and stopping local processes: pid files that outlive the CLI, process groups, no orphans.

A process is started in a session (and so a process group) of its own, its
output appended to its log, and its pid file written at once, so a later
``flext`` finds it even if the one that started it crashed. The pid file
also holds the process's start time (from ``/proc``): a pid reused by an
unrelated process after a reboot or a crash is not mistaken for ours.
Stopping signals the whole group (SIGTERM, then SIGKILL after the timeout)
and waits until no process is left in it, so children go too. A child that
made a session of its own (``setsid``) has left the group and is not ours
to stop.

Starting and stopping hold an exclusive ``flock`` on ``<name>.lock``: a
start from its "is it running?" until its pid file is written, a stop from
reading the pid file until it has removed it. Two starts at once so start
one process, and a stop never removes the pid file a start just wrote.
A pid file without a start time (the process ended before ``/proc`` could
be read) names nothing of ours where there is a ``/proc``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flext_kernel.errors import TIMEOUT
from flext_kernel.result import FlextResult
from flext_plugin_service.errors import SERVICE_START_FAILED
from flext_plugin_service.files import lock_file, log_file, open_private, pid_file, read_json, write_json
from flext_plugin_service.spec import ServiceSpec

__all__ = [
    "Running",
    "Stopped",
    "forget",
    "listener_elsewhere",
    "locked",
    "running",
    "start_process",
    "stop_process",
]

_POLL = 0.05


@dataclass(frozen=True)
class Running:
    """A live supervised process, as its pid file records it."""

    pid: int
    pgid: int
    started: str
    """ISO 8601 UTC time it was started."""
    argv: list[str]


@dataclass(frozen=True)
class Stopped:
    """What ``stop_process`` did."""

    pid: int | None
    """The process stopped; None when none was running."""
    forced: bool = False
    """SIGKILL was needed."""
    stale: bool = False
    """A pid file named a process that was gone; it was removed."""


@contextlib.contextmanager
def locked(name: str) -> Iterator[None]:
    """Hold the exclusive lock of ``name``'s pid file (blocks while another start or stop holds it)."""
    descriptor = os.open(lock_file(name), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (``/proc/PID/stat`` field 22), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 and fields[0] != "Z" else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _group_alive(pgid: int) -> bool:
    """Whether a live process is left in group ``pgid``.

    ``/proc`` is read where there is one, because a zombie (dead, not yet
    reaped: an init that does not reap, in a container) still answers
    ``killpg(pgid, 0)`` but holds nothing; elsewhere ``killpg`` decides.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text(encoding="ascii", errors="replace").rsplit(")", 1)[-1].split()
        except OSError:
            continue  # it ended while we looked
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


_LISTEN = "0A"
"""The state of a listening socket in ``/proc/net/tcp``."""


def _listening_inodes(port: int) -> set[str]:
    """The inodes of the sockets listening on TCP ``port`` on this machine (IPv4 and IPv6)."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text(encoding="ascii", errors="replace").splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == _LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                found.add(fields[9])
    return found


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text(encoding="ascii", errors="replace").rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if len(fields) > 2 and fields[2] == str(pgid):
            members.append(int(entry.name))
    return members


def listener_elsewhere(pgid: int, port: int) -> bool:
    """Whether TCP ``port`` is listened on here by a process outside group ``pgid``, and not by the group.

    A check that a server of another answers (a port taken) must not pass for
    ours. False where there is no ``/proc`` (not known) or nothing here listens
    on ``port`` (a remote host's port: the check is all there is).
    """
    if not Path("/proc").is_dir():
        return False
    inodes = _listening_inodes(port)
    if not inodes:
        return False
    for pid in _group_members(pgid):
        try:
            descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for descriptor in descriptors:
            try:
                target = os.readlink(descriptor)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                return False
    return True


def _record(name: str) -> dict[str, Any] | None:
    data = read_json(pid_file(name))
    if not isinstance(data, dict) or not isinstance(data.get("pid"), int):
        return None
    return data


def running(name: str) -> Running | None:
    """The live process the pid file of ``name`` names, or None (no file, a dead or reused pid)."""
    data = _record(name)
    if data is None:
        return None
    pid = int(data["pid"])
    ticks = data.get("ticks")
    now = _start_ticks(pid)
    if Path("/proc").is_dir():
        if now is None or ticks is None or now != ticks:
            return None  # gone, a zombie, reused by another process, or never known to be ours
    elif not _alive(pid):
        return None
    return Running(pid, int(data.get("pgid", pid)), str(data.get("started", "")), list(data.get("argv", [])))


def start_process(spec: ServiceSpec, *, environment: dict[str, str] | None = None) -> FlextResult[Running]:
    """Start ``spec``'s argv in its own session, output appended to its log, and record its pid file.

    A stale pid file is replaced. The caller waits for readiness (the check).
    """
    log = log_file(spec.name)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        with open_private(log, "ab") as sink:
            sink.write(f"--- {stamp} flext service start {spec.name}\n".encode())
            sink.flush()
            process = subprocess.Popen(
                list(spec.argv),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=sink,
                start_new_session=True,  # a group of its own: stop signals it whole; no terminal hang-up
                env=environment,
                close_fds=True,
            )
    except OSError as exc:
        return FlextResult.fail(
            f"could not start {spec.name!r}: {exc.strerror or exc}",
            error_code=SERVICE_START_FAILED,
            error_data={"log": str(log)},
        )
    record = {
        "pid": process.pid,
        "pgid": process.pid,
        "ticks": _start_ticks(process.pid),
        "started": stamp,
        "argv": list(spec.argv),
    }
    write_json(pid_file(spec.name), record)
    # The Popen object is dropped: the child outlives this CLI and is reaped by init once we exit.
    return FlextResult.ok(Running(process.pid, process.pid, stamp, list(spec.argv)))


def reap(pid: int) -> None:
    """Collect ``pid``'s exit status if it is our child (started by this process), so it is not a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def forget(name: str, pid: int) -> None:
    """Remove ``name``'s pid file if it still names ``pid`` and that process has ended (a failed start)."""
    with locked(name):
        data = _record(name)
        if data is not None and data["pid"] == pid and running(name) is None:
            pid_file(name).unlink(missing_ok=True)


def stop_process(name: str, timeout: float) -> FlextResult[Stopped]:
    """SIGTERM the group of ``name``'s process; SIGKILL it after ``timeout`` s; remove the pid file."""
    with locked(name):
        return _stop_locked(name, timeout)


def _stop_locked(name: str, timeout: float) -> FlextResult[Stopped]:
    data = _record(name)
    if data is None:
        pid_file(name).unlink(missing_ok=True)
        return FlextResult.ok(Stopped(None))
    live = running(name)
    if live is None:
        pgid = int(data.get("pgid", data["pid"]))
        # The leader died but its children live on: they are ours to stop. Linux does not hand out a
        # pid still used as a process group id, so while the group lives the pid is free and the
        # group is ours; a pid that is alive again was reused, and its group is someone else's.
        known = data.get("ticks") is not None or not Path("/proc").is_dir()
        if known and _start_ticks(int(data["pid"])) is None and _group_alive(pgid):
            live = Running(int(data["pid"]), pgid, str(data.get("started", "")), list(data.get("argv", [])))
        else:
            pid_file(name).unlink(missing_ok=True)
            return FlextResult.ok(Stopped(int(data["pid"]), stale=True))
    _signal_group(live.pgid, signal.SIGTERM)
    forced = False
    if not _wait_gone(live, timeout):
        forced = True
        _signal_group(live.pgid, signal.SIGKILL)
        if not _wait_gone(live, 10.0):
            return FlextResult.fail(
                f"{name!r} (process group {live.pgid}) outlived SIGKILL", error_code=TIMEOUT
            )
    pid_file(name).unlink(missing_ok=True)
    return FlextResult.ok(Stopped(live.pid, forced=forced))


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _wait_gone(live: Running, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        reap(live.pid)
        if not _group_alive(live.pgid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL)
