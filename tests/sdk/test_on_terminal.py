"""FlextCliRunner.on_terminal: what a person at an 80-column terminal sees, without leaking descriptors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flext_sdk.testing import FlextCliRunner


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_command_that_cannot_start_leaks_no_descriptor(tmp_path: Path) -> None:
    runner = FlextCliRunner(tmp_path, command=[str(tmp_path / "no-such-flext")])
    before = _open_descriptors()
    for _ in range(5):
        with pytest.raises(FileNotFoundError):
            runner.on_terminal("version")
    assert _open_descriptors() == before  # two per call leaked before


def test_a_command_that_never_closes_its_terminal_is_killed_at_the_timeout(tmp_path: Path) -> None:
    import subprocess
    import sys

    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    runner = FlextCliRunner(tmp_path, command=sleeper, timeout=1)
    with pytest.raises(subprocess.TimeoutExpired):
        runner.on_terminal()


def test_the_screen_of_a_real_command(flext_cli: FlextCliRunner) -> None:
    shown = flext_cli.on_terminal("plugin", "list", columns=80)
    assert shown.exit_code == 0, shown
    assert "\x1b[" not in shown.stdout
    assert max(len(line) for line in shown.stdout.splitlines()) <= 80
