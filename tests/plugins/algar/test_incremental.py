"""oud sync's change detection (``flext_plugin_algar.incremental``), without a server.

A snapshot is taken of a small directory, the directory is edited at random
(values changed, entries added, deleted, renamed keeping their ``orclguid``,
operational attributes touched, values reordered), and the scan of the edited
directory must find exactly the entries edited: no more, no fewer.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

from flext_plugin_algar.incremental import Scan, content_hash, fingerprint, prepare, scan
from flext_plugin_algar.ldif_out import format_record
from flext_plugin_algar.phases import Migration
from flext_plugin_algar.project import Rules, load_project
from flext_plugin_algar.report import PhaseReport
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flext_sdk.contracts.ldif import LdifReader, LdifRecord

PROJECT = """\
version: 1
source: {ldif: export.ldif}
target: {url: "ldap://127.0.0.1:9", bind_dn: "cn=admin,dc=br", bind_password: "env:NO_SUCH_SECRET"}
base_dn: {from: "dc=example,dc=com", to: "dc=example,dc=br"}
"""
Entry = dict[str, tuple[str | bytes, ...]]


def _migration(directory: Path, reader: LdifReader, rules: Rules | None = None) -> Migration:
    (directory / "algar.yaml").write_text(PROJECT, encoding="utf-8")
    return Migration.of(load_project(directory).unwrap(), rules or Rules(), reader).unwrap()


def _write(path: Path, entries: dict[str, Entry]) -> None:
    path.write_text(
        "version: 1\n\n"
        + "".join(format_record(dn, attributes.items()) for dn, attributes in entries.items()),
        encoding="utf-8",
    )


def _base() -> dict[str, Entry]:
    return {
        "dc=example,dc=com": {"objectclass": ("top", "domain"), "dc": ("example",), "orclguid": ("G-BASE",)},
        "ou=people,dc=example,dc=com": {
            "objectclass": ("top", "organizationalUnit"),
            "ou": ("people",),
            "orclguid": ("G-PEOPLE",),
        },
    }


def _user(uid: str, description: str, guid: str) -> Entry:
    return {
        "objectclass": ("top", "person", "organizationalPerson", "inetOrgPerson"),
        "uid": (uid,),
        "cn": (uid.title(),),
        "sn": ("Silva",),
        "description": (description, "second value"),
        "jpegphoto": (b"\xff\xd8" + uid.encode(),),
        "orclguid": (guid,),
        "modifytimestamp": ("20240101000000Z",),
    }


def _scan(migration: Migration, name: str) -> tuple[Scan, PhaseReport]:
    report = PhaseReport("oud-sync", migration.out / name, source=Path("x"), output=Path("y"))
    return scan(migration, migration.project.path(Path("export.ldif")), report), report


def _snapshot(migration: Migration) -> None:
    """Take the snapshot of the current export as if every entry had been synced."""
    migration.out.mkdir(parents=True, exist_ok=True)
    scanned, report = _scan(migration, "first")
    with report:
        for (normal,) in list(scanned.db.execute("SELECT normal FROM entries")):
            scanned.settle(normal, "synced")
        scanned.commit(kept_old=[])


def _normals(reader: LdifReader, path: Path) -> Iterator[str]:
    for item in reader.read(path):
        assert isinstance(item, LdifRecord), item
        yield item.normal_dn


def test_the_hash_ignores_value_order_and_operational_attributes() -> None:
    entry = _user("ana", "x", "G1")
    reordered: Entry = {name: tuple(reversed(values)) for name, values in reversed(entry.items())}
    touched = {**entry, "modifytimestamp": ("20250101000000Z",), "orclguid": ("OTHER",)}
    assert (
        content_hash("uid=ana", entry)
        == content_hash("uid=ana", reordered)
        == content_hash("uid=ana", touched)
    )
    assert content_hash("uid=ana", entry) != content_hash("uid=ana", {**entry, "sn": ("Souza",)})
    assert content_hash("uid=ana", entry) != content_hash("uid=ana", {**entry, "jpegphoto": (b"\xff\xd9",)})
    assert content_hash("uid=ana", entry) != content_hash("uid=Ana", entry)  # the DN as written counts


def test_a_rules_change_makes_every_entry_changed_and_a_synced_entry_left_out(
    tmp_path: Path, ldif_reader: LdifReader
) -> None:
    from flext_plugin_algar.project import ExcludeRule

    migration = _migration(tmp_path, ldif_reader)
    ana = "uid=ana,ou=people,dc=example,dc=com"
    _write(tmp_path / "export.ldif", {**_base(), ana: _user("ana", "x", "G1")})
    _snapshot(migration)
    again, report = _scan(migration, "again")
    with report:
        assert not again.baseline
        assert again.counts["changed"] == 0
        again.close()
    rules = Rules(exclude=(ExcludeRule(under=ana, reason="test"),))
    ruled = Migration.of(migration.project, rules, ldif_reader).unwrap()
    assert fingerprint(ruled) != fingerprint(migration)
    other, report = _scan(ruled, "ruled")
    with report:
        assert not other.baseline
        assert other.everything
        assert other.counts["changed"] == 3
        assert other.gone() == []
        prepared = prepare(ruled, other, report)
        assert prepared.left_out == [(ana, "uid=ana,ou=people,dc=example,dc=br")]
        assert other.previous(ana) == (ana, "synced")  # so oud sync deletes it from the target
        other.close()


_EDITS = st.sampled_from(["keep", "modify", "delete", "rename", "touch", "reorder", "photo"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(_EDITS, min_size=1, max_size=8), added=st.integers(min_value=0, max_value=3))
def test_the_changes_found_are_exactly_the_edits(
    ldif_reader: LdifReader, edits: list[str], added: int
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        migration = _migration(directory, ldif_reader)
        people = "ou=people,dc=example,dc=com"
        before = {
            **_base(),
            **{f"uid=u{i},{people}": _user(f"u{i}", f"text {i}", f"G{i}") for i in range(len(edits))},
        }
        _write(directory / "export.ldif", before)
        _snapshot(migration)

        after: dict[str, Entry] = dict(_base())
        changed: set[str] = set()
        gone: set[str] = set()
        renamed: dict[str, str] = {}
        for i, edit in enumerate(edits):
            dn, entry = f"uid=u{i},{people}", before[f"uid=u{i},{people}"]
            if edit == "delete":
                gone.add(dn)
                continue
            if edit == "modify":
                entry = {**entry, "description": (f"changed {i}", "second value")}
                changed.add(dn)
            elif edit == "photo":
                entry = {**entry, "jpegphoto": (b"\x00\xff" + bytes([i]),)}
                changed.add(dn)
            elif edit == "rename":
                new = f"uid=r{i},{people}"
                entry = {**entry, "uid": (f"r{i}",)}
                renamed[new.lower()] = dn.lower()
                changed.add(new)
                gone.add(dn)
                dn = new
            elif edit == "touch":
                entry = {**entry, "modifytimestamp": ("20250202000000Z",)}
            elif edit == "reorder":
                entry = {name: tuple(reversed(values)) for name, values in entry.items()}
            after[dn] = entry
        for i in range(added):
            dn = f"uid=new{i},{people}"
            after[dn] = _user(f"new{i}", "new", f"N{i}")
            changed.add(dn)
        _write(directory / "export.ldif", after)

        scanned, report = _scan(migration, "second")
        with report:
            assert not scanned.baseline
            found = set(_normals(ldif_reader, scanned.changed))
            assert found == {dn.lower() for dn in changed}
            assert scanned.counts["unchanged"] == len(after) - len(changed)
            missing = {row.normal for row in scanned.gone()}
            assert missing == {dn.lower() for dn in gone}
            for new, old in renamed.items():
                was = scanned.renamed_from(new, scanned.db.execute(
                    "SELECT guid FROM entries WHERE normal = ?", (new,)
                ).fetchone()[0])  # fmt: skip
                assert was is not None
                assert was.normal == old
            prepared = prepare(migration, scanned, report)
            assert {entry.dn.lower() for entry in prepared.desired} == {
                dn.lower().replace("dc=example,dc=com", "dc=example,dc=br") for dn in changed
            }
            assert prepared.renamed == set(renamed.values())
            scanned.close()


def test_a_new_entry_under_a_missing_parent_is_an_orphan(tmp_path: Path, ldif_reader: LdifReader) -> None:
    migration = _migration(tmp_path, ldif_reader)
    _write(tmp_path / "export.ldif", _base())
    _snapshot(migration)
    _write(
        tmp_path / "export.ldif",
        {**_base(), "uid=lost,ou=gone,dc=example,dc=com": _user("lost", "x", "G9")},
    )
    scanned, report = _scan(migration, "orphan")
    with report:
        prepared = prepare(migration, scanned, report)
        assert prepared.desired == []
        assert prepared.orphans == ["uid=lost,ou=gone,dc=example,dc=com"]
        scanned.close()
    items = (migration.out / "orphan.items.jsonl").read_text(encoding="utf-8")
    assert '"HIERARCHY_ORPHAN"' in items
    assert "uid=lost,ou=gone" in items


def test_an_excluded_entry_is_left_out(tmp_path: Path, ldif_reader: LdifReader) -> None:
    from flext_plugin_algar.project import ExcludeRule

    rules = Rules(exclude=(ExcludeRule(under="uid=ana,ou=people,dc=example,dc=com", reason="test"),))
    migration = _migration(tmp_path, ldif_reader, rules)
    _write(
        tmp_path / "export.ldif", {**_base(), "uid=ana,ou=people,dc=example,dc=com": _user("ana", "x", "G1")}
    )
    migration.out.mkdir()
    scanned, report = _scan(migration, "excluded")
    with report:
        prepared = prepare(migration, scanned, report)
        assert [entry.dn for entry in prepared.desired] == ["dc=example,dc=br", "ou=people,dc=example,dc=br"]
        assert prepared.left_out == [
            ("uid=ana,ou=people,dc=example,dc=com", "uid=ana,ou=people,dc=example,dc=br")
        ]
        scanned.close()


def test_bad_records_are_reported_with_their_line_and_the_rest_is_scanned(
    tmp_path: Path, ldif_reader: LdifReader
) -> None:
    migration = _migration(tmp_path, ldif_reader)
    migration.out.mkdir()
    ana = format_record("uid=ana,ou=people,dc=example,dc=com", _user("ana", "x", "G1").items())
    text = tmp_path / "export.ldif"
    _write(text, _base())
    text.write_text(
        text.read_text(encoding="utf-8") + ana + ana + "dn: uid=bad,dc=example,dc=com\nno colon\n\n"
    )
    scanned, report = _scan(migration, "bad")
    with report:
        assert scanned.counts["entries"] == 3
        assert scanned.counts["failed"] == 1  # the duplicate
        assert report.counts["failed"] == 1  # the record the reader refused
        scanned.close()
    items = (migration.out / "bad.items.jsonl").read_text(encoding="utf-8").splitlines()
    assert any('"VALIDATE_DUPLICATE_DN"' in item and "uid=ana" in item for item in items)
    assert any('"LDIF_SYNTAX"' in item and '"line": ' in item for item in items)


def test_without_orclguid_a_rename_is_a_delete_and_an_add(tmp_path: Path, ldif_reader: LdifReader) -> None:
    migration = _migration(tmp_path, ldif_reader)
    ana = {name: values for name, values in _user("ana", "x", "G1").items() if name != "orclguid"}
    _write(tmp_path / "export.ldif", {**_base(), "uid=ana,ou=people,dc=example,dc=com": ana})
    _snapshot(migration)
    _write(
        tmp_path / "export.ldif",
        {**_base(), "uid=anna,ou=people,dc=example,dc=com": {**ana, "uid": ("anna",)}},
    )
    scanned, report = _scan(migration, "noguid")
    with report:
        assert [row.normal for row in scanned.gone()] == ["uid=ana,ou=people,dc=example,dc=com"]
        prepared = prepare(migration, scanned, report)
        [entry] = prepared.desired
        assert entry.dn == "uid=anna,ou=people,dc=example,dc=br"
        assert entry.was is None
        assert prepared.renamed == set()
        scanned.close()
