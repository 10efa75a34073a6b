"""Issue 15, item 7: change records are events, every one kept, and can be applied in order.

The reference is a real slapd: changes are made with ``ldapmodify``, its
``auditlog`` overlay writes them as LDIF change records, and the tap reads
that file. With ``changes_stream`` (the default) each change is one record of the
``changes`` stream, keyed by DN and sequence, so three modifies of one entry
are three rows in target-sqlite (they were one). With ``apply_changes`` an
export taken before the changes, followed by the audit log, gives the entries
``slapcat`` exports after them.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from flext_plugin_ldif.records import STREAMS

from flext_sdk.testing.ldap_server import LdapServer

OPERATIONAL = {"structuralobjectclass", "entryuuid", "creatorsname", "createtimestamp", "entrycsn",
               "modifiersname", "modifytimestamp"}  # fmt: skip
BASE = """dn: ou=people,{base}
objectClass: organizationalUnit
ou: people

dn: ou=alumni,{base}
objectClass: organizationalUnit
ou: alumni

dn: uid=ada,ou=people,{base}
objectClass: inetOrgPerson
uid: ada
cn: Ada
sn: L
mail: old@example.com

dn: cn=staff,{base}
objectClass: groupOfNames
cn: staff
member: uid=ada,ou=people,{base}
"""
CHANGES = """dn: uid=ada,ou=people,{base}
changetype: modify
replace: sn
sn: Lovelace

dn: uid=ada,ou=people,{base}
changetype: modify
add: mail
mail: ada@example.com

dn: uid=ada,ou=people,{base}
changetype: modify
replace: jpegPhoto
jpegPhoto:: /9j/4AAQ
-
delete: mail
mail: old@example.com

dn: uid=bob,ou=people,{base}
changetype: add
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: B

dn: uid=bob,ou=people,{base}
changetype: modrdn
newrdn: uid=robert
deleteoldrdn: 1
newsuperior: ou=alumni,{base}

dn: uid=carol,ou=people,{base}
changetype: add
objectClass: inetOrgPerson
uid: carol
cn: Carol
sn: C

dn: cn=staff,{base}
changetype: modify
add: member
member: uid=carol,ou=people,{base}

dn: uid=carol,ou=people,{base}
changetype: delete

dn: uid=dan,ou=people,{base}
changetype: add
objectClass: inetOrgPerson
uid: dan
cn: Dan
sn: D

dn: uid=dan,ou=people,{base}
changetype: moddn
newrdn: cn=Daniel
deleteoldrdn: 0
"""
KINDS = ["modify", "modify", "modify", "add", "modrdn", "add", "modify", "delete", "add", "modrdn"]


@pytest.fixture
def audited(ldap_server: LdapServer, tmp_path: Path) -> tuple[str, Path, Path, Path]:
    """A subtree with BASE, its export before, the audit log of CHANGES, and its export after."""
    base = ldap_server.subtree()
    ldap_server.ldapadd(BASE.format(base=base))
    before = tmp_path / "before.ldif"
    before.write_bytes(ldap_server.slapcat(base))
    start = ldap_server.audit_log.stat().st_size
    ldap_server.ldapmodify(CHANGES.format(base=base))
    audit = tmp_path / "audit.ldif"
    with ldap_server.audit_log.open("rb") as log:
        log.seek(start)
        audit.write_bytes(log.read())
    after = tmp_path / "after.ldif"
    after.write_bytes(ldap_server.slapcat(base))
    return base, before, audit, after


def test_every_change_of_an_audit_log_is_one_record_of_the_changes_stream(run_tap, audited) -> None:
    base, _, audit, _ = audited
    run = run_tap({"files": [str(audit)]})  # changes_stream is on by default
    assert run.exit_code == 0, run.stderr
    changes = run.records("changes")
    assert [c["change_type"] for c in changes] == KINDS
    assert [c["sequence"] for c in changes] == list(range(1, 11))
    assert len({(c["dn"], c["sequence"]) for c in changes}) == 10
    ada = [c for c in changes if c["dn"] == f"uid=ada,ou=people,{base}"]
    assert [(c["modifications"][0]["operation"], c["modifications"][0]["attribute"]) for c in ada] == [
        ("replace", "sn"), ("add", "mail"), ("replace", "jpegphoto")]  # fmt: skip
    photo = ada[2]["modifications"][0]
    assert (photo["values"], photo["binary"]) == (["/9j/4AAQ"], True)
    moved = changes[4]
    assert (moved["new_rdn"], moved["delete_old_rdn"], moved["new_superior"]) == (
        "uid=robert",
        True,
        f"ou=alumni,{base}",
    )
    assert run.counts() == {"changes": 10}  # change records no longer go to the entry streams


def test_target_sqlite_keeps_all_ten_changes(audited, tmp_path: Path) -> None:
    _, _, audit, _ = audited
    (tmp_path / "tap.json").write_text(json.dumps({"files": [str(audit)]}))  # the default config
    (tmp_path / "target.json").write_text(json.dumps({"database": str(tmp_path / "out.db")}))
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        f"{bin_dir / 'tap-ldif'} --config tap.json | {bin_dir / 'target-sqlite'} --config target.json",
        shell=True, check=True, cwd=tmp_path, capture_output=True, timeout=120,
    )  # fmt: skip
    with sqlite3.connect(tmp_path / "out.db") as connection:
        kinds = [kind for (kind,) in connection.execute("select change_type from changes order by sequence")]
    connection.close()
    assert kinds == KINDS


def _entries(records: list[dict[str, Any]]) -> dict[str, dict[str, list[bytes]]]:
    result = {}
    for record in records:
        binary = set(record["binary_attributes"])
        result[record["dn"].lower()] = {
            name: sorted(base64.b64decode(v) if name in binary else v.encode() for v in values)
            for name, values in record["attributes"].items()
            if name not in OPERATIONAL
        }
    return result


def _exported(export: bytes) -> dict[str, dict[str, list[bytes]]]:
    entries = {}
    for block in export.split(b"\n\n"):
        attributes: dict[str, list[bytes]] = defaultdict(list)
        dn = None
        for line in block.split(b"\n"):
            if not line or line.startswith(b"#"):
                continue
            name, _, rest = line.partition(b":")
            value = base64.b64decode(rest[1:].strip()) if rest.startswith(b":") else rest.lstrip(b" ")
            key = name.decode().lower()
            if key == "dn":
                dn = value.decode().lower()
            elif key not in OPERATIONAL:
                attributes[key].append(value)
        if dn is not None:
            entries[dn] = {name: sorted(values) for name, values in attributes.items()}
    return entries


def test_applying_the_audit_log_to_the_export_before_gives_the_export_after(run_tap, audited) -> None:
    base, before, audit, after = audited
    run = run_tap({"files": [str(before), str(audit)], "apply_changes": True})
    assert run.exit_code == 0, run.stderr
    entries = [r for stream in STREAMS for r in run.records(stream)]  # changes has the audit log as it is
    records = [r for r in entries if r["change_type"] != "delete"]
    assert _entries(records) == _exported(after.read_bytes())
    deleted = sorted(r["dn"] for r in entries if r["change_type"] == "delete")
    assert deleted == sorted(f"uid={uid},ou=people,{base}" for uid in ("bob", "carol", "dan"))


_EXPORT = """dn: ou=people,dc=example,dc=com
objectClass: organizationalUnit
ou: people
modifyTimestamp: 20200101000000Z

