"""Unmodified Singer targets from PyPI behind tap-ldif, installed as users install them.

``flext data targets add NAME`` puts each into its own tool environment
(shared between test runs, like every tool environment in the tests), and
``flext pipeline run`` drives it; nothing of the target is patched or wrapped.
target-jsonl (singer-python) and MeltanoLabs' target-postgres (the Meltano
SDK, against the PostgreSQL at 127.0.0.1:5432) are the two families most
third-party targets belong to.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from flext_plugin_ldif.sample import write_directory

pytestmark = pytest.mark.slow

# A new user and a changed one, both newer than every bookmark of the generated directory.
CHANGES = """
dn: uid=newbie,ou=Engineering,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: newbie
cn: New Bie
sn: Bie
modifyTimestamp: 20990101000000Z

dn: {changed_dn}
objectClass: inetOrgPerson
uid: changed
cn: Changed Name
sn: Name
modifyTimestamp: 20990101000001Z
"""


def _dns(ldif: Path) -> list[str]:
    return [line[4:] for line in ldif.read_text(encoding="utf-8").splitlines() if line.startswith("dn: ")]


def _register(flext_cli, folder: Path, name: str, ldif: Path, target: str, config: dict) -> None:
    definition = folder / f"{name}.yaml"
    body = {
        "name": name,
        "extract": {"name": "tap-ldif", "config": {"files": [str(ldif)]}},
        "load": {"name": target, "config": config},
    }
    definition.write_text(yaml.safe_dump(body), encoding="utf-8")
    created = flext_cli("data", "pipeline", "create", str(definition), "--replace")
    assert created.exit_code == 0, created.stderr


def _run(flext_cli, name: str, *options: str) -> dict[str, int]:
    result = flext_cli("--output", "json", "pipeline", "run", name, "--no-retry", *options)
    assert result.exit_code == 0, result.stderr
    run = result.json()["data"]
    assert run["status"] == "completed", run
    return run["records"]


def test_target_jsonl_from_pypi_loads_every_entry_and_resumes(flext_cli, tmp_path: Path) -> None:
    added = flext_cli("data", "targets", "add", "target-jsonl")
    assert added.exit_code == 0, added.stderr
    ldif = tmp_path / "directory.ldif"
    write_directory(ldif, users=300, groups=20, ous=5)
    out = tmp_path / "out"
    out.mkdir()
    _register(flext_cli, tmp_path, "to-jsonl", ldif, "target-jsonl",
              {"destination_path": str(out), "do_timestamp_file": False})  # fmt: skip

    records = _run(flext_cli, "to-jsonl")
    written = {
        path.stem: [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        for path in out.glob("*.jsonl")
    }
    assert {stream: len(rows) for stream, rows in written.items() if rows} == records  # changes: empty
    # dn is the DN's normal form (the key); written_dn the DN as the file has it.
    assert sorted(row["written_dn"] for rows in written.values() for row in rows) == sorted(_dns(ldif))

    again = _run(flext_cli, "to-jsonl")  # the state target-jsonl printed was checkpointed
    assert sum(again.values()) == 0
    assert sum(len(path.read_text().splitlines()) for path in out.glob("*.jsonl")) == len(_dns(ldif))


def _loaded(url: str, schema: str) -> dict[str, list[tuple[str, str]]]:
    """Each non-empty table's (DN as written, attributes); the empty changes table is left out."""
    import psycopg

    with psycopg.connect(url) as connection:
        tables = connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
        loaded = {
            table: connection.execute(
                f'SELECT written_dn, attributes::text FROM "{schema}"."{table}"'
            ).fetchall()
            for (table,) in tables
        }
        return {table: rows for table, rows in loaded.items() if rows}


@pytest.mark.postgres
def test_meltanolabs_target_postgres_upserts_changes_without_duplicates(
    flext_cli, tmp_path: Path, postgres_url: str, pg_schema: str
) -> None:
    added = flext_cli("data", "targets", "add", "target-postgres")
    assert added.exit_code == 0, added.stderr
    ldif = tmp_path / "directory.ldif"
    write_directory(ldif, users=200, groups=10, ous=4)
    config = {
        "host": "127.0.0.1",
        "port": 5432,
        "user": "postgres",
        "password": "",
        "database": "test",
        "default_target_schema": pg_schema,
    }
    _register(flext_cli, tmp_path, "to-postgres", ldif, "target-postgres", config)

    first = _run(flext_cli, "to-postgres")
    loaded = _loaded(postgres_url, pg_schema)
    assert {table: len(rows) for table, rows in loaded.items()} == first
    assert sorted(dn for rows in loaded.values() for dn, _ in rows) == sorted(_dns(ldif))

    changed_dn = next(dn for dn in _dns(ldif) if dn.startswith("uid="))
    with ldif.open("a", encoding="utf-8") as handle:
        handle.write(CHANGES.format(changed_dn=changed_dn))
    second = _run(flext_cli, "to-postgres")
    assert second == {"users": 2}  # only what is newer than the confirmed bookmarks
    users = dict(_loaded(postgres_url, pg_schema)["users"])
    assert len(users) == 201  # the changed user was updated in place (dn is the key), not added again
    assert "Changed Name" in users[changed_dn]
    assert "New Bie" in users["uid=newbie,ou=Engineering,ou=people,dc=example,dc=com"]

    refreshed = _run(flext_cli, "to-postgres", "--full-refresh")
    assert sum(refreshed.values()) == len(_dns(ldif))  # the changed dn appears twice in the file
    after = _loaded(postgres_url, pg_schema)
    assert sorted(dn for rows in after.values() for dn, _ in rows) == sorted(set(_dns(ldif)))  # no duplicate
    assert "Changed Name" in dict(after["users"])[changed_dn]  # the later entry of the two wins
