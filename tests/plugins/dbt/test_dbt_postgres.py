"""Real dbt-postgres, in its own environment, on a small directory project and a fresh PostgreSQL schema.

Each test writes the project into its tmp_path (``profiles.yml`` of type
``postgres`` pointing at the test server and schema), loads the source tables
with psycopg and runs ``flext data dbt ...`` as a real subprocess.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
import pytest
import yaml
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb

from flext_sdk.testing import FlextCliRunner
from flext_sdk.tools import ToolEnvironment

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PROJECT = "directory_pg"
PASSWORD_VARIABLE = "DIRECTORY_PG_PASSWORD"
BASE = "dc=example,dc=com"
PEOPLE = f"ou=People,{BASE}"
GROUPS = f"ou=Groups,{BASE}"

_PEOPLE_SQL = """\
-- One row per user entry; the mail in lower case (LDAP mail compares without case).
select u.dn, u.uid, u.cn, lower(u.mail) as mail, u.mail_quota_mb
from {{ source('directory', 'users') }} as u
"""
_MEMBERSHIP_SQL = """\
-- One row per member of a group: members is a JSONB array of DNs, in any case.
{{ config(materialized='table') }}

select
    g.cn as group_cn,
    g.dn as group_dn,
    m.member_dn,
    p.uid as member_uid,
    p.mail as member_mail
from {{ source('directory', 'groups') }} as g
cross join lateral jsonb_array_elements_text(coalesce(g.members, '[]'::jsonb)) as m (member_dn)
left join {{ ref('people') }} as p on lower(p.dn) = lower(m.member_dn)
"""
_SOURCES = {
    "version": 2,
    "sources": [
        {
            "name": "directory",
            "schema": "{{ target.schema }}",
            "tables": [
                {"name": table, "columns": [{"name": "dn", "data_tests": ["unique", "not_null"]}]}
                for table in ("users", "groups")
            ],
        }
    ],
}
_MODELS = {
    "version": 2,
    "models": [
        {"name": "people", "columns": [{"name": "uid", "data_tests": ["unique", "not_null"]}]},
        {
            "name": "group_membership",
            "data_tests": [{"unique": {"column_name": "group_dn || ' | ' || member_dn"}}],
            "columns": [{"name": "member_dn", "data_tests": ["not_null"]}],
        },
    ],
}
# Fails on purpose: cn=ops is a member of admins, and a group is not a person.
_MEMBERS_ARE_PEOPLE_SQL = """\
select group_cn, member_dn from {{ ref('group_membership') }} where member_uid is null
"""


@dataclass(frozen=True)
class Connection:
    """Where dbt connects: what profiles.yml says (the password comes from the environment)."""

    host: str
    port: int
    user: str
    dbname: str
    schema: str
    password: str = ""


@pytest.fixture
def connection(postgres_url: str, pg_schema: str, dbt_postgres: ToolEnvironment) -> Connection:
    """The test server and a fresh schema (dropped afterwards), with dbt-postgres installed."""
    settings = conninfo_to_dict(postgres_url)
    return Connection(
        host=str(settings.get("host") or "127.0.0.1"),
        port=int(settings.get("port") or 5432),
        user=str(settings.get("user") or "postgres"),
        dbname=str(settings.get("dbname") or "test"),
        schema=pg_schema,
        password=str(settings.get("password") or ""),
    )


@pytest.fixture
def database(postgres_url: str, connection: Connection) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A connection to the test database, with the source tables created and filled in the test's schema."""
    with psycopg.connect(postgres_url, autocommit=True) as db:
        schema = sql.Identifier(connection.schema)
        db.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
        db.execute(
            sql.SQL(
                "CREATE TABLE {}.users (dn text, uid text, cn text, mail text, mail_quota_mb numeric)"
            ).format(schema)
        )
        db.execute(sql.SQL("CREATE TABLE {}.groups (dn text, cn text, members jsonb)").format(schema))
        with db.cursor() as cursor:
            cursor.executemany(
                sql.SQL("INSERT INTO {}.users VALUES (%s, %s, %s, %s, %s)").format(schema),
                [
                    # An administrator's mailbox has no quota: PostgreSQL's numeric 'Infinity'.
                    (f"uid=ada,{PEOPLE}", "ada", "Ada", "Ada@Example.com", float("inf")),
                    (f"uid=grace,{PEOPLE}", "grace", "Grace", "grace@example.com", 512),
                    (f"uid=alan,{PEOPLE}", "alan", "Alan", "alan@example.com", 1024),
                ],
            )
            cursor.executemany(
                sql.SQL("INSERT INTO {}.groups VALUES (%s, %s, %s)").format(schema),
                [
                    # Member DNs come as the server wrote them: any case, and groups can hold groups.
                    (f"cn=admins,{GROUPS}", "admins",
                     Jsonb([f"uid=ada,{PEOPLE}", f"UID=Grace,{PEOPLE}", f"cn=ops,{GROUPS}"])),
                    (f"cn=ops,{GROUPS}", "ops", Jsonb([f"uid=grace,{PEOPLE}"])),
                ],
            )  # fmt: skip
        yield db


