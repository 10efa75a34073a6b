"""``flext data sqlite tables|query`` through a real ``flext``; the plugin's contract and entry points."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from importlib import metadata

import pytest

from flext_sdk.testing import FlextCliRunner, PluginContract


class TestSQLitePlugin(PluginContract):
    plugin = "flext_plugin_sqlite.plugin"
    optional_plugins = ("flext_plugin_singer.plugin",)  # it answers flext_singer_connectors


@pytest.fixture
def loaded(target):
    """A database as target-sqlite leaves it: two streams, nested JSON, WAL mode."""
    messages = [
        target.schema(
            "people", {"id": {"type": "integer"}, "name": {"type": "string"}, "tags": {"type": "array"}}
        ),
        *(target.record("people", {"id": i, "name": f"p{i}", "tags": [i]}) for i in range(3)),
        target.schema("log", {"at": {"type": "integer"}}, keys=None),
        target.record("log", {"at": 1}),
    ]
    assert target.run(messages).returncode == 0
    return target.database


def test_tables_shows_what_landed(flext_cli: FlextCliRunner, loaded):
    result = flext_cli("--output", "json", "data", "sqlite", "tables", str(loaded))
    assert result.exit_code == 0, result.stderr
    assert result.json()["data"] == [
        {"table": "log", "type": "table", "rows": 1, "columns": 1},
        {"table": "people", "type": "table", "rows": 3, "columns": 3},
    ]
    human = flext_cli("data", "sqlite", "tables", str(loaded))
    assert human.exit_code == 0
    assert "people" in human.stdout
    assert "│ 3 " in human.stdout or " 3 " in human.stdout


def test_tables_lists_views_too(flext_cli: FlextCliRunner, loaded):
    connection = sqlite3.connect(loaded)
    connection.execute("CREATE VIEW names AS SELECT name FROM people")
    connection.execute("CREATE VIEW broken AS SELECT * FROM people")
    connection.execute("DROP VIEW broken")
    connection.commit()
    connection.close()
    rows = flext_cli("--output", "json", "data", "sqlite", "tables", str(loaded)).json()["data"]
    assert {"table": "names", "type": "view", "rows": 3, "columns": 1} in rows


def test_query_prints_rows_as_json_and_as_a_table(flext_cli: FlextCliRunner, loaded):
    result = flext_cli(
        "--output",
        "json",
        "data",
        "sqlite",
        "query",
        str(loaded),
        "SELECT id, name, json_extract(tags, '$[0]') AS t FROM people ORDER BY id",
    )
    assert result.exit_code == 0, result.stderr
    assert result.json()["data"] == [
        {"id": 0, "name": "p0", "t": 0},
        {"id": 1, "name": "p1", "t": 1},
        {"id": 2, "name": "p2", "t": 2},
    ]
    human = flext_cli("data", "sqlite", "query", str(loaded), "SELECT name FROM people ORDER BY id")
    assert human.exit_code == 0
    assert all(name in human.stdout for name in ("p0", "p1", "p2"))


def test_query_rows_keep_the_column_names_the_user_chose(flext_cli: FlextCliRunner, loaded):
    """The output layer snake-cases keys of FLEXT's own documents; a query's columns are the user's data."""
    sql = 'SELECT name AS "First Name", id AS "lastRun" FROM people ORDER BY id LIMIT 1'
    for output in ("json", "yaml"):
        result = flext_cli("--output", output, "data", "sqlite", "query", str(loaded), sql)
        assert result.exit_code == 0, result.stderr
        assert "First Name" in result.stdout
        assert "lastRun" in result.stdout
    assert flext_cli("--output", "json", "data", "sqlite", "query", str(loaded), sql).json()["data"] == [
        {"First Name": "p0", "lastRun": 0}
    ]


def test_query_limit(flext_cli: FlextCliRunner, loaded):
    limited = flext_cli(
        "--output", "json", "data", "sqlite", "query", str(loaded), "SELECT id FROM people", "--limit", "2"
    )
    assert [row["id"] for row in limited.json()["data"]] == [0, 1]
    shown = flext_cli(
        "data", "sqlite", "query", str(loaded), "SELECT id FROM people ORDER BY id", "--limit", "2"
    )
    assert "showing the first 2 rows; --limit 0 shows them all" in shown.stderr
    everything = flext_cli(
        "--output", "json", "data", "sqlite", "query", str(loaded), "SELECT id FROM people", "--limit", "0"
    )
    assert len(everything.json()["data"]) == 3
    negative = flext_cli("data", "sqlite", "query", str(loaded), "SELECT 1", "--limit", "-1")
    assert negative.exit_code == 2
    assert "--limit must be 0 or more, not -1 (VALIDATION_ERROR)" in negative.stderr


