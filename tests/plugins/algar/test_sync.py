"""``run_sync`` against a real slapd standing in for OUD: idempotent, exact changes, a lost target, dry runs.

What the server applied is read from its audit log (every add and modify it
did, as LDIF change records) and its database (``slapcat``), never from
what sync says it did.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flext_plugin_algar.directory import Change, connect
from flext_plugin_algar.errors import LDAP_BIND_FAILED, LDAP_CONNECTION_LOST, LDAP_UNREACHABLE
from flext_plugin_algar.phases import DISABLED_VALUE, Migration
from flext_plugin_algar.sync import DRY_RUN_FILE, SyncProgress, output_ldif, run_sync
from flext_plugin_algar.verify import run_verify

from flext_sdk.contracts.ldif import LdifModification, LdifReader, LdifRecord
from flext_sdk.testing.ldap_server import LdapServer

from ._directory_fixtures import (
    audit,
    audit_changes,
    migrated,
    restart,
    serve_target,
    start_target,
    write_project,
)


def _entries(migration: Migration) -> list[LdifRecord]:
    return [item for item in migration.reader.read(output_ldif(migration)) if isinstance(item, LdifRecord)]


def _items(report: dict[str, Any]) -> list[dict[str, Any]]:
    path = Path(str(report["items_file"]))
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def oud_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LdapServer]:
    yield from serve_target(tmp_path_factory)


@pytest.fixture
def loaded(oud_target: LdapServer, ldif_reader: LdifReader, tmp_path: Path) -> Migration:
    """The sample migrated and synced once."""
    write_project(tmp_path, oud_target, batch_size=16)
    migration = migrated(tmp_path, ldif_reader)
    first = run_sync(migration)
    assert first.is_success, first
    assert first.value["counts"]["failed"] == 0, _items(first.value)
    return migration


def test_an_entry_the_server_refuses_is_named_with_its_line_and_the_others_load(
    oud_target: LdapServer, ldif_reader: LdifReader, tmp_path: Path
) -> None:
    # Entries a schema-checking server refuses: one user's mail made non-ASCII in the export (mail is an
    # IA5String) and one group's extensibleObject taken out of the output (groupOfUniqueNames does not
    # allow the displayName it keeps). Each refusal names the entry, its line, the LDAP result code and
    # the server's message; the other entries load.
    suffix = write_project(tmp_path, oud_target, batch_size=16)
    export = tmp_path / "oid-export.ldif"
    text = export.read_text(encoding="utf-8")
    accented = base64.b64encode("lsimões26@algar.com.br".encode()).decode()
    assert "mail: lsimoes26@algar.com.br\n" in text
    export.write_text(
        text.replace("mail: lsimoes26@algar.com.br\n", f"mail:: {accented}\n"), encoding="utf-8"
    )
    migration = migrated(tmp_path, ldif_reader)
    group = f"cn=dba-1,cn=Groups,{suffix}"
    output = output_ldif(migration)
    lines = output.read_text(encoding="utf-8").split("\n\n")
    lines = [part.replace("objectclass: extensibleObject\n", "") if f"dn: {group}" in part else part
             for part in lines]  # fmt: skip
    output.write_text("\n\n".join(lines), encoding="utf-8")
    done = run_sync(migration)
    assert done.is_success, done
    report = done.value
    assert report["counts"]["in"] == 60
    assert (report["counts"]["added"], report["counts"]["failed"]) == (58, 2)
    refused = {item["dn"]: item for item in _items(report) if item["code"] == "SYNC_REFUSED"}
    user = f"uid=lsimoes26,ou=Operações,cn=Users,{suffix}"
    assert set(refused) == {group, user}
    assert (refused[group]["result_code"], refused[group]["server_message"]) == (
        65,
        "attribute 'displayName' not allowed",
    )
    assert (refused[user]["result_code"], refused[user]["server_message"]) == (
        21,
        "mail: value #0 invalid per syntax",
    )
    lines_of = {record.dn: record.line for record in _entries(migration)}
    assert all(item["line"] == lines_of[dn] for dn, item in refused.items())
    assert Path(str(report["output"])) == output_ldif(migration)
    assert report["target"] == oud_target.url.rstrip("/")


def test_while_filling_the_target_an_entry_already_there_is_compared_not_added_twice(
    oud_target: LdapServer, ldif_reader: LdifReader, tmp_path: Path
) -> None:
    # After a batch that found none of its entries on the target, sync adds without reading first (one
    # round trip an entry, as ldapadd); an entry someone else added meanwhile is then refused as
    # existing, read, and only what differs is sent.
    write_project(tmp_path, oud_target, batch_size=10)
    migration = migrated(tmp_path, ldif_reader)
    records = _entries(migration)
    early = {record.normal_dn for record in records[:20]}
    late = next(r for r in records[30:] if r.normal_dn.split(",", 1)[1] in early and "cn" in r.attributes)
    planted: list[int] = []

    def plant(progress: SyncProgress) -> None:
        if progress.position == 20 and not planted:  # batches 1 and 2 are in; batch 4 holds ``late``
            classes = "".join(f"objectClass: {value}\n" for value in late.attributes["objectclass"])
            cn = "".join(f"cn: {value}\n" for value in late.attributes["cn"])
            sn = "sn: planted\n" if "sn" in late.attributes else ""
            oud_target.ldapadd(f"dn: {late.dn}\n{classes}{cn}{sn}description: planted by another client\n")
            planted.append(progress.position)

    done = run_sync(migration, on_batch=plant)
    assert done.is_success, done
    counts = done.value["counts"]
    assert planted == [20]
    assert (counts["added"], counts["modified"], counts["failed"]) == (len(records) - 1, 1, 0)
    [modified] = [item for item in _items(done.value) if item["code"] == "SYNC_MODIFIED"]
    assert modified["dn"] == late.dn
    verify = run_verify(migration).value
    assert verify["clean"], _items(verify)


def test_an_entry_whose_dn_the_target_cannot_read_is_an_item_and_the_sync_goes_on(
    oud_target: LdapServer, ldif_reader: LdifReader, tmp_path: Path
) -> None:
    # A DN naming an attribute type the target does not know: slapd answers its base read with
    # invalidDNSyntax (34). That is about the entry, not the connection: its add is refused and
    # reported, and the entries after it load (the batch read used to stop the sync for good).
    suffix = write_project(tmp_path, oud_target, batch_size=10)
    migration = migrated(tmp_path, ldif_reader)
    path = output_ldif(migration)
    odd = f"cn=odd+orclfoo=x,{suffix}"
    path.write_text(
        path.read_text(encoding="utf-8") + f"dn: {odd}\nobjectclass: applicationProcess\ncn: odd\n\n",
        encoding="utf-8",
    )
    for attempt in (1, 2):  # a second sync reads the batch first: the same DN again
        done = run_sync(migration)
        assert done.is_success, (attempt, done)
        refused = [item for item in _items(done.value) if item["code"] == "SYNC_REFUSED"]
        assert [item["dn"] for item in refused] == [odd], attempt
        assert done.value["counts"]["failed"] == 1


def test_a_resumed_sync_still_names_what_the_killed_one_saw_refused(
    oud_target: LdapServer, ldif_reader: LdifReader, tmp_path: Path
) -> None:
    # The killed run's refusal (in its first batch) must not vanish from the resumed run's report, or
    # the resumed sync would say "0 refused" and exit 0.
    suffix = write_project(tmp_path, oud_target, batch_size=10)
    migration = migrated(tmp_path, ldif_reader)
    path = output_ldif(migration)
    rest = path.read_text(encoding="utf-8")  # "version: 1", the base entry, then the others
    odd = f"cn=odd+orclfoo=x,{suffix}"
    head, base, tail = rest.split("\n\n", 2)
    path.write_text(
        f"{head}\n\n{base}\n\ndn: {odd}\nobjectclass: applicationProcess\ncn: odd\n\n{tail}", "utf-8"
    )
    seen: list[SyncProgress] = []

    class Killed(Exception):
        pass

    def kill_after_two(progress: SyncProgress) -> None:
        seen.append(progress)
        if len(seen) == 2:
            raise Killed

    with pytest.raises(Killed):
        run_sync(migration, on_batch=kill_after_two)
    assert seen[-1].counts["failed"] == 1
    resumed = run_sync(migration, resume_from=seen[-1].position, resumed_counts=seen[-1].counts)
    assert resumed.is_success, resumed
    report = resumed.value
    assert report["counts"]["failed"] == 1
    assert report["counts"]["in"] == len(_entries(migration))
    assert [item["dn"] for item in _items(report) if item["code"] == "SYNC_REFUSED"] == [odd]
    assert report["codes"]["SYNC_REFUSED"]["count"] == 1


def test_a_second_sync_adds_and_modifies_nothing(oud_target: LdapServer, loaded: Migration) -> None:
    before = audit(oud_target)
    again = run_sync(loaded)
    assert again.is_success, again
    counts = again.value["counts"]
    assert (counts["added"], counts["modified"], counts["unchanged"], counts["failed"]) == (0, 0, 60, 0)
    assert audit(oud_target) == before  # the server applied nothing
    assert run_verify(loaded).value["clean"]


def test_disabled_accounts_load_as_oud_documents_ds_pwp_account_disabled(
    oud_target: LdapServer, loaded: Migration
) -> None:
    # The target declares ds-pwp-account-disabled as OUD's schema does (Boolean syntax, booleanMatch):
    # every account OID had DISABLED loads with TRUE and an equality filter finds it; ``true``, what
    # the users phase wrote before, is refused by a server that checks the Boolean syntax (RFC 4517).
    disabled = [r for r in _entries(loaded) if "ds-pwp-account-disabled" in r.attributes]
    assert disabled
    assert {r.attributes["ds-pwp-account-disabled"] for r in disabled} == {(DISABLED_VALUE,)} == {("TRUE",)}
    found = oud_target.ldapsearch(loaded.project.base_dn.target, "(ds-pwp-account-disabled=TRUE)", "1.1")
    assert found.count(b"dn:") == len(disabled)
    connected = connect(loaded.project)
    assert connected.is_success, connected
    with connected.value as directory:
        refused = directory.modify(disabled[0].dn, [Change("replace", "ds-pwp-account-disabled", ("true",))])
    assert refused.is_success
    assert refused.value is not None
    assert refused.value.code == 21  # invalidAttributeSyntax


def test_sync_changes_exactly_what_differs(oud_target: LdapServer, loaded: Migration) -> None:
    entries = {record.dn.split(",", 1)[0]: record for record in _entries(loaded)}
    on_server = entries["uid=bgoncalves31"].dn
    in_ldif = entries["cn=dba-1"].dn
    oud_target.ldapmodify(f"dn: {on_server}\nchangetype: modify\nreplace: telephoneNumber\n"
                          "telephoneNumber: +55 11 0000 0000\n")  # fmt: skip
    path = output_ldif(loaded)
    text = path.read_text(encoding="utf-8")
    block = text.index(f"dn: {in_ldif}\n")
    text = text[:block] + text[block:].replace("cn: dba-1\n", "cn: dba-1\ndescription: the DBAs\n", 1)
    path.write_text(text, encoding="utf-8")
    before = audit(oud_target)

    done = run_sync(loaded)
    assert done.is_success, done
    counts = done.value["counts"]
    assert (counts["added"], counts["modified"], counts["unchanged"]) == (0, 2, 58)
    modified = {
        item["dn"]: item["attributes"] for item in _items(done.value) if item["code"] == "SYNC_MODIFIED"
    }
    assert modified == {on_server: ["telephonenumber"], in_ldif: ["description"]}
    applied = audit(oud_target)[len(before) :]
    assert sorted(audit_changes(applied)) == sorted([("modify", on_server), ("modify", in_ldif)])
    assert "telephoneNumber: +55 34" in applied  # the source's number is back
    assert "description: the DBAs" in applied
    assert run_verify(loaded).value["clean"]


def test_a_wrong_bind_password_fails_naming_the_target_never_the_password(
    oud_target: LdapServer, ldif_reader: LdifReader, tmp_path: Path
) -> None:
    write_project(tmp_path, oud_target, password="not-the-Secret-42")
    migration = migrated(tmp_path, ldif_reader)
    before = audit(oud_target)
    done = run_sync(migration)
    assert done.is_failure
    assert done.error_code == LDAP_BIND_FAILED
    assert oud_target.url.rstrip("/") in (done.error or "")
    assert oud_target.admin_dn in (done.error or "")
    assert "not-the-Secret-42" not in (done.error or "") + json.dumps(dict(done.error_data or {}))
    assert audit(oud_target) == before


def test_an_unreachable_target_fails_naming_its_url(
    ldif_reader: LdifReader, tmp_path: Path, oud_target: LdapServer
) -> None:
    stopped = start_target(tmp_path / "gone")
    stopped.stop()  # a port nothing listens on any more
    write_project(tmp_path / "project", oud_target)
    project = tmp_path / "project" / "algar.yaml"
    project.write_text(project.read_text().replace(oud_target.url.rstrip("/"), stopped.url.rstrip("/")))
    migration = migrated(tmp_path / "project", ldif_reader)
    done = run_sync(migration)
    assert done.is_failure
    assert done.error_code == LDAP_UNREACHABLE
    assert stopped.url.rstrip("/") in (done.error or "")
    assert not (migration.out / "08-sync.report.json").exists()


@pytest.mark.slow
def test_a_target_stopped_between_batches_then_a_rerun_finishes_with_nothing_applied_twice(
    ldif_reader: LdifReader, tmp_path: Path
) -> None:
    server = start_target(tmp_path / "slapd")
    try:
        write_project(tmp_path / "project", server, batch_size=10)
        migration = migrated(tmp_path / "project", ldif_reader)
        seen: list[SyncProgress] = []

        def stop_after_two(progress: SyncProgress) -> None:
            seen.append(progress)
            if len(seen) == 2:
                server.stop()

        broken = run_sync(migration, on_batch=stop_after_two)
        assert broken.is_failure
        assert broken.error_code == LDAP_CONNECTION_LOST
        entries = _entries(migration)
        assert "sync stopped in batch 3 (entries 21-30 of 07-output.ldif)" in (broken.error or "")
        assert entries[20].dn in (broken.error or "")
        assert server.url.rstrip("/") in (broken.error or "")
        assert (broken.error_data or {})["position"] == seen[-1].position == 20
        assert [p.last_dn for p in seen] == [entries[9].dn, entries[19].dn]

        server = restart(server)
        resumed = run_sync(migration, resume_from=seen[-1].position)
        assert resumed.is_success, resumed
        assert resumed.value["resumed_from"] == 20
        assert resumed.value["counts"]["added"] == len(entries) - 20

        again = run_sync(migration)  # from the start: everything is there, nothing is sent
        assert again.value["counts"]["unchanged"] == len(entries)
        adds = [dn for kind, dn in audit_changes(audit(server)) if kind == "add"]
        loaded = [dn for dn in adds if dn.endswith(migration.project.base_dn.target)]
        assert sorted(loaded) == sorted(record.dn for record in entries)  # each entry added exactly once
        assert [kind for kind, _ in audit_changes(audit(server))].count("modify") == 0
        assert run_verify(migration).value["clean"]
    finally:
        server.stop()


def test_a_dry_run_writes_the_change_records_and_changes_nothing(
    oud_target: LdapServer, loaded: Migration
) -> None:
    entries = {record.dn.split(",", 1)[0]: record for record in _entries(loaded)}
    user = entries["uid=bgoncalves31"].dn
    group = entries["cn=admins-0"].dn
    member = entries["uid=cfernandes0"].dn
    oud_target.ldapmodify(
        f"dn: {user}\nchangetype: modify\nreplace: telephoneNumber\ntelephoneNumber: +55 11 0000 0000\n-\n"
        "add: description\ndescription: added on the server\n\n"
        f"dn: {group}\nchangetype: modify\ndelete: uniqueMember\nuniqueMember: {member}\n\n"
        f"dn: {entries['uid=lsilva8'].dn}\nchangetype: delete\n"
    )
    before = oud_target.slapcat()
    audited = audit(oud_target)

    done = run_sync(loaded, dry_run=True)
    assert done.is_success, done
    assert oud_target.slapcat() == before
    assert audit(oud_target) == audited
    counts = done.value["counts"]
    assert (counts["added"], counts["modified"], counts["unchanged"]) == (1, 2, 57)
    assert done.value["dry_run"] is True
    changes = (loaded.out / DRY_RUN_FILE).read_text(encoding="utf-8")
    assert changes.startswith("version: 1\n\n")
    records = {r.dn: r for r in loaded.reader.read(loaded.out / DRY_RUN_FILE) if isinstance(r, LdifRecord)}
    assert set(records) == {user, group, entries["uid=lsilva8"].dn}
    assert records[group].change_type == "modify"
    assert records[group].modifications == (LdifModification("add", "uniquemember", (member,)),)
    assert records[user].modifications == (
        LdifModification("delete", "description", ()),
        LdifModification(
            "replace", "telephonenumber", entries["uid=bgoncalves31"].attributes["telephonenumber"]
        ),
    )
    added = records[entries["uid=lsilva8"].dn]
    assert (added.change_type, added.is_change) == ("add", True)
    assert added.attributes == entries["uid=lsilva8"].attributes
    real = json.loads((loaded.out / "08-sync.report.json").read_text(encoding="utf-8"))
    assert real["dry_run"] is False  # a dry run has its own report, 08-sync.dry-run.report.json
    assert json.loads((loaded.out / "08-sync.dry-run.report.json").read_text(encoding="utf-8"))["dry_run"]

    # The records are what sync would send: ldapmodify applies them, and the target is then the source.
    oud_target.ldapmodify(changes.removeprefix("version: 1\n\n"))
    assert run_verify(loaded).value["clean"]


def test_directory_renames_and_deletes_and_reports_refusals(oud_target: LdapServer, tmp_path: Path) -> None:
    from flext_plugin_algar.directory import connect
    from flext_plugin_algar.project import load_project

    suffix = write_project(tmp_path, oud_target)
    parent = suffix.split(",", 1)[1]
    oud_target.ldapadd(f"dn: ou=a,{parent}\nobjectClass: organizationalUnit\nou: a\n\n"
                       f"dn: cn=x,ou=a,{parent}\nobjectClass: person\ncn: x\nsn: x\n")  # fmt: skip
    with connect(load_project(tmp_path).value).value as directory:
        refused = directory.delete(f"ou=a,{parent}").value  # not a leaf
        assert refused is not None
        assert (refused.code, refused.name) == (66, "notAllowedOnNonLeaf")
        assert directory.rename(f"cn=x,ou=a,{parent}", "cn=y", new_superior=parent).value is None
        assert directory.delete(f"ou=a,{parent}").value is None
        [moved] = directory.read([f"cn=y,{parent}", f"cn=x,ou=a,{parent}"], ()).value
        assert moved.attributes["cn"] == (b"y",)


def test_a_record_that_cannot_be_read_is_reported_with_its_line_and_the_others_load(
    oud_target: LdapServer, ldif_reader: LdifReader, tmp_path: Path
) -> None:
    write_project(tmp_path, oud_target, batch_size=16)
    migration = migrated(tmp_path, ldif_reader)
    path = output_ldif(migration)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    broken = next(index for index, line in enumerate(lines) if line.startswith("dn: cn=dba-1,")) + 1
    lines.insert(broken, "this line is not LDIF\n")
    path.write_text("".join(lines), encoding="utf-8")
    done = run_sync(migration)
    assert done.is_success, done
    counts = done.value["counts"]
    assert (counts["failed"], counts["added"]) == (1, 59)
    [problem] = [item for item in _items(done.value) if item["code"] == "LDIF_SYNTAX"]
    assert problem["line"] == broken + 1
