"""``flext logs search|tail|export`` as subprocesses: output for people and machines, bad input, follow."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import time
import types
from pathlib import Path

import pytest
from flext_plugin_logs.store import LogStore

from flext_sdk.testing import FlextCliRunner
from flext_sdk.testing._cli import flext_command

RUN = "20261207T101500.123-ab12"
NOW = time.time()


@pytest.fixture
def filled(flext_cli: FlextCliRunner) -> Path:
    """A store with kernel and plugin lines, and a pipeline run log not read yet; returns FLEXT_HOME."""
    store = LogStore.open(flext_cli.home / "data" / "logs" / "logs.db").unwrap()
    store.insert(
        [
            (
                NOW - 7200,
                20,
                "flext_kernel.bus",
                "kernel",
                None,
                None,
                "act-1",
                "dispatch ok two hours ago",
                None,
            ),
            (NOW - 60, 30, "flext_plugin_scheduler", "scheduler", None, None, "act-2", "firing late", None),
            (
                NOW - 30,
                40,
                "flext_kernel.bus",
                "kernel",
                None,
                None,
                "act-2",
                "dispatch failed",
                '{"code": "X"}',
            ),
        ]
    ).unwrap()
    store.close()
    runs = flext_cli.home / "data" / "pipelines" / "numbers" / "runs"
    runs.mkdir(parents=True)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(NOW - 10))
    (runs / f"{RUN}.log").write_text(
        f"{stamp}.000000Z [flext] run {RUN} attempt 1 of pipeline numbers, correlation id act-3\n"
        f"{stamp}.100000Z [tap-numbers] ERROR dispatch of records failed\n"
    )
    return flext_cli.home


def test_search_for_people_and_for_machines(flext_cli: FlextCliRunner, filled: Path) -> None:
    found = flext_cli("logs", "search", "dispatch", "--since", "1h")
    assert found.exit_code == 0, found
    lines = found.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith('ERROR    kernel flext_kernel.bus: dispatch failed {"code": "X"}')
    assert lines[1].endswith("ERROR    pipeline numbers [tap-numbers]: ERROR dispatch of records failed")

    data = flext_cli("--output", "json", "logs", "search", "dispatch", "--plugin", "pipeline").json()
    assert data["ok"] is True
    [line] = data["data"]
    assert set(line) == {
        "id",
        "time",
        "level",
        "logger",
        "plugin",
        "pipeline",
        "run_id",
        "correlation_id",
        "message",
        "fields",
    }
    assert (line["pipeline"], line["run_id"], line["correlation_id"]) == ("numbers", RUN, "act-3")
    assert line["time"].endswith("Z")


def test_search_filters(flext_cli: FlextCliRunner, filled: Path) -> None:
    def messages(*options: str) -> list[str]:
        result = flext_cli("--output", "json", "logs", "search", *options)
        assert result.exit_code == 0, result
        return [line["message"] for line in result.json()["data"]]

    assert messages("dispatch", "--until", "1h") == ["dispatch ok two hours ago"]
    assert messages(
        "dispatch OR firing", "--level", "WARNING", "--plugin", "kernel", "--plugin", "scheduler"
    ) == [
        "firing late",
        "dispatch failed",
    ]
    assert messages("dispatch OR firing", "--correlation-id", "act-2") == ["firing late", "dispatch failed"]
    assert messages("dispatch", "--pipeline", "numbers") == ["ERROR dispatch of records failed"]
    assert messages("dispatch", "--limit", "1") == ["ERROR dispatch of records failed"]
    assert messages("nothing-like-this") == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ("search", '"open'),
            "error: the search query '\"open' is not valid: unterminated string (LOG_QUERY_INVALID)",
        ),
        (
            ("search", "a OR"),
            "error: the search query 'a OR' is not valid: syntax error near \"\" (LOG_QUERY_INVALID)",
        ),
        (("search", "x", "--since", "yesterday"), "error: --since 'yesterday' is neither a duration"),
        (("search", "x", "--until", "2026-13-45"), "error: --until '2026-13-45' is neither a duration"),
        (("search", "x", "--since", "1h", "--until", "2h"), "error: --since '1h' is not before --until '2h'"),
        (("search", "x", "--level", "loud"), "error: --level 'loud' is not a level"),
        (("search", " "), "error: the search query is empty (VALIDATION_ERROR)"),
        (("search", "x", "--limit", "0"), "error: --limit must be at least 1, not 0 (VALIDATION_ERROR)"),
        (
            ("search", "x", "--limit", "99999999999999999999"),
            "error: --limit must be at most 1000000, not 99999999999999999999 (VALIDATION_ERROR)",
        ),
        (
            ("tail", "-n", "99999999999999999999"),
            "error: --lines must be at most 1000000, not 99999999999999999999 (VALIDATION_ERROR)",
        ),
        (("export", "--since", "soon"), "error: --since 'soon' is neither a duration"),
        (
            ("export", "-o", "/no/such/dir/out.jsonl"),
            "error: the directory of /no/such/dir/out.jsonl does not exist",
        ),
        (("tail", "--level", "loud"), "error: --level 'loud' is not a level"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    flext_cli: FlextCliRunner, filled: Path, arguments: tuple[str, ...], message: str
) -> None:
    result = flext_cli("logs", *arguments)
    assert result.exit_code == 2, result
    first, *rest = result.stderr.splitlines()
    assert first.startswith(message), result.stderr
    assert all(line.startswith("hint: ") for line in rest), result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_bad_setting_is_named(flext_cli: FlextCliRunner, filled: Path) -> None:
    result = flext_cli("logs", "tail", env={"FLEXT_LOGS_MAX_BYTES": "12"})
    assert result.exit_code == 2, result
    assert result.stderr.startswith("error: FLEXT_LOGS_MAX_BYTES: Input should be greater than or equal to")


def test_a_store_that_cannot_be_opened_fails_with_exit_code_1(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = flext_cli("logs", "search", "x", env={"FLEXT_LOGS_PATH": str(blocker / "logs.db")})
    assert result.exit_code == 1, result
    assert result.stderr.startswith("error: cannot open the log store ")
    assert result.stderr.rstrip().endswith("(LOG_STORE_FAILED)")


def test_tail_prints_the_last_lines(flext_cli: FlextCliRunner, filled: Path) -> None:
    result = flext_cli("logs", "tail", "-n", "2")
    assert result.exit_code == 0, result
    assert [line.rsplit(": ", 1)[-1] for line in result.stdout.splitlines()] == [
        f"run {RUN} attempt 1 of pipeline numbers, correlation id act-3",
        "ERROR dispatch of records failed",
    ]
    errors = flext_cli("--output", "json", "logs", "tail", "--level", "error")
    assert [line["message"] for line in errors.json()["data"]] == [
        "dispatch failed",
        "ERROR dispatch of records failed",
    ]


def test_export_jsonl_and_csv_to_a_file_written_whole(
    flext_cli: FlextCliRunner, filled: Path, tmp_path: Path
) -> None:
    target = tmp_path / "exports" / "out.jsonl"
    target.parent.mkdir()
    result = flext_cli("logs", "export", "--format", "jsonl", "-o", str(target), "--level", "warning")
    assert result.exit_code == 0, result
    assert result.stdout.strip() == f"exported 3 log lines to {target}"
    exported = [json.loads(line) for line in target.read_text().splitlines()]
    assert [line["message"] for line in exported] == [
        "firing late",
        "dispatch failed",
        "ERROR dispatch of records failed",
    ]
    assert target.stat().st_mode & 0o777 == 0o600
    assert [path.name for path in target.parent.iterdir()] == ["out.jsonl"]  # no temporary file left

    as_csv = flext_cli("logs", "export", "--format", "csv", "--query", "dispatch")
    assert as_csv.exit_code == 0, as_csv
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [row["message"] for row in rows] == [
        "dispatch ok two hours ago",
        "dispatch failed",
        "ERROR dispatch of records failed",
    ]
    assert rows[1]["fields"] == '{"code": "X"}'
    assert as_csv.stderr.strip() == "exported 3 log lines"


def test_export_json_summary(flext_cli: FlextCliRunner, filled: Path, tmp_path: Path) -> None:
    target = tmp_path / "all.csv"
    result = flext_cli("--output", "json", "logs", "export", "--format", "csv", "--to", str(target))
    assert result.json() == {"ok": True, "data": {"exported": 5, "file": str(target)}}


def test_tail_follow_prints_run_lines_as_they_are_written(flext_cli: FlextCliRunner, filled: Path) -> None:
    log = filled / "data" / "pipelines" / "numbers" / "runs" / f"{RUN}.log"
    follower = subprocess.Popen(
        [*flext_command(), "--output", "json", "logs", "tail", "-n", "1", "--follow", "--count", "2"],
        env=flext_cli.environment(None),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follower.stdout is not None
        first = json.loads(follower.stdout.readline())
        assert first["message"] == "ERROR dispatch of records failed"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        with log.open("a") as handle:
            handle.write(f"{stamp}.000000Z [target-file] wrote 3 rows\n")
            handle.flush()
            handle.write(f"{stamp}.100000Z [flext] run {RUN} completed\n")
        out, err = follower.communicate(timeout=60)
    finally:
        if follower.poll() is None:
            follower.kill()
    assert follower.returncode == 0, err
    assert [json.loads(line)["message"] for line in out.splitlines()] == [
        "wrote 3 rows",
        f"run {RUN} completed",
    ]


def test_tail_follow_ends_with_130_on_ctrl_c(flext_cli: FlextCliRunner, filled: Path) -> None:
    follower = subprocess.Popen(
        [*flext_command(), "logs", "tail", "-n", "0", "--follow"],
        env=flext_cli.environment(None),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert follower.stderr is not None
    assert "following new log lines" in follower.stderr.readline()
    os.kill(follower.pid, 2)
    _out, err = follower.communicate(timeout=60)
    assert follower.returncode == 130, err
    assert "Traceback" not in err


@pytest.mark.slow
def test_tail_follow_prints_every_line_when_many_arrive_at_once(
    flext_cli: FlextCliRunner, filled: Path
) -> None:
    """More lines than one look reads (1000) arrive between two looks: all are printed, in order."""
    runs = filled / "data" / "pipelines" / "numbers" / "runs"
    follower = subprocess.Popen(
        [*flext_command(), "logs", "tail", "-n", "0", "--follow", "--count", "1500"],
        env=flext_cli.environment(None),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follower.stderr is not None
        assert "following new log lines" in follower.stderr.readline()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        staged = filled / "staged.log"
        staged.write_text("".join(f"{stamp}.000000Z run-2 [tap-numbers] line {n}\n" for n in range(1500)))
        os.replace(staged, runs / "20261207T101600.000-cd34.log")  # the whole log appears at once
        out, err = follower.communicate(timeout=60)
    finally:
        if follower.poll() is None:
            follower.kill()
    assert follower.returncode == 0, err
    assert [line.rsplit(": ", 1)[-1] for line in out.splitlines()] == [f"line {n}" for n in range(1500)]


def test_tail_follow_misses_no_line_stored_while_it_starts(
    flext_cli: FlextCliRunner,
    filled: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A line stored between reading the last lines and starting to follow is printed (once)."""
    from flext_plugin_logs import logs_cli

    monkeypatch.setenv("FLEXT_HOME", str(filled))
    monkeypatch.delenv("FLEXT_LOGS_PATH", raising=False)
    real_search = LogStore.search
    written: list[bool] = []

    def search_then_another_writes(self: LogStore, filters: object, limit: int) -> object:
        found = real_search(self, filters, limit)  # type: ignore[arg-type]
        if not written:  # the first look, for the last lines: another process stores one meanwhile
            written.append(True)
            other = LogStore.open(self.path).unwrap()
            other.insert([(time.time(), 20, "flext_kernel.bus", "kernel", None, None, None, "raced", None)])
            other.close()
        return found

    def interrupt(_seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(LogStore, "search", search_then_another_writes)
    idle = types.SimpleNamespace(time=time.time, sleep=interrupt)  # the first idle look ends the follow
    monkeypatch.setattr(logs_cli, "time", idle)
    assert logs_cli.tail(lines=1, follow=True) == 130
    printed = [line.rsplit(": ", 1)[-1] for line in capsys.readouterr().out.splitlines()]
    assert printed == ["ERROR dispatch of records failed", "raced"]
