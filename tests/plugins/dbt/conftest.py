"""A filled directory warehouse and a copy of the example dbt project, for the dbt plugin's tests.

The PostgreSQL tests (``test_dbt_postgres.py``) use the server and schema
fixtures of tests/conftest.py (``postgres_url``, ``pg_schema``).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from flext_plugin_dbt.adapters import ADAPTERS, environment_name

from flext_sdk import tools
from flext_sdk.tools import ToolEnvironment

EXAMPLE = Path(__file__).parents[3] / "examples" / "directory" / "transform"
BASE = "dc=example,dc=com"
_ENVELOPE = (
    "dn TEXT, parent_dn TEXT, object_classes TEXT, attributes TEXT, change_type TEXT, modify_timestamp TEXT"
)
_TABLES = {
    "users": f"{_ENVELOPE}, uid TEXT, cn TEXT, sn TEXT, given_name TEXT, mail TEXT, display_name TEXT",
    "groups": f"{_ENVELOPE}, cn TEXT, members TEXT",
    "organizational_units": f"{_ENVELOPE}, ou TEXT, description TEXT",
    "other": _ENVELOPE,
}


def _entry(dn: str, object_classes: list[str], **attributes: object) -> dict[str, object]:
    """The columns every stream has, as target-sqlite writes tap-ldif's records."""
    return {
        "dn": dn,
        "parent_dn": dn.split(",", 1)[1] if "," in dn else None,
        "object_classes": json.dumps(object_classes),
        "attributes": json.dumps({key: [str(value)] for key, value in attributes.items()}),
        "change_type": "add",
        "modify_timestamp": "2024-05-01T12:00:00+00:00",
    }


def _user(uid: str, mail: str | None = None) -> dict[str, object]:
    dn = f"uid={uid},ou=People,{BASE}"
    return {
        **_entry(dn, ["top", "person", "inetOrgPerson"], uid=uid),
        "uid": uid,
        "cn": uid.title(),
        "sn": uid.title(),
        "given_name": uid.title(),
        "mail": mail if mail is not None else f"{uid}@example.com",
        "display_name": uid.title(),
    }


def _group(cn: str, members: list[str]) -> dict[str, object]:
    return {
        **_entry(f"cn={cn},ou=Groups,{BASE}", ["top", "groupOfNames"]),
        "cn": cn,
        "members": json.dumps(members),
    }


def _ou(ou: str) -> dict[str, object]:
    return {**_entry(f"ou={ou},{BASE}", ["top", "organizationalUnit"]), "ou": ou, "description": None}


def directory_rows() -> dict[str, list[dict[str, object]]]:
    """A small directory: three users (one in no group), two groups (one nested), two OUs, the base."""
    people = f"ou=People,{BASE}"
    return {
        "users": [_user("ada"), _user("grace"), _user("alan")],
        "groups": [
            # Member DNs come as the server wrote them: any case, and groups can hold groups.
            _group("admins", [f"uid=ada,{people}", f"UID=Grace,{people}", f"cn=ops,ou=Groups,{BASE}"]),
            _group("ops", [f"uid=grace,{people}"]),
        ],
        "organizational_units": [_ou("People"), _ou("Groups")],
        "other": [_entry(BASE, ["top", "domain"], dc="example")],
    }


def fill_warehouse(path: Path, rows: dict[str, list[dict[str, object]]]) -> Path:
    """Create the four stream tables in the SQLite file at ``path`` and insert ``rows``."""
    with sqlite3.connect(path) as connection:
        for table, columns in _TABLES.items():
            connection.execute(f"CREATE TABLE {table} ({columns})")
            for row in rows.get(table, []):
                names = ", ".join(row)
                marks = ", ".join("?" for _ in row)
                connection.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(row.values()))
    connection.close()
    return path


@pytest.fixture
def rows() -> dict[str, list[dict[str, object]]]:
    """The rows of ``directory_rows``, for a test to change before it fills a warehouse with them."""
    return directory_rows()


@pytest.fixture
def make_warehouse(tmp_path: Path) -> Callable[[str, dict[str, list[dict[str, object]]]], Path]:
    """``make_warehouse(name, rows)``: a new ``<tmp>/<name>/directory.db`` filled with ``rows``."""

    def make(name: str, rows: dict[str, list[dict[str, object]]]) -> Path:
        (tmp_path / name).mkdir()
        return fill_warehouse(tmp_path / name / "directory.db", rows)

    return make


@pytest.fixture
def warehouse(
    make_warehouse: Callable[[str, dict[str, list[dict[str, object]]]], Path], monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The directory warehouse, filled, with ``DIRECTORY_WAREHOUSE`` pointing at it."""
    path = make_warehouse("warehouse", directory_rows())
    monkeypatch.setenv("DIRECTORY_WAREHOUSE", str(path))
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the example project (dbt writes target/ and logs/ into it)."""
    return Path(
        shutil.copytree(EXAMPLE, tmp_path / "transform", ignore=shutil.ignore_patterns("target", "logs"))
    )


@pytest.fixture
def dbt_sqlite(flext_home: Path) -> ToolEnvironment:
    """dbt with the SQLite adapter, in the shared test tool directory (built by the first test to ask)."""
    built = tools.install(environment_name("sqlite"), ADAPTERS["sqlite"])
    assert built.is_success, built.error
    return built.value


@pytest.fixture
def query(warehouse: Path) -> Callable[[str], list[tuple[object, ...]]]:
    """Run SQL on the warehouse."""

    def run(sql: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(warehouse) as connection:
            found = connection.execute(sql).fetchall()
        connection.close()
        return found

    return run


@pytest.fixture
def dbt_postgres(flext_home: Path) -> ToolEnvironment:
    """dbt with the PostgreSQL adapter, in the shared test tool directory (built by the first test to ask)."""
    built = tools.install(environment_name("postgres"), ADAPTERS["postgres"])
    assert built.is_success, built.error
    return built.value