dn: uid=ada,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: ada
cn: Ada
sn: Lovelace
mail: ada@old.example
modifyTimestamp: 20200101000000Z

dn: uid=bob,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: Builder
modifyTimestamp: 20200101000000Z

dn: uid=cy,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: cy
cn: Cy
sn: Newer
modifyTimestamp: 20210101000000Z
"""

_LATER = """
dn: uid=ada,ou=people,dc=example,dc=com
changetype: modify
replace: mail
mail: ada@new.example
-

dn: uid=bob,ou=people,dc=example,dc=com
changetype: modrdn
newrdn: uid=robert
deleteoldrdn: 1
"""


def test_an_incremental_run_applying_changes_sends_what_they_changed(run_tap, tmp_path: Path) -> None:
    """Entries a change record touched are sent again, although their own modifyTimestamp is old.

    The bookmark after the first run is cy's 2021 timestamp; ada's and bob's stay 2020.
    """
    export = tmp_path / "directory.ldif"
    export.write_text(_EXPORT)
    config = {"files": [str(export)], "apply_changes": True}
    first = run_tap(config)
    assert first.exit_code == 0, first.stderr
    with export.open("a") as handle:
        handle.write(_LATER)
    later = run_tap(config, state=first.state)
    assert later.exit_code == 0, later.stderr
    users = {record["written_dn"]: record for record in later.records("users")}
    assert users["uid=ada,ou=people,dc=example,dc=com"]["mail"] == "ada@new.example"
    assert users["uid=robert,ou=people,dc=example,dc=com"]["change_type"] != "delete"
    assert users["uid=bob,ou=people,dc=example,dc=com"]["change_type"] == "delete"


def test_an_entry_deleted_then_added_again_is_not_sent_as_deleted(run_tap, tmp_path: Path) -> None:
    export = tmp_path / "directory.ldif"
    export.write_text(
        _EXPORT
        + "\ndn: uid=bob,ou=people,dc=example,dc=com\nchangetype: delete\n"
        + "\ndn: uid=bob,ou=people,dc=example,dc=com\nchangetype: add\nobjectClass: inetOrgPerson\n"
        + "uid: bob\ncn: Bob\nsn: Again\n"
    )
    run = run_tap({"files": [str(export)], "apply_changes": True})
    assert run.exit_code == 0, run.stderr
    bobs = [r for r in run.records("users") if r["written_dn"] == "uid=bob,ou=people,dc=example,dc=com"]
    assert [record["change_type"] == "delete" for record in bobs] == [False], bobs
    assert bobs[0]["sn"] == "Again"


def test_an_entry_deleted_then_added_again_as_another_kind_leaves_a_delete_in_its_old_stream(
    run_tap, tmp_path: Path
) -> None:
    export = tmp_path / "directory.ldif"
    export.write_text(
        _EXPORT
        + "\ndn: uid=bob,ou=people,dc=example,dc=com\nchangetype: delete\n"
        + "\ndn: uid=bob,ou=people,dc=example,dc=com\nchangetype: add\nobjectClass: groupOfNames\n"
        + "cn: bob\nmember: uid=ada,ou=people,dc=example,dc=com\n"
    )
    run = run_tap({"files": [str(export)], "apply_changes": True})
    assert run.exit_code == 0, run.stderr
    bob = "uid=bob,ou=people,dc=example,dc=com"
    users = [record for record in run.records("users") if record["written_dn"] == bob]
    groups = [record for record in run.records("groups") if record["written_dn"] == bob]
    assert [record["change_type"] for record in users] == ["delete"]
    assert [record["change_type"] == "delete" for record in groups] == [False]
