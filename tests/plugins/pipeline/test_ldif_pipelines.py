"""Pipelines of the first-party tap-ldif: selection (--discover), a real mapper, a bad config.

The mapper is MeltanoLabs' meltano-map-transform from PyPI, installed with
``flext data mappers add``; the tap and target are the first-party tap-ldif
and target-sqlite, so what landed can be read back with sqlite3.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml
from flext_plugin_ldif.sample import write_directory

pytestmark = pytest.mark.slow


def _pipeline(
    flext_cli, folder: Path, name: str, select: list[str] | None = None, **sections: object
) -> dict:
    ldif = folder / "directory.ldif"
    if not ldif.exists():
        write_directory(ldif, users=40, groups=6, ous=3)
    extract: dict[str, object] = {"name": "tap-ldif", "config": {"files": [str(ldif)]}}
    if select is not None:
        extract["select"] = select
    body = {
        "name": name,
        "extract": extract,
        "load": {"name": "target-sqlite", "config": {"database": str(folder / f"{name}.db")}},
        **sections,
    }
    definition = folder / f"{name}.yaml"
    definition.write_text(yaml.safe_dump(body), encoding="utf-8")
    created = flext_cli("data", "pipeline", "create", str(definition), "--replace")
    assert created.exit_code == 0, created.stderr
    run = flext_cli("--output", "json", "pipeline", "run", name, "--no-retry")
    assert run.exit_code == 0, run.stderr
    return run.json()["data"]


def _columns(database: Path) -> dict[str, set[str]]:
    with sqlite3.connect(database) as connection:
        tables = [name for (name,) in connection.execute("select name from sqlite_master where type='table'")]
        columns = {
            table: {row[1] for row in connection.execute(f'pragma table_info("{table}")')} for table in tables
        }
    connection.close()
    return columns


def test_selection_runs_the_tap_with_only_the_chosen_streams_and_properties(flext_cli, tmp_path):
    run = _pipeline(
        flext_cli, tmp_path, "chosen", select=["users.*", "!users.attributes", "groups.cn", "groups.members"]
    )
    assert set(run["records"]) == {"users", "groups"}
    columns = _columns(tmp_path / "chosen.db")
    assert set(columns) == {"users", "groups"}
    # The key (dn) and the replication key come along with what was picked.
    assert columns["groups"] == {"dn", "modify_timestamp", "cn", "members"}
    assert "attributes" not in columns["users"]
    assert {"dn", "uid", "mail"} <= columns["users"]


def test_a_pattern_that_matches_nothing_fails_the_run_naming_it(flext_cli, tmp_path):
    ldif = tmp_path / "directory.ldif"
    write_directory(ldif, users=5, groups=1, ous=1)
    body = {
        "name": "typo",
        "extract": {
            "name": "tap-ldif",
            "config": {"files": [str(ldif)]},
            "select": ["users.*", "groups.cnn"],
        },
        "load": {"name": "target-sqlite", "config": {"database": str(tmp_path / "typo.db")}},
    }
    (tmp_path / "typo.yaml").write_text(yaml.safe_dump(body), encoding="utf-8")
    assert flext_cli("data", "pipeline", "create", str(tmp_path / "typo.yaml")).exit_code == 0
    run = flext_cli("pipeline", "run", "typo", "--no-retry")
    assert run.exit_code == 1
    (line,) = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert line == (
        "error: select pattern(s) groups.cnn match nothing in tap-ldif's catalog "
        "(streams: users, groups, organizational_units, other, changes); "
        "fix extract.select (VALIDATION_ERROR)"
    )
    assert not (tmp_path / "typo.db").exists()  # nothing ran


def test_a_mapper_from_pypi_transforms_records_between_tap_and_target(flext_cli, tmp_path):
    added = flext_cli("data", "mappers", "add", "meltano-map-transformer")
    assert added.exit_code == 0, added.stderr
    listed = flext_cli("--output", "json", "data", "mappers", "list").json()["data"]
    assert [(m["name"], m["status"]) for m in listed] == [("meltano-map-transformer", "installed")]
    maps = {
        "users": {"mail_domain": "mail.split('@')[-1] if mail else None", "attributes": "__NULL__"},
        "other": "__NULL__",
    }
    run = _pipeline(
        flext_cli,
        tmp_path,
        "mapped",
        mappers=[{"name": "meltano-map-transformer", "config": {"stream_maps": maps}}],
    )
    assert run["records"]["users"] == 40  # flext counts what the tap sends
    database = tmp_path / "mapped.db"
    columns = _columns(database)
    assert "mail_domain" in columns["users"]
    assert "attributes" not in columns["users"]
    assert "attributes" in columns["groups"]  # other streams pass unchanged
    with sqlite3.connect(database) as connection:
        domains = connection.execute("select mail_domain, count(*) from users group by 1").fetchall()
        assert domains == [("example.com", 40)]
        assert connection.execute("select count(*) from other").fetchone() == (0,)  # filtered out
    connection.close()


def test_a_bad_tap_config_fails_the_run_with_the_taps_reason_in_one_line(flext_cli, tmp_path):
    body = {
        "name": "misconfigured",
        "extract": {"name": "tap-ldif", "config": {"filez": ["directory.ldif"]}},
        "load": {"name": "target-sqlite", "config": {"database": str(tmp_path / "never.db")}},
    }
    (tmp_path / "misconfigured.yaml").write_text(yaml.safe_dump(body), encoding="utf-8")
    assert flext_cli("data", "pipeline", "create", str(tmp_path / "misconfigured.yaml")).exit_code == 0
    run = flext_cli("pipeline", "run", "misconfigured", "--no-retry")
    assert run.exit_code == 1
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: tap-ldif exited with code 1: 'files' is a required property; "
        "Config validation failed (RUN_FAILED)"
    ]
    assert "Traceback" not in run.stderr
    tail = [line for line in run.stderr.splitlines() if line.startswith("  ")]
    assert tail
    assert all("tap-ldif" in line for line in tail)  # the failed process's lines, not the target's
    history = flext_cli("--output", "json", "pipeline", "history", "misconfigured").json()["data"]
    assert [r["status"] for r in history] == ["failed"]
    assert history[0]["error"].startswith("tap-ldif exited with code 1: 'files' is a required property")