def write_project(root: Path, connection: Connection, *, failing_test: bool = False) -> Path:
    """The dbt project ``directory_pg`` in ``root``, with a profiles.yml for ``connection``."""
    root.mkdir()
    (root / "models").mkdir()
    (root / "tests").mkdir()
    (root / "dbt_project.yml").write_text(
        yaml.safe_dump({"name": PROJECT, "version": "1.0", "config-version": 2, "profile": PROJECT})
    )
    output = {
        "type": "postgres",
        "host": connection.host,
        "port": connection.port,
        "user": connection.user,
        "password": f"{{{{ env_var('{PASSWORD_VARIABLE}', '') }}}}",
        "dbname": connection.dbname,
        "schema": connection.schema,
        "threads": 1,
        "connect_timeout": 5,
    }
    (root / "profiles.yml").write_text(
        yaml.safe_dump({PROJECT: {"target": "dev", "outputs": {"dev": output}}})
    )
    (root / "models" / "people.sql").write_text(_PEOPLE_SQL)
    (root / "models" / "group_membership.sql").write_text(_MEMBERSHIP_SQL)
    (root / "models" / "sources.yml").write_text(yaml.safe_dump(_SOURCES, sort_keys=False))
    (root / "models" / "models.yml").write_text(yaml.safe_dump(_MODELS, sort_keys=False))
    if failing_test:
        (root / "tests" / "members_are_people.sql").write_text(_MEMBERS_ARE_PEOPLE_SQL)
    return root


def _env(connection: Connection) -> dict[str, str]:
    return {PASSWORD_VARIABLE: connection.password}


def _error_line(stderr: str) -> str:
    (line,) = [line for line in stderr.splitlines() if line.startswith("error:")]
    return line


def _events(flext_cli: FlextCliRunner) -> list[dict[str, object]]:
    shown = flext_cli("--output", "json", "events", "show", f"dbt-{PROJECT}")
    assert shown.exit_code == 0, shown
    events: list[dict[str, object]] = shown.json()["data"]
    return events


def test_build_makes_the_models_in_postgres_and_is_recorded(
    flext_cli: FlextCliRunner,
    tmp_path: Path,
    connection: Connection,
    database: psycopg.Connection[tuple[object, ...]],
) -> None:
    project = write_project(tmp_path / "transform", connection)

    result = flext_cli("data", "dbt", "build", str(project), env=_env(connection))

    assert result.exit_code == 0, result
    assert f"dbt build: {PROJECT}" in result.stdout
    assert any("group_membership" in row and "success" in row for row in result.stdout.splitlines())
    assert f"recorded: flext events show dbt-{PROJECT}" in result.stderr
    assert "Registered adapter: postgres=1.10." in result.stderr

    kinds = dict(
        database.execute(
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = %s",
            [connection.schema],
        ).fetchall()
    )
    assert kinds == {"users": "BASE TABLE", "groups": "BASE TABLE", "people": "VIEW",
                     "group_membership": "BASE TABLE"}  # fmt: skip
    membership = database.execute(
        sql.SQL("SELECT group_cn, member_dn, member_uid, member_mail FROM {}.group_membership").format(
            sql.Identifier(connection.schema)
        )
    ).fetchall()
    assert sorted(membership, key=str) == sorted(
        [
            ("admins", f"uid=ada,{PEOPLE}", "ada", "ada@example.com"),
            ("admins", f"UID=Grace,{PEOPLE}", "grace", "grace@example.com"),
            ("admins", f"cn=ops,{GROUPS}", None, None),
            ("ops", f"uid=grace,{PEOPLE}", "grace", "grace@example.com"),
        ],
        key=str,
    )

    (event,) = _events(flext_cli)
    assert event["type"] == "dbt.InvocationCompleted"
    payload = event["payload"]
    assert isinstance(payload, dict)
    assert (payload["command"], payload["project"], payload["adapter"], payload["target"]) == (
        "build", PROJECT, "postgres", "dev"
    )  # fmt: skip
    assert payload["success"] is True
    assert payload["dbt_version"].startswith("1.10.")
    nodes = {node["name"]: node for node in payload["nodes"]}
    assert {node["resource_type"] for node in nodes.values()} == {"model", "test"}
    assert len(nodes) == 10  # 2 models, 8 data tests
    assert {node["status"] for node in nodes.values()} == {"success", "pass"}
    # PostgreSQL reports the rows a table model wrote ("SELECT 4"); a view writes none.
    assert nodes["group_membership"]["rows_affected"] == 4
    assert nodes["people"]["rows_affected"] is None


