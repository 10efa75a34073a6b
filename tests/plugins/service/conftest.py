"""Real processes, real servers and a real local plugin that contributes services, for the service tests.

``services(...)`` sets what the test plugin ``svctest`` (a local plugin in
``FLEXT_HOME/plugins``) answers from ``flext_services``: the plugin reads
the descriptions from ``FLEXT_TEST_SERVICES``, so each test says which
services exist without writing a plugin of its own, and the registry is
exercised through the hook exactly as another plugin would use it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flext_sdk.testing import CliResult, FlextCliRunner

PYTHON = sys.executable

TEST_PLUGIN = '''
"""A local plugin whose services are whatever FLEXT_TEST_SERVICES holds (JSON)."""

import json
import os

from flext_kernel.plugins.hookspecs import hookimpl
from flext_sdk import PluginManifest

manifest = PluginManifest(name="svctest", requires=("service",))


@hookimpl
def flext_services():
    return json.loads(os.environ.get("FLEXT_TEST_SERVICES", "[]"))
'''

SLEEPER = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open(sys.argv[1], "w").write(str(child.pid))
print("sleeper up, child", child.pid, flush=True)
time.sleep(600)
"""

STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
IGNORE = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
child = subprocess.Popen([sys.executable, "-c", IGNORE])
open(sys.argv[1], "w").write(str(child.pid))
print("stubborn up, ignoring SIGTERM", flush=True)
time.sleep(600)
"""

QUITTER = """
import sys
print("bad configuration: no such table", flush=True)
sys.exit(3)
"""


def free_port() -> int:
    """A port nothing listens on now (the kernel's choice for port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(condition: Callable[[], Any], timeout: float = 60.0, what: str = "the condition") -> Any:
    """Poll ``condition`` until it returns something true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie, dead but not reaped, is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


class Services:
    """Runs ``flext`` with the test plugin answering the services the test set."""

    def __init__(self, flext_cli: FlextCliRunner, tmp_path: Path) -> None:
        self.flext_cli = flext_cli
        self.tmp_path = tmp_path
        self.described: list[dict[str, Any]] = []
        self.env: dict[str, str] = {}

    def set(self, *described: dict[str, Any], **env: str) -> None:
        self.described = list(described)
        self.env = dict(env)

    def environment(self) -> dict[str, str]:
        return {**self.env, "FLEXT_TEST_SERVICES": json.dumps(self.described)}

    def __call__(self, *args: str) -> CliResult:
        return self.flext_cli(*args, env=self.environment())

    def json(self, *args: str) -> Any:
        done = self("--output", "json", *args)
        return done.json()

    def script(self, name: str, body: str) -> Path:
        path = self.tmp_path / f"{name}.py"
        path.write_text(body)
        return path

    def process(self, name: str, body: str, **more: Any) -> dict[str, Any]:
        """A local-process description running ``body``, which writes its child's pid to ``<name>.child``."""
        script = self.script(name, body)
        return {
            "name": name,
            "kind": "local-process",
            "argv": [PYTHON, str(script), str(self.tmp_path / f"{name}.child")],
            **more,
        }

    def child_pid(self, name: str) -> int:
        path = self.tmp_path / f"{name}.child"
        return int(wait_for(lambda: path.exists() and path.read_text().strip(), what=f"{name}'s child pid"))


@pytest.fixture
def services(flext_cli: FlextCliRunner, flext_home: Path, tmp_path: Path) -> Services:
    """The ``svctest`` plugin installed in the test's FLEXT_HOME, answering what ``services.set`` said."""
    plugins = flext_home / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    (plugins / "svctest.py").write_text(TEST_PLUGIN)
    return Services(flext_cli, tmp_path)


@pytest.fixture(autouse=True)
def _no_strays(flext_home: Path) -> Any:
    """Stop, after the test, every process a pid file under the test's home still names."""
    yield
    import signal

    for record in (flext_home / "data" / "services").glob("*.pid"):
        try:
            data = json.loads(record.read_text())
            os.killpg(int(data["pgid"]), signal.SIGKILL)
        except (OSError, ValueError, KeyError):
            continue
