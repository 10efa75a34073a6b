"""A private PostgreSQL server the tests may stop and start: ``private_postgres``.

The machine's server (``postgres_url``, 127.0.0.1:5432) is shared and must
never be stopped, so tests that restart PostgreSQL under a live subscription
get a server of their own: ``initdb`` into a temporary directory, ``pg_ctl``
on a free port of 127.0.0.1 with its socket in that directory, trust
authentication for ``postgres``. One per test session, started on first use,
removed at the end. As root, the server runs as the ``postgres`` user
(``runuser``), since PostgreSQL refuses to run as root.

Without ``initdb`` (``/usr/lib/postgresql/*/bin``, or ``pg_config --bindir``)
the tests that need it skip, except on CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

_START_TIMEOUT = 30.0


def _bin_directory() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name or 0))
    if candidates:
        return candidates[-1]
    config = shutil.which("pg_config")
    if config:
        found = subprocess.run(
            [config, "--bindir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if found and (Path(found) / "initdb").is_file():
            return Path(found)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PrivatePostgres:
    """A PostgreSQL server in a directory of its own; ``restart`` stops it fast and starts it again."""

    def __init__(self, binaries: Path, directory: Path) -> None:
        self.binaries = binaries
        """Where ``initdb``, ``pg_ctl`` and ``postgres`` are."""
        self.directory = directory
        """Its data directory's parent, also its socket directory and log."""
        self.port = _free_port()
        """Its TCP port on 127.0.0.1."""
        self._as_postgres = os.geteuid() == 0  # PostgreSQL refuses to run as root

    @property
    def url(self) -> str:
        """``postgresql://postgres@127.0.0.1:PORT/postgres``."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.binaries / tool), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd="/")
        if done.returncode != 0:
            raise RuntimeError(
                f"{tool} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
            )

    def init(self) -> None:
        """Make the data directory (trust authentication, no fsync: nothing here must survive a crash)."""
        if self._as_postgres:
            shutil.chown(self.directory, "postgres")
        self._run(
            "initdb", "-D", str(self.directory / "data"), "--auth=trust", "-U", "postgres", "-E", "UTF8"
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.directory / "data"), "-l", str(self.directory / "log"), "-w",
            "-t", str(int(_START_TIMEOUT)), "-o", options, "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: roll back open transactions and end every session)."""
        self._run("pg_ctl", "-D", str(self.directory / "data"), "-m", mode, "-w", "stop")

    def restart(self, down_for: float = 0.0) -> None:
        """Stop fast, stay down ``down_for`` seconds, start again."""
        self.stop()
        time.sleep(down_for)
        self.start()


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{reason} (CI is set: the tests that restart PostgreSQL must run there)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of this session's own, which tests may restart; skips (fails on CI) without one."""
    binaries = _bin_directory()
    if binaries is None or not (binaries / "pg_ctl").is_file():
        _unavailable("no PostgreSQL server binaries (initdb, pg_ctl) to start a private server with")
        return
    directory = Path(tempfile.mkdtemp(prefix="flext-private-pg-"))
    server = PrivatePostgres(binaries, directory)
    try:
        server.init()
        server.start()
    except (OSError, RuntimeError) as exc:
        shutil.rmtree(directory, ignore_errors=True)
        _unavailable(f"cannot start a private PostgreSQL server: {exc}")
        return
    try:
        yield server
    finally:
        with contextlib.suppress(RuntimeError):  # stopped already: a test failed half-way through a restart
            server.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)
