"""The exit codes docs/cli.md documents, each checked on a real ``flext`` in a subprocess.

0 success, 1 a failed operation, 2 bad usage or input or an unknown name,
130 after Ctrl-C, 141 when whoever reads the output closes it early.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from flext_sdk.testing import FlextCliRunner, flext_command

CLOSED_PIPE = 141
INTERRUPTED = 130


def _seed(path: Path, events: int) -> None:
    """An SQLite event store holding ``events`` events in one stream."""
    from flext_plugin_eventstore_sqlite import SQLiteEventStore

    from flext_eventsourcing import NO_STREAM
    from flext_sdk.testing.projections import Deposited

    with SQLiteEventStore(path=path) as store:
        batch = [Deposited(aggregate_id="acc", amount=n) for n in range(events)]
        store.append("acc", batch, NO_STREAM).unwrap()


LOUD = """
from flext_kernel.plugins.manifest import CommandEntry, PluginManifest

manifest = PluginManifest(
    name="loud",
    version="1.0.0",
    commands=(
        CommandEntry(path=("loud",), target="loud:loud"),
        CommandEntry(path=("sleepy",), target="loud:sleepy"),
    ),
)


def loud(lines: int = 200000) -> int:
    for n in range(lines):
        print(f"line {n} " + "x" * 60)
    return 0


def sleepy() -> int:
    import pathlib, time
    pathlib.Path(__file__).with_name("sleeping").write_text("yes")
    time.sleep(60)
    return 0
"""


@pytest.fixture
def loud_plugins(flext_home: Path) -> Path:
    """The user's plugins directory with a command that prints a lot and one that sleeps."""
    directory = flext_home / "plugins"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "loud.py").write_text(textwrap.dedent(LOUD), encoding="utf-8")
    return directory


def _read_one_line_then_close(flext_cli: FlextCliRunner, *args: str) -> tuple[int, str, str]:
    """Start ``flext *args``, read its first line as ``| head -1`` would, close the pipe, wait."""
    process = subprocess.Popen(
        [*flext_command(), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=flext_cli.environment(),
    )
    assert process.stdout is not None
    assert process.stderr is not None
    with process:
        first = process.stdout.readline().decode()
        process.stdout.close()
        code = process.wait(120)
        err = process.stderr.read().decode()
    return code, first, err


def test_a_closed_pipe_ends_events_export_quietly(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    store = tmp_path / "events.db"
    _seed(store, 3000)  # about 1 MB of JSON lines: far more than a pipe holds
    code, first, err = _read_one_line_then_close(flext_cli, "events", "export", "--store", str(store))
    assert first.startswith('{"position":1,')
    assert (code, err) == (CLOSED_PIPE, "")


def test_a_closed_pipe_ends_any_command_quietly(flext_cli: FlextCliRunner, loud_plugins: Path) -> None:
    code, first, err = _read_one_line_then_close(flext_cli, "loud")
    assert first.startswith("line 0 ")
    assert (code, err) == (CLOSED_PIPE, "")
    debug = _read_one_line_then_close(flext_cli, "--debug", "loud")
    assert (debug[0], debug[2]) == (CLOSED_PIPE, "")  # no traceback either: it is not an error
    # rich draws help screens and handles a closed pipe itself; the code is the same.
    for args in (("--help",), ("plugin", "--help")):
        code, _, err = _read_one_line_then_close(flext_cli, *args)
        assert (code, err) == (CLOSED_PIPE, ""), args


def test_a_closed_pipe_in_a_shell_pipeline(flext_cli: FlextCliRunner, loud_plugins: Path) -> None:
    flext = " ".join(flext_command())
    done = subprocess.run(
        ["bash", "-c", f'{flext} loud | head -2; echo "status ${{PIPESTATUS[0]}}"'],
        capture_output=True,
        text=True,
        env=flext_cli.environment(),
        timeout=120,
        check=False,
    )
    lines = done.stdout.splitlines()
    assert lines[:2] == ["line 0 " + "x" * 60, "line 1 " + "x" * 60]
    assert lines[2:] == [f"status {CLOSED_PIPE}"]
    assert done.stderr == ""
