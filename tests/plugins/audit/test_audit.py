"""The audit plugin through real ``flext`` processes: the observer, the chain, verify, log, export, the copy.

Every run here is the console script (the kernel calls run observers from it
only), in the test's own FLEXT_HOME. Tampering is done the way an intruder
would: SQL on the chain's file.
"""

from __future__ import annotations

import json
import os
import pwd
import sqlite3
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flext_plugin_audit.chain import GENESIS, digest
from flext_plugin_audit.redact import command_line
from hypothesis import given
from hypothesis import strategies as st

from flext_sdk.testing import FlextCliRunner, flext_command

SECRET = "hunter2xyz"


def _db(home: Path) -> Path:
    return home / "data" / "audit.db"


def _log(flext_cli: FlextCliRunner, *args: str) -> list[dict[str, Any]]:
    limit = () if "--limit" in args else ("--limit", "1000")
    done = flext_cli("--output", "json", "audit", "log", *limit, *args)
    assert done.exit_code == 0, done.stderr
    rows: list[dict[str, Any]] = done.json()["data"]
    return rows


def _sql(home: Path, *statements: str) -> None:
    with sqlite3.connect(_db(home)) as connection:
        for statement in statements:
            connection.execute(statement)


def _verify(flext_cli: FlextCliRunner) -> tuple[int, str]:
    done = flext_cli("audit", "verify")
    return done.exit_code, done.stdout + done.stderr


@pytest.fixture
def chained(flext_cli: FlextCliRunner, flext_home: Path) -> Path:
    """A home whose chain holds five records (four ``version`` runs, then one ``audit log``)."""
    for _ in range(4):
        assert flext_cli("version").exit_code == 0
    assert len(_log(flext_cli)) == 4
    return flext_home


