"""Real dbt, in its own environment, on the example directory project and a filled SQLite warehouse."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from flext_plugin_dbt import run_dbt

from flext_sdk.testing import FlextCliRunner
from flext_sdk.tools import ToolEnvironment

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("dbt_sqlite")]

BASE = "dc=example,dc=com"
PEOPLE = f"ou=People,{BASE}"
Rows = dict[str, list[dict[str, object]]]


def _error_line(stderr: str) -> str:
    (line,) = [line for line in stderr.splitlines() if line.startswith("error:")]
    return line


def test_build_makes_the_models_and_passes_the_tests(
    project: Path,
    warehouse: Path,
    query: Callable[[str], list[tuple[object, ...]]],
    dbt_sqlite: ToolEnvironment,
) -> None:
    logged: list[str] = []
    report = run_dbt(project, "build", log=logged.append).unwrap()

    assert report.success
    assert report.project == "directory"
    assert (report.adapter, report.target) == ("sqlite", "dev")
    assert report.dbt_version.startswith("1.10.")
    kinds = {(node.resource_type, node.status) for node in report.nodes}
    assert kinds == {("model", "success"), ("test", "pass")}
    assert sum(node.resource_type == "model" for node in report.nodes) == 3
    assert any("Running with dbt=" in line for line in logged)
    # dbt lives in its own environment only.
    assert importlib.util.find_spec("dbt") is None
    assert dbt_sqlite.path.name == "dbt-sqlite"

    membership = query(
        "SELECT group_cn, member_dn, member_uid, member_mail FROM group_membership ORDER BY 1, 2"
    )
    assert membership == [
        ("admins", f"UID=Grace,{PEOPLE}", "grace", "grace@example.com"),
        ("admins", f"cn=ops,ou=Groups,{BASE}", None, None),
        ("admins", f"uid=ada,{PEOPLE}", "ada", "ada@example.com"),
        ("ops", f"uid=grace,{PEOPLE}", "grace", "grace@example.com"),
    ]
    summary = {
        (measure, subject): entries for measure, subject, entries in query("SELECT * FROM directory_summary")
    }
    assert summary == {
        ("entries_per_stream", "users"): 3,
        ("entries_per_stream", "groups"): 2,
        ("entries_per_stream", "organizational_units"): 2,
        ("entries_per_stream", "other"): 1,
        ("entries_per_ou", PEOPLE): 3,
        ("entries_per_ou", f"ou=Groups,{BASE}"): 2,
        ("users_without_group", "users"): 1,
    }


def test_a_delete_record_removes_its_entry_from_the_models(
    project: Path, rows: Rows, make_warehouse: Callable[[str, Rows], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # As tap-ldif emits "dn: ...\nchangetype: delete" (no objectClass, so stream `other`), with
    # the DN in another case than the entry's; an older delete of ada was followed by a re-add.
    grace, ada = f"uid=grace,{PEOPLE}", f"uid=ada,{PEOPLE}"
    for dn, when in ((grace.upper(), "2024-06-01T00:00:00+00:00"), (ada, "2024-01-01T00:00:00+00:00")):
        rows["other"].append(
            {"dn": dn, "parent_dn": PEOPLE, "object_classes": "[]", "attributes": "{}",
             "change_type": "delete", "modify_timestamp": when}
        )  # fmt: skip
    path = make_warehouse("deleted", rows)
    monkeypatch.setenv("DIRECTORY_WAREHOUSE", str(path))

    assert run_dbt(project, "build").unwrap().success
    with sqlite3.connect(path) as connection:
        live = sorted(dn for (dn,) in connection.execute("SELECT dn FROM live_entries"))
        summary = dict(
            connection.execute(
                "SELECT subject, entries FROM directory_summary WHERE measure = 'entries_per_stream'"
            ).fetchall()
        )
        membership = connection.execute(
            "SELECT group_cn, member_dn, member_uid FROM group_membership ORDER BY 1, 2"
        ).fetchall()
    connection.close()
    assert grace not in live
    assert ada in live  # re-added after its delete
    assert summary == {"users": 2, "groups": 2, "organizational_units": 2, "other": 1}
    assert membership == [
        ("admins", f"UID=Grace,{PEOPLE}", None),  # still listed by the group, no longer a user
        ("admins", f"cn=ops,ou=Groups,{BASE}", None),
        ("admins", ada, "ada"),
        ("ops", grace, None),
    ]


def test_entries_as_apply_changes_leaves_them_are_live_whatever_the_changes_table_holds(
    project: Path, rows: Rows, make_warehouse: Callable[[str, Rows], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # As the example pipeline loads them (apply_changes: true): grace was deleted, so her row in `users`
    # is the delete record that took its place; ada was deleted and added again, so her row is the
    # entry, with the time of the file that holds both change records, the time the `changes` table
    # gives them too (change records have no time of their own). The entry tables are what the
    # directory holds now: ada is live, grace is not.
    grace, ada, when = f"uid=grace,{PEOPLE}", f"uid=ada,{PEOPLE}", "2024-06-01T00:00:00+00:00"
    for row in rows["users"]:
        if row["dn"] == grace:
            row.update(change_type="delete", object_classes="[]", attributes="{}", uid=None, mail=None)
        if row["dn"] in (grace, ada):
            row["modify_timestamp"] = when
    path = make_warehouse("applied", rows)
    with sqlite3.connect(path) as connection:
        columns = "dn TEXT, sequence INTEGER, change_type TEXT, modify_timestamp TEXT"
        connection.execute(f"CREATE TABLE changes ({columns})")
        connection.executemany(
            "INSERT INTO changes VALUES (?, ?, ?, ?)",
            [(grace, 1, "delete", when), (ada, 2, "delete", when), (ada, 3, "add", when)],
        )
    connection.close()
    monkeypatch.setenv("DIRECTORY_WAREHOUSE", str(path))

    assert run_dbt(project, "build").unwrap().success
    with sqlite3.connect(path) as connection:
        live = {dn for (dn,) in connection.execute("SELECT dn FROM live_entries")}
        membership = connection.execute(
            "SELECT group_cn, member_dn, member_uid FROM group_membership ORDER BY 1, 2"
        ).fetchall()
    connection.close()
    assert ada in live
    assert grace not in live
    assert f"uid=alan,{PEOPLE}" in live
    assert membership == [
        ("admins", f"UID=Grace,{PEOPLE}", None),
        ("admins", f"cn=ops,ou=Groups,{BASE}", None),
        ("admins", ada, "ada"),
        ("ops", grace, None),
    ]


def test_run_prints_a_table_and_is_recorded_as_an_event(
    flext_cli: FlextCliRunner, project: Path, warehouse: Path
) -> None:
    result = flext_cli("data", "dbt", "run", str(project))

    assert result.exit_code == 0, result
    assert "dbt run: directory" in result.stdout
    for line in ("group_membership", "directory_summary"):
        assert any(line in row and "success" in row for row in result.stdout.splitlines()), result.stdout
    assert "recorded: flext events show dbt-directory" in result.stderr

    shown = flext_cli("--output", "json", "events", "show", "dbt-directory")
    assert shown.exit_code == 0, shown
    (event,) = shown.json()["data"]
    assert event["type"] == "dbt.InvocationCompleted"
    payload = event["payload"]
    assert (payload["command"], payload["project"], payload["success"]) == ("run", "directory", True)
    assert [node["name"] for node in payload["nodes"]] == [
        "live_entries",
        "group_membership",
        "directory_summary",
    ]
    assert str(warehouse) not in json.dumps(payload)


def test_show_previews_rows_as_json(flext_cli: FlextCliRunner, project: Path, warehouse: Path) -> None:
    # live_entries reads only the loaded tables: show needs no model built before it.
    show = ("data", "dbt", "show", str(project), "--select", "live_entries", "--limit", "2")
    result = flext_cli("--output", "json", *show)

    assert result.exit_code == 0, result
    document = result.json()
    assert document["ok"] is True
    data = document["data"]
    assert set(data) == {
        "command", "project", "project_dir", "target", "adapter", "artifacts_dir",
        "success", "elapsed", "dbt_version", "nodes", "columns", "rows",
    }  # fmt: skip
    assert (data["command"], data["success"]) == ("show", True)
    assert data["columns"] == ["stream", "dn", "modify_timestamp"]
    assert len(data["rows"]) == 2
    assert set(data["rows"][0]) == set(data["columns"])
    (node,) = data["nodes"]
    assert set(node) == {
        "unique_id", "resource_type", "name", "status", "execution_time",
        "message", "rows_affected", "failures",
    }  # fmt: skip
    assert node["unique_id"] == "model.directory.live_entries"
    assert "Running with dbt" not in result.stdout + result.stderr  # machine output: dbt's log stays out


def test_a_failing_test_exits_1_and_shows_in_the_table(
    flext_cli: FlextCliRunner, project: Path, rows: Rows, make_warehouse: Callable[[str, Rows], Path]
) -> None:
    rows["users"].append(rows["users"][0])  # the same DN twice
    path = make_warehouse("twice", rows)

    command = ("data", "dbt", "test", str(project), "--select", "source:directory")
    result = flext_cli(*command, env={"DIRECTORY_WAREHOUSE": str(path)})

    assert result.exit_code == 1, result
    failing = [row for row in result.stdout.splitlines() if "source_unique_directory_users_dn" in row]
    assert failing, result.stdout
    assert "fail" in failing[0]
    assert "Got 1 result" in result.stdout
    line = _error_line(result.stderr)
    assert line.startswith("error: dbt test: 1 of 8 nodes failed: test source_unique_directory_users_dn:")
    assert line.endswith("(DBT_NODES_FAILED)")


def test_a_sql_error_fails_the_run_with_dbts_message_in_one_line(
    flext_cli: FlextCliRunner, project: Path, warehouse: Path
) -> None:
    (project / "models" / "broken.sql").write_text("select * from nowhere_table\n")

    result = flext_cli("data", "dbt", "run", str(project), "--select", "broken")

    assert result.exit_code == 1, result
    line = _error_line(result.stderr)
    assert (
        "model broken: Database Error in model broken (models/broken.sql): no such table: nowhere_table"
        in line
    )
    assert "error" in next(row for row in result.stdout.splitlines() if "broken" in row)

    events = flext_cli("--output", "json", "events", "show", "dbt-directory").json()["data"]
    assert [(event["type"], event["payload"]["success"]) for event in events] == [
        ("dbt.InvocationCompleted", False)
    ]


def test_a_compile_error_is_a_failed_invocation(
    flext_cli: FlextCliRunner, project: Path, warehouse: Path
) -> None:
    (project / "models" / "broken.sql").write_text("select * from {{ ref('missing') }}\n")

    result = flext_cli("data", "dbt", "build", str(project))

    assert result.exit_code == 1, result
    line = _error_line(result.stderr)
    assert line.startswith("error: Compilation Error: Model 'model.directory.broken' (models/broken.sql)")
    assert "depends on a node named 'missing' which was not found (DBT_COMPILE_ERROR)" in line

    events = flext_cli("--output", "json", "events", "show", "dbt-directory").json()["data"]
    (event,) = events
    assert event["type"] == "dbt.InvocationFailed"
    assert (event["payload"]["code"], event["payload"]["command"]) == ("DBT_COMPILE_ERROR", "build")


def test_docs_generate_writes_the_catalog(project: Path, warehouse: Path) -> None:
    report = run_dbt(project, "docs").unwrap()

    assert report.success
    assert report.artifacts_dir == project / "target"
    catalog = json.loads((report.artifacts_dir / "catalog.json").read_text())
    users = catalog["sources"]["source.directory.directory.users"]
    assert {"dn", "members"} & set(users["columns"]) == {"dn"}
    assert (report.artifacts_dir / "index.html").is_file()
    # docs generate compiles the models but builds nothing.
    with sqlite3.connect(warehouse) as connection:
        assert (
            connection.execute("SELECT name FROM sqlite_master WHERE name = 'group_membership'").fetchall()
            == []
        )
    connection.close()
