"""Sync's fast paths: adds encoded by ``encode_add`` and several in flight, the idempotency check by one scan.

``encode_add`` must be byte for byte what ldap3 (pyasn1) sends for the same
add, for any DN, names and values. On a real slapd: a sync from the start
compares through one paged search and no base read, also when the target's
entries come in another order than the file's (the read-ahead limit forces
the per-entry reads); the children of an add the server refuses are refused
in turn, each named, and nothing else is.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flext_plugin_algar import directory as directory_module
from flext_plugin_algar import sync as sync_module
from flext_plugin_algar.directory import Change, Directory, connect
from flext_plugin_algar.ldif_out import format_record
from flext_plugin_algar.phases import Migration
from flext_plugin_algar.pipeline import encode_add, parent_of
from flext_plugin_algar.sync import output_ldif, run_sync
from hypothesis import given, settings
from hypothesis import strategies as st

from flext_sdk.contracts.ldif import LdifReader, LdifRecord
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


@pytest.fixture(scope="module")
def oud_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LdapServer]:
    yield from serve_target(tmp_path_factory)


def _pyasn1_add(message_id: int, dn: str, attributes: dict[str, list[str | bytes]]) -> bytes:
    """What ldap3's ``Connection.add`` sends: its request built and encoded by pyasn1."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from ldap3.operation.add import add_operation
        from ldap3.protocol.rfc4511 import LDAPMessage, MessageID, ProtocolOp
        from pyasn1.codec.ber import encoder

    message = LDAPMessage()
    message["messageID"] = MessageID(message_id)
    request = add_operation(dn, attributes, None, None, False)
    message["protocolOp"] = ProtocolOp().setComponentByName("addRequest", request)
    return bytes(encoder.encode(message))


_names = st.from_regex(r"[a-zA-Z][a-zA-Z0-9-]{0,20}(;[a-z-]{1,8})?", fullmatch=True)
_values = st.one_of(st.text(min_size=1, max_size=300), st.binary(min_size=1, max_size=400))


@settings(max_examples=200, deadline=None)
@given(
    message_id=st.integers(min_value=1, max_value=2**31 - 1),
    dn=st.text(min_size=1, max_size=200),
    attributes=st.dictionaries(_names, st.lists(_values, min_size=1, max_size=5), min_size=1, max_size=6),
)
def test_encode_add_is_byte_for_byte_what_ldap3_sends(
    message_id: int, dn: str, attributes: dict[str, list[str | bytes]]
) -> None:
    assert encode_add(message_id, dn, attributes) == _pyasn1_add(message_id, dn, attributes)


def test_encode_add_of_a_long_entry_uses_long_form_lengths() -> None:
    photo = bytes(range(256)) * 300  # 76,800 octets: a three-octet length
    attributes: dict[str, list[str | bytes]] = {"objectClass": ["top", "person"], "jpegPhoto": [photo]}
    assert encode_add(128, "cn=a,dc=b", attributes) == _pyasn1_add(128, "cn=a,dc=b", attributes)


@pytest.mark.parametrize(
    ("normal", "parent"),
    [
        ("cn=a,ou=b,dc=c", "ou=b,dc=c"),
        ("dc=c", None),
        ("cn=a\\,b,ou=x", "ou=x"),
        ("cn=a\\\\,ou=x", "ou=x"),
        ("cn=a\\2cb,ou=x", "ou=x"),
        ("cn=a\\,b", None),
    ],
)
def test_parent_of_respects_escaped_commas(normal: str, parent: str | None) -> None:
    assert parent_of(normal) == parent


def _entries(migration: Migration) -> list[LdifRecord]:
    return [item for item in migration.reader.read(output_ldif(migration)) if isinstance(item, LdifRecord)]


