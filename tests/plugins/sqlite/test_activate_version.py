"""ACTIVATE_VERSION: a full refresh through real tap-ldif and target-sqlite pipes makes the table the source.

Issue 15 item 9: after deleting one user and renaming two, a full refresh left
the deleted entry and the renamed entries' old DNs in the target.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest

TAP = Path(sys.executable).with_name("tap-ldif")
USERS = 999  # after the change: 1,000 users, one deleted, two renamed; 999 = 3 batches of 333

BASE = "dc=example,dc=com"


def _ldif(uids: list[str]) -> str:
    """A directory: the base entry, ou=people, one inetOrgPerson per uid."""
    parts = [
        f"dn: {BASE}\nobjectClass: domain\ndc: example\n",
        f"dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n",
    ]
    parts.extend(
        f"dn: uid={uid},ou=people,{BASE}\nobjectClass: inetOrgPerson\nuid: {uid}\n"
        f"cn: User {uid}\nsn: {uid}\nmail: {uid}@example.com\n"
        for uid in uids
    )
    return "\n".join(parts)


BEFORE = [f"u{n:04d}" for n in range(1000)]
AFTER = [uid for uid in BEFORE if uid != "u0500"]  # one user deleted
AFTER[AFTER.index("u0010")] = "renamed-u0010"  # two renamed (modrdn: a new DN, the old one gone)
AFTER[AFTER.index("u0990")] = "renamed-u0990"


def _dns(uids: list[str]) -> set[str]:
    return {f"uid={uid},ou=people,{BASE}" for uid in uids}


class Pipe:
    """tap-ldif on one LDIF file piped into target-sqlite, both real executables."""

    def __init__(self, directory: Path, target: Any) -> None:
        self.ldif = directory / "directory.ldif"
        self.tap_config = directory / "tap.json"
        self.target = target

    def write(self, uids: list[str]) -> None:
        self.ldif.write_text(_ldif(uids), encoding="utf-8")

    def tap_command(self, *, versions: bool) -> list[str]:
        self.tap_config.write_text(
            json.dumps({"files": [str(self.ldif)], "emit_activate_version_messages": versions})
        )
        return [str(TAP), "--config", str(self.tap_config)]

    def target_command(self, **settings: Any) -> list[str]:
        return [str(self.target.executable), "--config", str(self.target.config(**settings))]

    def full_refresh(self, *, versions: bool, **settings: Any) -> list[Any]:
        """Run ``tap-ldif | target-sqlite`` without state; the STATEs the target printed."""
        environment = self.target.environment()
        tap = subprocess.Popen(
            self.tap_command(versions=versions),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
        )
        done = subprocess.run(
            self.target_command(**settings),
            stdin=tap.stdout,
            capture_output=True,
            env=environment,
            timeout=300,
            check=False,
        )
        with tap:  # closes the tap's pipes
            tap_stderr = tap.stderr.read() if tap.stderr else b""
            assert tap.wait(timeout=60) == 0, tap_stderr.decode()[-2000:]
        assert done.returncode == 0, done.stderr.decode()[-3000:]
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    def tap_output(self, *, versions: bool) -> list[str]:
        done = subprocess.run(
            self.tap_command(versions=versions),
            capture_output=True,
            text=True,
            env=self.target.environment(),
            timeout=300,
            check=True,
        )
        return done.stdout.splitlines(keepends=True)

    def users(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.target.rows("users", order_by="dn")
        return rows


@pytest.fixture
def pipe(tmp_path: Path, target: Any) -> Pipe:
    return Pipe(tmp_path, target)


def test_a_full_refresh_with_activate_version_leaves_the_table_equal_to_the_source(pipe: Pipe) -> None:
    pipe.write(BEFORE)
    pipe.full_refresh(versions=True)
    assert {row["dn"] for row in pipe.users()} == _dns(BEFORE)

    pipe.write(AFTER)
    states = pipe.full_refresh(versions=True)

    users = pipe.users()
    assert len(users) == len(AFTER) == USERS
    assert {row["dn"] for row in users} == _dns(AFTER)
    versions = {row["_sdc_table_version"] for row in users}
    assert len(versions) == 1, versions  # every row is of the activated version
    assert versions.pop() is not None
    # The other streams are the source too: one organizational unit, one base entry, no groups.
    assert [row["dn"] for row in pipe.target.rows("organizational_units")] == [f"ou=people,{BASE}"]
    assert [row["dn"] for row in pipe.target.rows("other")] == [BASE]
    assert pipe.target.rows("groups") == []
    assert states, "the target printed no STATE"


def test_without_activate_version_a_full_refresh_deletes_nothing(pipe: Pipe) -> None:
    pipe.write(BEFORE)
    pipe.full_refresh(versions=False)
    pipe.write(AFTER)
    pipe.full_refresh(versions=False)

    dns = {row["dn"] for row in pipe.users()}
    assert dns == _dns(BEFORE) | _dns(AFTER)  # 1,002: the deleted user and the two old DNs stay
    assert len(dns) == 1002
    assert "_sdc_table_version" not in pipe.target.columns("users")  # the table is as before the feature


def test_activate_version_is_ignored_when_process_activate_version_messages_is_false(pipe: Pipe) -> None:
    pipe.write(BEFORE)
    pipe.full_refresh(versions=True)
    pipe.write(AFTER)
    pipe.full_refresh(versions=True, process_activate_version_messages=False)
    assert {row["dn"] for row in pipe.users()} == _dns(BEFORE) | _dns(AFTER)


def test_without_hard_delete_the_rows_of_older_versions_are_marked_deleted(pipe: Pipe) -> None:
    pipe.write(BEFORE)
    pipe.full_refresh(versions=True, hard_delete=False)
    started = time.time()
    pipe.write(AFTER)
    pipe.full_refresh(versions=True, hard_delete=False)

    users = pipe.users()
    assert {row["dn"] for row in users} == _dns(BEFORE) | _dns(AFTER)
    gone = {row["dn"] for row in users if row["_sdc_deleted_at"] is not None}
    assert gone == _dns(BEFORE) - _dns(AFTER)
    assert len(gone) == 3
    marked = next(row["_sdc_deleted_at"] for row in users if row["_sdc_deleted_at"] is not None)
    when = time.mktime(time.strptime(marked[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert started - 5 <= when <= time.time() + 5, marked  # ISO 8601, UTC, the activation's time
    assert marked.endswith("+00:00")

    # An entry that comes back in a later full refresh is live again.
    pipe.write(BEFORE)
    pipe.full_refresh(versions=True, hard_delete=False)
    users = pipe.users()
    live = {row["dn"] for row in users if row["_sdc_deleted_at"] is None}
    assert live == _dns(BEFORE)


def test_kill_9_between_the_records_and_activate_version_keeps_the_old_rows(pipe: Pipe) -> None:
    pipe.write(BEFORE)
    pipe.full_refresh(versions=True)
    pipe.write(AFTER)
    lines = pipe.tap_output(versions=True)
    activation = next(i for i, line in enumerate(lines) if json.loads(line)["type"] == "ACTIVATE_VERSION")
    assert json.loads(lines[activation])["stream"] == "users"
    version = json.loads(lines[activation])["version"]

    process = subprocess.Popen(
        pipe.target_command(batch_size_rows=333),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=pipe.target.environment(),
    )
    try:
        assert process.stdin is not None
        process.stdin.write("".join(lines[:activation]).encode())  # every user record, not the activation
        process.stdin.flush()
        deadline = time.monotonic() + 120
        written = 0
        while time.monotonic() < deadline:  # the three batches are committed
            try:
                written = _count(pipe.target.database, version)
            except sqlite3.Error:
                written = 0
            if written == USERS:
                break
            time.sleep(0.05)
        assert written == USERS, "the target did not commit the records in time"
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=60) == -signal.SIGKILL
    finally:
        process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            with suppress(OSError):
                stream.close()  # type: ignore[union-attr]

    # Nothing was lost: the old rows stay until an activation, next to the new version's rows.
    assert {row["dn"] for row in pipe.users()} == _dns(BEFORE) | _dns(AFTER)
    # The next full refresh completes the job.
    pipe.full_refresh(versions=True)
    assert {row["dn"] for row in pipe.users()} == _dns(AFTER)


def _count(database: Path, version: int) -> int:
    connection = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    try:
        (count,) = connection.execute(
            "SELECT count(*) FROM users WHERE _sdc_table_version = ?", (version,)
        ).fetchone()
        return int(count)
    finally:
        connection.close()


PEOPLE = {"id": {"type": "integer"}, "name": {"type": "string"}}


def _versioned(stream: str, values: dict[str, Any], version: int) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": values, "version": version}


def _activate(stream: str, version: Any) -> dict[str, Any]:
    return {"type": "ACTIVATE_VERSION", "stream": stream, "version": version}


def test_the_records_before_activate_version_are_committed_before_older_rows_go(target: Any) -> None:
    first = [target.schema("s", PEOPLE), *(_versioned("s", {"id": i, "name": "old"}, 1) for i in range(5))]
    assert target.run([*first, _activate("s", 1)]).returncode == 0
    second = [
        target.schema("s", PEOPLE),
        *(_versioned("s", {"id": i, "name": "new"}, 2) for i in range(3)),  # pending: batches are 10,000
        target.state({"at": 3}),
        _activate("s", 2),
        _versioned("s", {"id": None, "name": "bad"}, 2),  # fails the run after the activation
    ]
    run = target.run(second)
    run.failed_with("VALIDATION_ERROR", 2)
    assert run.states == [{"at": 3}]  # printed once the records before it were committed
    rows = target.rows("s", order_by="id")
    assert [(row["id"], row["name"], row["_sdc_table_version"]) for row in rows] == [
        (0, "new", 2),
        (1, "new", 2),
        (2, "new", 2),
    ]


def test_an_activation_of_an_empty_stream_empties_its_table_and_leaves_newer_versions(target: Any) -> None:
    rows = [_versioned("s", {"id": i, "name": "x"}, 5 if i < 2 else 9) for i in range(4)]
    unversioned = target.record("s", {"id": 7, "name": "no version"})
    assert target.run([target.schema("s", PEOPLE), *rows, unversioned]).returncode == 0
    assert target.run([target.schema("s", PEOPLE), _activate("s", 6)]).returncode == 0
    assert [(row["id"], row["_sdc_table_version"]) for row in target.rows("s", "id")] == [(2, 9), (3, 9)]


def test_a_table_without_version_column_gets_one_at_its_first_activation(target: Any) -> None:
    plain = [target.schema("s", PEOPLE), *(target.record("s", {"id": i}) for i in range(3))]
    assert target.run(plain).returncode == 0
    assert "_sdc_table_version" not in target.columns("s")
    assert target.run([target.schema("s", PEOPLE), _activate("s", 1)], hard_delete=False).returncode == 0
    assert {"_sdc_table_version": "INTEGER", "_sdc_deleted_at": "TEXT"}.items() <= target.columns("s").items()
    assert all(row["_sdc_deleted_at"] is not None for row in target.rows("s"))
    assert len(target.rows("s")) == 3


@pytest.mark.parametrize(
    "message",
    [_activate("s", "7"), _activate("s", None), _versioned("s", {"id": 1}, True)],
)
def test_a_version_that_is_not_an_integer_is_refused(target: Any, message: dict[str, Any]) -> None:
    run = target.run([target.schema("s", PEOPLE), message])
    line = run.failed_with("VALIDATION_ERROR", 2)
    assert "'version'" in line
    assert "must be an integer" in line


@pytest.mark.parametrize(
    ("settings", "table"),
    [
        ({"add_record_metadata": True}, "s"),  # the SDK's per-record path, with its _sdc_* columns
        ({"stream_maps": {"s": {"__alias__": "people"}}}, "people"),  # an aliased stream
        ({"validate_records": True}, "s"),
    ],
)
def test_activation_through_the_sdks_record_path(target: Any, settings: dict[str, Any], table: str) -> None:
    old = [_versioned("s", {"id": i, "name": "old"}, 1) for i in range(4)]
    new = [_versioned("s", {"id": i, "name": "new"}, 2) for i in (1, 2)]
    run = target.run([target.schema("s", PEOPLE), *old, *new, _activate("s", 2)], **settings)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = target.rows(table, order_by="id")
    found = [(row["id"], row["name"], row["_sdc_table_version"]) for row in rows]
    assert found == [(1, "new", 2), (2, "new", 2)]


def test_flext_pipeline_run_full_refresh_with_the_tap_setting_leaves_the_source(
    tmp_path: Path, flext_cli: Any
) -> None:
    ldif = tmp_path / "directory.ldif"
    ldif.write_text(_ldif(BEFORE), encoding="utf-8")
    database = tmp_path / "out.db"
    definition = tmp_path / "pipeline.yaml"
    definition.write_text(
        "name: av\n"
        "extract:\n  name: tap-ldif\n  config:\n"
        f"    files: [{ldif}]\n    emit_activate_version_messages: true\n"
        f"load:\n  name: target-sqlite\n  config:\n    database: {database}\n",
        encoding="utf-8",
    )
    assert flext_cli("pipeline", "create", str(definition)).exit_code == 0
    first = flext_cli("pipeline", "run", "av")
    assert first.exit_code == 0, first
    ldif.write_text(_ldif(AFTER), encoding="utf-8")
    incremental = flext_cli("pipeline", "run", "av")
    assert incremental.exit_code == 0, incremental
    assert _users(database) == _dns(BEFORE) | _dns(AFTER)  # an incremental run deletes nothing
    refresh = flext_cli("pipeline", "run", "av", "--full-refresh")
    assert refresh.exit_code == 0, refresh
    assert _users(database) == _dns(AFTER)


def _users(database: Path) -> set[str]:
    connection = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return {str(dn) for (dn,) in connection.execute("SELECT dn FROM users")}
    finally:
        connection.close()
