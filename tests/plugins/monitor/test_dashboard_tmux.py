"""``flext monitor dashboard`` in a real terminal: tmux runs it, ``capture-pane`` reads what a person sees.

Two real pipeline runs (one completes, one fails at its second record) are
made with the real CLI; a long-running run with progress is added to the
store the way the pipeline plugin records one (a real run would end before
the screen is read). The test presses keys as a person would: filter, open
the failed run's log, go back, quit.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from flext_sdk.testing import FlextCliRunner

from .history import RunSpec, record

pytestmark = pytest.mark.slow

FLEXT = str(Path(sys.executable).with_name("flext"))
_SPARK = set("▁▂▃▄▅▆▇█")


class Terminal:
    """One tmux session (on its own server socket) running one command, 120 x 40."""

    def __init__(self, command: str, environment: dict[str, str]) -> None:
        self.socket = f"flext-monitor-test-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in environment.items())
        self.rc = Path(environment["FLEXT_HOME"]) / "dashboard.rc"
        script = f"env -u COLUMNS -u LINES {exports} {command}; echo $? > {shlex.quote(str(self.rc))}"
        self._tmux("new-session", "-d", "-x", "120", "-y", "40", script)

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=False)
        return done.stdout

    def screen(self) -> str:
        """The visible screen as text."""
        return self._tmux("capture-pane", "-p")

    def keys(self, *keys: str) -> None:
        """Type ``keys`` (tmux key names: ``Enter``, ``Escape``, or literal characters)."""
        self._tmux("send-keys", *keys)

    def wait(self, condition: Callable[[str], bool], what: str, timeout: float = 60.0) -> str:
        """The screen once ``condition`` holds; else fail naming ``what``, showing the screen."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if condition(screen):
                return screen
            assert time.monotonic() < deadline, f"the screen never showed {what}:\n{screen}"
            time.sleep(0.2)

    def alive(self) -> bool:
        return (
            subprocess.run(
                ["tmux", "-L", self.socket, "has-session"], capture_output=True, check=False
            ).returncode
            == 0
        )

    def close(self) -> None:
        self._tmux("kill-server")


@pytest.fixture
def terminal(flext_cli: FlextCliRunner) -> Iterator[Callable[..., Terminal]]:
    opened: list[Terminal] = []

    def open_(*args: str, env: dict[str, str] | None = None) -> Terminal:
        everything = flext_cli.environment(env)
        environment = {key: value for key, value in everything.items() if key.startswith("FLEXT_")}
        environment["TERM"] = "xterm-256color"
        environment["PATH"] = os.environ["PATH"]
        shown = Terminal(" ".join(shlex.quote(part) for part in (FLEXT, *args)), environment)
        opened.append(shown)
        return shown

    yield open_
    for shown in opened:
        shown.close()


def _pipelines(flext_cli: FlextCliRunner, tmp_path: Path, **targets: dict[str, Any]) -> None:
    """tap-numbers -> target-file pipelines (the pipeline tests' connectors, installed the users' way)."""
    path = Path(__file__).parents[1] / "pipeline" / "conftest.py"
    spec = importlib.util.spec_from_file_location("pipeline_test_conftest", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    package = module._package(Path(os.environ["FLEXT_TOOLS_DIR"]).parent / "test-sources")
    for kind, connector in (("taps", "tap-numbers"), ("targets", "target-file")):
        added = flext_cli("data", kind, "add", connector, "--pip-url", str(package))
        assert added.exit_code == 0, added
    for name, target in targets.items():
        folder = tmp_path / name
        folder.mkdir()
        body = {
            "name": name,
            "extract": {"name": "tap-numbers", "config": {"records": 3}},
            "load": {"name": "target-file", "config": {"path": "rows.json", **target}},
        }
        (folder / "pipeline.yaml").write_text(yaml.safe_dump(body))
        created = flext_cli("pipeline", "create", str(folder / "pipeline.yaml"))
        assert created.exit_code == 0, created


def _section(screen: str, title: str, end: str) -> str:
    return screen.split(title, 1)[1].split(end, 1)[0]


def test_the_dashboard_shows_runs_failures_health_and_quits_on_q(
    flext_home: Path, flext_cli: FlextCliRunner, terminal: Callable[..., Terminal], tmp_path: Path
) -> None:
    _pipelines(flext_cli, tmp_path, alpha={}, beta={"fail_at": 2})
    assert flext_cli("pipeline", "run", "alpha").exit_code == 0
    assert flext_cli("pipeline", "run", "beta").exit_code == 1
    record(RunSpec("gamma", took=3600.0, ended_ago=-3000.0, status="running", records=90_000, progress=12))

    shown = terminal("monitor", "dashboard", "--interval", "0.3")
    screen = shown.wait(
        lambda text: "Last runs" in text and "beta" in text and "event-store" in text, "runs and health"
    )
    running = _section(screen, "Running", "Last runs")
    assert "gamma" in running
    assert _SPARK & set(running), running  # the records/s sparkline
    last = _section(screen, "Last runs", "Service health")
    rows = {line.split("│")[1].strip(): line for line in last.splitlines() if line.count("│") > 5}
    assert "failed" in rows["beta"]
    assert "completed" in rows["alpha"]
    health = screen.split("Service health", 1)[1]
    event_store = next(line for line in health.splitlines() if "event-store" in line)
    assert " up " in event_store
    assert "Recent errors" in screen
    assert "1 failing" in screen  # pipelines whose last run failed

    shown.keys("/", "a", "l", "p", "Enter")
    filtered = shown.wait(lambda text: "filter: alp" in text, "the filter")
    assert "beta" not in _section(filtered, "Last runs", "Service health")
    shown.keys("Escape")
    shown.wait(lambda text: "filter:" not in text and "beta" in text, "the filter cleared")

    shown.keys("l")  # the selected run: the newest finished one, beta's
    log = shown.wait(lambda text: "log of run" in text, "the run's log")
    assert "of pipeline beta (failed)" in log
    assert "failed" in log.split("\n", 1)[1]  # the log's own lines say so
    shown.keys("l")
    shown.wait(lambda text: "Last runs" in text, "the dashboard again")

    shown.keys("q")
    shown.wait(lambda _: not shown.alive() or shown.rc.exists(), "the dashboard ending")
    deadline = time.monotonic() + 30
    while not shown.rc.exists():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert shown.rc.read_text().strip() == "0"


def test_without_a_terminal_it_says_so(flext_home: Path, flext_cli: FlextCliRunner) -> None:
    done = flext_cli("monitor", "dashboard")
    assert done.exit_code == 2
    assert done.stderr.splitlines()[0] == "error: the dashboard needs a terminal (VALIDATION_ERROR)"


def test_without_the_service_plugin_the_health_table_says_why(
    flext_home: Path, terminal: Callable[..., Terminal]
) -> None:
    record(RunSpec("alpha", 2.0, ended_ago=30))
    shown = terminal("monitor", "dashboard", env={"FLEXT_DISABLE_PLUGINS": "service"})
    screen = shown.wait(lambda text: "Service health (unavailable" in text, "why there is no health")
    assert "disabled" in screen.split("Service health (unavailable", 1)[1].split("┏", 1)[0]
    assert "alpha" in _section(screen, "Last runs", "Service health")
    shown.keys("q")
    deadline = time.monotonic() + 30
    while not shown.rc.exists():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert shown.rc.read_text().strip() == "0"