def test_every_run_is_recorded_with_who_what_when_and_how(
    flext_cli: FlextCliRunner, flext_home: Path
) -> None:
    assert flext_cli("version", env={"FLEXT_PROFILE": "staging"}).exit_code == 0
    [record] = _log(flext_cli)
    assert record["id"] == 1
    assert record["user"] == pwd.getpwuid(os.getuid()).pw_name
    assert record["profile"] == "staging"
    assert record["command"] == "version"
    assert record["exit_code"] == 0
    assert record["started"] <= record["ended"]
    assert len(record["correlation_id"] or "") == 36
    second = _log(flext_cli)[1]
    assert second["profile"] == "default"
    assert second["correlation_id"] != record["correlation_id"]  # one id per run
    mode = stat.S_IMODE(_db(flext_home).stat().st_mode)
    assert mode == 0o600
    with sqlite3.connect(_db(flext_home)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_failed_and_refused_commands_are_recorded_with_their_exit_code(
    flext_cli: FlextCliRunner, flext_home: Path, tmp_path: Path
) -> None:
    refused = flext_cli("audit", "log", "--no-such-option")
    assert refused.exit_code == 2
    missing = tmp_path / "missing" / "audit.jsonl"
    not_found = flext_cli("audit", "export", "-o", str(missing))
    assert not_found.exit_code == 2, not_found.stderr
    unknown = flext_cli("no-such-command")
    assert unknown.exit_code == 2
    _sql(flext_home, "UPDATE records SET profile = 'prod' WHERE id = 1")
    failed = flext_cli("audit", "verify")
    assert failed.exit_code == 1, failed.stderr
    codes = {row["command"]: row["exit_code"] for row in _log(flext_cli)}
    assert codes["audit log --no-such-option"] == 2
    assert codes[f"audit export -o {missing}"] == 2
    assert codes["no-such-command"] == 2
    assert codes["audit verify"] == 1


def test_a_secret_on_the_command_line_is_in_no_audit_file_or_output(
    flext_cli: FlextCliRunner, flext_home: Path, tmp_path: Path
) -> None:
    flext_cli("audit", "log", "--password", SECRET)
    flext_cli("audit", "log", f"--api-key={SECRET}")
    flext_cli("audit", "log", f"TOKEN={SECRET}")
    flext_cli("audit", "log", f"postgresql://etl:{SECRET}@db.example/orders")
    outputs = [flext_cli("audit", "log").stdout, flext_cli("--output", "json", "audit", "log").stdout]
    exported = tmp_path / "audit.jsonl"
    assert flext_cli("audit", "export", "--format", "jsonl", "-o", str(exported)).exit_code == 0
    outputs.append(flext_cli("audit", "export", "--format", "jsonl").stdout)
    _make_store(flext_cli, tmp_path)
    assert flext_cli("audit", "sync").exit_code == 0  # the records, copied into the event store
    shown = flext_cli("--output", "json", "events", "show", "audit")
    assert shown.exit_code == 0, shown.stderr
    outputs.append(shown.stdout)
    commands = [row["command"] for row in _log(flext_cli)]
    assert "audit log --password '***'" in commands
    assert "audit log '--api-key=***'" in commands
    assert "audit log 'TOKEN=***'" in commands
    assert any("postgresql://etl:***@db.example/orders" in command for command in commands)
    for text in outputs:
        assert SECRET not in text
    files = [path for path in [*flext_home.rglob("*"), exported] if path.is_file()]
    assert _db(flext_home) in files
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path


def test_verify_passes_an_intact_chain(flext_cli: FlextCliRunner, chained: Path) -> None:
    code, said = _verify(flext_cli)
    assert code == 0, said
    assert "intact: 5 records verified" in said


def test_verify_names_an_edited_record(flext_cli: FlextCliRunner, chained: Path) -> None:
    _sql(chained, "UPDATE records SET exit_code = 0, command = 'version --quiet' WHERE id = 3")
    code, said = _verify(flext_cli)
    assert code == 1
    assert "record 3 was edited" in said
    assert "(AUDIT_CHAIN_BROKEN)" in said


def test_verify_names_an_edited_record_whose_hash_was_recomputed(
    flext_cli: FlextCliRunner, chained: Path
) -> None:
    with sqlite3.connect(_db(chained)) as connection:
        row = connection.execute(
            "SELECT id, user, profile, command, started, ended, exit_code, correlation_id, previous_hash"
            " FROM records WHERE id = 2"
        ).fetchone()
        fields = dict(
            zip(
                ("id", "user", "profile", "command", "started", "ended", "exit_code", "correlation_id"),
                row[:8],
                strict=True,
            )
        )
        fields["user"] = "mallory"
        connection.execute(
            "UPDATE records SET user = 'mallory', hash = ? WHERE id = 2", (digest(row[8], fields),)
        )
    code, said = _verify(flext_cli)
    assert code == 1
    assert "record 3 does not follow record 2" in said


def test_verify_names_a_deleted_record(flext_cli: FlextCliRunner, chained: Path) -> None:
    _sql(chained, "DELETE FROM records WHERE id = 2")
    code, said = _verify(flext_cli)
    assert code == 1
    assert "record 2 is missing (deleted)" in said


def test_verify_names_the_newest_record_deleted(flext_cli: FlextCliRunner, chained: Path) -> None:
    _sql(chained, "DELETE FROM records WHERE id = 5")
    code, said = _verify(flext_cli)
    assert code == 1
    assert "record 5 is missing (deleted at the end of the chain)" in said


def test_verify_names_reordered_records(flext_cli: FlextCliRunner, chained: Path) -> None:
    _sql(
        chained,
        "UPDATE records SET id = -1 WHERE id = 2",
        "UPDATE records SET id = 2 WHERE id = 3",
        "UPDATE records SET id = 3 WHERE id = -1",
    )
    code, said = _verify(flext_cli)
    assert code == 1
    assert "record 2 was edited" in said
    assert "record 3 was edited" in said


def test_log_filters_by_user_command_and_since(flext_cli: FlextCliRunner, chained: Path) -> None:
    me = pwd.getpwuid(os.getuid()).pw_name
    assert len(_log(flext_cli, "--user", me)) >= 5
    assert _log(flext_cli, "--user", "nobody-else") == []
    assert {row["command"] for row in _log(flext_cli, "--command", "VERS")} == {"version"}
    assert len(_log(flext_cli, "--since", "1h")) >= 5
    assert _log(flext_cli, "--since", "2999-01-01T00:00:00+00:00") == []
    assert [row["id"] for row in _log(flext_cli, "--command", "version", "--limit", "2")] == [3, 4]
    bad = flext_cli("audit", "log", "--since", "yesterday-ish")
    assert bad.exit_code == 2
    assert bad.stderr.strip().startswith("error: --since 'yesterday-ish'")


def test_export_writes_the_chain_as_json_lines(
    flext_cli: FlextCliRunner, chained: Path, tmp_path: Path
) -> None:
    target = tmp_path / "audit.jsonl"
    done = flext_cli("audit", "export", "--format", "jsonl", "-o", str(target))
    assert done.exit_code == 0, done.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [line["id"] for line in lines] == list(range(1, len(lines) + 1))
    previous = GENESIS
    for line in lines:
        content = {key: value for key, value in line.items() if key not in {"hash", "previous_hash"}}
        assert line["previous_hash"] == previous
        assert line["hash"] == digest(previous, content)
        previous = line["hash"]
    assert flext_cli("audit", "export", "--format", "csv").exit_code == 2


@pytest.mark.slow
def test_concurrent_runs_keep_one_chain(flext_cli: FlextCliRunner, flext_home: Path) -> None:
    environment = flext_cli.environment(None)
    runs = [
        subprocess.Popen([*flext_command(), "version"], env=environment, stdout=subprocess.DEVNULL)
        for _ in range(8)
    ]
    assert [run.wait(timeout=120) for run in runs] == [0] * 8
    code, said = _verify(flext_cli)
    assert code == 0, said
    assert "intact: 8 records verified" in said
    assert [row["id"] for row in _log(flext_cli)] == list(range(1, 10))


def _make_store(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    """Create the event store the way a user would (the audit never creates one itself)."""
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    done = flext_cli("events", "import", str(empty))
    assert done.exit_code == 0, done.stderr


def _stream(flext_cli: FlextCliRunner) -> list[dict[str, Any]]:
    shown = flext_cli("--output", "json", "events", "show", "audit")
    assert shown.exit_code == 0, shown.stderr
    events: list[dict[str, Any]] = shown.json()["data"]
    return events


def _synced(flext_cli: FlextCliRunner, **env: str) -> int:
    done = flext_cli("--output", "json", "audit", "sync", env=env or None)
    assert done.exit_code == 0, done.stderr
    copied: int = done.json()["data"]["copied"]
    return copied


def test_records_are_copied_to_the_event_store_once(
    flext_cli: FlextCliRunner, chained: Path, tmp_path: Path
) -> None:
    _make_store(flext_cli, tmp_path)  # record 6
    assert "audit" not in flext_cli("events", "streams").stdout  # record 7: nothing is copied unasked
    assert _synced(flext_cli) == 7
    events = _stream(flext_cli)  # record 9 (the sync was 8)
    assert [event["version"] for event in events] == [1, 2, 3, 4, 5, 6, 7]
    assert {event["type"] for event in events} == {"audit.CommandRan"}
    exported = [json.loads(line) for line in flext_cli("audit", "export").stdout.splitlines()]  # record 10
    for event, record in zip(events, exported, strict=False):
        assert event["payload"]["hash"] == record["hash"]
        assert event["payload"]["previous_hash"] == record["previous_hash"]
        assert event["payload"]["record_id"] == record["id"]
        assert event["correlation_id"] == record["correlation_id"]
    _sql(chained, "UPDATE head SET copied = 0")  # forget the mark: the next copy must skip what is there
    assert _synced(flext_cli) == 10  # every record pending again by the mark; 8-10 are new
    again = _stream(flext_cli)
    assert [event["version"] for event in again] == list(range(1, 11))  # 8-10 each once
    assert len({event["payload"]["hash"] for event in again}) == 10


def test_records_are_copied_at_start_up_when_asked(
    flext_cli: FlextCliRunner, chained: Path, tmp_path: Path
) -> None:
    _make_store(flext_cli, tmp_path)  # record 6
    shown = flext_cli("--output", "json", "events", "show", "audit", env={"FLEXT_AUDIT_COPY_AT_STARTUP": "1"})
    assert shown.exit_code == 0, shown.stderr  # this run's kernel copied records 1-6 before the command read
    assert [event["version"] for event in shown.json()["data"]] == [1, 2, 3, 4, 5, 6]


def test_sync_without_an_event_store_says_so_and_keeps_the_records(
    flext_cli: FlextCliRunner, chained: Path
) -> None:
    done = flext_cli("audit", "sync")
    assert done.exit_code == 2
    assert "(NOT_FOUND)" in done.stderr
    assert "Traceback" not in done.stderr


@given(value=st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40))
def test_an_option_value_named_secret_never_reaches_the_command_line(value: str) -> None:
    secret = f"Zq9{value}"
    for words in (
        ["pipeline", "run", "--db-password", secret],
        ["pipeline", "run", f"--api-key={secret}"],
        ["secret", "set", f"TOKEN={secret}"],
    ):
        assert secret not in command_line(words)


def test_the_audit_never_creates_an_event_store(flext_cli: FlextCliRunner, flext_home: Path) -> None:
    assert flext_cli("version").exit_code == 0
    streams = flext_cli("events", "streams")  # boots the kernel with a record pending
    assert streams.exit_code == 2
    assert "(NOT_FOUND)" in streams.stderr
    assert not (flext_home / "data" / "events.db").exists()