def test_a_second_sync_compares_through_one_paged_scan_and_reads_no_entry_by_itself(
    oud_target: LdapServer, ldif_reader: LdifReader, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(tmp_path, oud_target, batch_size=8)
    migration = migrated(tmp_path, ldif_reader)
    first = run_sync(migration)
    assert first.is_success, first
    assert first.value["counts"]["added"] == len(_entries(migration))

    def no_base_read(*_: object, **__: object) -> object:
        raise AssertionError("a base read during a sync from the start of a loaded target")

    monkeypatch.setattr(Directory, "read_one", no_base_read)
    monkeypatch.setattr(Directory, "read", no_base_read)
    monkeypatch.setattr(directory_module, "_PAGE", 7)  # pages of 7: the scan follows the cookies
    before = len(audit_changes(audit(oud_target)))
    again = run_sync(migration)
    assert again.is_success, again
    assert again.value["counts"]["unchanged"] == len(_entries(migration))
    assert len(audit_changes(audit(oud_target))) == before  # nothing sent


def _rewrite(migration: Migration, records: list[LdifRecord]) -> None:
    """Write ``records`` as the output the next sync loads (the plugin's own LDIF writer)."""
    parts = ["version: 1\n\n"] + [format_record(r.dn, list(r.attributes.items())) for r in records]
    output_ldif(migration).write_text("".join(parts), encoding="utf-8")


def _depth(record: LdifRecord) -> int:
    return len(record.normal_dn.replace("\\\\", "").replace("\\,", "").split(","))


def test_a_target_in_another_order_than_the_file_is_still_compared_exactly(
    oud_target: LdapServer, ldif_reader: LdifReader, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The scan may hold only 3 entries read ahead of the file; several of the target's users are changed,
    # and the file is written in another order than the target's (parents still first, each level
    # reversed): most entries are then read by themselves, and the changes are exactly the right ones.
    write_project(tmp_path, oud_target, batch_size=8)
    migration = migrated(tmp_path, ldif_reader)
    assert run_sync(migration).is_success
    entries = _entries(migration)
    users = [r for r in entries if r.normal_dn.startswith("uid=")]
    changed = users[:: max(1, len(users) // 4)]
    connected = connect(migration.project)
    assert connected.is_success, connected
    with connected.value as directory:
        for record in changed:
            done = directory.modify(record.dn, [Change("replace", "description", ("changed on the target",))])
            assert done.is_success
            assert done.value is None, done.value
    order = sorted(range(len(entries)), key=lambda i: (_depth(entries[i]), -i))
    _rewrite(migration, [entries[i] for i in order])
    before = len(audit_changes(audit(oud_target)))
    monkeypatch.setattr(sync_module, "_SCAN_AHEAD", 3)
    monkeypatch.setattr(directory_module, "_PAGE", 2)
    again = run_sync(migration)
    assert again.is_success, again
    counts = again.value["counts"]
    assert (counts["modified"], counts["added"], counts["failed"]) == (len(changed), 0, 0), counts
    assert counts["unchanged"] == len(entries) - len(changed)
    sent = audit_changes(audit(oud_target))[before:]
    assert sorted(sent) == sorted(("modify", record.dn) for record in changed)


def test_the_children_of_a_refused_add_are_refused_and_named_and_nothing_else(
    oud_target: LdapServer, ldif_reader: LdifReader, tmp_path: Path
) -> None:
    # A department the server refuses (an object class it does not know) sent with its users close
    # behind: the pipeline waits for the department's answer before it sends a user under it, so each
    # is refused with noSuchObject (32) and named, never added, and every other entry loads.
    write_project(tmp_path, oud_target)
    migration = migrated(tmp_path, ldif_reader)
    entries = _entries(migration)
    department = next(r for r in entries if r.normal_dn.startswith("ou=engenharia,"))
    broken = dict(department.attributes)
    broken["objectclass"] = (*broken["objectclass"], "noSuchClassAnywhere")
    _rewrite(migration, [replace(r, attributes=broken) if r is department else r for r in entries])
    children = [r for r in entries if r.normal_dn.endswith("," + department.normal_dn)]
    assert len(children) >= 2
    done = run_sync(migration)
    assert done.is_success, done
    counts = done.value["counts"]
    assert counts["failed"] == 1 + len(children), counts
    assert counts["added"] == len(entries) - 1 - len(children)
    items = [json.loads(line) for line in Path(done.value["items_file"]).read_text().splitlines()]
    refused = {item["dn"]: item["result_code"] for item in items if item["code"] == "SYNC_REFUSED"}
    assert refused.pop(department.dn) != 32
    assert refused == {child.dn: 32 for child in children}


def test_a_target_that_limits_the_scan_is_compared_entry_by_entry(
    ldif_reader: LdifReader, tmp_path: Path
) -> None:
    # The loading account may read 5 entries per search (a size limit, as OUD's ds-rlim-size-limit):
    # the scan is refused after its first page, and the second sync still compares every entry, by
    # base reads, and sends nothing.
    server = start_target(tmp_path / "slapd")
    try:
        loader = f"cn=loader,{server.suffix}"
        server.ldapadd(
            f"dn: {loader}\nobjectClass: person\nobjectClass: simpleSecurityObject\ncn: loader\nsn: loader\n"
            "userPassword: loader-pw-1\n"
        )
        write_project(tmp_path / "project", server, batch_size=8, password="loader-pw-1")
        settings = tmp_path / "project" / "algar.yaml"
        settings.write_text(
            settings.read_text(encoding="utf-8").replace(f"bind_dn: {server.admin_dn}", f"bind_dn: {loader}"),
            encoding="utf-8",
        )
        server.stop()
        rules = f'limits dn.exact="{loader}" size=5 size.pr=5 size.prtotal=5\n'
        rules += f'access to * by dn.exact="{loader}" manage by * read\n'
        server.config.write_text(server.config.read_text(encoding="utf-8") + rules, encoding="utf-8")
        server = restart(server)
        migration = migrated(tmp_path / "project", ldif_reader)
        first = run_sync(migration)
        assert first.is_success, first
        assert first.value["counts"]["added"] == len(_entries(migration)), first.value
        before = len(audit_changes(audit(server)))
        again = run_sync(migration)
        assert again.is_success, again
        assert again.value["counts"]["unchanged"] == len(_entries(migration)), again.value
        assert len(audit_changes(audit(server))) == before
    finally:
        server.stop()


def test_the_rate_limit_paces_every_entry_with_adds_in_flight(
    oud_target: LdapServer, ldif_reader: LdifReader, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # rate_limit 20 a second: the loader's Pacer is built with it and called once per entry, before
    # the entry is sent, on a clock that only moves when the pacer sleeps: so every entry after the
    # first waits its 1/20 s, whatever the pipeline has in flight, and all of them load.
    write_project(tmp_path, oud_target, batch_size=16)
    settings = tmp_path / "algar.yaml"
    settings.write_text(
        settings.read_text(encoding="utf-8").replace("rate_limit: 0 ", "rate_limit: 20 "), encoding="utf-8"
    )
    migration = migrated(tmp_path, ldif_reader)
    assert migration.project.rate_limit == 20
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    built: list[float] = []

    class Recorded(sync_module.Pacer):
        def __init__(self, rate: float, **_: object) -> None:
            built.append(rate)
            super().__init__(rate, clock=lambda: now[0], sleep=sleep)

    monkeypatch.setattr(sync_module, "Pacer", Recorded)
    done = run_sync(migration)
    assert done.is_success, done
    entries = len(_entries(migration))
    assert done.value["counts"]["added"] == entries
    assert built == [20]
    assert len(slept) == entries - 1
    assert now[0] == pytest.approx((entries - 1) / 20)
