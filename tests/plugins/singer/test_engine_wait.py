"""Waiting for a connector to exit wakes when it exits, and still comes back in time to look at a stop."""

from __future__ import annotations

import subprocess
import sys
import time

from flext_plugin_singer.engine import _wait_for_exit


def _python(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code])


def test_the_wait_ends_when_the_process_exits_not_at_the_next_poll() -> None:
    process = _python("import time; time.sleep(0.3)")
    try:
        began = time.monotonic()
        while process.poll() is None:
            _wait_for_exit(process, 5.0)
        assert time.monotonic() - began < 3.0  # a missed exit would wait the whole 5 s
    finally:
        process.kill()
        process.wait()


def test_the_wait_gives_up_after_the_timeout_and_leaves_the_process_running() -> None:
    process = _python("import time; time.sleep(30)")
    try:
        began = time.monotonic()
        _wait_for_exit(process, 0.1)
        assert 0.09 <= time.monotonic() - began < 2.0
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()


def test_a_process_that_already_exited_returns_at_once() -> None:
    process = _python("pass")
    while process.poll() is None:
        _wait_for_exit(process, 0.1)
    began = time.monotonic()
    _wait_for_exit(process, 5.0)  # reaped: no pidfd, the polling wait returns at once
    assert time.monotonic() - began < 1.0
