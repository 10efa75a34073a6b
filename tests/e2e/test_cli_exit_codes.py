"""The exit codes docs/cli.md documents, each checked on a real ``flext`` in a subprocess.

0 success, 1 a failed operation, 2 bad usage or input or an unknown name,
130 after Ctrl-C, 141 when whoever reads the output closes it early.
"""

from __future__ import annotations

import signal
import subprocess
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from flext_sdk.testing import CliResult, FlextCliRunner, flext_command

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
        CommandEntry(path=("picky",), target="loud:picky"),
        CommandEntry(path=("leaky",), target="loud:leaky"),
    ),
)


def leaky() -> int:
    import subprocess

    child = subprocess.Popen(["true"], stdin=subprocess.PIPE)
    child.wait()
    child.stdin.write(b"x" * 200_000)  # a pipe of the command's own, read by nobody: BrokenPipeError
    child.stdin.flush()
    return 0


def picky(own_code: bool = False) -> int:
    from flext_kernel.result import FlextResult
    from flext_sdk.cli import EXIT_USAGE, fail

    if own_code:  # a plugin's own code that means bad input
        return fail(FlextResult.fail("not a loud file", error_code="NOT_LOUD"), exit_code=EXIT_USAGE)
    return fail(FlextResult.fail("no such loudness", error_code="NOT_FOUND"))


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


def test_a_broken_pipe_of_the_commands_own_is_a_failure_not_a_quiet_end(
    flext_cli: FlextCliRunner, loud_plugins: Path
) -> None:
    """Only a closed standard output ends quietly; a pipe of the command's own that breaks is an error."""
    failed = flext_cli("leaky")
    assert failed.exit_code == 1, failed
    assert failed.stderr.splitlines()[0].startswith("error: BrokenPipeError: ")
    assert failed.stderr.splitlines()[0].endswith("(INTERNAL_ERROR)")
    assert flext_cli("--output", "json", "leaky").json()["code"] == "INTERNAL_ERROR"
    debug = flext_cli("--debug", "leaky")
    assert debug.exit_code == 1
    assert "Traceback" in debug.stderr


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


HOLLOW = """
from flext_kernel.plugins.manifest import CommandEntry, PluginManifest

manifest = PluginManifest(
    name="hollow", version="1.0.0", commands=(CommandEntry(path=("hollow",), target="hollow_gone:run"),)
)
"""


def _code(run: CliResult) -> tuple[int, str]:
    """(exit code, the error code in parentheses on the error line or in the JSON)."""
    if run.stdout.startswith("{"):
        return run.exit_code, run.json().get("code") or ""
    first = run.stderr.splitlines()[0] if run.stderr else ""
    return run.exit_code, first.rpartition("(")[2].rstrip(")") if first.startswith("error: ") else ""


def test_each_documented_exit_code_on_a_real_command(
    flext_cli: FlextCliRunner, flext_home: Path, tmp_path: Path
) -> None:
    store = tmp_path / "events.db"
    _seed(store, 2)
    plugins = flext_home / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    (plugins / "hollow.py").write_text(textwrap.dedent(HOLLOW), encoding="utf-8")
    (plugins / "broken.py").write_text("raise RuntimeError('kaput')\n", encoding="utf-8")
    expected = {
        ("version",): (0, ""),
        ("events", "show", "acc", "--store", str(store)): (0, ""),
        # 1: the operation failed
        ("hollow",): (1, "PLUGIN_LOAD_FAILED"),
        ("doctor",): (1, ""),
        # 2: bad usage or input, an unknown name
        ("versoin",): (2, "USAGE_ERROR"),
        ("plugin", "info", "kernel", "--jsno"): (2, "USAGE_ERROR"),
        ("--output", "xml", "version"): (2, "USAGE_ERROR"),
        ("plugin", "disable", "kernel"): (2, "VALIDATION_ERROR"),
        ("plugin", "info", "nope"): (2, "NOT_FOUND"),
        ("pipeline", "run", "nosuch"): (2, "NOT_FOUND"),
        ("pipeline", "history", "nosuch"): (2, "NOT_FOUND"),
        ("events", "show", "nosuch", "--store", str(store)): (2, "NOT_FOUND"),
    }
    for args, (code, error) in expected.items():
        run = flext_cli(*args)
        assert _code(run) == (code, error), f"flext {' '.join(args)}: {run}"
        as_json = flext_cli("--output", "json", *args)
        assert as_json.exit_code == code, f"flext --output json {' '.join(args)}: {as_json}"
        if error:
            assert as_json.json()["code"] == error


def _interrupt(flext_cli: FlextCliRunner, args: tuple[str, ...], ready: Callable[[int], bool]) -> CliResult:
    """Start ``flext *args``, wait until ``ready(pid)``, press Ctrl-C (SIGINT), wait for the exit."""
    process = subprocess.Popen(
        [*flext_command(), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=flext_cli.environment(),
    )
    try:
        deadline = time.monotonic() + 60
        while not ready(process.pid):
            assert process.poll() is None, f"flext {' '.join(args)} ended early: {process.communicate()}"
            assert time.monotonic() < deadline, f"flext {' '.join(args)} never got ready"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return CliResult(args, process.returncode, out, err)


def test_a_plugin_command_failing_through_fail_gets_the_exit_code_of_its_error_code(
    flext_cli: FlextCliRunner, loud_plugins: Path
) -> None:
    assert _code(flext_cli("picky")) == (2, "NOT_FOUND")
    assert _code(flext_cli("picky", "--own-code")) == (2, "NOT_LOUD")


def test_ctrl_c_exits_130(flext_cli: FlextCliRunner, loud_plugins: Path) -> None:
    marker = loud_plugins / "sleeping"
    run = _interrupt(flext_cli, ("sleepy",), lambda _: marker.exists())
    assert run.exit_code == INTERRUPTED, run
    assert run.stderr.splitlines() == ["error: interrupted (INTERRUPTED)"]


def _has_open(path: Path) -> Callable[[int], bool]:
    """Whether process ``pid`` has ``path`` open (Linux /proc): the tail is reading the store."""

    def ready(pid: int) -> bool:
        try:
            return any(Path(fd).resolve() == path.resolve() for fd in Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            return False

    return ready


def test_ctrl_c_on_events_tail_exits_130(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    store = tmp_path / "events.db"
    _seed(store, 2)
    run = _interrupt(flext_cli, ("events", "tail", "--store", str(store)), _has_open(store))
    assert run.exit_code == INTERRUPTED, run
    assert "Traceback" not in run.stderr


def test_ctrl_c_on_pipeline_run_exits_130(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    from flext_plugin_ldif.sample import write_directory

    write_directory(tmp_path / "big.ldif", users=60_000, groups=10)
    definition = tmp_path / "pipeline.yaml"
    definition.write_text(
        "name: big\n"
        "extract: {name: tap-ldif, config: {files: [big.ldif]}}\n"
        "load:\n  name: target-sqlite\n  config:\n    database: ${FLEXT_PIPELINE_DIR}/out.db\n",
        encoding="utf-8",
    )
    created = flext_cli("data", "pipeline", "create", str(definition))
    assert created.exit_code == 0, created
    database = tmp_path / "out.db"
    run = _interrupt(flext_cli, ("pipeline", "run", "big"), lambda _: database.exists())
    assert run.exit_code == INTERRUPTED, run
    assert "Traceback" not in run.stderr
