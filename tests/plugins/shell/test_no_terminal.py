"""``flext interactive`` without a terminal is one usage line, not a hung or crashed process."""

from __future__ import annotations

from pathlib import Path

from .helpers import flext


def test_interactive_without_a_terminal_is_a_usage_error(home: Path) -> None:
    done = flext(home, "interactive")
    assert done.returncode == 2
    assert (
        done.stderr.splitlines()[0]
        == "error: flext interactive needs a terminal on stdin and stdout (USAGE_ERROR)"
    )
    assert "Traceback" not in done.stderr
