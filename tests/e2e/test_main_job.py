"""The README's main job, end to end: LDIF -> tap-ldif -> target-sqlite -> dbt, then again incrementally.

Runs on a copy of examples/directory so the checkout stays clean; dbt is
really installed into its own environment (shared between test runs).
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).parents[2] / "examples" / "directory"


def _entries(ldif: Path) -> int:
    return sum(1 for line in ldif.read_text(encoding="utf-8").splitlines() if line.lower().startswith("dn:"))


def test_the_sample_pipeline_loads_models_and_resumes(flext_cli, tmp_path):
    sample = tmp_path / "directory"
    shutil.copytree(EXAMPLE, sample, ignore=shutil.ignore_patterns("output", "target", "logs"))
    created = flext_cli("data", "pipeline", "create", str(sample / "pipeline.yaml"))
    assert created.exit_code == 0, created

    first = flext_cli("--output", "json", "pipeline", "run", "directory")
    assert first.exit_code == 0, first
    run = first.json()["data"]
    assert run["status"] == "completed"
    assert sum(run["records"].values()) == _entries(sample / "data" / "directory.ldif")
    assert set(run["records"]) >= {"users", "groups", "organizational_units"}
    built = {node["name"]: node["status"] for node in run["transform"]["nodes"]}
    assert built["group_membership"] == "success"
    assert built["directory_summary"] == "success"

    database = sample / "output" / "directory.db"
    with sqlite3.connect(database) as connection:
        for stream, count in run["records"].items():
            assert connection.execute(f'select count(*) from "{stream}"').fetchone()[0] == count
        assert connection.execute("select count(*) from group_membership").fetchone()[0] > 0

    again = flext_cli("--output", "json", "pipeline", "run", "directory")
    assert again.exit_code == 0, again
    assert sum(again.json()["data"]["records"].values()) == 0  # incremental: nothing changed

    # Records are keyed by the DN's normal form; the DN as written is kept beside it.
    with sqlite3.connect(database) as connection:
        keys = dict(connection.execute("select written_dn, dn from users").fetchall())
    written = [line[4:] for line in (sample / "data" / "directory.ldif").read_text().splitlines()
               if line.startswith("dn: uid=")]  # fmt: skip
    assert set(keys) == set(written)
    assert any(dn != key for dn, key in keys.items())  # ou=Sales,... is keyed as ou=sales,...
    assert all(key == dn.lower() for dn, key in keys.items())  # no escapes or spaces in these DNs

    # An LDIF delete record for a user: an event of the `changes` stream (every change is kept, keyed
    # by DN and sequence), and the models stop counting the user.
    ldif = sample / "data" / "directory.ldif"
    with sqlite3.connect(database) as connection:  # a user who is in a group
        (user,) = connection.execute(
            "select member_dn from group_membership where member_uid is not null order by member_dn"
        ).fetchone()
    with ldif.open("a", encoding="utf-8") as handle:
        handle.write(f"\ndn: {user}\nchangetype: delete\n")
    deleted = flext_cli("--output", "json", "pipeline", "run", "directory")
    assert deleted.exit_code == 0, deleted
    assert deleted.json()["data"]["records"] == {"changes": 1}
    with sqlite3.connect(database) as connection:
        summary = dict(
            connection.execute(
                "select subject, entries from directory_summary where measure = 'entries_per_stream'"
            ).fetchall()
        )
        assert summary["users"] == run["records"]["users"] - 1
        assert summary["other"] == run["records"]["other"]  # the delete record is not an entry
        assert connection.execute("select change_type, dn, sequence from changes").fetchall() == [
            ("delete", user, 1)
        ]
        live = {dn for (dn,) in connection.execute("select dn from live_entries")}
        assert user not in live
        assert len(live) == sum(run["records"].values()) - 1
        assert connection.execute(
            "select count(*) from group_membership where member_dn = ? and member_uid is not null", (user,)
        ).fetchone() == (0,)

    # A rename (modrdn) of another user, its DN spelled otherwise (type in upper case, spaces around the
    # separator): the same key, so the old DN is no longer live either. Every change record of the
    # file is sent again (its time is the file's, which changed) and upserted on (dn, sequence).
    with sqlite3.connect(database) as connection:
        other_user, written = connection.execute(
            "select dn, written_dn from users where dn <> ? order by dn", (user,)
        ).fetchone()
    respelled = written.replace("uid=", "UID=", 1).replace(",", " , ", 1)
    with ldif.open("a", encoding="utf-8") as handle:
        handle.write(f"\ndn: {respelled}\nchangetype: modrdn\nnewrdn: uid=renamed\ndeleteoldrdn: 1\n")
    renamed = flext_cli("--output", "json", "pipeline", "run", "directory")
    assert renamed.exit_code == 0, renamed
    assert renamed.json()["data"]["records"] == {"changes": 2}
    with sqlite3.connect(database) as connection:
        changes = connection.execute("select change_type, dn, written_dn, sequence from changes order by 4")
        assert changes.fetchall() == [("delete", user, user, 1), ("modrdn", other_user, respelled, 2)]
        live = {dn for (dn,) in connection.execute("select dn from live_entries")}
        assert other_user not in live
        assert len(live) == sum(run["records"].values()) - 2

    status = flext_cli("--output", "json", "pipeline", "status", "directory").json()["data"][0]
    assert status["status"] == "completed"
    assert status["runs"] == 4
    tables = flext_cli("--output", "json", "data", "sqlite", "tables", str(database))
    assert tables.exit_code == 0, tables