def test_query_cannot_change_the_file(flext_cli: FlextCliRunner, loaded):
    before = loaded.read_bytes()
    for statement in (
        "DELETE FROM people",
        "DROP TABLE people",
        "CREATE TABLE x (a)",
        "PRAGMA user_version = 7",
    ):
        result = flext_cli("data", "sqlite", "query", str(loaded), statement)
        assert result.exit_code == 2, (statement, result.stderr)
        assert f"error: the statement would change {loaded}" in result.stderr
        assert "(VALIDATION_ERROR)" in result.stderr
        assert "hint: flext data sqlite query only reads" in result.stderr
    rows = flext_cli(
        "--output", "json", "data", "sqlite", "query", str(loaded), "SELECT count(*) AS n FROM people"
    )
    assert rows.json()["data"] == [{"n": 3}]
    assert loaded.read_bytes() == before


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELEC 1", 'cannot run the statement: near "SELEC": syntax error'),
        ("SELECT * FROM nope", "cannot run the statement: no such table: nope"),
        ("SELECT 1; SELECT 2", "cannot run the statement: You can only execute one statement at a time."),
    ],
)
def test_bad_sql_is_bad_input(flext_cli: FlextCliRunner, loaded, sql, message):
    result = flext_cli("data", "sqlite", "query", str(loaded), sql)
    assert result.exit_code == 2
    assert f"error: {message} (VALIDATION_ERROR)" in result.stderr
    assert f"hint: flext data sqlite tables {loaded} lists the tables" in result.stderr
    assert "Traceback" not in result.stderr
    machine = flext_cli("--output", "json", "data", "sqlite", "query", str(loaded), sql)
    assert machine.json() == {"ok": False, "error": message, "code": "VALIDATION_ERROR"}


def test_a_missing_or_foreign_file_is_named(flext_cli: FlextCliRunner, tmp_path):
    missing = tmp_path / "nope.db"
    for command in (("tables", str(missing)), ("query", str(missing), "SELECT 1")):
        result = flext_cli("data", "sqlite", *command)
        assert result.exit_code == 2
        assert result.stderr.splitlines()[0] == f"error: {missing} does not exist (NOT_FOUND)"
        assert "hint: name the SQLite file target-sqlite wrote" in result.stderr
    assert not missing.exists()  # read-only: not created
    text = tmp_path / "notes.txt"
    text.write_text("hello " * 1000)
    foreign = flext_cli("data", "sqlite", "tables", str(text))
    assert foreign.exit_code == 2
    assert f"error: {text} is not a SQLite database" in foreign.stderr
    directory = flext_cli("data", "sqlite", "tables", str(tmp_path))
    assert directory.exit_code == 2
    assert "is a directory (NOT_FOUND)" in directory.stderr


def test_an_empty_database_has_no_tables(flext_cli: FlextCliRunner, tmp_path):
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    empty.write_bytes(b"")  # a zero-byte file is an empty SQLite database
    result = flext_cli("--output", "json", "data", "sqlite", "tables", str(empty))
    assert result.exit_code == 0
    assert result.json()["data"] == []


def test_query_results_with_duplicate_names_and_blobs(flext_cli: FlextCliRunner, loaded):
    result = flext_cli(
        "--output", "json", "data", "sqlite", "query", str(loaded), "SELECT 1 AS a, 2 AS a, x'00ff' AS b"
    )
    assert result.json()["data"] == [{"a": 1, "a_2": 2, "b": "00ff"}]
    nothing = flext_cli(
        "--output", "json", "data", "sqlite", "query", str(loaded), "SELECT id FROM people WHERE 0"
    )
    assert nothing.json()["data"] == []


def test_the_entry_points_are_registered():
    plugins = {entry.name: entry.value for entry in metadata.entry_points(group="flext.plugins")}
    assert plugins["sqlite"] == "flext_plugin_sqlite.plugin"
    from flext_plugin_sqlite.plugin import flext_singer_connectors

    (declared,) = flext_singer_connectors()  # offered through the singer plugin's hook
    assert (declared.name, declared.kind, declared.executable) == ("target-sqlite", "target", "target-sqlite")
    assert "about" in declared.capabilities
    assert declared.description
    scripts = {entry.name: entry.value for entry in metadata.entry_points(group="console_scripts")}
    assert scripts["target-sqlite"] == "flext_plugin_sqlite.target:TargetSQLite.cli"


def test_loading_the_plugin_and_its_singer_declaration_imports_no_sdk():
    code = (
        "import sys, flext_plugin_sqlite.plugin, flext_plugin_sqlite.singer, flext_plugin_sqlite\n"
        "heavy = [m for m in sys.modules if m.startswith(('singer_sdk', 'sqlite3', 'rich'))]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_public_surface_is_pinned():
    import flext_plugin_sqlite

    assert flext_plugin_sqlite.__all__ == [
        "ConfigError",
        "InputError",
        "LockTimeout",
        "RecordError",
        "SQLiteSink",
        "SchemaError",
        "Stopped",
        "StorageError",
        "TargetError",
        "TargetSQLite",
    ]
    for name in flext_plugin_sqlite.__all__:
        assert getattr(flext_plugin_sqlite, name).__name__ == name
    assert issubclass(flext_plugin_sqlite.RecordError, flext_plugin_sqlite.InputError)
    json.dumps(flext_plugin_sqlite.TargetSQLite.config_jsonschema)