def test_a_failing_data_test_exits_1_in_one_line_and_is_recorded(
    flext_cli: FlextCliRunner,
    tmp_path: Path,
    connection: Connection,
    database: psycopg.Connection[tuple[object, ...]],
) -> None:
    project = write_project(tmp_path / "transform", connection, failing_test=True)

    result = flext_cli("data", "dbt", "build", str(project), env=_env(connection))

    assert result.exit_code == 1, result
    assert _error_line(result.stderr) == (
        "error: dbt build: 1 of 11 nodes failed: test members_are_people: "
        "Got 1 result, configured to fail if != 0 (DBT_NODES_FAILED)"
    )
    assert "Traceback" not in result.stderr
    failing = [row for row in result.stdout.splitlines() if "members_are_people" in row]
    assert failing, result.stdout
    assert "fail" in failing[0]
    # The models were built before the test ran on them.
    (count,) = database.execute(
        sql.SQL("SELECT count(*) FROM {}.group_membership").format(sql.Identifier(connection.schema))
    ).fetchone() or (None,)
    assert count == 4

    # dbt ran, so the invocation completed; it did not succeed, and says which node failed.
    (event,) = _events(flext_cli)
    assert event["type"] == "dbt.InvocationCompleted"
    payload = event["payload"]
    assert isinstance(payload, dict)
    assert (payload["command"], payload["adapter"], payload["success"]) == ("build", "postgres", False)
    failed = [(node["name"], node["status"], node["failures"]) for node in payload["nodes"]
              if node["status"] not in ("success", "pass")]  # fmt: skip
    assert failed == [("members_are_people", "fail", 1)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("wrong", ["port", "dbname"])
def test_a_wrong_connection_setting_is_one_clear_line(
    flext_cli: FlextCliRunner, tmp_path: Path, connection: Connection, wrong: str
) -> None:
    if wrong == "port":
        broken, expected = replace(connection, port=_free_port()), "Connection refused"
    else:
        missing = f"flext_no_such_db_{uuid.uuid4().hex[:8]}"
        broken, expected = replace(connection, dbname=missing), f'database "{missing}" does not exist'
    project = write_project(tmp_path / "transform", broken)
    secret = f"pw-{uuid.uuid4().hex}"  # ignored by a trust server; must never be printed or stored

    result = flext_cli("data", "dbt", "build", str(project), env={PASSWORD_VARIABLE: secret})

    assert result.exit_code == 1, result
    line = _error_line(result.stderr)
    assert line.startswith("error: Database Error: connection to server at"), line
    assert expected in line
    assert line.endswith("(DBT_ERROR)")
    assert "Traceback" not in result.stdout + result.stderr
    assert secret not in result.stdout + result.stderr

    (event,) = _events(flext_cli)
    assert event["type"] == "dbt.InvocationFailed"
    payload = event["payload"]
    assert isinstance(payload, dict)
    assert (payload["command"], payload["code"]) == ("build", "DBT_ERROR")
    assert expected in str(payload["error"])
    assert secret not in str(event)


def test_show_previews_postgres_values_as_json(
    flext_cli: FlextCliRunner,
    tmp_path: Path,
    connection: Connection,
    database: psycopg.Connection[tuple[object, ...]],
) -> None:
    project = write_project(tmp_path / "transform", connection)

    show = ("data", "dbt", "show", str(project), "--select", "people", "--limit", "5")
    result = flext_cli("--output", "json", *show, env=_env(connection))

    assert result.exit_code == 0, result
    data = result.json()["data"]
    assert (data["adapter"], data["success"]) == ("postgres", True)
    assert data["columns"] == ["dn", "uid", "cn", "mail", "mail_quota_mb"]
    quotas = {row["uid"]: (row["mail"], row["mail_quota_mb"]) for row in data["rows"]}
    # JSON has no Infinity: an unlimited numeric is the text PostgreSQL writes for it.
    assert quotas == {
        "ada": ("ada@example.com", "Infinity"),
        "grace": ("grace@example.com", 512),
        "alan": ("alan@example.com", 1024),
    }
