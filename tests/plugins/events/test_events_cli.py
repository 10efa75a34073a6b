"""``flext events`` and ``flext projections`` on bad input, live tailing and the plugin contract."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from flext_plugin_eventstore_sqlite import SQLiteEventStore

from flext_eventsourcing import NO_STREAM
from flext_sdk.testing import FlextCliRunner, PluginContract
from flext_sdk.testing.projections import Deposited


class TestEventsPlugin(PluginContract):
    plugin = "flext_plugin_events.plugin"
    required_plugins = ("flext_eventsourcing.plugin",)


def _seed(path: Path, streams: int = 2) -> None:
    with SQLiteEventStore(path=path) as store:
        for i in range(streams):
            store.append(f"acc-{i}", [Deposited(aggregate_id=f"acc-{i}", amount=i + 1)], NO_STREAM).unwrap()


def test_a_bad_export_line_is_named_and_nothing_is_imported(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    source, target = tmp_path / "source.db", tmp_path / "target.db"
    _seed(source)
    exported = tmp_path / "events.jsonl"
    assert flext_cli("events", "export", "--store", str(source), "--to", str(exported)).exit_code == 0
    lines = exported.read_text().splitlines()
    broken = json.loads(lines[1])
    del broken["event_id"]
    exported.write_text(lines[0] + "\n" + json.dumps(broken) + "\n")
    result = flext_cli("events", "import", str(exported), "--store", str(target))
    assert result.exit_code == 2
    assert "error: line 2: event_id: Field required (VALIDATION_ERROR)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not target.exists(), "the file is checked before the store is opened, let alone created"


def test_a_missing_export_file_and_an_unknown_store_are_clear_errors(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    missing = flext_cli("events", "import", str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 2
    assert "cannot read" in missing.stderr
    unknown = flext_cli("events", "streams", "--store", "kafka://broker/topic")
    assert unknown.exit_code == 2
    assert "no active plugin provides the 'kafka' event store backend" in unknown.stderr
    assert "(NOT_FOUND)" in unknown.stderr
    _seed(tmp_path / "e.db")
    shown = flext_cli("events", "show", "ghost", "--store", str(tmp_path / "e.db"))
    assert shown.exit_code == 2
    assert "stream 'ghost' has no events" in shown.stderr


def test_an_export_to_a_missing_directory_writes_nothing(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    _seed(tmp_path / "e.db")
    result = flext_cli(
        "events", "export", "--store", str(tmp_path / "e.db"), "--to", str(tmp_path / "no" / "x")
    )
    assert result.exit_code == 2
    assert not (tmp_path / "no").exists()


def test_an_export_through_a_symlink_writes_the_file_it_names(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    """The link stays a link; before, it was replaced by a new file and its target kept the old export."""
    _seed(tmp_path / "e.db")
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    real = tmp_path / "b" / "real.jsonl"
    real.write_text("old\n")
    link = tmp_path / "a" / "out.jsonl"
    link.symlink_to(Path("..") / "b" / "real.jsonl")
    result = flext_cli("events", "export", "--store", str(tmp_path / "e.db"), "--to", str(link))
    assert result.exit_code == 0, result
    assert link.is_symlink()
    assert len(real.read_text().splitlines()) == 2  # the two seeded events


def _wait_until_open(pid: int, path: Path, timeout: float = 60.0) -> None:
    """Wait until process ``pid`` has ``path`` open (Linux /proc), so the test does not race its start."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if any(Path(fd).resolve() == path.resolve() for fd in Path(f"/proc/{pid}/fd").iterdir()):
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"process {pid} never opened {path}")


def test_tail_prints_events_written_while_it_follows(flext_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    _seed(path, streams=1)
    tail = subprocess.Popen(
        [sys.executable, "-m", "flext_kernel.cli", "--output", "json", "events", "tail", "--store", str(path),
         "--count", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        _wait_until_open(tail.pid, path)  # a loaded machine may take seconds to start flext
        time.sleep(1.0)  # then let it read to the end and start following
        with SQLiteEventStore(path=path) as store:
            for name in ("new-1", "new-2"):
                store.append(name, [Deposited(aggregate_id=name, amount=5)], NO_STREAM).unwrap()
        out, err = tail.communicate(timeout=30)
    finally:
        if tail.poll() is None:
            tail.kill()
            tail.communicate()
    assert tail.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(line["stream"], line["type"]) for line in lines] == [
        ("new-1", "contract.Deposited"),
        ("new-2", "contract.Deposited"),
    ], "tail follows from the end: the seeded event is not repeated"


def test_tail_from_start_replays_then_stops_at_count(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    _seed(tmp_path / "e.db", streams=3)
    result = flext_cli("events", "tail", "--store", str(tmp_path / "e.db"), "--from-start", "--count", "3")
    assert result.exit_code == 0, result.stderr
    assert [line.split()[1] for line in result.stdout.splitlines()] == ["acc-0@1", "acc-1@1", "acc-2@1"]


def test_projection_commands_report_unknown_names_and_bad_timestamps(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    _seed(tmp_path / "e.db")
    store = str(tmp_path / "e.db")
    unknown = flext_cli("projections", "rebuild", "nope", "--store", store)
    assert unknown.exit_code == 2  # NOT_FOUND: an unknown name
    assert "no projection named 'nope'" in unknown.stderr
    naive = flext_cli(
        "projections", "rebuild", "nope", "--store", store, "--from-timestamp", "2026-01-01T00:00:00"
    )
    assert naive.exit_code == 2
    assert "has no time zone" in naive.stderr
    listed = flext_cli("--output", "json", "projections", "list", "--store", store)
    # Only the installed plugins' own projections (the pipeline plugin's), nothing left by the bad commands.
    assert {(row["name"], row["provided_by"]) for row in listed.json()["data"]} == {
        ("pipeline-status", "pipeline")
    }


def test_help_does_not_import_the_command_modules(flext_home: Path) -> None:
    code = (
        "import sys, runpy; sys.argv = ['flext', '--help']\n"
        "try:\n    runpy.run_module('flext_kernel.cli', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in sys.modules if m.startswith('flext_plugin_events.')))"
    )
    for _ in range(2):  # the first run after an install builds the command cache (imports plugin.py)
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
        )
    assert "LOADED []" in done.stdout, done.stdout + done.stderr


def _interrupted_after(flext_home: Path, args: list[str], line: str) -> subprocess.CompletedProcess[str]:
    """Run ``flext *args``; once it printed ``line`` on stderr, press Ctrl-C (SIGINT); return how it ended."""
    process = subprocess.Popen(
        [sys.executable, "-m", "flext_kernel.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        seen = process.stderr.readline()  # blocks until the command says it follows (or ends)
        assert line in seen, seen + process.stderr.read()
        time.sleep(0.5)  # from the note to the loop that waits for events
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return subprocess.CompletedProcess(args, process.returncode, out, seen + err)


def test_ctrl_c_ends_tail_and_a_following_projection_run_quietly_with_exit_code_130(
    flext_home: Path, tmp_path: Path
) -> None:
    _seed(tmp_path / "e.db")
    store = ["--store", str(tmp_path / "e.db")]
    tail = _interrupted_after(flext_home, ["events", "tail", *store], "following events after position 2")
    assert (tail.returncode, tail.stdout) == (130, "")
    assert "error" not in tail.stderr, "Ctrl-C is how tail ends, not an error"
    run = _interrupted_after(flext_home, ["projections", "run", "--follow", *store], "following new events")
    assert run.returncode == 130
    assert "error" not in run.stderr
