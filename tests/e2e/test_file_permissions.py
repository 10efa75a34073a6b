"""What FLEXT writes is the user's alone, whatever the umask; ``flext doctor`` warns about what is not.

Issue 22, item 14: the event store, run logs and registered definitions (which
may hold literal passwords) were 0644 in 0755 directories.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from flext_sdk.testing import FlextCliRunner

EXAMPLE_PLUGINS = Path(__file__).resolve().parents[2] / "docs" / "examples" / "plugins"


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The common default (0022) in the process that starts flext, so files would be world-readable."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _modes(root: Path) -> dict[str, int]:
    found = {root.name: stat.S_IMODE(root.stat().st_mode)}
    for directory, names, files in os.walk(root):
        for name in (*names, *files):
            path = Path(directory, name)
            found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


@pytest.mark.usefixtures("open_umask")
def test_files_flext_writes_are_0600_in_0700_directories(flext_cli: FlextCliRunner) -> None:
    assert flext_cli("bank", "open", "acc-1", "--owner", "Ada", plugin_dirs=[EXAMPLE_PLUGINS]).exit_code == 0
    assert flext_cli("plugin", "disable", "events").exit_code == 0
    modes = _modes(flext_cli.home)
    del modes[flext_cli.home.name]  # made by the fixture, not by flext: doctor would warn about it
    assert any(name.endswith(".db") for name in modes)  # the event store and plugins.db were written
    loose = {name: f"{mode:04o}" for name, mode in modes.items() if mode & (stat.S_IRWXG | stat.S_IRWXO)}
    assert loose == {}


def test_doctor_warns_about_files_others_may_read(flext_cli: FlextCliRunner) -> None:
    assert flext_cli("plugin", "list").exit_code == 0  # the home and its cache now exist
    secret = flext_cli.home / "data" / "definitions.yaml"
    secret.parent.mkdir(exist_ok=True)
    secret.write_text("password: hunter2\n")
    secret.chmod(0o644)

    human = flext_cli("doctor")
    assert human.exit_code == 0, human  # a warning, not a plugin problem
    expected = f"warning: {secret} is 0644: others may read it; 'chmod 0600 {secret}'"
    assert expected in human.stderr.splitlines()
    document = flext_cli("--output", "json", "doctor").json()["data"]
    assert any(str(secret) in warning for warning in document["warnings"])

    for path in (flext_cli.home, secret.parent):  # made by the test with its umask, not by flext
        path.chmod(0o700)
    secret.chmod(0o600)
    assert flext_cli("--output", "json", "doctor").json()["data"]["warnings"] == []


@pytest.mark.usefixtures("open_umask")
def test_what_is_the_users_own_keeps_the_callers_umask(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    """A scaffolded project is the user's source tree, not FLEXT's private data: 0644 under umask 022."""
    made = flext_cli("plugin", "new", "permissive", "--directory", str(tmp_path))
    assert made.exit_code == 0, made
    project = tmp_path / "flext-plugin-permissive"
    assert stat.S_IMODE(project.stat().st_mode) == 0o755
    assert stat.S_IMODE((project / "pyproject.toml").stat().st_mode) == 0o644


def test_installers_run_with_the_callers_umask(tmp_path: Path) -> None:
    """uv and pip install into an environment others may use: not 0600 (in-process, nothing installed)."""
    import sys

    from flext_kernel.cli import session
    from flext_kernel.cli.commands.plugin_install import Installer

    made = tmp_path / "made-by-the-installer"
    previous = os.umask(0o022)
    try:
        session.keep_files_private()
        installer = Installer("pip", sys.executable, sys.executable)
        done = installer.run([sys.executable, "-c", f"open({str(made)!r}, 'w').close()"])
        assert done.returncode == 0, done.stderr
        assert stat.S_IMODE(made.stat().st_mode) == 0o644
        assert os.umask(0o077) == 0o077  # and flext's own umask is back after it
    finally:
        os.umask(previous)
        session._callers_umask = None


def test_doctor_does_not_trip_over_files_that_come_and_go(
    flext_cli: FlextCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's -wal and -shm files appear and vanish while other flext processes run."""
    import threading

    from flext_kernel.cli.commands.doctor import loose_permissions

    data = flext_cli.home / "data"
    data.mkdir(parents=True)
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            for n in range(20):
                (data / f"events.db-{n}").write_text("x")
            for n in range(20):
                (data / f"events.db-{n}").unlink()

    monkeypatch.setenv("FLEXT_HOME", str(flext_cli.home))
    worker = threading.Thread(target=churn)
    worker.start()
    try:
        for _ in range(100):
            loose_permissions()  # raised FileNotFoundError on most calls before
    finally:
        stop.set()
        worker.join()
