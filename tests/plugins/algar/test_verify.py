"""``run_verify`` against a real slapd standing in for OUD: missing, extra and different entries."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flext_plugin_algar.phases import Migration
from flext_plugin_algar.sync import output_ldif, run_sync
from flext_plugin_algar.verify import run_verify

from flext_sdk.contracts.ldif import LdifReader, LdifRecord
from flext_sdk.testing.ldap_server import LdapServer

from ._directory_fixtures import migrated, serve_target, write_project


@pytest.fixture(scope="module")
def oud_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LdapServer]:
    yield from serve_target(tmp_path_factory)


@pytest.fixture
def loaded(oud_target: LdapServer, ldif_reader: LdifReader, tmp_path: Path) -> Migration:
    write_project(tmp_path, oud_target, batch_size=25)
    migration = migrated(tmp_path, ldif_reader)
    assert run_sync(migration).value["counts"]["failed"] == 0
    return migration


def _entries(migration: Migration) -> dict[str, LdifRecord]:
    records = [r for r in migration.reader.read(output_ldif(migration)) if isinstance(r, LdifRecord)]
    return {record.dn.split(",", 1)[0]: record for record in records}


def _items(report: dict[str, Any]) -> list[dict[str, Any]]:
    path = Path(report["items_file"])
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_loaded_target_is_clean_even_where_the_server_writes_dns_and_classes_its_own_way(
    oud_target: LdapServer, loaded: Migration
) -> None:
    entries = _entries(loaded)
    group = entries["cn=admins-0"]
    members = [str(value) for value in group.attributes["uniquemember"]]
    shouted = "".join(f"uniqueMember: {m.upper().replace(',', ', ')}\n" for m in members)
    oud_target.ldapmodify(
        f"dn: {group.dn}\nchangetype: modify\nreplace: uniqueMember\n{shouted}-\n"
        "replace: objectClass\nobjectClass: TOP\nobjectClass: GROUPOFUNIQUENAMES\n"
        "objectClass: EXTENSIBLEOBJECT\n"
    )
    report = run_verify(loaded).value
    assert report["clean"], _items(report)
    assert report["counts"]["same"] == report["counts"]["in"] == 60
    assert (loaded.out / "09-verify.report.json").exists()


def test_missing_extra_and_different_entries_are_reported_with_their_differences(
    oud_target: LdapServer, loaded: Migration
) -> None:
    entries = _entries(loaded)
    gone = entries["uid=lsilva8"]
    mailed = entries["uid=bgoncalves31"]
    photographed = next(
        r for r in entries.values() if "jpegphoto" in r.attributes and "userpassword" in r.attributes
    )
    suffix = loaded.project.base_dn.target
    extra = f"ou=Legado,{suffix}"
    photo = b"\xff\xd8\xff\xe0 another photo"
    password = b"{SSHA}c29tZXRoaW5nIGVsc2UgZW50aXJlbHk="
    oud_target.ldapmodify(
        f"dn: {gone.dn}\nchangetype: delete\n\n"
        f"dn: {extra}\nchangetype: add\nobjectClass: organizationalUnit\nou: Legado\n\n"
        f"dn: {mailed.dn}\nchangetype: modify\nreplace: mail\nmail: someone.else@algar.com.br\n-\n"
        "add: description\ndescription: only on the target\n\n"
        f"dn: {photographed.dn}\nchangetype: modify\nreplace: jpegPhoto\n"
        f"jpegPhoto:: {base64.b64encode(photo).decode()}\n-\n"
        f"replace: userPassword\nuserPassword:: {base64.b64encode(password).decode()}\n"
    )
    report = run_verify(loaded).value
    counts = report["counts"]
    assert not report["clean"]
    assert (counts["missing"], counts["extra"], counts["different"]) == (1, 1, 2)
    assert counts["same"] == 60 - 3
    items = {(item["code"], item["dn"]): item for item in _items(report)}
    assert items[("VERIFY_MISSING", gone.dn)]["line"] == gone.line
    assert ("VERIFY_EXTRA", extra) in items
    mail = items[("VERIFY_DIFFERENT", mailed.dn)]
    assert mail["line"] == mailed.line
    assert mail["differences"] == [
        {"attribute": "description", "only_in_source": [], "only_in_target": ["only on the target"]},
        {
            "attribute": "mail",
            "only_in_source": [str(mailed.attributes["mail"][0])],
            "only_in_target": ["someone.else@algar.com.br"],
        },
    ]
    binary = {d["attribute"]: d for d in items[("VERIFY_DIFFERENT", photographed.dn)]["differences"]}
    assert set(binary) == {"jpegphoto", "userpassword"}
    assert binary["jpegphoto"]["only_in_target"] == ["base64:" + base64.b64encode(photo).decode()]
    assert binary["userpassword"]["only_in_target"] == [f"{{SSHA}}<hidden, {len(password)} bytes>"]
    written = Path(report["items_file"]).read_text(encoding="utf-8") + json.dumps(report)
    assert password.decode() not in written  # hashes are never copied into the reports
    assert "c29tZXRoaW5n" not in written
    examples = report["codes"]["VERIFY_DIFFERENT"]["examples"]
    assert {example["dn"] for example in examples} == {mailed.dn, photographed.dn}


def test_an_empty_target_is_all_missing(
    oud_target: LdapServer, ldif_reader: LdifReader, tmp_path: Path
) -> None:
    write_project(tmp_path, oud_target)
    migration = migrated(tmp_path, ldif_reader)
    report = run_verify(migration).value
    assert (report["counts"]["missing"], report["counts"]["extra"]) == (60, 0)
    assert report["clean"] is False
