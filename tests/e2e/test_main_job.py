"""The README's main job, end to end: LDIF -> tap-ldif -> target-sqlite -> dbt, then again incrementally.

Runs on a copy of examples/directory so the checkout stays clean; dbt is
really installed into its own environment (shared between test runs).
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from flext_sdk.testing import FlextCliRunner

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).parents[2] / "examples" / "directory"


def _entries(ldif: Path) -> int:
    return sum(1 for line in ldif.read_text(encoding="utf-8").splitlines() if line.lower().startswith("dn:"))


def _live(connection: sqlite3.Connection) -> set[str]:
    return {dn for (dn,) in connection.execute("select dn from live_entries")}


def _summary(connection: sqlite3.Connection) -> dict[str, int]:
    query = "select subject, entries from directory_summary where measure = 'entries_per_stream'"
    return dict(connection.execute(query).fetchall())


def test_the_sample_pipeline_loads_models_and_resumes(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
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
    # by DN and sequence) and, with the example's apply_changes, a delete record of the user's DN in
    # `users` that takes the place of its row; the models stop counting the user.
    ldif = sample / "data" / "directory.ldif"
    total = sum(run["records"].values())
    with sqlite3.connect(database) as connection:  # a user who is in a group
        (user,) = connection.execute(
            "select member_dn from group_membership where member_uid is not null order by member_dn"
        ).fetchone()
    with ldif.open("a", encoding="utf-8") as handle:
        handle.write(f"\ndn: {user}\nchangetype: delete\n")
    deleted = flext_cli("--output", "json", "pipeline", "run", "directory")
    assert deleted.exit_code == 0, deleted
    assert deleted.json()["data"]["records"] == {"changes": 1, "users": 1}
    with sqlite3.connect(database) as connection:
        assert _summary(connection)["users"] == run["records"]["users"] - 1
        assert _summary(connection)["other"] == run["records"]["other"]  # the delete record is no entry
        assert connection.execute("select change_type, dn, sequence from changes").fetchall() == [
            ("delete", user, 1)
        ]
        assert connection.execute("select change_type from users where dn = ?", (user,)).fetchall() == [
            ("delete",)
        ]
        live = _live(connection)
        assert user not in live
        assert len(live) == total - 1
        assert connection.execute(
            "select count(*) from group_membership where member_dn = ? and member_uid is not null", (user,)
        ).fetchone() == (0,)

    # More changes appended to the file, as ldapmodify input: a new user, and another user deleted and
    # added again. Both are live; the first user stays deleted. Every change record of the file is sent
    # again (a delete record has no time of its own: its time is the file's, which changed).
    with sqlite3.connect(database) as connection:
        (back,) = connection.execute(
            "select member_dn from group_membership where member_uid is not null and member_dn <> ?"
            " order by member_dn",
            (user,),
        ).fetchone()
        uid, mail = connection.execute("select uid, mail from users where dn = ?", (back,)).fetchone()
    newbie = "uid=newbie,ou=people,dc=example,dc=com"
    readd = f"objectClass: inetOrgPerson\nuid: {uid}\ncn: Back Again\nsn: Again\nmail: {mail}\n"
    with ldif.open("a", encoding="utf-8") as handle:
        handle.write(
            f"\ndn: {newbie}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: newbie\ncn: New\nsn: Bie\n"
            f"\ndn: {back}\nchangetype: delete\n"
            f"\ndn: {back}\nchangetype: add\n{readd}"
        )
    added = flext_cli("--output", "json", "pipeline", "run", "directory")
    assert added.exit_code == 0, added
    # users: newbie and the second user as it is now, and delete records sent again (whether the second
    # user's delete record, which its entry follows, is sent too is the tap's business).
    records = added.json()["data"]["records"]
    assert (set(records), records["changes"]) == ({"changes", "users"}, 4)
    with sqlite3.connect(database) as connection:
        live = _live(connection)
        assert {newbie, back} <= live
        assert user not in live
        assert len(live) == total
        assert _summary(connection)["users"] == run["records"]["users"]
        assert connection.execute("select cn from users where dn = ?", (back,)).fetchone() == ("Back Again",)
        assert connection.execute(
            "select distinct member_uid from group_membership where member_dn = ?", (back,)
        ).fetchall() == [(uid,)]

    # Later changes to the file keep the re-added user live (the delete records are sent again, with the
    # file's new time, and so is the user added again after its delete).
    with ldif.open("a", encoding="utf-8") as handle:
        handle.write("\ndn: ou=contractors,dc=example,dc=com\nchangetype: add\n"
                     "objectClass: organizationalUnit\nou: contractors\n")  # fmt: skip
    later = flext_cli("--output", "json", "pipeline", "run", "directory")
    assert later.exit_code == 0, later
    with sqlite3.connect(database) as connection:
        live = _live(connection)
        assert {newbie, back, "ou=contractors,dc=example,dc=com"} <= live
        assert user not in live
        assert len(live) == total + 1

    status = flext_cli("--output", "json", "pipeline", "status", "directory").json()["data"][0]
    assert status["status"] == "completed"
    assert status["runs"] == 5
    tables = flext_cli("--output", "json", "data", "sqlite", "tables", str(database))
    assert tables.exit_code == 0, tables


def test_a_renamed_or_modified_user_is_live_as_it_is_now_after_an_incremental_run(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    sample = tmp_path / "directory"
    shutil.copytree(EXAMPLE, sample, ignore=shutil.ignore_patterns("output", "target", "logs"))
    assert flext_cli("data", "pipeline", "create", str(sample / "pipeline.yaml")).exit_code == 0
    first = flext_cli("--output", "json", "pipeline", "run", "directory")
    assert first.exit_code == 0, first
    total = sum(first.json()["data"]["records"].values())
    database = sample / "output" / "directory.db"
    with sqlite3.connect(database) as connection:
        (renamed, written), (modified, _) = connection.execute(
            "select dn, written_dn from users order by dn limit 2"
        ).fetchall()

    # A rename (modrdn), its DN spelled otherwise (type in upper case, spaces around the separator: the
    # same key), and a new mail for another user.
    respelled = written.replace("uid=", "UID=", 1).replace(",", " , ", 1)
    with (sample / "data" / "directory.ldif").open("a", encoding="utf-8") as handle:
        handle.write(
            f"\ndn: {respelled}\nchangetype: modrdn\nnewrdn: uid=renamed\ndeleteoldrdn: 1\n"
            f"\ndn: {modified}\nchangetype: modify\nreplace: mail\nmail: new@example.com\n-\n"
        )
    again = flext_cli("--output", "json", "pipeline", "run", "directory")
    assert again.exit_code == 0, again
    new_dn = "uid=renamed," + renamed.split(",", 1)[1]
    with sqlite3.connect(database) as connection:
        changes = connection.execute("select change_type, dn, written_dn, sequence from changes order by 4")
        assert changes.fetchall() == [("modrdn", renamed, respelled, 1), ("modify", modified, modified, 2)]
        live = _live(connection)
        assert renamed not in live
        assert new_dn in live
        assert len(live) == total
        assert connection.execute("select uid from users where dn = ?", (new_dn,)).fetchone() == ("renamed",)
        assert connection.execute("select change_type from users where dn = ?", (renamed,)).fetchone() == (
            "delete",
        )
        assert connection.execute("select mail from users where dn = ?", (modified,)).fetchone() == (
            "new@example.com",
        )
